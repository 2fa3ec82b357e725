#!/usr/bin/env python3
"""EF21-W paper ("Error Feedback Reloaded", ICLR 2024), ALGORITHMS.md 3.3: EF21 with the
original step 1/(L + L_QM xi) against EF21-W and the improved analysis of EF21 with the step
1/(L + L_AM xi), Top-1, on clients with uneven smoothness constants L_i:
  - australian and w1a (logistic regression with the non-convex regulariser, lambda = 0.001),
    rows sorted by their own smoothness and dealt in blocks (--split by_smoothness), up to
    1000 clients (at most one per row), run 10x (australian) and 5x (w1a) longer than the rest
    because their theory steps are tiny;
  - the EF21-W-like generator (synthetic:rows=50,dim=20,spread=S; least squares with
    lambda = 0.001) for several spreads S = max L_i / min L_i, L fixed.
Expected (ALGORITHMS.md 3.3): the speed-up in rounds equals the step ratio
gamma_AM / gamma_QM = (L + L_QM xi)/(L + L_AM xi), large for australian, small for w1a, and
growing with the spread; EF21 with the L_AM step follows EF21-W exactly (Top-k is positively
homogeneous).

Writes to --out-dir the sweep's outputs (grad_norm_sq_vs_rounds.png: one panel per data set;
grad_norm_sq_vs_bits.png; results.csv; runs.csv; targets.md) and summary.md with the table
of constants, step sizes and rounds to reach the targets."""
from __future__ import annotations

import math

import common
from common import ReportOptions, sweep

METHODS = {
    "EF21 (L_QM step)": ["--algorithm", "ef21", "--lr", "theory:mean=qm"],
    "EF21-W (L_AM step)": ["--algorithm", "ef21w", "--lr", "theory"],
    "EF21 (L_AM step)": ["--algorithm", "ef21", "--lr", "theory:mean=am"],
}


def main() -> int:
    p = common.base_parser("ef21w_heterogeneous", __doc__.split("\n\n")[0], rounds=2000)
    p.add_argument("--datasets", nargs="+", default=["australian", "w1a"], help="default: australian w1a")
    p.add_argument("--clients", type=int, default=1000,
                   help="clients for the LIBSVM data, capped at the number of rows (default: 1000)")
    p.add_argument("--lambda", dest="lam", default="0.001", help="regulariser weight (default: 0.001)")
    p.add_argument("--spreads", nargs="+", default=["10", "100", "1000", "10000"],
                   help="spreads of the generator (default: 10 100 1000 10000; none: skip it)")
    p.add_argument("--synthetic-clients", type=int, default=1000, help="clients of the generator (default: 1000)")
    p.add_argument("--targets", nargs="+", type=float, default=[1e-1, 1e-2, 1e-4],
                   help="||grad f||^2 targets relative to round 0 (default: 1e-1 1e-2 1e-4)")
    p.add_argument("--rounds-for", nargs="+", default=["australian=x10", "w1a=x5"], metavar="DATA=R",
                   help="longer runs for slow data sets: R rounds, or xM for M times --rounds (default: "
                        "australian=x10 w1a=x5; 'none': --rounds everywhere)")
    p.add_argument("--no-l-am-ef21", action="store_true", help="skip the EF21 run with the L_AM step")
    ns = p.parse_args()

    variants: dict[str, list[str]] = {}
    rounds_for = {}
    for item in ns.rounds_for:
        if item == "none":
            continue
        name, sep, value = item.partition("=")
        try:
            rounds = int(float(value[1:]) * ns.rounds) if value.startswith("x") else int(value)
        except ValueError:
            rounds = 0
        if not sep or rounds < 1:
            raise common.SweepError(f"--rounds-for: '{item}' is not DATA=ROUNDS or DATA=xMULTIPLE")
        rounds_for[name] = str(rounds)
    notes: list[str] = []
    if ns.datasets:
        data_dir = common.find_data_dir(ns.data_dir)
    for d in ns.datasets:
        path = common.dataset(data_dir, d)
        rows = common.count_rows(path)
        n = min(ns.clients, rows)
        if n < ns.clients:
            notes.append(f"{d} has {rows} rows: {n} clients (one row each) instead of {ns.clients}.")
        variants[d] = ["--data", str(path), "--clients", str(n), "--split", "by_smoothness",
                       "--problem", f"logistic:lambda={ns.lam}"]
        if d in rounds_for:
            variants[d] += ["--rounds", rounds_for[d]]
    spreads = [s for s in ns.spreads if s != "none"]
    for s in spreads:
        variants[f"synthetic spread={s}"] = [
            "--data", f"synthetic:rows=50,dim=20,spread={s}", "--clients", str(ns.synthetic_clients),
            "--split", "contiguous", "--problem", f"least_squares:lambda={ns.lam}"]
    if not variants:
        raise common.SweepError("nothing to run: no datasets and no spreads")
    methods = {k: v for k, v in METHODS.items() if not (ns.no_l_am_ef21 and k == "EF21 (L_AM step)")}
    axes = [sweep.variants_axis("data", variants), sweep.variants_axis("method", methods)]
    fixed = ["--compressor", "topk:k=1", "--x0", "zero", "--rounds", str(ns.rounds), "--seed", str(ns.seed),
             "--log-every", str(ns.log_every)]
    opts = ReportOptions(facet_by="data", style_by="method", targets=ns.targets, relative_targets=True,
                         command=common.command_line(), title="EF21 (L_QM step) vs EF21-W (L_AM step), Top-1")
    runs, ok = common.run_grid(ns, axes, fixed, ns.out_dir, opts)
    if ns.dry_run or not any(r.has_data for r in runs):
        return 0 if ok else 1

    qm_name, w_name, am_name = list(METHODS)
    const_header = ["data", "n", "d", "rounds", "L", "L_AM", "L_QM", "L_var", "gamma_QM (EF21)",
                    "gamma_AM (EF21-W)", "gamma_AM/gamma_QM", "max rel. diff EF21 (AM) vs EF21-W"]
    reach_header = ["data", "target", "rounds EF21 (QM)", "rounds EF21-W (AM)", "speed-up", "gamma_AM/gamma_QM",
                    "final EF21 (QM)", "final EF21-W (AM)"]
    const_rows, reach_rows = [], []
    for label in variants:
        qm, w, am = (common.one(runs, data=label, method=m) for m in (qm_name, w_name, am_name))
        ref = qm or w
        c = ref.constants if ref else {}
        L_am, L_qm = c.get("L_i_AM", math.nan), c.get("L_i_QM", math.nan)
        g_qm = qm.constants.get("gamma", math.nan) if qm else math.nan
        g_am = w.constants.get("gamma", math.nan) if w else math.nan
        last = int(ref.columns["round"][-1]) if ref and ref.has_data else ""
        diff = ""
        if am and w and am.has_data and w.has_data and len(am.rows) == len(w.rows):
            a, b = am.columns["grad_norm_sq"], w.columns["grad_norm_sq"]
            diff = sweep.fmt_sci(float(max(abs(a - b) / abs(b))), 2)
        const_rows.append([label, str(ref.clients if ref else ""), _dimension(ref), str(last),
                           sweep.fmt_sci(c.get("L", math.nan), 4), sweep.fmt_sci(L_am, 4), sweep.fmt_sci(L_qm, 4),
                           sweep.fmt_sci(L_qm ** 2 - L_am ** 2, 3), sweep.fmt_sci(g_qm, 4), sweep.fmt_sci(g_am, 4),
                           f"{g_am / g_qm:.3f}", diff])
        for t in ns.targets:
            hq = sweep.first_reach(qm, "grad_norm_sq", t, True, False) if qm and qm.has_data else None
            hw = sweep.first_reach(w, "grad_norm_sq", t, True, False) if w and w.has_data else None
            if hq and hw and hw[0] > 0:
                speed = f"{hq[0] / hw[0]:.2f}"
            elif hw and not hq and hw[0] > 0 and last:
                speed = f"> {last / hw[0]:.2f}"
            else:
                speed = ""
            reach_rows.append([label, f"{sweep.fmt_sci(t)} x start", str(hq[0]) if hq else "not reached",
                               str(hw[0]) if hw else "not reached", speed, f"{g_am / g_qm:.3f}",
                               sweep.fmt_sci(float(qm.columns["grad_norm_sq"][-1])) if qm and qm.has_data else "",
                               sweep.fmt_sci(float(w.columns["grad_norm_sq"][-1])) if w and w.has_data else ""])
    text = ["# EF21 (L_QM step) vs EF21-W (L_AM step) on heterogeneous clients", "",
            "```", common.command_line(), "```", ""]
    text += [f"- {n}" for n in notes]
    text += ["", "Constants and step sizes from --print-constants (L_var = L_QM^2 - L_AM^2). The last column is "
             "the largest relative difference of ||grad f(x^t)||^2 between EF21 run with the L_AM step and "
             "EF21-W over all rounds.", "",
             common.markdown_table(const_header, const_rows),
             "Rounds: the first logged round where ||grad f(x^t)||^2 is at most the target times its round-0 "
             "value; speed-up = rounds of EF21 (QM) / rounds of EF21-W (AM) (\"> x\": EF21 (QM) did not reach "
             "the target within the run). final = ||grad f||^2 at the last round.", "",
             common.markdown_table(reach_header, reach_rows),
             "![against rounds](grad_norm_sq_vs_rounds.png)", "", "![against bits](grad_norm_sq_vs_bits.png)", ""]
    (ns.out_dir / "summary.md").write_text("\n".join(text))
    return common.finish(ns, ok, [ns.out_dir / "summary.md", ns.out_dir / "grad_norm_sq_vs_rounds.png"])


def _dimension(run) -> str:
    if run is None or not run.log.exists():
        return ""
    import re
    m = re.search(r"d = (\d+)", run.log.read_text(errors="replace"))
    return m.group(1) if m else ""


if __name__ == "__main__":
    raise SystemExit(common.main_guard(main))
