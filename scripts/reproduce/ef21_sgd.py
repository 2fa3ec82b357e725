#!/usr/bin/env python3
"""EF21 with Bells & Whistles (arXiv 2110.03294), ALGORITHMS.md 3.2, experiment 1: EF21 with
stochastic gradients. EF21-SGD with minibatches of 25%, 12.5% and 1.5% of each client's rows,
EF21-PAGE with 1.5% minibatches (p = 0.1) and full-gradient EF21, all with Top-1 and the same
step (a multiple of the EF21 theory step 1/(L + L_QM xi)), on a9a and w8a split contiguously
over 20 clients; logistic regression with the non-convex regulariser, lambda = 0.1.
Expected: EF21-SGD stalls at a noise floor that grows as the minibatch shrinks; EF21-PAGE keeps
converging like EF21 while computing far fewer gradients per round.

Writes to --out-dir the sweep's outputs (grad_norm_sq_vs_rounds.png, grad_norm_sq_vs_bits.png,
results.csv, runs.csv, targets.md), grad_norm_sq_vs_epochs.png (x: data passes, the paper's
axis) and summary.md."""
from __future__ import annotations

import math

import numpy as np

import common
from common import ReportOptions, sweep

DATASETS = ["a9a", "w8a"]


def block_sizes(rows: int, clients: int) -> list[int]:
    """--split contiguous: floor(N/n) rows per client, the remainder to the last one."""
    base = rows // clients
    return [base] * (clients - 1) + [rows - base * (clients - 1)]


def batch_count(fraction: float, n_i: int) -> int:
    """A batch=F spec with F in (0, 1): floor(F N_i) rows, at least 1."""
    return max(1, math.floor(fraction * n_i))


def main() -> int:
    p = common.base_parser("ef21_sgd", __doc__.split("\n\n")[0], rounds=3000)
    p.add_argument("--datasets", nargs="+", default=DATASETS, help=f"default: {' '.join(DATASETS)}")
    p.add_argument("--batches", nargs="+", default=["0.25", "0.125", "0.015"],
                   help="EF21-SGD minibatch fractions (default: 0.25 0.125 0.015)")
    p.add_argument("--page-batch", default="0.015", help="EF21-PAGE minibatch fraction ('none': no PAGE run)")
    p.add_argument("--page-p", default="0.1", help="EF21-PAGE probability of a full gradient (default: 0.1)")
    p.add_argument("--mult", default="4", help="multiple of the EF21 theory step for every method (default: 4)")
    p.add_argument("--clients", type=int, default=20, help="default: 20")
    p.add_argument("--targets", nargs="+", type=float, default=[1e-2, 1e-3],
                   help="||grad f||^2 targets relative to round 0 (default: 1e-2 1e-3)")
    ns = p.parse_args()
    data_dir = common.find_data_dir(ns.data_dir)
    paths = {d: common.dataset(data_dir, d) for d in ns.datasets}

    methods = {"EF21": ["--algorithm", "ef21"]}
    cost = {"EF21": lambda sizes: 1.0}                 # data passes per round
    for b in ns.batches:
        label = f"EF21-SGD {float(b) * 100:g}%"
        methods[label] = ["--algorithm", f"ef21_sgd:batch={b}"]
        cost[label] = lambda sizes, b=float(b): sum(batch_count(b, s) for s in sizes) / sum(sizes)
    if ns.page_batch != "none":
        label = f"EF21-PAGE {float(ns.page_batch) * 100:g}%"
        methods[label] = ["--algorithm", f"ef21_page:batch={ns.page_batch},p={ns.page_p}"]
        pp = float(ns.page_p)
        cost[label] = lambda sizes, b=float(ns.page_batch): (
            pp + (1 - pp) * 2 * sum(batch_count(b, s) for s in sizes) / sum(sizes))
    axes = [sweep.variants_axis("data", {d: ["--data", str(path)] for d, path in paths.items()}),
            sweep.variants_axis("method", methods)]
    fixed = ["--clients", str(ns.clients), "--split", "contiguous", "--problem", "logistic:lambda=0.1",
             "--compressor", "topk:k=1", "--lr", f"theory:mult={ns.mult}", "--x0", "zero",
             "--rounds", str(ns.rounds), "--seed", str(ns.seed), "--log-every", str(ns.log_every)]
    opts = ReportOptions(facet_by="data", style_by="none", targets=ns.targets, relative_targets=True,
                         exclude_initial_bits=True, bits_xscale="linear", command=common.command_line(),
                         title=f"EF21-SGD / EF21-PAGE vs EF21, Top-1, n = {ns.clients}, {ns.mult}x theory step")
    runs, ok = common.run_grid(ns, axes, fixed, ns.out_dir, opts)
    if ns.dry_run or not any(r.has_data for r in runs):
        return 0 if ok else 1

    sizes = {d: block_sizes(common.count_rows(path), ns.clients) for d, path in paths.items()}

    def epochs(run):
        per_round = cost[run.grid["method"]](sizes[run.grid["data"]])
        return 1.0 + run.columns["round"] * per_round        # round 0: the full gradients g_i^0

    sweep.plot_runs(runs, axes, ns.out_dir / "grad_norm_sq_vs_epochs.png", opts, x="custom", x_func=epochs,
                    x_label="data passes (gradient computations / N; PAGE: expected)", x_scale="log")
    header = ["data", "method", "passes per round", "gamma", f"final (round {ns.rounds})",
              f"min over rounds {ns.rounds // 2}..{ns.rounds}"]
    for t in ns.targets:
        header += [f"rounds to {sweep.fmt_sci(t)}x", f"passes to {sweep.fmt_sci(t)}x"]
    rows = []
    for d in ns.datasets:
        for m in methods:
            r = common.one(runs, data=d, method=m)
            if r is None or not r.has_data:
                rows.append([d, m, "", "", r.status if r else "", ""] + [""] * (2 * len(ns.targets)))
                continue
            g = r.columns["grad_norm_sq"]
            per_round = cost[m](sizes[d])
            half = r.columns["round"] >= r.columns["round"][-1] / 2
            row = [d, m, f"{per_round:.4f}", sweep.fmt_sci(r.constants.get("gamma", math.nan), 4),
                   sweep.fmt_sci(float(g[-1])), sweep.fmt_sci(float(np.nanmin(g[half])))]
            for t in ns.targets:
                hit = sweep.first_reach(r, "grad_norm_sq", t, True, False)
                row += [str(hit[0]), f"{1 + hit[0] * per_round:.1f}"] if hit else ["not reached", ""]
            rows.append(row)
    text = ["# EF21-SGD and EF21-PAGE vs EF21 (EF21-BW, experiment 1)", "", "```", common.command_line(), "```", "",
            "passes per round: gradient computations per round / N (EF21-SGD: sum_i floor(b N_i) / N; EF21-PAGE: "
            "the expectation p + (1 - p) 2 sum_i floor(b N_i) / N); round 0 costs one pass (g_i^0 = full local "
            "gradients). Rounds to a target: first logged round with ||grad f||^2 at most the target times its "
            "round-0 value.", "", common.markdown_table(header, rows),
            "![against data passes](grad_norm_sq_vs_epochs.png)", "",
            "![against rounds](grad_norm_sq_vs_rounds.png)", ""]
    (ns.out_dir / "summary.md").write_text("\n".join(text))
    return common.finish(ns, ok, [ns.out_dir / "summary.md", ns.out_dir / "grad_norm_sq_vs_epochs.png"])


if __name__ == "__main__":
    raise SystemExit(common.main_guard(main))
