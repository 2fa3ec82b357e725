#!/usr/bin/env bash
# The same job with 1, 2 and 4 ranks writes the same CSV, every column but `seconds`.
# usage: cli_ranks_agree.sh <ecco-train> <mpiexec> <generator spec | dataset:RELATIVE> [extra args...]
# dataset:libsvm/mushrooms.txt is looked up as tests/cli/dataset.sh says (skipped if absent).
set -eu
train=$1 mpiexec=$2 data=$3
shift 3
source "$(dirname "$0")/dataset.sh"
if [[ "$data" == dataset:* ]]; then
  data=$(dataset_path "${data#dataset:}") || exit $?
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for np in 1 2 4; do
  "$mpiexec" -n "$np" "$train" --data "$data" --out "$work/run$np.csv" --log-level warn "$@" > "$work/stdout$np"
  cut -d, -f1-5,7- "$work/run$np.csv" > "$work/cols$np"
  echo "np $np: $(wc -l < "$work/run$np.csv") lines, last row $(tail -n 1 "$work/run$np.csv")"
done
rows=$(wc -l < "$work/cols1")
[ "$rows" -gt 2 ] || { echo "FAIL: the CSV has only $rows lines"; exit 1; }
for np in 2 4; do
  if ! cmp -s "$work/cols1" "$work/cols$np"; then
    echo "FAIL: -np $np differs from -np 1:"
    diff "$work/cols1" "$work/cols$np" | head -n 10
    exit 1
  fi
done
echo "identical CSV columns for -np 1, 2, 4"
