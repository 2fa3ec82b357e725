#!/usr/bin/env bash
# The MLP of the default job (784-512-512-10 on Fashion-MNIST, 8 clients on 4 ranks,
# EF21-SGDM, minibatch 64, lr 0.1) trained for a fixed budget of epochs with several
# compressors; prints one markdown row per run: final test accuracy, bytes up and down,
# compression of the uplink against dense fp32, wall time.
#   usage: scripts/reproduce/mlp_budget.sh [EPOCHS (5)] [OUT_DIR (runs/mlp_budget)] [ECCO_TRAIN]
# Needs the Debian package dataset-fashion-mnist and a release build (scripts/run-default.sh
# makes one). Finished runs (their summary exists) are not run again.
set -euo pipefail
epochs=${1:-5}
out=${2:-runs/mlp_budget}
train=${3:-build/release/apps/ecco-train}
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../mpi-env.sh"
mkdir -p "$out"
python=/usr/bin/python3
[ -x "$python" ] || python=python3

# name | flags after the default job's
runs=(
  "topk_1pct|--compressor topk:k=0.01"
  "topk_10pct|--compressor topk:k=0.1"
  "lowrank_r4_tensor|--compressor lowrank:r=4 --granularity tensor --allow-any-compressor"
  "qsgd_s16|--algorithm dcgd --compressor qsgd:s=16"
  "identity|--compressor identity"
)
for run in "${runs[@]}"; do
  name=${run%%|*}
  flags=${run#*|}
  [ -f "$out/$name.json" ] && continue
  echo "== $name: $flags" >&2
  # shellcheck disable=SC2086
  mpirun -np 4 "$train" --epochs "$epochs" --eval-every 0 --log-every 100 --quiet $flags \
    --out "$out/$name.csv" --summary "$out/$name.json"
done

"$python" - "$out" "${runs[@]}" <<'PY'
import json, sys
out, runs = sys.argv[1], sys.argv[2:]
print("| run | flags | rounds | test accuracy | up | down | up vs dense fp32 | seconds |")
print("|---|---|---|---|---|---|---|---|")
for run in runs:
    name, flags = run.split("|", 1)
    s = json.load(open(f"{out}/{name}.json"))
    t, f = s["totals"], s["final"]
    ratio = t["dense_fp32_bits_up"] / t["bits_up"]
    print(f"| {name} | `{flags}` | {t['rounds_run']} | {100 * f['test_accuracy']:.2f}% | "
          f"{t['bits_up'] / 8e6:.1f} MB | {t['bits_down'] / 8e6:.1f} MB | 1/{ratio:.0f} | {s['seconds']:.1f} |")
PY
