#!/usr/bin/env bash
# Checks `ecco-train --plan` against measured rounds: prints the plan, then runs every
# candidate compressor the plan accepted for ROUNDS rounds with the same flags and compares
# the measured seconds per round ((seconds - metrics) / (rounds + 1), as the plan's probe
# counts them) with the prediction.
#   usage: scripts/plan_check.sh NP ROUNDS [LAUNCH...] -- ECCO-TRAIN FLAGS...
# LAUNCH is the command that runs ecco-train on NP ranks, default `mpirun -np NP`; on the
# emulated cluster: scripts/plan_check.sh 4 20 scripts/cluster.sh run 4 -- -- --data ...
set -euo pipefail
np=$1 rounds=$2
shift 2
launch=()
while [ $# -gt 0 ] && [ "$1" != "--" ]; do launch+=("$1"); shift; done
[ $# -gt 0 ] || { echo "plan_check: missing -- before the ecco-train flags" >&2; exit 2; }
shift
[ ${#launch[@]} -gt 0 ] || launch=(mpirun -np "$np" build/release/apps/ecco-train)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"${launch[@]}" "$@" --plan --log-level warn | tee "$work/plan.txt"
python=/usr/bin/python3
[ -x "$python" ] || python=python3
i=0
grep -E '^[^ ]+ +[0-9.]+ +[0-9.]+ ' "$work/plan.txt" | while read -r compressor _; do
  i=$((i + 1))
  "${launch[@]}" "$@" --compressor "$compressor" --rounds "$rounds" --log-every "$rounds" --test-data none \
    --quiet --summary "$work/run$i.json" > /dev/null
  "$python" - "$work/run$i.json" "$work/plan.txt" "$compressor" "$rounds" <<'PY'
import json, sys
summary, plan, compressor, rounds = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
s = json.load(open(summary))
measured = 1e3 * (s["seconds"] - s["phase_seconds_rank0"]["metrics"]) / (rounds + 1)
for line in open(plan):
    parts = line.split()
    if parts and parts[0] == compressor:
        predicted = float(parts[7])
        print(f"check {compressor:28s} predicted {predicted:10.2f} ms  measured {measured:10.2f} ms  "
              f"error {100 * (predicted - measured) / measured:+6.1f}%")
PY
done
