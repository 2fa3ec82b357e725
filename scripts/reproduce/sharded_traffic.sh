#!/usr/bin/env bash
# Per-rank traffic of the aggregation modes: what the busiest rank receives per round
# (totals.bits_received_max_rank) under gather, allgather and sharded aggregation, on 2, 4
# and 8 ranks with one client per rank, for the MLP of the default job (d = 669,706) with
# EF21-SGDM + TopK 1% (sparse messages; the downlink is the fp64 model, or with --downlink
# delta the sparse update) and with 1-bit Adam after its warm-up. Each setting
# runs for R and 2R rounds; the figure is the difference over R, so the initial exchange and
# 1-bit Adam's 2 dense warm-up rounds drop out.
#   usage: scripts/reproduce/sharded_traffic.sh [R (10)] [OUT_DIR (runs/sharded_traffic)] [ECCO_TRAIN]
# Needs dataset-fashion-mnist and a release build. Counts bytes, not time: the ranks may
# share one machine (mpirun --oversubscribe).
set -euo pipefail
rounds=${1:-10}
out=${2:-runs/sharded_traffic}
train=${3:-build/release/apps/ecco-train}
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../mpi-env.sh"
mkdir -p "$out"
python=/usr/bin/python3
[ -x "$python" ] || python=python3

# name | flags (the warm-up of onebit_adam is 2 rounds; a large eps keeps so short a warm-up
# stable, and the bytes do not depend on it)
methods=(
  "ef21_sgdm_topk1pct|--algorithm ef21_sgdm --compressor topk:k=0.01 --lr 0.1"
  "ef21_sgdm_topk1pct_delta|--algorithm ef21_sgdm --compressor topk:k=0.01 --lr 0.1 --downlink delta"
  "onebit_adam|--algorithm onebit_adam:freeze=2,eps=0.01 --lr 0.0001"
)
for method in "${methods[@]}"; do
  name=${method%%|*}
  flags=${method#*|}
  for ranks in 2 4 8; do
    for mode in gather allgather sharded; do
      for length in "$rounds" $((2 * rounds)); do
        json="$out/$name.np$ranks.$mode.r$length.json"
        [ -f "$json" ] && continue
        echo "== $name, $ranks ranks, $mode, $length rounds" >&2
        # shellcheck disable=SC2086
        mpirun --oversubscribe -np "$ranks" "$train" --data fashion_mnist --problem mlp:hidden=512x512 \
          --clients "$ranks" --batch 64 --rounds "$length" --eval-every 0 --log-every "$length" --quiet \
          --granularity global --lr-schedule constant \
          --aggregation "$mode" $flags --summary "$json"
      done
    done
  done
done

"$python" - "$out" "$rounds" "${methods[@]}" <<'PY'
import json, sys
out, rounds, methods = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
print("MB the busiest rank receives per round")
print("| method | ranks | gather | allgather | sharded |")
print("|---|---|---|---|---|")
for method in methods:
    name = method.split("|", 1)[0]
    for ranks in (2, 4, 8):
        cells = []
        for mode in ("gather", "allgather", "sharded"):
            bits = [json.load(open(f"{out}/{name}.np{ranks}.{mode}.r{r}.json"))["totals"]["bits_received_max_rank"]
                    for r in (rounds, 2 * rounds)]
            cells.append(f"{(bits[1] - bits[0]) / 8e6 / rounds:.3f}")
        print(f"| {name} | {ranks} | " + " | ".join(cells) + " |")
PY
