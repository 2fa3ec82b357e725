#!/usr/bin/env bash
# Runs ecco-train (EF21, TopK, fp64 wire) on a LIBSVM dataset and compares every CSV row
# with the independent numpy implementation in scripts/crosscheck_ef21.py.
# usage: crosscheck.sh <ecco-train> <mpiexec> <dataset, e.g. libsvm/mushrooms.txt> <ranks> <k> <rounds> [mult] [mean]
# Exits 77 (ctest: skipped) when the dataset (see tests/cli/dataset.sh) or python3-numpy is absent.
set -eu
train=$1 mpiexec=$2 data=$3 ranks=$4 k=$5 rounds=$6 mult=${7:-1} mean=${8:-qm}
here=$(cd "$(dirname "$0")/../.." && pwd)
python=/usr/bin/python3
[ -x "$python" ] || python=python3
source "$(dirname "$0")/dataset.sh"
data=$(dataset_path "$data") || exit $?
if ! "$python" -c "import numpy" 2>/dev/null; then echo "SKIPPED: python3-numpy is not installed"; exit 77; fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$mpiexec" -n "$ranks" "$train" --data "$data" --clients 20 --algorithm ef21 --compressor "topk:k=$k" \
  --lr "theory:mult=$mult,mean=$mean" --rounds "$rounds" --wire fp64 --out "$work/run.csv" --print-constants \
  --log-level warn
"$python" "$here/scripts/crosscheck_ef21.py" --data "$data" --clients 20 --k "$k" --rounds "$rounds" \
  --mult "$mult" --mean "$mean" --csv "$work/run.csv"
