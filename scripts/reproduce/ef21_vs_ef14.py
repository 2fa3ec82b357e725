#!/usr/bin/env python3
"""EF21 paper (NeurIPS 2021), ALGORITHMS.md 3.1: EF21 vs classic error feedback (EF14) with
Top-1 at 1x, 2x, 4x and 8x the EF21 theory step size 1/(L + L_QM xi(alpha)), on a9a,
mushrooms, phishing and w8a split contiguously over 20 clients; logistic regression with the
non-convex regulariser, lambda = 0.1; ||grad f(x^t)||^2 against bits per client.

Writes to --out-dir the sweep's outputs (grad_norm_sq_vs_bits.png is the paper's figure, one
panel per dataset; grad_norm_sq_vs_rounds.png; results.csv; runs.csv; targets.md) and
summary.md, the table shown in docs/reproductions.md."""
from __future__ import annotations

import common
from common import ReportOptions, sweep

DATASETS = ["a9a", "mushrooms", "phishing", "w8a"]


def main() -> int:
    p = common.base_parser("ef21_vs_ef14", __doc__.split("\n\n")[0], rounds=2000)
    p.add_argument("--datasets", nargs="+", default=DATASETS, help=f"default: {' '.join(DATASETS)}")
    p.add_argument("--mults", nargs="+", default=["1", "2", "4", "8"], help="step multiples (default: 1 2 4 8)")
    p.add_argument("--clients", type=int, default=20, help="default: 20")
    p.add_argument("--k", default="1", help="Top-k (default: 1)")
    p.add_argument("--targets", nargs="+", type=float, default=[1e-2, 1e-3],
                   help="||grad f||^2 targets of the table, relative to round 0 (default: 1e-2 1e-3)")
    ns = p.parse_args()
    data_dir = common.find_data_dir(ns.data_dir)
    data = sweep.variants_axis("data", {d: ["--data", str(common.dataset(data_dir, d))] for d in ns.datasets})
    axes = [data, sweep.flag_axis("--algorithm", ["ef21", "ef14"]), sweep.lr_mult_axis(ns.mults)]
    fixed = ["--clients", str(ns.clients), "--split", "contiguous", "--problem", "logistic:lambda=0.1",
             "--compressor", f"topk:k={ns.k}", "--lr", "theory", "--x0", "zero", "--rounds", str(ns.rounds),
             "--seed", str(ns.seed), "--log-every", str(ns.log_every)]
    opts = ReportOptions(facet_by="data", style_by="algorithm", exclude_initial_bits=True, bits_xscale="linear",
                         targets=ns.targets, relative_targets=True, command=common.command_line(),
                         title=f"EF21 vs EF14, Top-{ns.k}, n = {ns.clients}, logistic lambda = 0.1")
    runs, ok = common.run_grid(ns, axes, fixed, ns.out_dir, opts)
    if ns.dry_run or not any(r.has_data for r in runs):
        return 0 if ok else 1

    figure = ns.out_dir / "grad_norm_sq_vs_bits.png"
    rows = []
    for d in ns.datasets:
        for m in ns.mults:
            e21, e14 = common.one(runs, data=d, algorithm="ef21", lr_mult=m), \
                common.one(runs, data=d, algorithm="ef14", lr_mult=m)
            row = [d, m, sweep.fmt_sci(e21.constants.get("gamma", float("nan")), 4) if e21 else ""]
            for r in (e21, e14):
                row.append(sweep.fmt_sci(float(r.columns["grad_norm_sq"][-1])) if r and r.has_data else r.status)
            for t in ns.targets:
                for r in (e21, e14):
                    hit = sweep.first_reach(r, "grad_norm_sq", t, True, False) if r and r.has_data else None
                    row.append(str(hit[0]) if hit else "not reached")
            rows.append(row)
    header = ["dataset", "mult", "gamma", f"EF21 after {ns.rounds}", f"EF14 after {ns.rounds}"]
    for t in ns.targets:
        header += [f"EF21 rounds to {sweep.fmt_sci(t)}x", f"EF14 rounds to {sweep.fmt_sci(t)}x"]
    table = common.markdown_table(header, rows)
    per_round = {}
    for r in runs:
        if r.has_data and len(r.rows) > 1:
            bits = sweep.bits_per_client(r)
            per_round[r.grid["data"]] = (bits[-1] - bits[0]) / max(1.0, float(r.columns["round"][-1]))
    text = ["# EF21 vs EF14 (EF21 paper, Top-1, multiples of the theory step)", "",
            "```", common.command_line(), "```", "",
            f"||grad f(x^t)||^2 after {ns.rounds} rounds, and the first round where it is at most the target "
            "times its round-0 value. gamma = mult / (L + L_QM xi(alpha)) from --print-constants.", "",
            table,
            "Bits per client per round after round 0: " +
            ", ".join(f"{d} {v:.0f}" for d, v in per_round.items()) +
            " (both methods send one Top-1 message per client per round).", "",
            "![EF21 vs EF14 against bits](grad_norm_sq_vs_bits.png)", "",
            "![EF21 vs EF14 against rounds](grad_norm_sq_vs_rounds.png)", ""]
    (ns.out_dir / "summary.md").write_text("\n".join(text))
    return common.finish(ns, ok, [ns.out_dir / "summary.md", figure])


if __name__ == "__main__":
    raise SystemExit(common.main_guard(main))
