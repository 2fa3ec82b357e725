#!/usr/bin/env bash
# Compressed training against dense training on the default job's MLP (784-512-512-10 on
# Fashion-MNIST, d = 669,706), 4 clients on 4 ranks, minibatch 64 per client, cosine
# schedule, a fixed number of epochs and several seeds.
#   usage: scripts/reproduce/mlp_compressed.sh [EPOCHS (5)] [SEEDS ("1 2 3")] [OUT_DIR (runs/mlp_compressed)] [ECCO_TRAIN]
# Prints two markdown tables and writes $OUT_DIR/accuracy_vs_bytes.png:
#  1. every method under gather aggregation, all seeds: test accuracy (mean and range), bytes
#     up and down per step and process, seconds per epoch;
#  2. the first seed under the other aggregation modes each method can run in (sharded:
#     every method whose messages cut into coordinate chunks; allgather: the per-tensor runs):
#     the bytes the busiest rank receives per step, seconds per epoch, and whether its losses
#     and test accuracies equal the gather run's (they must: the modes give the same bits).
# Needs the Debian packages dataset-fashion-mnist and python3-matplotlib (for the figure) and
# a release build (scripts/run-default.sh makes one). Finished runs (their summary exists)
# are not run again.
set -euo pipefail
epochs=${1:-5}
seeds=${2:-"1 2 3"}
out=${3:-runs/mlp_compressed}
train=${4:-build/release/apps/ecco-train}
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../mpi-env.sh"
mkdir -p "$out"
python=/usr/bin/python3
[ -x "$python" ] || python=python3

# name | other modes | flags after the common ones. One epoch is 60000 / (4 x 64) = 235
# rounds: 1-bit Adam's warm-up is the first epoch, L-GreCo chooses every 100 rounds.
pertensor="--granularity tensor --allow-any-compressor"
runs=(
  "sgd_momentum|sharded|--algorithm sgd:momentum=0.9 --lr 0.1"
  "adam|sharded|--algorithm adam --lr 0.001"
  "onebit_adam|sharded|--algorithm onebit_adam:freeze=235,eps=1e-5 --lr 0.001"
  "ef21_sgdm_topk1|sharded|--algorithm ef21_sgdm:eta=0.1,init=compressed --compressor topk:k=0.01 --lr 0.5"
  "ef21_sgdm_topk1_lgreco|allgather|--algorithm ef21_sgdm:eta=0.1,init=compressed --compressor topk:k=0.01 --lr 0.5 $pertensor --adaptive lgreco:every=100"
  "ef14m_lowrank4|allgather|--algorithm ef14:momentum=0.9 --compressor lowrank:r=4 --lr 0.1 $pertensor"
  "ef14m_lowrank4_lgreco|allgather|--algorithm ef14:momentum=0.9 --compressor lowrank:r=4 --lr 0.1 $pertensor --adaptive lgreco:every=100"
  # L-GreCo against the uniform setting at the same bytes: lowrank levels around r = 4 within
  # the bytes of uniform r = 2 (27016 per message), and uniform TopK at the bytes the error form
  # of L-GreCo chose for TopK (about 0.7%).
  "ef14m_lowrank2|allgather|--algorithm ef14:momentum=0.9 --compressor lowrank:r=2 --lr 0.1 $pertensor"
  "ef14m_lowrank4_lgreco_27k|allgather|--algorithm ef14:momentum=0.9 --compressor lowrank:r=4 --lr 0.1 $pertensor --adaptive lgreco:every=100,budget=27016"
  "ef21_sgdm_topk07_tensor|allgather|--algorithm ef21_sgdm:eta=0.1,init=compressed --compressor topk:k=0.007 --lr 0.5 $pertensor"
)
first_seed=${seeds%% *}
run_one() {  # name mode seed flags...
  local name=$1 mode=$2 seed=$3
  shift 3
  local base="$out/$name.$mode.seed$seed"
  [ -f "$base.json" ] && return 0
  echo "== $name, $mode, seed $seed: $*" >&2
  # The flags name every choice of the default job, so its defaults never fill one in.
  mpirun -np 4 "$train" --data fashion_mnist --problem mlp:hidden=512x512 --clients 4 --batch 64 \
    --epochs "$epochs" --lr-schedule cosine --eval-every 235 --log-every 47 --seed "$seed" --quiet \
    --aggregation "$mode" "$@" --out "$base.csv" --summary "$base.json"
}
for run in "${runs[@]}"; do
  IFS='|' read -r name modes flags <<< "$run"
  [[ "$flags" == *--granularity* ]] || flags="--granularity global $flags"
  for seed in $seeds; do
    # shellcheck disable=SC2086
    run_one "$name" gather "$seed" $flags
  done
  for mode in $modes; do
    # shellcheck disable=SC2086
    run_one "$name" "$mode" "$first_seed" $flags
  done
done

"$python" - "$out" "$epochs" "$seeds" "${runs[@]}" <<'PY'
import csv, json, statistics, sys
out, epochs, seeds, runs = sys.argv[1], float(sys.argv[2]), sys.argv[3].split(), sys.argv[4:]

def load(name, mode, seed):
    base = f"{out}/{name}.{mode}.seed{seed}"
    with open(base + ".json") as fh:
        summary = json.load(fh)
    with open(base + ".csv") as fh:
        rows = [r for r in csv.DictReader(fh) if r["test_accuracy"]]
    return summary, rows

def per_step(summary, key):
    t = summary["totals"]
    return t[key] / 8 / t["rounds_run"] / summary["config"]["clients"]

print("| method | flags | test accuracy, mean (min-max) | up / step / process | down / step / process "
      "| up vs dense fp32 | s / epoch |")
print("|---|---|---|---|---|---|---|")
curves = {}
for run in runs:
    name, modes, flags = run.split("|", 2)
    acc, up, down, ratio, secs = [], [], [], [], []
    for seed in seeds:
        s, rows = load(name, "gather", seed)
        acc.append(100 * s["final"]["test_accuracy"])
        up.append(per_step(s, "bits_up"))
        down.append(per_step(s, "bits_down"))
        ratio.append(s["totals"]["compression_ratio_up"])
        secs.append(s["seconds"] / epochs)
        if seed == seeds[0]:
            clients = s["config"]["clients"]
            curves[name] = [(int(r["bits_up"]) / 8 / clients, 100 * float(r["test_accuracy"])) for r in rows]
    print(f"| {name} | `{flags}` | {statistics.mean(acc):.2f}% ({min(acc):.2f}-{max(acc):.2f}) | "
          f"{statistics.mean(up) / 1e3:.1f} kB | {statistics.mean(down) / 1e3:.1f} kB | "
          f"1/{statistics.mean(ratio):.0f} | {statistics.mean(secs):.1f} |")

print()
print(f"| method | mode | test accuracy (seed {seeds[0]}) | same bits as gather | busiest rank receives / step "
      "| s / epoch |")
print("|---|---|---|---|---|---|")
for run in runs:
    name, modes, flags = run.split("|", 2)
    g, g_rows = load(name, "gather", seeds[0])
    for mode in ["gather"] + modes.split():
        s, rows = (g, g_rows) if mode == "gather" else load(name, mode, seeds[0])
        # The training: every logged loss and test accuracy (the bytes differ by mode: sharded
        # chunks carry headers of their own).
        same = [(r["loss"], r["test_accuracy"]) for r in rows] == [(r["loss"], r["test_accuracy"]) for r in g_rows]
        received = s["totals"]["bits_received_max_rank"] / 8 / s["totals"]["rounds_run"]
        print(f"| {name} | {mode} | {100 * s['final']['test_accuracy']:.2f}% | {'yes' if same else 'NO'} | "
              f"{received / 1e3:.1f} kB | {s['seconds'] / epochs:.1f} |")

try:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
except ImportError:
    print("\n(no figure: python3-matplotlib is not installed)")
    sys.exit(0)
fig, ax = plt.subplots(figsize=(7.5, 4.8))
for name, points in curves.items():
    xs, ys = zip(*[(b, a) for b, a in points if b > 0])
    # L-GreCo's curves dashed: where it keeps the uniform levels they lie on the uniform ones.
    ax.plot(xs, ys, marker="o", markersize=3, label=name, linestyle="--" if "lgreco" in name else "-")
ax.set_xscale("log")
ax.set_xlim(left=1e6)
ax.set_xlabel("uplink bytes sent per process (cumulative, encoded)")
ax.set_ylabel("test accuracy (%)")
ax.set_ylim(80, 90)
ax.grid(True, which="both", alpha=0.3)
ax.set_title(f"Fashion-MNIST MLP, 4 clients x 64, {epochs:g} epochs, seed {seeds[0]} (one point per epoch)",
             fontsize=9)
ax.legend(fontsize=8)
fig.tight_layout()
fig.savefig(f"{out}/accuracy_vs_bytes.png", dpi=120)
print(f"\nfigure: {out}/accuracy_vs_bytes.png")
PY
