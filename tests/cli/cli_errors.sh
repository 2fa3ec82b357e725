#!/usr/bin/env bash
# Every bad input to ecco-train gives exactly one error line naming the problem, a non-zero
# exit status, and leaves the output path untouched.
# usage: cli_errors.sh <ecco-train> <mpiexec> <ranks>
set -u
train=$1 mpiexec=$2 ranks=$3
work=$(mktemp -d)
# Stop the cases still running (an interrupted or timed-out test) before removing their files.
trap 'kill $(jobs -p) 2> /dev/null; wait; rm -rf "$work"' EXIT
failures=0

printf '1 1:0.5 3:1\n-1 2:1\n1 3:0.5 2:1\n' > "$work/unsorted.svm"
printf '1 1:0.5\n2 1:1\n3 2:1\n' > "$work/three_labels.svm"
: > "$work/empty.svm"
printf '1 1:1\n1 2:1\n1 3:1\n' > "$work/one_class.svm"
# A value beyond the fp32 range is refused where it is read (it would overflow the constants).
printf '1 1:1\n1 1:1.7e308\n-1 1:1\n' > "$work/overflow.svm"
# Four rows of 1e38 (inside the range) and a huge step: the gradient at x_1 overflows to inf in
# round 1 (a run-time error of one client).
printf '1 1:1e38\n1 1:1e38\n1 1:1e38\n1 1:1e38\n-1 1:1\n' > "$work/large.svm"
mkdir -p "$work/outdir"

# One case, run in the background: expected substring | arguments... Its report goes to
# $work/report.<case number>; up to $parallel cases run at once (each is mostly mpiexec's
# start-up, which waits more than it computes: three processes per core), and the reports
# are printed in case order at the end. A case gets 120 s.
parallel=$(( 3 * $(nproc) / ranks ))
[ "$parallel" -ge 1 ] || parallel=1
cases=0
sanitized=0
ldd "$train" 2> /dev/null | grep -q libasan && sanitized=1
run_case() {
  local n=$1 expected=$2
  shift 2
  # Leading "--env NAME=VALUE" and "--ulimit-v KIB" set the case's environment and
  # address-space limit; they are not ecco-train's flags.
  local environment=() limit=unlimited
  while [ "$#" -gt 0 ]; do
    case $1 in
      --env) environment+=("$2"); shift 2 ;;
      --ulimit-v) limit=$2; shift 2 ;;
      *) break ;;
    esac
  done
  if [ "$limit" != unlimited ] && [ "$sanitized" = 1 ]; then
    # AddressSanitizer reserves terabytes of address space for its shadow memory at start-up,
    # which no address-space limit leaves room for: the release pass runs this case.
    echo "skip ($*): --ulimit-v under AddressSanitizer" > "$work/report.$n"
    return
  fi
  local dir="$work/case$n"
  mkdir -p "$dir"
  local out="$dir/existing.csv"
  printf 'keep me\n' > "$out"
  local log="$dir/log"
  # Without --data ecco-train runs the default job (Fashion-MNIST); these cases use the
  # small built-in generator unless they name their data.
  local data=(--data synthetic_classification)
  case " $* " in *" --data "*) data=() ;; esac
  (
    ulimit -v "$limit"
    env "${environment[@]}" timeout 120 "$mpiexec" -n "$ranks" "$train" --rounds 3 --out "$out" "${data[@]}" "$@" \
      > "$log" 2>&1 < /dev/null
  )
  local status=$?
  local errors
  errors=$(grep -c '\[error\]' "$log")
  local problem=""
  [ "$status" -ne 0 ] || problem+=" exit status 0;"
  if [ "$limit" = unlimited ]; then
    [ "$errors" -eq 1 ] || problem+=" $errors error lines instead of 1;"
  else
    # Out of memory during the rounds: each rank that runs out says so (and aborts the job).
    [ "$errors" -ge 1 ] && [ "$(grep '\[error\]' "$log" | grep -vc -- "$expected")" -eq 0 ] ||
      problem+=" $errors error lines, not all '$expected';"
  fi
  grep -q -- "$expected" "$log" || problem+=" no '$expected' in the output;"
  [ "$(cat "$out")" = "keep me" ] || problem+=" the existing --out file was changed;"
  local left
  left=$(cd "$dir" && ls -d existing.csv.partial* existing.csv.lock 2> /dev/null)
  [ -z "$left" ] || problem+=" left behind: $left;"
  if [ -n "$problem" ]; then
    { echo "FAIL ($*):$problem"; sed 's/^/    | /' "$log"; } > "$work/report.$n"
  else
    echo "ok   ($*): $(grep '\[error\]' "$log" | sed 's/.*\[error\] //')" > "$work/report.$n"
  fi
}
check() {
  cases=$((cases + 1))
  while [ "$(jobs -rp | wc -l)" -ge "$parallel" ]; do wait -n; done
  run_case "$(printf '%03d' "$cases")" "$@" &
}

check "Option 'bogus' does not exist" --bogus
check "--rounds: 'abc' is not a whole number" --rounds abc
check "unexpected argument 'stray'" stray
check "unknown compressor 'foo' (valid: identity, topk, randk," --compressor foo
check "unknown key 'q' for compressor 'topk' (valid keys: k)" --compressor topk:q=1
check "k must be a count" --compressor topk:k=0
check "unknown algorithm 'ef99'" --algorithm ef99
check "unknown problem 'lasso'" --problem lasso
check "lambda must be in \[0, 1e300\]" --problem logistic:lambda=-1
check "--lr: step size must be a finite number > 0" --lr -1
check "mean must be auto, qm or am" --lr theory:mean=gm
check "unknown value format 'fp8'" --wire fp8
check "--precision: 'fp16' is not a precision (allowed: auto, fp32, fp64)" --precision fp16
check "problem 'logistic' computes in fp64 only; --precision fp32 is for softmax and mlp" --precision fp32
check "--x0: unknown value 'ones' (valid: auto, zero, gaussian)" --x0 ones
check "exceeds the 2000 data rows" --clients 5000
check "cannot open (No such file or directory)" --data "$work/missing.svm"
check "is a directory" --data "$work"
check "unsorted.svm:3: feature index 2 out of order after 3" --data "$work/unsorted.svm"
check "empty.svm: no data rows" --data "$work/empty.svm"
check "three_labels.svm: labels {1, 2, 3}: logistic regression needs exactly two classes" \
  --data "$work/three_labels.svm" --clients 1
check "one_class.svm: labels {1}: logistic regression needs exactly two classes" --data "$work/one_class.svm" --clients 1
check "is not a regular file" --data /dev/null
check "outdir: exists and is not a regular file" --data synthetic_classification --out "$work/outdir"
cp "$work/one_class.svm" "$work/good.svm" && printf -- '-1 2:1\n' >> "$work/good.svm"
check "is the file --data reads; refusing to overwrite an input of the run" --data "$work/good.svm" --clients 2 \
  --out "$work/good.svm"
# No output may be any file the run reads, however it is spelled (issue 17): the test set, an
# IDX label file, a Fashion-MNIST file, through a symbolic or a hard link. The inputs are
# compared with their copies at the end.
cp "$work/good.svm" "$work/test.svm"
ln -s test.svm "$work/test_link.svm"
ln "$work/good.svm" "$work/good_hard.svm"
# A 4-image IDX pair of 2 x 2 pixels (plain files: the reader takes them as gzip does).
printf '\x00\x00\x08\x03\x00\x00\x00\x04\x00\x00\x00\x02\x00\x00\x00\x02' > "$work/images.idx"
printf '\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f\x10' >> "$work/images.idx"
printf '\x00\x00\x08\x01\x00\x00\x00\x04\x00\x01\x00\x01' > "$work/labels.idx"
mkdir -p "$work/fmnist"
for part in train t10k; do
  cp "$work/images.idx" "$work/fmnist/$part-images-idx3-ubyte.gz"
  cp "$work/labels.idx" "$work/fmnist/$part-labels-idx1-ubyte.gz"
done
# Two outputs that are one file, however spelled, are refused before round 1 (issue 17): no
# file may appear in $work/same.
mkdir -p "$work/same"
check "--out $work/same/s.out and --summary $work/same/../same/s.out are the same file" \
  --out "$work/same/s.out" --summary "$work/same/../same/s.out"
inputs=("$work/good.svm" "$work/test.svm" "$work/images.idx" "$work/labels.idx" "$work"/fmnist/*)
for input in "${inputs[@]}"; do cp "$input" "$input.orig"; done
check "--out $work/test.svm is the file --test-data reads; refusing to overwrite an input of the run" \
  --data "$work/good.svm" --test-data "$work/test.svm" --clients 2 --out "$work/test.svm"
check "--summary $work/test_link.svm is the file --test-data reads ($work/test.svm)" \
  --data "$work/good.svm" --test-data "$work/test.svm" --clients 2 --summary "$work/test_link.svm"
check "--out $work/good_hard.svm is the file --data reads ($work/good.svm)" \
  --data "$work/good.svm" --clients 2 --out "$work/good_hard.svm"
check "--out $work/outdir/../labels.idx is the file --data reads ($work/labels.idx)" \
  --data "idx:images=$work/images.idx,labels=$work/labels.idx" --problem softmax --lr 0.1 --clients 2 \
  --out "$work/outdir/../labels.idx"
check "--summary $work/fmnist/train-images-idx3-ubyte.gz is the file --data reads" \
  --data "fashion_mnist:dir=$work/fmnist" --clients 2 --batch 1 --summary "$work/fmnist/train-images-idx3-ubyte.gz"
check "--out $work/fmnist/t10k-labels-idx1-ubyte.gz is the file --test-data reads" \
  --data "fashion_mnist:dir=$work/fmnist" --clients 2 --batch 1 --out "$work/fmnist/t10k-labels-idx1-ubyte.gz"
check "rounds: 1e20 is not a whole number\|--rounds: '1e20' is not a whole number" --rounds 1e20
check "--clients: 99999999999999999999 is outside" --clients 99999999999999999999
check "algorithm 'econtrol' has no theory step size" --algorithm econtrol
check "algorithm 'adam' has no theory step size: pass --lr VALUE" --algorithm adam
check "algorithm 'onebit_adam': freeze must be a round count >= 1" --algorithm onebit_adam:freeze=0 --lr 0.01
check "algorithm 'adam': beta2 must be in \[0, 1)" --algorithm adam:beta2=1 --lr 0.01
check "needs a contractive compressor; this one is unbiased (omega = 1.*wrap it as contractive(<spec>)" \
  --algorithm ef21 --compressor qsgd:s=4
check "overflow.svm:2: feature value '1.7e308' is outside \[-3.4e38, 3.4e38\]" --data "$work/overflow.svm" --clients 1 --lr 0.1
check "--rounds: 1000000000000000000 is outside \[0, 1000000000000\]" --rounds 1000000000000000000
check "split 'shuffle': key 'seed' is a seed, a whole number in \[0, 18446744073709551615\], got '-1'" \
  --data synthetic_classification --split shuffle:seed=-1
check "batch must be full, a whole count in \[1, 4294967295\] or a fraction in (0, 1), got '1e30'" \
  --data synthetic_classification --algorithm ef21_sgd:batch=1e30
check "--out $work/no/such/dir/run.csv: cannot create" --data synthetic_classification --out "$work/no/such/dir/run.csv"

# Memory (issue 17): a run whose estimate exceeds what a rank may use is refused at set-up
# with the estimate and the limit; a binary "LIBSVM" file fails in its first block.
check "would need at least .* GiB of memory (.* vectors of d = 2147483648 doubles, 16.0 GiB each.*), more than the" \
  --data "$work/good.svm" --dim 2147483648 --clients 4
head -c 3000000 /dev/zero > "$work/zeros.svm"
check "zeros.svm:1: not a text file: byte 0x00 at column 1" --data "$work/zeros.svm"
check "ECCO_MEMORY_LIMIT='x' is not a number of GiB > 0" --env ECCO_MEMORY_LIMIT=x
# Past the estimate (ECCO_MEMORY_LIMIT), under ulimit -v 2 GiB, vectors of 240 MB fail to
# allocate: one clear line per rank that runs out, never a bare std::bad_alloc.
check "out of memory during" --env ECCO_MEMORY_LIMIT=1000 --ulimit-v 2097152 \
  --data "$work/good.svm" --dim 30000000 --clients 4

# Model training.
printf '5 1:1\n' > "$work/unknown_class.svm"
check "--batch: algorithm 'ef21' has no minibatch (methods with one: sgd" --batch 8
check "--epochs and --rounds both set the length of the run" --epochs 2
check "unknown lr schedule 'linear'" --lr-schedule linear
check "--lr-schedule constant: warmup must be in \[0, --rounds = 3\]" --lr-schedule constant:warmup=10 --lr 0.1
check "--granularity: unknown value 'layer' (valid: global, tensor)" --granularity layer
check "--train-metrics: unknown value 'some' (valid: auto, full, batch)" --train-metrics some
check "--dense-below: '-1' is not a whole number" --dense-below -1
check "problem 'mlp' has no smoothness constant; give a constant step size (--lr VALUE)" --problem mlp:hidden=4
check "apt-get install dataset-fashion-mnist" --data "fashion_mnist:dir=$work/no_fashion"
check "--target-accuracy is checked on the training accuracy, which needs --train-metrics full" \
  --problem softmax --lr 0.1 --target-accuracy 0.5
check "the test set has d = 7 features but the training data has d = 50" --test-data synthetic_classification:dim=7
check "label 5 in row 1 is not one of the 2 training classes" --problem softmax --lr 0.1 --test-data "$work/unknown_class.svm"
check "--allow-any-compressor: compressor qsgd:norm=2,s=4 has no contraction guarantee" \
  --algorithm ef21 --compressor qsgd:s=4 --allow-any-compressor

check "needs a contractive compressor; this one is unbiased" --plan --algorithm ef21 --compressor qsgd:s=4
# Aggregation and downlink modes.
check "--aggregation: unknown value 'foo' (valid: gather, allgather, allreduce, sharded)" --aggregation foo
check "--aggregation sharded: algorithm 'ef21_plus' needs the whole of every message at one server" \
  --aggregation sharded --algorithm ef21_plus
check "--shard-chunk applies to --aggregation sharded only" --shard-chunk 5
check "--shard-chunk: 0 is outside" --aggregation sharded --shard-chunk 0
check "--aggregation sharded cannot cut per-tensor messages (--granularity tensor)" \
  --aggregation sharded --granularity tensor --problem mlp:hidden=4 --lr 0.1
check "low-rank messages ('lowrank" --aggregation sharded --compressor lowrank:r=1 --allow-any-compressor --lr 0.01
check "--shard-chunk 7: algorithm 'onebit_adam" --aggregation sharded --algorithm onebit_adam:chunk=5 --shard-chunk 7 \
  --lr 0.01
check "--aggregation allreduce: algorithm 'onebit_adam" --aggregation allreduce --algorithm onebit_adam --lr 0.01
check "compressor 'topk:k=0.1' cannot be summed so (summable: identity, randk:k=K,coords=common, lowrank:r=R,factor=shared;" \
  --aggregation allreduce --compressor topk:k=0.1
check "--aggregation allreduce: algorithm 'ef21_plus' needs each client's message, not their sum" \
  --aggregation allreduce --algorithm ef21_plus --compressor identity
check "--wire bf16 cannot be summed by MPI (use --wire fp32 or fp64)" --aggregation allreduce --algorithm gd --wire bf16
check "--aggregation allreduce cannot sum per-tensor messages (--granularity tensor)" \
  --aggregation allreduce --compressor identity --granularity tensor --problem mlp:hidden=4 --lr 0.1
check "compressor 'randk': coords must be client or common, got 'shared'" --compressor randk:k=2,coords=shared
check "the clients' messages cannot be summed without their indices" \
  --aggregation allreduce --algorithm ef21_pp:participation=0.5 --compressor randk:k=2,coords=common --clients 4 --lr 0.01
check "compressor 'lowrank': factor must be own (each client its own warm start) or shared" --compressor lowrank:factor=all
check "algorithm 'ef21_bc' cannot use a shared factor, which is updated from the weighted sum of the messages" \
  --algorithm ef21_bc --compressor lowrank:r=1,factor=shared --allow-any-compressor --lr 0.01
check "per tensor: factor=shared is not available with --granularity tensor" \
  --compressor lowrank:r=1,factor=shared --granularity tensor --problem mlp:hidden=4 --allow-any-compressor --lr 0.1
check "--down-compressor lowrank:r=1,rows=0,factor=shared: factor=shared is for the clients' uplink only" \
  --algorithm ef21_bc --down-compressor lowrank:r=1,factor=shared --allow-any-compressor --lr 0.01
check "--downlink: unknown value 'foo' (valid: model, delta)" --downlink foo
check "--downlink delta: algorithm 'ef21_plus' cannot send its update instead of the model (methods that can: gd, sgd," \
  --algorithm ef21_plus --downlink delta
# L-GreCo levels, the test-accuracy target, and the default job's flags named in an error.
check "--adaptive lgreco chooses a level per tensor: it needs --granularity tensor" --adaptive lgreco
check "adaptive 'lgreco': every must be >= 1" --adaptive lgreco:every=0 --granularity tensor
check "unknown adaptive 'greco'" --adaptive greco --granularity tensor
check "budget 10 bytes is below the smallest message of these levels" --adaptive lgreco:budget=10 --granularity tensor
check "compressor 'sign' has no level to adapt" --adaptive lgreco --granularity tensor --compressor sign
check "--adaptive: algorithm 'gd' sends uncompressed vectors" --adaptive lgreco --granularity tensor --algorithm gd
check "adaptive 'lgreco': levels: 'x' is not a number > 0" --adaptive lgreco:levels=1/x --granularity tensor
check "--adaptive: empty spec" --adaptive ""
check "--target-test-accuracy: '1.5' is not a number in \[0, 1\]" --target-test-accuracy 1.5
check "default-job flags in effect: --problem mlp:hidden=512x512" \
  --data fashion_mnist:rows=300,test_rows=100 --compressor qsgd:s=4
if [ "$ranks" -eq 1 ]; then
  check "--dedicated-server needs at least 2 processes (rank 0 serves, ranks 1.. host the clients); got 1" \
    --dedicated-server
fi

wait
[ -z "$(ls -A "$work/same")" ] || { echo "FAIL: files left in $work/same: $(ls -A "$work/same")"; failures=$((failures + 1)); }
for input in "${inputs[@]}"; do
  cmp -s "$input" "$input.orig" || { echo "FAIL: the input $input was changed"; failures=$((failures + 1)); }
done
# Two live runs writing one file (issue 17): the second is refused at set-up with one line
# naming the first's pid (from the lock file) and leaves the first's files alone; the first,
# ended by SIGTERM, leaves no temporary file, and a third run then writes the file (taking
# over the lock file, should the first have been killed before removing it).
mkdir -p "$work/shared"
shared="$work/shared/run.csv"
"$mpiexec" -n "$ranks" "$train" --data synthetic_classification --rounds 1000000000 --log-every 1000 --quiet \
  --out "$shared" > "$work/shared/first.log" 2>&1 < /dev/null &
first=$!
for _ in $(seq 1200); do [ -s "$shared.lock" ] && break; sleep 0.1; done
holder=$(cat "$shared.lock" 2> /dev/null)
timeout 120 "$mpiexec" -n "$ranks" "$train" --data synthetic_classification --rounds 3 --out "$shared" \
  > "$work/shared/second.log" 2>&1 < /dev/null
status=$?
problem=""
[ -n "$holder" ] || problem+=" the first run took no lock;"
[ "$status" -ne 0 ] || problem+=" exit status 0;"
[ "$(grep -c '\[error\]' "$work/shared/second.log")" -eq 1 ] || problem+=" not one error line;"
grep -qF -- "--out $shared: another run ($holder) is writing this file" "$work/shared/second.log" ||
  problem+=" no 'another run ($holder)' line;"
[ ! -e "$shared" ] || problem+=" the second run published $shared;"
[ "$(ls "$work/shared" | grep -c 'run.csv.partial')" -eq 1 ] || problem+=" not one temporary file while the first runs;"
kill -TERM "$first"
wait "$first"
# mpiexec may return before its ranks are gone.
for _ in $(seq 100); do ls "$work/shared" | grep -q 'run.csv.partial' || break; sleep 0.1; done
left=$(cd "$work/shared" && ls -d run.csv.partial* 2> /dev/null)
[ -z "$left" ] || problem+=" left behind after SIGTERM: $left;"
timeout 120 "$mpiexec" -n "$ranks" "$train" --data synthetic_classification --rounds 3 --quiet --out "$shared" \
  > "$work/shared/third.log" 2>&1 < /dev/null || problem+=" the third run failed: $(grep '\[error\]' "$work/shared/third.log");"
left=$(cd "$work/shared" && ls -d run.csv* 2> /dev/null | tr '\n' ' ')
[ "$left" = "run.csv " ] || problem+=" after the third run: $left;"
if [ -n "$problem" ]; then
  { echo "FAIL (two runs writing one --out):$problem"; sed 's/^/    | /' "$work/shared/second.log"; } > "$work/report.shared"
else
  echo "ok   (two runs writing one --out): $(grep '\[error\]' "$work/shared/second.log" | sed 's/.*\[error\] //')" \
    > "$work/report.shared"
fi
cases=$((cases + 1))

# A divergence (issue 17): the run stops at the round where client 0's gradient overflows,
# names the client and the round in one line, exits 1, and publishes the rows before that
# round (round 0 only) and a summary that says where it stopped.
mkdir -p "$work/diverged"
problem=""
timeout 120 "$mpiexec" -n "$ranks" "$train" --data "$work/large.svm" --problem least_squares --algorithm gd \
  --clients 1 --lr 1e200 --wire fp64 --rounds 3 --log-every 1 --quiet --out "$work/diverged/run.csv" \
  --summary "$work/diverged/run.json" > "$work/diverged/log" 2>&1 < /dev/null
status=$?
[ "$status" -eq 1 ] || problem+=" exit status $status, not 1;"
[ "$(grep -c '\[error\]' "$work/diverged/log")" -eq 1 ] || problem+=" not one error line;"
grep -q "client 0, round 1: message value at coordinate 0 is not finite (inf)" "$work/diverged/log" ||
  problem+=" no 'client 0, round 1: ... not finite (inf)' line;"
[ "$(cut -d, -f1 "$work/diverged/run.csv" 2> /dev/null | tr '\n' ' ')" = "round 0 " ] ||
  problem+=" the CSV is not the header and round 0: $(cut -d, -f1 "$work/diverged/run.csv" 2>&1 | tr '\n' ' ');"
grep -q '"stop_reason": "stopped at round 1 (rank [0-9]*): client 0, round 1: ' "$work/diverged/run.json" 2> /dev/null ||
  problem+=" the summary does not say where the run stopped;"
left=$(cd "$work/diverged" && ls -d run.*.partial* run.*.lock 2> /dev/null)
[ -z "$left" ] || problem+=" left behind: $left;"
if [ -n "$problem" ]; then
  { echo "FAIL (a diverging run):$problem"; sed 's/^/    | /' "$work/diverged/log"; } > "$work/report.diverged"
else
  echo "ok   (a diverging run): $(grep '\[error\]' "$work/diverged/log" | sed 's/.*\[error\] //')" \
    > "$work/report.diverged"
fi
cases=$((cases + 1))

for report in "$work"/report.*; do
  cat "$report"
  grep -q '^FAIL' "$report" && failures=$((failures + 1))
done
[ "$(ls "$work"/report.* | wc -l)" -eq "$cases" ] || { echo "FAIL: $cases cases, fewer reports"; failures=$((failures + 1)); }
echo "$failures of $cases failed"
[ "$failures" -eq 0 ]
