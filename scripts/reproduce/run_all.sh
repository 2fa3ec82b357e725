#!/usr/bin/env bash
# Runs every paper reproduction at its default size (a few minutes each on 2 cores), writing
# runs/reproduce/<name>/. Arguments go to every script, e.g.
#   scripts/reproduce/run_all.sh --data-dir /data/libsvm --binary build/release/apps/ecco-train
# Finished runs are skipped, so an interrupted call can simply be repeated.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
python=/usr/bin/python3
[ -x "$python" ] || python=python3
status=0
for name in ef21_vs_ef14 ef21w_heterogeneous ef21_sgd ef21_pp; do
  echo "== $name" >&2
  "$python" "$here/$name.py" "$@" || status=1
done
exit $status
