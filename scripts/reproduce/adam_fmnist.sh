#!/usr/bin/env bash
# 1-bit Adam against Adam and SGD with momentum on the MLP of the default job (784-512-512-10
# on Fashion-MNIST), 4 clients on 4 ranks, minibatch 64 per client, a fixed number of epochs
# and several seeds. Prints one markdown row per method: test accuracy (mean and range over
# the seeds), bytes up and down per step and process, seconds per epoch (mean).
#   usage: scripts/reproduce/adam_fmnist.sh [EPOCHS (5)] [SEEDS ("1 2 3")] [OUT_DIR (runs/adam_fmnist)] [ECCO_TRAIN]
# Needs the Debian package dataset-fashion-mnist and a release build (scripts/run-default.sh
# makes one). Finished runs (their summary exists) are not run again.
set -euo pipefail
epochs=${1:-5}
seeds=${2:-"1 2 3"}
out=${3:-runs/adam_fmnist}
train=${4:-build/release/apps/ecco-train}
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../mpi-env.sh"
mkdir -p "$out"
python=/usr/bin/python3
[ -x "$python" ] || python=python3

# One epoch is 60000 / (4 x 64) = 235 rounds: 1-bit Adam's warm-up is the first epoch.
# name | flags after the common ones
runs=(
  "sgd_momentum|--algorithm sgd:momentum=0.9 --lr 0.1"
  "adam|--algorithm adam --lr 0.001"
  "adam_eps1e-5|--algorithm adam:eps=1e-5 --lr 0.001"
  "onebit_adam|--algorithm onebit_adam:freeze=235,eps=1e-5 --lr 0.001"
  "onebit_adam_sharded|--algorithm onebit_adam:freeze=235,eps=1e-5 --lr 0.001 --aggregation sharded"
)
for run in "${runs[@]}"; do
  name=${run%%|*}
  flags=${run#*|}
  for seed in $seeds; do
    [ -f "$out/$name.seed$seed.json" ] && continue
    echo "== $name seed $seed: $flags" >&2
    # shellcheck disable=SC2086
    mpirun -np 4 "$train" --data fashion_mnist --problem mlp:hidden=512x512 --clients 4 --batch 64 \
      --aggregation gather --granularity global --lr-schedule constant \
      --epochs "$epochs" --eval-every 235 --log-every 235 --seed "$seed" --quiet $flags \
      --out "$out/$name.seed$seed.csv" --summary "$out/$name.seed$seed.json"
  done
done

"$python" - "$out" "$epochs" "$seeds" "${runs[@]}" <<'PY'
import json, statistics, sys
out, epochs, seeds, runs = sys.argv[1], float(sys.argv[2]), sys.argv[3].split(), sys.argv[4:]
print("| method | flags | test accuracy, mean (min-max) | up / step / process | down / step / process | s / epoch |")
print("|---|---|---|---|---|---|")
for run in runs:
    name, flags = run.split("|", 1)
    acc, up, down, secs = [], [], [], []
    for seed in seeds:
        s = json.load(open(f"{out}/{name}.seed{seed}.json"))
        t, f = s["totals"], s["final"]
        steps, clients = t["rounds_run"], s["config"]["clients"]
        acc.append(100 * f["test_accuracy"])
        up.append(t["bits_up"] / 8 / steps / clients)
        down.append(t["bits_down"] / 8 / steps / clients)
        secs.append(s["seconds"] / epochs)
    print(f"| {name} | `{flags}` | {statistics.mean(acc):.2f}% ({min(acc):.2f}-{max(acc):.2f}) | "
          f"{statistics.mean(up) / 1e3:.1f} kB | {statistics.mean(down) / 1e3:.1f} kB | {statistics.mean(secs):.1f} |")
PY
