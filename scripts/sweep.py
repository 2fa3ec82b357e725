#!/usr/bin/env python3
"""Run a grid of ecco-train runs under mpirun and report them: one tidy results file, PNG plots
of a metric against rounds and against bits per client, and a markdown table of the rounds and
bits each run needed to reach given targets.

Needs Python 3 with Debian's python3-numpy and python3-matplotlib (no pip). On a system where
`python3` on PATH is not Debian's, run the script with /usr/bin/python3.

Usable as a module (the scripts in scripts/reproduce/ do): build Axis objects, then
plan_runs() -> execute_runs() -> load_runs() -> write_report(). See main() for the order.
"""
from __future__ import annotations

import argparse
import csv
import hashlib
import itertools
import json
import math
import os
import re
import shlex
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DEFAULT_BINARY = REPO / "build" / "release" / "apps" / "ecco-train"
ECCO_DEFAULT_CLIENTS = 20            # ecco-train's default --clients
BOOLEAN_FLAGS = {"--print-constants", "--quiet", "--list", "--version", "--help", "-h"}
NOT_A_GRID_FLAG = {"--out", "--summary", "--list", "--version", "--help", "-h"}

USAGE_EXAMPLES = """\
grid axes (the runs are every combination, first axis varying slowest):
  --compressor A B ...      one run per uplink compressor spec
  --algorithm A B ...       one run per method spec
  --lr-mult M ...           --lr theory:mult=M; merged into a theory rule set elsewhere
                            (e.g. '-- --lr theory:mean=am' gives theory:mean=am,mult=M)
  --lr R ...                raw --lr values (numbers or theory rules)
  --axis FLAG V1 V2 ...     any other ecco-train flag, e.g. --axis split contiguous by_smoothness
                            (repeatable; the column is named after the flag)
  --grid FLAG=V1,V2,...     the same in one word; a comma followed by key=value continues the
                            previous spec: --grid data=synthetic:rows=50,dim=20,synthetic:rows=80
  --variants NAME LABEL=ARGS ...
                            an axis whose values set several flags at once (zipped, not crossed):
                            --variants method 'ef21-qm=--algorithm ef21 --lr theory:mean=qm' \\
                                              'ef21w=--algorithm ef21w'
  A flag set by an axis overrides the same flag after '--'.

examples:
  scripts/sweep.py --compressor topk:k=1 topk:k=10 --algorithm ef21 ef14 --lr-mult 1 2 4 8 \\
      --np 4 --out-dir runs/sweep1 -- --data ../shared/datasets/libsvm/mushrooms.txt \\
      --clients 20 --rounds 1000
  scripts/sweep.py --axis split contiguous by_smoothness --algorithm ef21 ef21w \\
      --targets 1e-2 1e-3 --out-dir runs/split -- --clients 100 --rounds 2000

outputs in --out-dir:
  runs/<run>.csv, runs/<run>.log   each run's CSV (ecco-train --out) and its stdout+stderr
                                   (first line: the command); a run whose CSV exists is skipped
  runs/<run>.json                  its --summary (when the binary has --summary)
  results.csv   tidy: one row per run and logged round; columns run, the grid axes, clients,
                every column of the run's CSV (verbatim), bits_up_per_client
  runs.csv      one row per run: grid values, status, constants (L, L_i stats, alpha, gamma)
                from the run's summary or --print-constants, final metric, stop reason, command
  <metric>_vs_rounds.png, <metric>_vs_bits.png   one line per run, log-scale y
  targets.md    rounds and bits per client each run needed to reach each target

exit status: 0 if every run succeeded, 1 if any failed (the others still run and are
reported), 2 for a bad command line.
"""


class SweepError(Exception):
    """A problem with the sweep's own input (reported as one line, exit status 2)."""


# ---------------------------------------------------------------------------------------------
# The grid


@dataclass
class AxisValue:
    label: str            # what the results file, legends and tables show
    args: list[str]       # the ecco-train flags this value sets


@dataclass
class Axis:
    name: str             # column name in results.csv, runs.csv and targets.md
    values: list[AxisValue]

    def labels(self) -> list[str]:
        return [v.label for v in self.values]


def flag_axis(flag: str, values: list[str], name: str | None = None) -> Axis:
    """An axis that sets one ecco-train flag to each of `values`."""
    if not flag.startswith("-"):
        flag = "--" + flag
    if flag in NOT_A_GRID_FLAG or flag in BOOLEAN_FLAGS:
        raise SweepError(f"{flag} cannot be a grid axis")
    if not values:
        raise SweepError(f"axis {flag} has no values")
    return Axis(name or flag.lstrip("-").replace("-", "_"), [AxisValue(v, [flag, v]) for v in values])


def lr_mult_axis(mults: list[str]) -> Axis:
    for m in mults:
        try:
            ok = float(m) > 0 and math.isfinite(float(m))
        except ValueError:
            ok = False
        if not ok:
            raise SweepError(f"--lr-mult: '{m}' is not a number > 0")
    return Axis("lr_mult", [AxisValue(m, ["--lr", f"theory:mult={m}"]) for m in mults])


def variants_axis(name: str, variants: dict[str, list[str]] | list[str]) -> Axis:
    """An axis whose values each set several flags. `variants` maps label -> ecco-train args, or
    is a list of 'LABEL=ARGS' strings (ARGS split like a shell command line)."""
    if isinstance(variants, dict):
        items = list(variants.items())
    else:
        items = []
        for text in variants:
            label, sep, rest = text.partition("=")
            if not sep or not label.strip():
                raise SweepError(f"--variants {name}: '{text}' is not LABEL=ARGS")
            try:
                items.append((label.strip(), shlex.split(rest)))
            except ValueError as exc:
                raise SweepError(f"--variants {name}: cannot split '{rest}': {exc}") from None
    if not items:
        raise SweepError(f"--variants {name} has no values")
    for label, args in items:
        for a in args:
            if a.split("=", 1)[0] in NOT_A_GRID_FLAG:
                raise SweepError(f"--variants {name}={label}: {a} cannot be set by an axis")
    return Axis(name, [AxisValue(label, list(args)) for label, args in items])


def split_grid_values(text: str) -> list[str]:
    """'a,b:k=1,j=2,c' -> ['a', 'b:k=1,j=2', 'c']: a piece 'key=value' without ':' continues the
    spec before it (spec strings contain commas themselves)."""
    pieces = text.split(",")
    values: list[str] = []
    for p in pieces:
        if values and "=" in p and ":" not in p and ("=" in values[-1]):
            values[-1] += "," + p
        else:
            values.append(p)
    if any(v == "" for v in values):
        raise SweepError(f"--grid: empty value in '{text}'")
    return values


def tokens_to_options(tokens: list[str]) -> list[tuple[str, str | None]]:
    """ecco-train arguments -> [(flag, value or None)] (a positional is ('', value))."""
    out: list[tuple[str, str | None]] = []
    i = 0
    while i < len(tokens):
        t = tokens[i]
        if t.startswith("-") and len(t) > 1 and not _is_number(t):
            if "=" in t and t.startswith("--"):
                flag, value = t.split("=", 1)
                out.append((flag, value))
            elif t in BOOLEAN_FLAGS or i + 1 >= len(tokens) or (
                    tokens[i + 1].startswith("-") and not _is_number(tokens[i + 1])):
                out.append((t, None))
            else:
                out.append((t, tokens[i + 1]))
                i += 1
        else:
            out.append(("", t))
        i += 1
    return out


def _is_number(text: str) -> bool:
    try:
        float(text)
        return True
    except ValueError:
        return False


def _parse_theory(spec: str) -> dict[str, str]:
    head, _, keys = spec.partition(":")
    if head != "theory":
        raise ValueError(spec)
    d: dict[str, str] = {}
    for kv in filter(None, keys.split(",")):
        k, _, v = kv.partition("=")
        d[k] = v
    return d


def combine_args(*groups: list[str]) -> list[str]:
    """Concatenates ecco-train argument groups; a flag given again replaces the earlier value,
    except --lr theory rules, which merge key by key (so --lr-mult composes with mean=am)."""
    options: dict[str, str | None] = {}
    positionals: list[str] = []
    lr_specs: list[str] = []
    for group in groups:
        for flag, value in tokens_to_options(group):
            if flag == "":
                positionals.append(value or "")
            elif flag == "--lr":
                if value is None:
                    raise SweepError("--lr needs a value")
                lr_specs.append(value)
            else:
                options.pop(flag, None)      # keep the last occurrence's position
                options[flag] = value
    if lr_specs:
        theory = [s for s in lr_specs if s.startswith("theory")]
        if theory and len(theory) != len(lr_specs):
            numbers = [s for s in lr_specs if not s.startswith("theory")]
            raise SweepError(f"--lr {numbers[0]} conflicts with the theory rule {theory[0]} "
                             "(--lr-mult needs --lr theory, not a number)")
        if theory:
            merged: dict[str, str] = {}
            for s in theory:
                try:
                    merged.update(_parse_theory(s))
                except ValueError:
                    raise SweepError(f"--lr: cannot read the rule '{s}'") from None
            options["--lr"] = "theory" + (":" + ",".join(f"{k}={v}" for k, v in sorted(merged.items()))
                                          if merged else "")
        else:
            options["--lr"] = lr_specs[-1]
    args: list[str] = []
    for flag, value in options.items():
        args.append(flag)
        if value is not None:
            args.append(value)
    return args + positionals


def option_value(args: list[str], flag: str) -> str | None:
    value = None
    for f, v in tokens_to_options(args):
        if f == flag:
            value = v
    return value


# ---------------------------------------------------------------------------------------------
# Runs


@dataclass
class Run:
    index: int
    name: str
    grid: dict[str, str]                # axis name -> value label
    args: list[str]                     # ecco-train arguments, without --out
    csv: Path
    log: Path
    status: str = "pending"             # pending, skipped (CSV present), ok, failed, missing
    error: str = ""
    seconds: float = 0.0
    command: list[str] = field(default_factory=list)
    constants: dict[str, float] = field(default_factory=dict)
    clients: int | None = None
    header: list[str] = field(default_factory=list)
    rows: list[list[str]] = field(default_factory=list)    # the CSV's rows, verbatim
    columns: dict = field(default_factory=dict)              # column name -> numpy float array
    summary: dict = field(default_factory=dict)              # ecco-train --summary JSON, when written

    @property
    def json(self) -> Path:
        return self.csv.with_suffix(".json")

    @property
    def has_data(self) -> bool:
        return bool(self.rows)


def sanitize(text: str) -> str:
    s = re.sub(r"[^A-Za-z0-9._=+-]+", "-", text).strip("-")
    return re.sub(r"-{2,}", "-", s)


def display_value(label: str) -> str:
    """Short form of a grid value for legends: a data path shows as its file stem."""
    if "/" in label and ":" not in label.split("/", 1)[0]:
        name = Path(label).name
        for ext in (".txt", ".libsvm", ".svm"):
            if name.endswith(ext):
                name = name[: -len(ext)]
        return name
    return label


def run_name(grid: dict[str, str], args: list[str]) -> str:
    digest = hashlib.sha1(json.dumps(args).encode()).hexdigest()[:8]
    parts = [f"{k}={sanitize(display_value(v))}" for k, v in grid.items()]
    stem = "__".join(parts)[:120] or "run"
    return f"{stem}__{digest}"


def plan_runs(axes: list[Axis], fixed_args: list[str], out_dir: Path) -> list[Run]:
    """Every combination of the axes' values (first axis slowest). The run's name includes a
    hash of its full ecco-train arguments, so changing a fixed flag gives new runs."""
    names = [a.name for a in axes]
    if len(set(names)) != len(names):
        raise SweepError(f"two grid axes share a name: {names}")
    for a in axes:
        labels = a.labels()
        if len(set(labels)) != len(labels):
            raise SweepError(f"axis {a.name} lists a value twice: {labels}")
    runs_dir = out_dir / "runs"
    runs: list[Run] = []
    for combo in itertools.product(*[a.values for a in axes]) if axes else [()]:
        grid = {a.name: v.label for a, v in zip(axes, combo)}
        args = combine_args(fixed_args, *[v.args for v in combo])
        for flag, _ in tokens_to_options(args):
            if flag in NOT_A_GRID_FLAG:
                raise SweepError(f"{flag} must not be passed to the runs (the sweep sets --out and --summary "
                                 "itself)")
        if not any(f == "--print-constants" for f, _ in tokens_to_options(args)):
            args.append("--print-constants")
        name = run_name(grid, args)
        runs.append(Run(len(runs), name, grid, args, runs_dir / f"{name}.csv", runs_dir / f"{name}.log"))
    return runs


@dataclass
class Runner:
    binary: Path = DEFAULT_BINARY
    np: int = 2
    mpirun: str = "mpirun"              # "none": run the binary directly (one process)
    mpirun_args: list[str] = field(default_factory=list)
    jobs: int = 1
    timeout: float | None = None
    quiet: bool = False

    def supports_summary(self) -> bool:
        """Whether this ecco-train has --summary (asked once, from --help)."""
        if not hasattr(self, "_summary"):
            try:
                out = subprocess.run([str(self.binary), "--help"], capture_output=True, text=True, timeout=30,
                                     stdin=subprocess.DEVNULL).stdout
            except (OSError, subprocess.TimeoutExpired):
                out = ""
            self._summary = "--summary" in out
        return self._summary

    def command(self, run: Run) -> list[str]:
        train = [str(self.binary), *run.args, "--out", str(run.csv)]
        if self.supports_summary():
            train += ["--summary", str(run.json)]
        if self.mpirun == "none":
            return train
        return [*shlex.split(self.mpirun), "-np", str(self.np), *self.mpirun_args, *train]


def mpi_environment() -> dict[str, str]:
    """As scripts/mpi-env.sh: Open MPI may run as root and with more ranks than cores."""
    env = dict(os.environ)
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        env.setdefault("OMPI_ALLOW_RUN_AS_ROOT", "1")
        env.setdefault("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1")
    env.setdefault("OMPI_MCA_rmaps_base_oversubscribe", "1")
    return env


def error_line(log_text: str) -> str:
    """The line of a failed run's log that says what went wrong."""
    lines = [ln.strip() for ln in log_text.splitlines() if ln.strip() and not ln.startswith("# command:")]
    for ln in lines:
        if "[error]" in ln or ln.lower().startswith(("error", "ecco-train: error")):
            return ln
    for ln in lines:
        if "error" in ln.lower() or "not found" in ln.lower():
            return ln
    meaningful = [ln for ln in lines if not set(ln) <= set("-=* ")]
    return meaningful[-1] if meaningful else "(no output)"


def fmt_duration(seconds: float) -> str:
    seconds = max(0, int(round(seconds)))
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


def execute_runs(runs: list[Run], runner: Runner, out=sys.stderr) -> bool:
    """Runs every run whose CSV is absent; prints one progress line per run. Returns True when
    no run failed."""
    if not runs:
        return True
    if not Path(runner.binary).is_file():
        raise SweepError(f"ecco-train binary not found: {runner.binary} (build it, or pass --binary)")
    runs[0].csv.parent.mkdir(parents=True, exist_ok=True)
    env = mpi_environment()
    lock = threading.Lock()
    total = len(runs)
    state = {"done": 0, "ran": 0, "ran_seconds": 0.0}
    started = time.monotonic()
    todo = [r for r in runs if not r.csv.exists()]

    def remove_stale_partials(target: Path) -> None:
        """Removes the temporary files ecco-train left for target when it was killed
        (<csv>.partial.<pid>.<random>; a live run's, whose pid still runs here, stay)."""
        for partial in target.parent.glob(target.name + ".partial*"):
            pid = partial.name[len(target.name) + len(".partial"):].lstrip(".").split(".")[0]
            if pid.isdigit():
                try:
                    os.kill(int(pid), 0)
                    continue  # still running
                except ProcessLookupError:
                    pass
                except PermissionError:
                    continue
            partial.unlink(missing_ok=True)

    def say(text: str) -> None:
        if not runner.quiet:
            print(text, file=out, flush=True)

    def describe(run: Run) -> str:
        return " ".join(f"{k}={display_value(v)}" for k, v in run.grid.items()) or run.name

    for run in runs:
        run.command = runner.command(run)
        if run.csv.exists():
            run.status = "skipped"
            state["done"] += 1
            say(f"[{state['done']}/{total}] skip   {describe(run)} (CSV present)")

    def one(run: Run) -> None:
        remove_stale_partials(run.csv)
        t0 = time.monotonic()
        with open(run.log, "w") as log:
            log.write("# command: " + shlex.join(run.command) + "\n")
            log.flush()
            try:
                proc = subprocess.run(run.command, stdout=log, stderr=subprocess.STDOUT, env=env,
                                      timeout=runner.timeout, stdin=subprocess.DEVNULL)
                rc = proc.returncode
            except subprocess.TimeoutExpired:
                rc = None
            except OSError as exc:
                log.write(f"error: cannot start {run.command[0]}: {exc}\n")
                rc = -1
        run.seconds = time.monotonic() - t0
        if rc == 0 and run.csv.exists():
            run.status = "ok"
        else:
            run.status = "failed"
            text = run.log.read_text(errors="replace")
            if rc is None:
                run.error = f"timed out after {runner.timeout:g} s"
            elif rc == 0:
                run.error = f"exit status 0 but no CSV at {run.csv}"
            else:
                run.error = f"exit status {rc}: {error_line(text)}"
        with lock:
            state["done"] += 1
            state["ran"] += 1
            state["ran_seconds"] += run.seconds
            remaining = total - state["done"]
            mean = state["ran_seconds"] / state["ran"]
            eta = remaining * mean / max(1, min(runner.jobs, remaining or 1))
            elapsed = time.monotonic() - started
            head = f"[{state['done']}/{total}] {'ran   ' if run.status == 'ok' else 'FAILED'} {describe(run)}"
            say(f"{head} ({run.seconds:.1f} s) elapsed {fmt_duration(elapsed)}, ETA {fmt_duration(eta)}")
            if run.status == "failed":
                say(f"    {run.error}\n    command: {shlex.join(run.command)}\n    log: {run.log}")

    if runner.jobs <= 1:
        for run in todo:
            one(run)
    else:
        with ThreadPoolExecutor(max_workers=runner.jobs) as pool:
            list(pool.map(one, todo))
    failed = [r for r in runs if r.status == "failed"]
    say(f"sweep: {total} runs: {sum(r.status == 'ok' for r in runs)} ran, "
        f"{sum(r.status == 'skipped' for r in runs)} skipped (CSV present), {len(failed)} failed")
    for r in failed:
        say(f"  failed: {describe(r)}: {r.error}\n    command: {shlex.join(r.command)}")
    return not failed


# ---------------------------------------------------------------------------------------------
# Reading the runs back

_NUM = r"([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?|[-+]?inf|nan)"
_CONSTANT_PATTERNS = {
    "L": r"(?<![\w.])L\s*=\s*" + _NUM,
    "L_i_min": r"\bmin\s*=\s*" + _NUM,
    "L_i_AM": r"\bAM\s*=\s*" + _NUM,
    "L_i_QM": r"\bQM\s*=\s*" + _NUM,
    "L_i_max": r"\bmax\s*=\s*" + _NUM,
    "alpha": r"\balpha\s*=\s*" + _NUM,
    "gamma": r"\bgamma\s*=\s*" + _NUM,
    "xi": r"\bxi\(alpha\)\s*=\s*" + _NUM,
    "L_mean": r"\bL_mean\s*=\s*" + _NUM,
}


def parse_constants(text: str) -> dict[str, float]:
    """Values from the 'constants:' lines that --print-constants writes to stdout."""
    lines = [ln for ln in text.splitlines() if ln.startswith("constants:")]
    found: dict[str, float] = {}
    for key, pattern in _CONSTANT_PATTERNS.items():
        for ln in lines:
            m = re.search(pattern, ln)
            if m:
                found[key] = float(m.group(1))
                break
    return found


def read_csv(path: Path) -> tuple[list[str], list[list[str]]]:
    with open(path, newline="") as fh:
        reader = csv.reader(fh)
        header = next(reader, [])
        rows = [row for row in reader if row]
    return header, rows


def load_runs(runs: list[Run]) -> None:
    """Reads each run's CSV (columns by name) and the constants and client count from its log."""
    import numpy as np
    for run in runs:
        text = run.log.read_text(errors="replace") if run.log.exists() else ""
        run.constants = parse_constants(text)
        run.summary = {}
        if run.json.exists() and run.csv.exists():
            try:
                run.summary = json.loads(run.json.read_text())
            except (OSError, ValueError):
                run.summary = {}
        const = run.summary.get("constants") or {}
        for key, name in (("L", "L"), ("L_i_min", "L_i_min"), ("L_i_am", "L_i_AM"), ("L_i_qm", "L_i_QM"),
                          ("L_i_max", "L_i_max"), ("alpha", "alpha"), ("gamma", "gamma")):
            if isinstance(const.get(key), (int, float)):
                run.constants[name] = float(const[key])
        clients = option_value(run.args, "--clients")
        m = re.search(r"(\d+) clients on \d+ rank", text)
        if isinstance((run.summary.get("config") or {}).get("clients"), int):
            run.clients = run.summary["config"]["clients"]
        elif m:
            run.clients = int(m.group(1))
        elif clients is not None:
            run.clients = int(clients)
        else:
            run.clients = ECCO_DEFAULT_CLIENTS
        if not run.csv.exists():
            if run.status in ("pending", "skipped", "ok"):
                run.status = "missing"
            continue
        if run.status in ("pending", "missing"):
            run.status = "skipped"
        run.header, run.rows = read_csv(run.csv)
        cols: dict = {}
        for j, name in enumerate(run.header):
            values = []
            for row in run.rows:
                try:
                    values.append(float(row[j]))
                except (ValueError, IndexError):
                    values.append(float("nan"))
            cols[name] = np.asarray(values, dtype=float)
        run.columns = cols


# ---------------------------------------------------------------------------------------------
# Reports


@dataclass
class ReportOptions:
    metric: str = "grad_norm_sq"
    higher_is_better: bool | None = None     # None: True when the metric name contains 'acc'
    targets: list[float] | None = None       # None: automatic (powers of ten)
    relative_targets: bool = False           # targets are fractions of each run's row-0 value
    facet_by: str | None = None              # one panel per value of this axis
    style_by: str | None = "auto"            # line style by this axis; "auto": algorithm-like axis
    exclude_initial_bits: bool = False       # bits counted from row 0 (the papers' convention)
    bits_xscale: str = "auto"                # auto, log or linear
    yscale: str | None = None                # None: log unless higher_is_better
    title: str | None = None
    plots: bool = True
    dpi: int = 100
    max_points: int = 800                    # per line in the plots (the tables use every row)
    command: str = ""                        # the sweep's command line, for the reports

    def better(self) -> bool:
        if self.higher_is_better is None:
            return "acc" in self.metric.lower()
        return self.higher_is_better


def varying_axes(axes: list[Axis]) -> list[Axis]:
    return [a for a in axes if len(a.values) > 1]


def bits_per_client(run: Run, exclude_initial: bool = False):
    bits = run.columns["bits_up"] / float(run.clients or ECCO_DEFAULT_CLIENTS)
    if exclude_initial and len(bits):
        bits = bits - bits[0]
    return bits


def write_results(runs: list[Run], axes: list[Axis], path: Path) -> int:
    """The tidy file: one row per run and logged round. Returns the number of rows."""
    columns: list[str] = []
    for run in runs:
        for c in run.header:
            if c not in columns:
                columns.append(c)
    grid_cols = [a.name for a in axes]
    clash = set(grid_cols) & (set(columns) | {"run", "clients", "bits_up_per_client"})
    if clash:
        raise SweepError(f"grid axis names clash with result columns: {sorted(clash)}")
    tmp = Path(str(path) + ".tmp")
    n = 0
    with open(tmp, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["run", *grid_cols, "clients", *columns, "bits_up_per_client"])
        for run in runs:
            if not run.has_data:
                continue
            index = {c: j for j, c in enumerate(run.header)}
            bpc = bits_per_client(run) if "bits_up" in run.columns else None
            for i, row in enumerate(run.rows):
                values = [row[index[c]] if c in index and index[c] < len(row) else "" for c in columns]
                extra = repr(float(bpc[i])) if bpc is not None else ""
                w.writerow([run.name, *[run.grid[g] for g in grid_cols], run.clients, *values, extra])
                n += 1
    os.replace(tmp, path)
    return n


def write_runs_summary(runs: list[Run], axes: list[Axis], path: Path, metric: str) -> None:
    keys = list(_CONSTANT_PATTERNS)
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["run", *[a.name for a in axes], "status", "clients", "rows", "last_round",
                    f"initial_{metric}", f"final_{metric}", f"best_{metric}", *keys, "stop_reason", "seconds",
                    "error", "command"])
        for run in runs:
            m = run.columns.get(metric)
            rounds = run.columns.get("round")
            w.writerow([run.name, *[run.grid[a.name] for a in axes], run.status, run.clients, len(run.rows),
                        str(int(rounds[-1])) if rounds is not None and len(rounds) else "",
                        _g(m[0]) if m is not None and len(m) else "",
                        _g(m[-1]) if m is not None and len(m) else "",
                        _g(_best(m)) if m is not None and len(m) else "",
                        *[_g(run.constants[k]) if k in run.constants else "" for k in keys],
                        run.summary.get("stop_reason", ""), f"{run.seconds:.2f}" if run.seconds else "", run.error,
                        shlex.join(run.command) if run.command else ""])


def _best(values, higher_is_better: bool = False) -> float:
    import numpy as np
    finite = values[np.isfinite(values)]
    if not len(finite):
        return float("nan")
    return float(finite.max() if higher_is_better else finite.min())


def _g(x: float, digits: int = 17) -> str:
    return repr(float(x)) if digits == 17 else f"{x:.{digits}g}"


def fmt_sci(x: float, digits: int = 3) -> str:
    """3 significant digits, exponents without padding: 42496 -> 4.25e4, 0.000904 -> 9.04e-4, 512 -> 512."""
    if x is None or not math.isfinite(x):
        return str(x)
    if x != 0 and (abs(x) >= 1e3 or abs(x) < 1e-3):
        mant, exp = f"{x:.{digits - 1}e}".split("e")
        if "." in mant:
            mant = mant.rstrip("0").rstrip(".")
        return f"{mant}e{int(exp)}"
    return f"{x:.{digits}g}"


def auto_targets(runs: list[Run], metric: str, higher_is_better: bool) -> list[float]:
    """Up to four powers of ten between the runs' common start and the best value any run reached."""
    import numpy as np
    starts = [r.columns[metric][0] for r in runs if metric in r.columns and len(r.columns[metric])]
    bests = [_best(r.columns[metric], higher_is_better) for r in runs if metric in r.columns]
    starts = [s for s in starts if math.isfinite(s)]
    bests = [b for b in bests if math.isfinite(b)]
    if not starts or not bests:
        return []
    if higher_is_better:
        lo, hi = float(np.median(starts)), max(bests)
        if hi <= lo:
            return [hi]
        return [float(v) for v in np.linspace(lo, hi, 5)[1:]]
    start, best = float(np.median(starts)), min(bests)
    if not (start > 0 and best > 0):
        return []
    k_hi = math.ceil(math.log10(start)) - 1
    k_lo = math.ceil(math.log10(best))
    if k_lo > k_hi:
        return [10.0 ** k_hi]
    ks = list(range(k_hi, k_lo - 1, -1))
    if len(ks) > 4:
        picks = sorted({round(i * (len(ks) - 1) / 3) for i in range(4)})
        ks = [ks[i] for i in picks]
    return [10.0 ** k for k in ks]


def first_reach(run: Run, metric: str, target: float, relative: bool, higher_is_better: bool):
    """(round, bits per client, bits per client after row 0) at the first logged row that reaches
    the target, or None."""
    import numpy as np
    values = run.columns.get(metric)
    if values is None or not len(values):
        return None
    goal = target * values[0] if relative else target
    hit = values >= goal if higher_is_better else values <= goal
    idx = np.flatnonzero(hit & np.isfinite(values))
    if not len(idx):
        return None
    i = int(idx[0])
    rounds = run.columns.get("round")
    bits = bits_per_client(run) if "bits_up" in run.columns else None
    return (int(rounds[i]) if rounds is not None else i,
            float(bits[i]) if bits is not None else float("nan"),
            float(bits[i] - bits[0]) if bits is not None else float("nan"))


def targets_table(runs: list[Run], axes: list[Axis], opts: ReportOptions,
                  targets: list[float] | None = None) -> str:
    """Markdown: one row per run; for each target the rounds and bits per client to reach it."""
    metric, better = opts.metric, opts.better()
    if targets is None:
        targets = opts.targets if opts.targets else auto_targets([r for r in runs if r.has_data], metric, better)
    shown = varying_axes(axes) or axes
    bits_label = "bits/n after row 0" if opts.exclude_initial_bits else "bits/n"
    rel = " x start" if opts.relative_targets else ""
    head = [a.name for a in shown] + ["step size", f"final {metric}"]
    for t in targets:
        head += [f"rounds to {fmt_sci(t)}{rel}", f"{bits_label} to {fmt_sci(t)}{rel}"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for run in runs:
        cells = [display_value(run.grid[a.name]) for a in shown]
        cells.append(fmt_sci(run.constants["gamma"], 4) if "gamma" in run.constants else "")
        values = run.columns.get(metric)
        if values is None or not len(values):
            cells.append(run.status if run.status != "skipped" else "no data")
            cells += ["", ""] * len(targets)
        else:
            cells.append(fmt_sci(float(values[-1])))
            for t in targets:
                hit = first_reach(run, metric, t, opts.relative_targets, better)
                if hit is None:
                    cells += ["not reached", ""]
                else:
                    cells += [str(hit[0]), fmt_sci(hit[2] if opts.exclude_initial_bits else hit[1])]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _downsample(n: int, max_points: int):
    import numpy as np
    if n <= max_points:
        return np.arange(n)
    lin = np.linspace(0, n - 1, max_points // 2)
    geo = np.geomspace(1, n - 1, max_points // 2)
    return np.unique(np.concatenate([[0], lin, geo]).astype(int))


def _legend_label(run: Run, axes: list[Axis]) -> str:
    parts = []
    for a in axes:
        v = display_value(run.grid[a.name])
        parts.append(f"{a.name}={v}" if _is_number(v) else v)
    return ", ".join(parts)


def plot_runs(runs: list[Run], axes: list[Axis], path: Path, opts: ReportOptions, x: str = "rounds",
              x_func=None, x_label: str | None = None, x_scale: str | None = None) -> Path | None:
    """One line per run: opts.metric against rounds (x='rounds'), bits per client (x='bits') or
    x_func(run) (x='custom'). Colour by the varying axes, line style by opts.style_by, one panel per
    value of opts.facet_by."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D
    import numpy as np

    runs = [r for r in runs if r.has_data and opts.metric in r.columns]
    if not runs:
        return None
    var = varying_axes(axes)
    names = [a.name for a in axes]
    facet = opts.facet_by if opts.facet_by in names else None
    if opts.facet_by and not facet:
        raise SweepError(f"--facet-by {opts.facet_by}: no such axis (axes: {', '.join(names) or 'none'})")
    style = opts.style_by
    if style == "auto":
        style = next((a.name for a in var if a.name in ("algorithm", "method") and a.name != facet
                      and 2 <= len(a.values) <= 4), None)
    elif style in ("none", ""):
        style = None
    elif style is not None and style not in names:
        raise SweepError(f"--style-by {style}: no such axis (axes: {', '.join(names) or 'none'})")
    color_axes = [a for a in var if a.name not in (facet, style)]
    style_axis = next((a for a in axes if a.name == style), None)
    styles = ["-", "--", ":", "-."]
    style_of = {v.label: styles[i % len(styles)] for i, v in enumerate(style_axis.values)} if style_axis else {}

    color_keys: list[tuple] = []
    for r in runs:
        key = tuple(r.grid[a.name] for a in color_axes)
        if key not in color_keys:
            color_keys.append(key)
    order = {tuple(v.label for v in combo): i for i, combo in
             enumerate(itertools.product(*[a.values for a in color_axes]))}
    color_keys.sort(key=lambda k: order.get(k, 0))
    numeric = len(color_axes) == 1 and all(_is_number(k[0]) for k in color_keys)
    if numeric and len(color_keys) > 1:
        cmap = plt.get_cmap("viridis")
        colors = {k: cmap(0.9 * i / (len(color_keys) - 1)) for i, k in enumerate(color_keys)}
    else:
        cmap = plt.get_cmap("tab10" if len(color_keys) <= 10 else "tab20")
        colors = {k: cmap(i % cmap.N) for i, k in enumerate(color_keys)}
    # with nothing else to colour by, the style axis gets colours too (overlapping lines stay visible)
    style_colors = {lbl: plt.get_cmap("tab10")(i) for i, lbl in enumerate(style_of)} if not color_axes else {}

    def color_of(r: Run):
        if style_colors:
            return style_colors.get(r.grid.get(style, ""), "C0")
        return colors[tuple(r.grid[a.name] for a in color_axes)]

    facet_axis = next((a for a in axes if a.name == facet), None)
    panels = [v.label for v in facet_axis.values if any(r.grid[facet] == v.label for r in runs)] \
        if facet_axis else [None]
    ncols = 1 if len(panels) == 1 else 2
    nrows = math.ceil(len(panels) / ncols)
    n_entries = len(color_keys) + (len(style_of) if style_axis else 0)
    legend_outside = n_entries > 6 or len(panels) > 1
    width = 6.4 * ncols + (2.6 if legend_outside else 0)
    fig, axs = plt.subplots(nrows, ncols, figsize=(width, 4.0 * nrows + 0.5), squeeze=False)
    better = opts.better()
    yscale = opts.yscale or ("linear" if better else "log")

    xs_all = []
    for r in runs:
        if x == "bits":
            if "bits_up" not in r.columns:
                raise SweepError(f"run {r.name} has no bits_up column")
            xs_all.append(bits_per_client(r, opts.exclude_initial_bits))
        elif x == "custom":
            xs_all.append(np.asarray(x_func(r), dtype=float))
        else:
            xs_all.append(r.columns["round"] if "round" in r.columns else np.arange(len(r.rows), dtype=float))
    xscale = x_scale or "linear"
    if x == "bits" and not x_scale:
        if opts.bits_xscale == "auto":
            finals = [xv[-1] for xv in xs_all if len(xv) and xv[-1] > 0]
            xscale = "log" if finals and max(finals) / min(finals) > 10 else "linear"
        else:
            xscale = opts.bits_xscale

    for p, panel in enumerate(panels):
        ax = axs[p // ncols][p % ncols]
        for r, xv in zip(runs, xs_all):
            if facet and r.grid[facet] != panel:
                continue
            y = r.columns[opts.metric].copy()
            mask = np.isfinite(y) & np.isfinite(xv)
            if yscale == "log":
                mask &= y > 0
            if xscale == "log":
                mask &= xv > 0
            idx = np.flatnonzero(mask)
            idx = idx[_downsample(len(idx), opts.max_points)]
            ax.plot(xv[idx], y[idx], color=color_of(r), linestyle=style_of.get(r.grid.get(style, ""), "-"),
                    linewidth=1.3, label=_legend_label(r, [a for a in var if a.name != facet]))
        ax.set_yscale(yscale)
        ax.set_xscale(xscale)
        if xscale == "linear":
            ax.ticklabel_format(axis="x", style="sci", scilimits=(-3, 4))
        ax.grid(True, which="major", alpha=0.3)
        if panel is not None:
            ax.set_title(display_value(panel), fontsize=11)
        ax.set_ylabel(_metric_label(opts.metric))
        if x == "bits":
            ax.set_xlabel("bits sent per client" + (" after round 0" if opts.exclude_initial_bits else "")
                          + " (bits_up / n)")
        else:
            ax.set_xlabel(x_label or "rounds")
    for p in range(len(panels), nrows * ncols):
        axs[p // ncols][p % ncols].set_visible(False)

    if style_axis:
        handles = [Line2D([], [], color=colors[k], linewidth=2,
                          label=", ".join(f"{a.name}={display_value(v)}" if _is_number(v) else display_value(v)
                                          for a, v in zip(color_axes, k)) or "all")
                   for k in color_keys] if color_axes else []
        handles += [Line2D([], [], color=style_colors.get(lbl, "0.3"), linestyle=ls, linewidth=1.5, label=display_value(lbl))
                    for lbl, ls in style_of.items()]
    else:
        handles, seen = [], set()
        for ax in axs.flat:
            for h in ax.get_lines():
                if h.get_label() not in seen and not h.get_label().startswith("_") and h.get_label():
                    seen.add(h.get_label())
                    handles.append(h)
    title = opts.title if opts.title is not None else default_title(runs, axes)
    if title:
        fig.suptitle(title, fontsize=10)
    if handles and (len(handles) > 1 or handles[0].get_label() not in ("", "all")):
        if legend_outside:
            fig.legend(handles=handles, loc="center left", bbox_to_anchor=(1.0 - 2.5 / width, 0.5),
                       fontsize=9, frameon=False)
            fig.tight_layout(rect=(0, 0, 1.0 - 2.6 / width, 0.96 if title else 1))
        else:
            axs[0][0].legend(handles=handles, fontsize=9, loc="best")
            fig.tight_layout(rect=(0, 0, 1, 0.96 if title else 1))
    else:
        fig.tight_layout(rect=(0, 0, 1, 0.96 if title else 1))
    save_png(fig, path, opts.dpi)
    plt.close(fig)
    return path


def save_png(fig, path: Path, dpi: int) -> None:
    """Saves a figure as a PNG with a 256-colour palette when Pillow (a dependency of Debian's
    python3-matplotlib) is there: about a third of the size, no visible difference for line plots."""
    import io
    path.parent.mkdir(parents=True, exist_ok=True)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    try:
        from PIL import Image
        with Image.open(io.BytesIO(buf.getvalue())) as im:
            im.convert("RGB").quantize(colors=256).save(path, format="PNG", optimize=True)
    except ImportError:
        path.write_bytes(buf.getvalue())


def _metric_label(metric: str) -> str:
    return {"grad_norm_sq": r"$\Vert\nabla f(x^t)\Vert^2$", "loss": r"$f(x^t)$"}.get(metric, metric)


def default_title(runs: list[Run], axes: list[Axis]) -> str:
    fixed = [f"{a.name}={display_value(a.values[0].label)}" for a in axes if len(a.values) == 1]
    if runs:
        per_run = [dict(tokens_to_options(r.args)) for r in runs]
        for flag in ("--data", "--problem", "--compressor", "--algorithm", "--clients", "--split"):
            values = {o.get(flag) for o in per_run}
            if len(values) == 1 and None not in values and not any(a.name == flag[2:] for a in axes):
                fixed.append(f"{flag[2:]}={display_value(values.pop())}")
    text = ", ".join(fixed)
    return text if len(text) <= 110 else text[:107] + "..."


def write_report(runs: list[Run], axes: list[Axis], out_dir: Path, opts: ReportOptions) -> dict[str, Path]:
    """results.csv, runs.csv, the two plots and targets.md. Returns the paths written."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written: dict[str, Path] = {}
    with_data = [r for r in runs if r.has_data]
    for r in with_data:
        if opts.metric not in r.columns:
            raise SweepError(f"metric '{opts.metric}' is not a column of {r.csv} "
                             f"(columns: {', '.join(r.header)})")
    write_results(runs, axes, out_dir / "results.csv")
    written["results"] = out_dir / "results.csv"
    write_runs_summary(runs, axes, out_dir / "runs.csv", opts.metric)
    written["runs"] = out_dir / "runs.csv"
    if opts.plots and with_data:
        for x in ("rounds", "bits"):
            p = plot_runs(with_data, axes, out_dir / f"{opts.metric}_vs_{x}.png", opts, x=x)
            if p:
                written[f"plot_{x}"] = p
    table = targets_table(runs, axes, opts)
    md = [f"# Sweep report: {opts.metric}", ""]
    if opts.command:
        md += ["```", opts.command, "```", ""]
    fixed = default_title(with_data, axes)
    if fixed:
        md += [f"Fixed: {fixed}.", ""]
    rel = " (relative to each run's round-0 value)" if opts.relative_targets else ""
    md += [f"Rounds and bits per client (bits_up / n{', counted after round 0' if opts.exclude_initial_bits else ', round 0 included'}) "
           f"at the first logged round where {opts.metric} {'>=' if opts.better() else '<='} the target{rel}; "
           "step size from --print-constants.", "", table]
    for key in ("plot_rounds", "plot_bits"):
        if key in written:
            md.append(f"![{key}]({written[key].name})")
    (out_dir / "targets.md").write_text("\n".join(md) + "\n")
    written["targets"] = out_dir / "targets.md"
    return written


def probe_constants(binary: Path, args: list[str]) -> dict[str, float]:
    """Runs ecco-train once with --rounds 0 --print-constants (one process, no output file) and
    returns the constants (L, L_i_AM, L_i_QM, alpha, gamma, ...)."""
    cmd = [str(binary), *combine_args(args, ["--rounds", "0", "--print-constants", "--log-level", "warn"])]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=mpi_environment(), stdin=subprocess.DEVNULL)
    if proc.returncode != 0:
        raise SweepError(f"{shlex.join(cmd)} failed: {error_line(proc.stderr + proc.stdout)}")
    return parse_constants(proc.stdout)


def require_matplotlib() -> None:
    try:
        import matplotlib  # noqa: F401
        import numpy  # noqa: F401
    except ImportError as exc:
        raise SweepError(f"{exc.name} is missing: install Debian's python3-numpy and python3-matplotlib "
                         "(apt-get install python3-numpy python3-matplotlib) and run this script with "
                         f"that Python (/usr/bin/python3; this is {sys.executable})") from None


# ---------------------------------------------------------------------------------------------
# Command line


class _AxisAction(argparse.Action):
    """Collects grid axes in command-line order."""

    def __call__(self, parser, namespace, values, option_string=None):
        axes = getattr(namespace, "axes", None) or []
        axes.append((option_string, list(values) if isinstance(values, list) else [values]))
        namespace.axes = axes


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        if "unrecognized arguments" in message:
            message += " (flags for ecco-train go after '--')"
        super().error(message)


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(
        prog="sweep.py", allow_abbrev=False, formatter_class=argparse.RawDescriptionHelpFormatter,
        usage="%(prog)s [grid axes] [options] -- [ecco-train flags shared by every run]",
        description="Runs every combination of a grid of ecco-train flags under mpirun (resumable), then "
                    "writes a tidy results file, plots and a table of rounds/bits to reach targets.",
        epilog=USAGE_EXAMPLES)
    p.set_defaults(axes=[])
    g = p.add_argument_group("grid axes")
    g.add_argument("--compressor", nargs="+", action=_AxisAction, metavar="SPEC", help="uplink compressor specs")
    g.add_argument("--algorithm", nargs="+", action=_AxisAction, metavar="SPEC", help="method specs")
    g.add_argument("--lr-mult", nargs="+", action=_AxisAction, metavar="M", help="multiples of the theory step")
    g.add_argument("--lr", nargs="+", action=_AxisAction, metavar="RULE", help="raw --lr values")
    g.add_argument("--axis", nargs="+", action=_AxisAction, metavar="ARG",
                   help="FLAG V1 V2 ...: any ecco-train flag as an axis (repeatable)")
    g.add_argument("--grid", action=_AxisAction, metavar="FLAG=V1,V2", help="FLAG=V1,V2,...: the same in one word")
    g.add_argument("--variants", nargs="+", action=_AxisAction, metavar="ARG",
                   help="NAME LABEL=ARGS ...: an axis whose values set several flags")
    r = p.add_argument_group("running")
    r.add_argument("--out-dir", type=Path, default=Path("runs/sweep"), help="output directory (default: runs/sweep)")
    r.add_argument("--binary", type=Path, default=Path(os.environ.get("ECCO_TRAIN", DEFAULT_BINARY)),
                   help="ecco-train (default: $ECCO_TRAIN or build/release/apps/ecco-train in the repository)")
    r.add_argument("--np", type=int, default=min(4, os.cpu_count() or 1),
                   help="MPI ranks per run (default: min(4, cores))")
    r.add_argument("--mpirun", default="mpirun", help="MPI launcher (default: mpirun; 'none' runs the binary directly)")
    r.add_argument("--mpirun-args", default="", help="extra launcher arguments, one string")
    r.add_argument("--jobs", type=int, default=1, help="runs at the same time (default: 1)")
    r.add_argument("--timeout", type=float, default=None, help="seconds before a run is killed and counted failed")
    r.add_argument("--dry-run", action="store_true", help="print the commands and exit")
    r.add_argument("--report-only", action="store_true", help="run nothing; report the runs whose CSV exists")
    r.add_argument("--quiet", action="store_true", help="no progress lines")
    o = p.add_argument_group("report")
    o.add_argument("--metric", default="grad_norm_sq", help="CSV column to plot and tabulate (default: grad_norm_sq)")
    o.add_argument("--higher-is-better", action="store_true", default=None,
                   help="targets are reached from below (default: only for metrics named *acc*)")
    o.add_argument("--targets", nargs="+", type=float, metavar="T",
                   help="targets of the table (default: up to four powers of ten between the common start "
                        "and the best value reached)")
    o.add_argument("--relative-targets", action="store_true", help="targets are fractions of each run's round-0 value")
    o.add_argument("--facet-by", metavar="AXIS", help="one panel per value of this axis")
    o.add_argument("--style-by", metavar="AXIS", default="auto",
                   help="line style by this axis ('none'; default: an algorithm axis with 2-4 values)")
    o.add_argument("--exclude-initial-bits", action="store_true",
                   help="count bits after round 0 (the papers' convention; ecco's row 0 holds g_i^0)")
    o.add_argument("--bits-xscale", choices=["auto", "log", "linear"], default="auto",
                   help="x scale of the bits plot (auto: log when the runs' totals differ more than 10x)")
    o.add_argument("--title", help="plot title (default: the flags every run shares)")
    o.add_argument("--no-plots", action="store_true", help="write no PNGs")
    return p


def axes_from_namespace(items: list[tuple[str, list[str]]]) -> list[Axis]:
    axes: list[Axis] = []
    for opt, values in items:
        if opt in ("--compressor", "--algorithm"):
            axes.append(flag_axis(opt, values))
        elif opt == "--lr-mult":
            axes.append(lr_mult_axis(values))
        elif opt == "--lr":
            axes.append(flag_axis("--lr", values))
        elif opt == "--axis":
            if len(values) < 2:
                raise SweepError("--axis needs a flag and at least one value")
            axes.append(flag_axis(values[0], values[1:]))
        elif opt == "--grid":
            flag, sep, rest = values[0].partition("=")
            if not sep or not rest:
                raise SweepError(f"--grid '{values[0]}' is not FLAG=V1,V2,...")
            axes.append(flag_axis(flag, split_grid_values(rest)))
        elif opt == "--variants":
            if len(values) < 2:
                raise SweepError("--variants needs a name and at least one LABEL=ARGS")
            axes.append(variants_axis(values[0], values[1:]))
    return axes


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if "--" in argv:
        cut = argv.index("--")
        own, passthrough = argv[:cut], argv[cut + 1:]
    else:
        own, passthrough = argv, []
    parser = build_parser()
    ns = parser.parse_args(own)
    try:
        axes = axes_from_namespace(ns.axes)
        if ns.np < 1 or ns.jobs < 1:
            raise SweepError("--np and --jobs must be >= 1")
        if not ns.no_plots and not ns.dry_run:
            require_matplotlib()
        runs = plan_runs(axes, passthrough, ns.out_dir)
        runner = Runner(binary=ns.binary, np=ns.np, mpirun=ns.mpirun, mpirun_args=shlex.split(ns.mpirun_args),
                        jobs=ns.jobs, timeout=ns.timeout, quiet=ns.quiet)
        if ns.dry_run:
            for run in runs:
                state = "done" if run.csv.exists() else "todo"
                print(f"[{run.index + 1}/{len(runs)}] {state} {shlex.join(runner.command(run))}")
            return 0
        ok = True
        if not ns.report_only:
            ok = execute_runs(runs, runner)
        else:
            for run in runs:
                run.command = runner.command(run)
        load_runs(runs)
        opts = ReportOptions(metric=ns.metric, higher_is_better=ns.higher_is_better, targets=ns.targets,
                             relative_targets=ns.relative_targets, facet_by=ns.facet_by, style_by=ns.style_by,
                             exclude_initial_bits=ns.exclude_initial_bits, bits_xscale=ns.bits_xscale,
                             title=ns.title, plots=not ns.no_plots,
                             command=shlex.join(["scripts/sweep.py", *argv]))
        if any(r.has_data for r in runs):
            written = write_report(runs, axes, ns.out_dir, opts)
            if not ns.quiet:
                print("sweep: wrote " + ", ".join(str(p) for p in written.values()), file=sys.stderr)
        else:
            print("sweep: no run has a CSV; nothing to report", file=sys.stderr)
        missing = [r for r in runs if r.status == "missing"]
        if ns.report_only and missing:
            print(f"sweep: {len(missing)} of {len(runs)} runs have no CSV yet", file=sys.stderr)
        return 0 if ok else 1
    except SweepError as exc:
        print(f"sweep.py: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
