#!/usr/bin/env python3
"""Tiny sweeps with scripts/sweep.py on the built-in generator (no datasets needed):
a 2 x 2 grid on 2 ranks, then checks of results.csv against every run's CSV, the PNGs, the
targets table, resuming (finished runs are skipped), a failing run, and the argument merging.

usage: test_sweep.py <ecco-train> [mpiexec]"""
import csv
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SWEEP = REPO / "scripts" / "sweep.py"
sys.path.insert(0, str(REPO / "scripts"))
import sweep  # noqa: E402

FAILURES = []


def check(cond, what):
    if not cond:
        FAILURES.append(what)
        print(f"FAIL: {what}", file=sys.stderr)


def run_sweep(args):
    proc = subprocess.run([sys.executable, str(SWEEP), *args], capture_output=True, text=True, timeout=240)
    return proc.returncode, proc.stdout, proc.stderr


def read(path):
    with open(path, newline="") as fh:
        rows = list(csv.reader(fh))
    return rows[0], rows[1:]


def test_argument_merging():
    c = sweep.combine_args(["--rounds", "5", "--lr", "theory:mean=am"], ["--lr", "theory:mult=4"],
                           ["--rounds", "7", "--print-constants"])
    check(c == ["--rounds", "7", "--print-constants", "--lr", "theory:mean=am,mult=4"], f"combine_args: {c}")
    try:
        sweep.combine_args(["--lr", "0.1"], ["--lr", "theory:mult=2"])
        check(False, "a numeric --lr with --lr-mult must be an error")
    except sweep.SweepError:
        pass
    check(sweep.split_grid_values("synthetic:rows=50,dim=20,synthetic:rows=80") ==
          ["synthetic:rows=50,dim=20", "synthetic:rows=80"], "split_grid_values keeps spec commas")
    check(sweep.split_grid_values("contiguous,shuffle:seed=2") == ["contiguous", "shuffle:seed=2"],
          "split_grid_values splits plain values")
    text = ("constants: L = 2.5; L_i min = 1, AM = 3.25, QM = 3.5e+00, max = 4\n"
            "constants: alpha = 0.01, step size gamma = 0.00125 (theory; EF21 rule: xi(alpha) = 198, L_mean = 3.5)\n")
    c = sweep.parse_constants(text)
    check(c == {"L": 2.5, "L_i_min": 1.0, "L_i_AM": 3.25, "L_i_QM": 3.5, "L_i_max": 4.0, "alpha": 0.01,
                "gamma": 0.00125, "xi": 198.0, "L_mean": 3.5}, f"parse_constants: {c}")


def main():
    train, mpiexec = sys.argv[1], (sys.argv[2] if len(sys.argv) > 2 else "mpirun")
    test_argument_merging()
    work = Path(tempfile.mkdtemp(prefix="ecco-sweep-test-"))
    try:
        out = work / "sweep"
        clients, rounds, every = 4, 20, 3
        args = ["--algorithm", "ef21", "ef14", "--lr-mult", "1", "2", "--np", "2", "--mpirun", mpiexec,
                "--binary", train, "--out-dir", str(out), "--targets", "1e-2", "1e-9",
                "--", "--data", "synthetic_classification:rows=200,dim=10", "--clients", str(clients),
                "--compressor", "topk:k=2", "--rounds", str(rounds), "--log-every", str(every)]
        rc, so, se = run_sweep(args)
        check(rc == 0, f"first sweep exits 0 (got {rc}): {se[-2000:]}")
        check(se.count(" ran ") == 4 and "[4/4]" in se and "ETA" in se, f"four progress lines with ETA: {se}")

        # results.csv: one row per run and logged round, equal to each run's CSV
        header, rows = read(out / "results.csv")
        for col in ("run", "algorithm", "lr_mult", "clients", "round", "grad_norm_sq", "loss", "bits_up",
                    "bits_down", "seconds", "bits_up_per_client"):
            check(col in header, f"results.csv has column {col}")
        runs_csv = sorted((out / "runs").glob("*.csv"))
        check(len(runs_csv) == 4, f"four run CSVs (got {len(runs_csv)})")
        check(len(list((out / "runs").glob("*.log"))) == 4, "four run logs")
        expected_rows = len(range(0, rounds, every)) + 1        # rows 0, 3, ..., 18 and the last (20)
        by_run = {}
        for row in rows:
            by_run.setdefault(row[header.index("run")], []).append(dict(zip(header, row)))
        check(len(by_run) == 4, f"results.csv holds four runs (got {len(by_run)})")
        grid_seen = set()
        for path in runs_csv:
            run_header, run_rows = read(path)
            got = by_run.get(path.stem, [])
            check(len(run_rows) == expected_rows, f"{path.name}: {expected_rows} logged rows (got {len(run_rows)})")
            check(len(got) == len(run_rows), f"{path.stem}: rows in results.csv = rows of its CSV")
            for mine, theirs in zip(got, run_rows):
                for j, col in enumerate(run_header):
                    check(mine[col] == theirs[j], f"{path.stem} {col}: {mine[col]} != {theirs[j]}")
                check(abs(float(mine["bits_up_per_client"]) - float(mine["bits_up"]) / clients) < 1e-9,
                      "bits_up_per_client = bits_up / clients")
                check(mine["clients"] == str(clients), "clients column")
            if got:
                grid_seen.add((got[0]["algorithm"], got[0]["lr_mult"]))
                log = path.with_suffix(".log").read_text()
                check(log.startswith("# command: ") and "--lr theory:mult=" + got[0]["lr_mult"] in log,
                      f"{path.stem}: log starts with the command")
                check("constants:" in log, f"{path.stem}: log holds the constants")
                if "--summary" in log.splitlines()[0]:
                    import json
                    summary = json.loads(path.with_suffix(".json").read_text())
                    check(str(summary["totals"]["bits_up"]) == run_rows[-1][run_header.index("bits_up")],
                          f"{path.stem}: --summary written next to the CSV")
        check(grid_seen == {("ef21", "1"), ("ef21", "2"), ("ef14", "1"), ("ef14", "2")}, f"grid: {grid_seen}")

        # runs.csv and targets.md
        rh, rr = read(out / "runs.csv")
        check(len(rr) == 4 and all(r[rh.index("status")] == "ok" for r in rr), "runs.csv: four ok runs")
        check(all(float(r[rh.index("gamma")]) > 0 for r in rr), "runs.csv: gamma parsed")
        md = (out / "targets.md").read_text()
        table = [ln for ln in md.splitlines() if ln.startswith("|")]
        check(len(table) == 2 + 4, f"targets.md: header, rule and four rows (got {len(table)})")
        check("rounds to 0.01" in md and "rounds to 1e-9" in md, "targets.md: one column pair per target")
        check("not reached" in md, "targets.md: 1e-9 is not reached in 20 rounds")

        # PNGs
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.image as mpimg
        for name in ("grad_norm_sq_vs_rounds.png", "grad_norm_sq_vs_bits.png"):
            p = out / name
            check(p.is_file(), f"{name} exists")
            if p.is_file():
                check(p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", f"{name}: PNG signature")
                img = mpimg.imread(str(p))
                check(img.ndim == 3 and img.shape[0] > 100 and img.shape[1] > 100, f"{name}: readable image")

        # resuming: nothing runs again, the CSVs are untouched
        mtimes = {p: p.stat().st_mtime_ns for p in runs_csv}
        rc, so, se = run_sweep(args)
        check(rc == 0, f"second sweep exits 0 (got {rc})")
        check(se.count("skip ") == 4 and " ran " not in se and "0 ran, 4 skipped" in se,
              f"second sweep skips every run: {se}")
        check(all(p.stat().st_mtime_ns == m for p, m in mtimes.items()), "finished CSVs untouched")
        check(len(read(out / "results.csv")[1]) == 4 * expected_rows, "results.csv rebuilt with every run")

        # a failing run is reported with its error line and command; the others still run
        bad = work / "bad"
        rc, so, se = run_sweep(["--compressor", "topk:k=1", "nosuch", "--np", "2", "--mpirun", mpiexec,
                                "--binary", train, "--out-dir", str(bad), "--",
                                "--data", "synthetic_classification:rows=100,dim=5", "--clients", "2",
                                "--rounds", "3"])
        check(rc == 1, f"a sweep with a failed run exits 1 (got {rc})")
        check("FAILED" in se and "nosuch" in se and "command:" in se, f"failure reported: {se}")
        check(len(list((bad / "runs").glob("*.csv"))) == 1, "the good run still ran")
        check((bad / "results.csv").is_file(), "results written for the runs that finished")

        # a bad sweep option is a command-line error (status 2)
        rc, so, se = run_sweep(["--lr-mult", "x", "--binary", train, "--out-dir", str(work / "x")])
        check(rc == 2 and "error" in se, f"bad --lr-mult exits 2 (got {rc}): {se}")
    finally:
        if FAILURES:
            print(f"kept {work} for inspection", file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)
    if FAILURES:
        print(f"{len(FAILURES)} check(s) failed", file=sys.stderr)
        return 1
    print("sweep test: all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
