#!/usr/bin/env bash
# Every `bash scripts/run-default.sh ...` line of README.md is accepted by ecco-train: each
# runs (exit 0, a summary written) on a slice of Fashion-MNIST for 3 rounds (or its own
# --rounds). Exit 77 (skipped) without the Debian package dataset-fashion-mnist, unless
# ECCO_REQUIRE_DATA=1.
# usage: default_job.sh <ecco-train> <mpiexec> <ranks> <README.md>
set -u
train=$1 mpiexec=$2 ranks=$3 readme=$4
if [ ! -f /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz ]; then
  echo "/usr/share/datasets/fashion-mnist is absent (apt-get install dataset-fashion-mnist)"
  [ "${ECCO_REQUIRE_DATA:-0}" = 1 ] && exit 1
  exit 77
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mapfile -t lines < <(grep -E '^bash scripts/run-default.sh' "$readme" | sed -e 's/#.*//' -e 's/^bash scripts\/run-default.sh//')
[ "${#lines[@]}" -ge 5 ] || { echo "FAIL: only ${#lines[@]} run-default.sh lines in $readme"; exit 1; }
failures=0
n=0
for args in "${lines[@]}"; do
  n=$((n + 1))
  # shellcheck disable=SC2206
  extra=($args)
  length=(--rounds 3)
  case " $args " in *" --rounds "*) length=() ;; esac
  log="$work/log.$n"
  timeout 240 "$mpiexec" -n "$ranks" "$train" "${extra[@]}" --data fashion_mnist:rows=512,test_rows=256 "${length[@]}" \
    --quiet --summary "$work/s.$n.json" > "$log" 2>&1 < /dev/null
  status=$?
  if [ "$status" -ne 0 ] || [ ! -s "$work/s.$n.json" ]; then
    echo "FAIL (exit $status): run-default.sh$args"
    sed 's/^/    | /' "$log"
    failures=$((failures + 1))
  else
    echo "ok   run-default.sh$args"
  fi
done
echo "$((n - failures)) passed, $failures failed"
[ "$failures" -eq 0 ]
