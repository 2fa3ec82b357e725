#!/usr/bin/env bash
# Builds the fuzz preset (clang, libFuzzer, ASan + UBSan; tests/fuzz) and runs each fuzz
# target on its seed corpus (tests/fuzz/corpus/<target>/), one after the other.
#
#   bash scripts/fuzz.sh [-n RUNS | -t SECONDS] [TARGET ...]
#
#   -n RUNS     inputs per target (default 20000)
#   -t SECONDS  run each target for this long instead of a number of inputs
#   TARGET      run only these (default: every target in the table below)
#
# Per target it prints the executions, exec/s and crashes. A crash (any finding: a crash, a
# sanitizer report, an exception other than the library's typed errors, a broken invariant
# the target checks, an allocation above -malloc_limit_mb, more memory than -rss_limit_mb,
# an input slower than -timeout) stops that target, leaves the input in
# build/fuzz/findings/<target>/ and makes the script exit 1 after the other targets ran.
# New inputs the fuzzer finds go to build/fuzz/corpus/<target>/ (the committed seeds are
# only read). docs/fuzzing.md explains the targets and how to reproduce a finding.
set -euo pipefail
cd "$(dirname "$0")/.."

# The targets, one per line (tests/fuzz/<target>.cpp, corpus tests/fuzz/corpus/<target>/).
targets=(
  fuzz_decode
  fuzz_libsvm
  fuzz_idx
  fuzz_spec
  fuzz_checkpoint
)

runs=20000
seconds=""
while getopts "n:t:" option; do
  case "$option" in
    n) runs="$OPTARG" ;;
    t) seconds="$OPTARG" ;;
    *) echo "usage: scripts/fuzz.sh [-n RUNS | -t SECONDS] [TARGET ...]" >&2; exit 2 ;;
  esac
done
shift $((OPTIND - 1))
[ $# -gt 0 ] && targets=("$@")

bash scripts/setup.sh clang libclang-rt-14-dev
cmake --preset fuzz > build-fuzz-configure.log 2>&1 || { cat build-fuzz-configure.log; exit 1; }
rm -f build-fuzz-configure.log
cmake --build --preset fuzz

limit=(-runs="$runs")
[ -n "$seconds" ] && limit=(-max_total_time="$seconds")
export UBSAN_OPTIONS="print_stacktrace=1"
failed=0
printf '%-16s %12s %10s %10s %8s\n' target executions seconds exec/s crashes
for target in "${targets[@]}"; do
  binary="build/fuzz/tests/fuzz/$target"
  seeds="tests/fuzz/corpus/$target"
  [ -x "$binary" ] && [ -d "$seeds" ] || { echo "fuzz: no target $target ($binary, $seeds)" >&2; exit 2; }
  work="build/fuzz/corpus/$target"
  findings="build/fuzz/findings/$target"
  log="build/fuzz/$target.log"
  mkdir -p "$work" "$findings"
  status=0
  start=$(date +%s.%N)
  "$binary" "${limit[@]}" -rss_limit_mb=2048 -malloc_limit_mb=1024 -timeout=20 -max_len=4096 \
    -print_final_stats=1 -artifact_prefix="$findings/" "$work" "$seeds" > "$log" 2>&1 || status=$?
  elapsed=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
  executions=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  # libFuzzer's own average is in whole seconds (0 for a run under one second).
  speed=$(awk -v n="${executions:-0}" -v t="$elapsed" 'BEGIN { printf "%d", (t > 0 ? n / t : 0) }')
  # libFuzzer stops a target at its first finding and writes that input: 0 or 1.
  crashes=$(grep -c "Test unit written to" "$log" || true)
  if [ "$status" -ne 0 ] && [ "$crashes" -eq 0 ]; then crashes=1; fi
  printf '%-16s %12s %10s %10s %8s\n' "$target" "${executions:-?}" "$elapsed" "$speed" "$crashes"
  if [ "$status" -ne 0 ]; then
    failed=1
    echo "fuzz: $target failed (exit $status); log $log, input in $findings/:" >&2
    grep -E "ERROR|finding|SUMMARY|Test unit written" "$log" | head -5 >&2 || true
  fi
done
exit "$failed"
