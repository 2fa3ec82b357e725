#!/usr/bin/env python3
"""EF21 with Bells & Whistles (arXiv 2110.03294), ALGORITHMS.md 3.2, experiment 2: EF21 with
partial participation. EF21-PP with floor(p n) of n = 100 clients per round (nice sampling),
p = 0.5, 0.25, 0.125, 0.065, against EF21 (every client every round), Top-1, all with the same
step: 4x the EF21 theory step 1/(L + L_QM xi) (the paper tunes multiples of it; EF21-PP's own
theory step is much smaller and undefined for small p, see the table), on a9a and w8a split
contiguously; logistic regression with the non-convex regulariser, lambda = 0.1.
Expected: per round EF21-PP is slower by about the participation fraction; per bit sent it is
about as good (absent clients send nothing).

Writes to --out-dir the sweep's outputs (grad_norm_sq_vs_rounds.png, grad_norm_sq_vs_bits.png,
results.csv, runs.csv, targets.md) and summary.md."""
from __future__ import annotations

import math

import common
from common import ReportOptions, sweep

DATASETS = ["a9a", "w8a"]


def main() -> int:
    p = common.base_parser("ef21_pp", __doc__.split("\n\n")[0], rounds=3000)
    p.add_argument("--datasets", nargs="+", default=DATASETS, help=f"default: {' '.join(DATASETS)}")
    p.add_argument("--participation", nargs="+", default=["0.5", "0.25", "0.125", "0.065"],
                   help="fractions p (default: 0.5 0.25 0.125 0.065)")
    p.add_argument("--mult", default="4", help="multiple of the EF21 theory step (default: 4)")
    p.add_argument("--clients", type=int, default=100, help="default: 100")
    p.add_argument("--targets", nargs="+", type=float, default=[1e-1, 1e-2],
                   help="||grad f||^2 targets relative to round 0 (default: 1e-1 1e-2)")
    ns = p.parse_args()
    data_dir = common.find_data_dir(ns.data_dir)
    paths = {d: common.dataset(data_dir, d) for d in ns.datasets}
    shared = ["--clients", str(ns.clients), "--split", "contiguous", "--problem", "logistic:lambda=0.1",
              "--compressor", "topk:k=1", "--x0", "zero"]

    # the EF21 step of each data set (one --rounds 0 run), and EF21-PP's own theory step for reference
    steps: dict[str, float] = {}
    pp_steps: dict[tuple[str, str], str] = {}
    for d, path in paths.items():
        c = sweep.probe_constants(ns.binary, [*shared, "--data", str(path), "--algorithm", "ef21",
                                              "--lr", f"theory:mult={ns.mult}"])
        if "gamma" not in c:
            raise common.SweepError(f"no step size in the --print-constants output for {d}")
        steps[d] = c["gamma"]
        for q in ns.participation:
            try:
                cc = sweep.probe_constants(ns.binary, [*shared, "--data", str(path), "--algorithm",
                                                       f"ef21_pp:participation={q}", "--lr", "theory"])
                pp_steps[(d, q)] = sweep.fmt_sci(cc.get("gamma", math.nan), 4)
            except common.SweepError:
                pp_steps[(d, q)] = "undefined (theta_p <= 0)"

    data = sweep.variants_axis("data", {d: ["--data", str(path), "--lr", repr(steps[d])]
                                        for d, path in paths.items()})
    methods = {"EF21": ["--algorithm", "ef21"]}
    for q in ns.participation:
        methods[f"EF21-PP p={q}"] = ["--algorithm", f"ef21_pp:participation={q}"]
    axes = [data, sweep.variants_axis("method", methods)]
    fixed = [*shared, "--rounds", str(ns.rounds), "--seed", str(ns.seed), "--log-every", str(ns.log_every)]
    opts = ReportOptions(facet_by="data", style_by="none", targets=ns.targets, relative_targets=True,
                         exclude_initial_bits=True, bits_xscale="linear", command=common.command_line(),
                         title=f"EF21-PP vs EF21, Top-1, n = {ns.clients}, {ns.mult}x EF21 theory step")
    runs, ok = common.run_grid(ns, axes, fixed, ns.out_dir, opts)
    if ns.dry_run or not any(r.has_data for r in runs):
        return 0 if ok else 1

    header = ["data", "method", "clients per round", "gamma used", "EF21-PP theory gamma",
              f"final (round {ns.rounds})"]
    for t in ns.targets:
        header += [f"rounds to {sweep.fmt_sci(t)}x", f"bits/n to {sweep.fmt_sci(t)}x"]
    rows = []
    for d in ns.datasets:
        for m in methods:
            r = common.one(runs, data=d, method=m)
            q = m.split("p=")[1] if "p=" in m else None
            per_round = math.floor(float(q) * ns.clients) if q else ns.clients
            if r is None or not r.has_data:
                rows.append([d, m, str(per_round), "", "", r.status if r else ""] + [""] * (2 * len(ns.targets)))
                continue
            row = [d, m, str(per_round), sweep.fmt_sci(r.constants.get("gamma", steps[d]), 4),
                   pp_steps.get((d, q), "") if q else "", sweep.fmt_sci(float(r.columns["grad_norm_sq"][-1]))]
            for t in ns.targets:
                hit = sweep.first_reach(r, "grad_norm_sq", t, True, False)
                row += [str(hit[0]), sweep.fmt_sci(hit[2])] if hit else ["not reached", ""]
            rows.append(row)
    text = ["# EF21-PP vs EF21 (EF21-BW, experiment 2)", "", "```", common.command_line(), "```", "",
            "gamma used: the EF21 theory step times the multiple, passed as --lr VALUE to every run. "
            "EF21-PP theory gamma: what `--algorithm ef21_pp --lr theory` would use (FL_PyTorch's formula, "
            "s = rho = 1e-3). bits/n: bits_up after round 0 divided by n, at the first logged round with "
            "||grad f||^2 at most the target times its round-0 value.", "",
            common.markdown_table(header, rows),
            "![against rounds](grad_norm_sq_vs_rounds.png)", "", "![against bits](grad_norm_sq_vs_bits.png)", ""]
    (ns.out_dir / "summary.md").write_text("\n".join(text))
    return common.finish(ns, ok, [ns.out_dir / "summary.md"])


if __name__ == "__main__":
    raise SystemExit(common.main_guard(main))
