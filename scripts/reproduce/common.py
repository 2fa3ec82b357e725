"""Shared pieces of the paper reproductions: dataset lookup, the common command line, and a
run-and-report helper on top of scripts/sweep.py."""
from __future__ import annotations

import argparse
import os
import shlex
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
sys.path.insert(0, str(REPO / "scripts"))

import sweep  # noqa: E402  (scripts/sweep.py)
from sweep import Axis, ReportOptions, Runner, SweepError  # noqa: E402,F401


def find_data_dir(explicit: str | None) -> Path:
    """--data-dir, else $ECCO_DATA_DIR, else ../shared/datasets beside the repository. The
    directory may hold the LIBSVM files directly or in a libsvm/ subdirectory."""
    candidates = []
    if explicit:
        candidates.append(("--data-dir", Path(explicit)))
    elif os.environ.get("ECCO_DATA_DIR"):
        candidates.append(("ECCO_DATA_DIR", Path(os.environ["ECCO_DATA_DIR"])))
    else:
        candidates.append(("default", REPO.parent / "shared" / "datasets"))
    source, base = candidates[0]
    for d in (base / "libsvm", base):
        if d.is_dir() and any(d.glob("*.txt")):
            return d
    raise SweepError(f"no LIBSVM datasets in {base} (from {source}); pass --data-dir DIR or set "
                     "ECCO_DATA_DIR to the directory holding libsvm/a9a.txt, mushrooms.txt, ...")


def dataset(data_dir: Path, name: str) -> Path:
    for candidate in (data_dir / f"{name}.txt", data_dir / name):
        if candidate.is_file():
            return candidate
    raise SweepError(f"dataset {name} not found in {data_dir} (expected {data_dir / (name + '.txt')})")


def count_rows(path: Path) -> int:
    """Rows of a LIBSVM file (non-empty lines)."""
    with open(path, "rb") as fh:
        return sum(1 for line in fh if line.strip())


def base_parser(name: str, description: str, rounds: int, epilog: str = "") -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=f"scripts/reproduce/{name}.py", description=description, epilog=epilog,
                                formatter_class=argparse.RawDescriptionHelpFormatter, allow_abbrev=False)
    p.add_argument("--out-dir", type=Path, default=REPO / "runs" / "reproduce" / name,
                   help=f"output directory (default: runs/reproduce/{name} in the repository)")
    p.add_argument("--data-dir", help="directory of the LIBSVM files (default: $ECCO_DATA_DIR, else "
                                      "../shared/datasets beside the repository)")
    p.add_argument("--rounds", type=int, default=rounds, help=f"rounds per run (default: {rounds})")
    p.add_argument("--log-every", type=int, default=1, help="log a CSV row every N rounds (default: 1)")
    p.add_argument("--seed", type=int, default=1, help="ecco-train --seed (default: 1)")
    p.add_argument("--binary", type=Path, default=Path(os.environ.get("ECCO_TRAIN", sweep.DEFAULT_BINARY)),
                   help="ecco-train (default: $ECCO_TRAIN or build/release/apps/ecco-train)")
    p.add_argument("--np", type=int, default=1,
                   help="MPI ranks per run (default: 1; the CSVs do not depend on it)")
    p.add_argument("--jobs", type=int, default=min(2, os.cpu_count() or 1),
                   help="runs at the same time (default: min(2, cores))")
    p.add_argument("--mpirun", default="mpirun", help="MPI launcher ('none': run ecco-train directly)")
    p.add_argument("--report-only", action="store_true", help="run nothing; report the finished runs")
    p.add_argument("--dry-run", action="store_true", help="print the commands and exit")
    p.add_argument("--quiet", action="store_true", help="no progress lines")
    return p


def run_grid(ns, axes: list[Axis], fixed: list[str], out_dir: Path, opts: ReportOptions):
    """Plans, runs (unless --report-only), loads and reports a grid with sweep.py's machinery.
    Returns (runs, ok); the sweep's own outputs (results.csv, runs.csv, PNGs, targets.md) go to
    out_dir."""
    runs = sweep.plan_runs(axes, fixed, out_dir)
    runner = Runner(binary=ns.binary, np=ns.np, mpirun=ns.mpirun, jobs=ns.jobs, quiet=ns.quiet)
    if ns.dry_run:
        for run in runs:
            print(("done " if run.csv.exists() else "todo ") + shlex.join(runner.command(run)))
        return runs, True
    ok = True
    if not ns.report_only:
        ok = sweep.execute_runs(runs, runner)
    for run in runs:
        run.command = runner.command(run)
    sweep.load_runs(runs)
    if any(r.has_data for r in runs):
        sweep.write_report(runs, axes, out_dir, opts)
    return runs, ok


def runs_by(runs, **grid):
    """The runs whose grid values match every key=value given."""
    return [r for r in runs if all(r.grid.get(k) == v for k, v in grid.items())]


def one(runs, **grid):
    found = runs_by(runs, **grid)
    return found[0] if found else None


def markdown_table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def command_line() -> str:
    return shlex.join([f"scripts/reproduce/{Path(sys.argv[0]).name}", *sys.argv[1:]])


def finish(ns, ok: bool, written: list[Path]) -> int:
    if not ns.quiet and written:
        print("wrote " + ", ".join(str(p) for p in written), file=sys.stderr)
    return 0 if ok else 1


def main_guard(fn) -> int:
    try:
        sweep.require_matplotlib()
        return fn()
    except SweepError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
