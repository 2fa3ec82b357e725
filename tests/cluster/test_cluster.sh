#!/usr/bin/env bash
# The emulated cluster gives the same run as one host: 4 hosts (network namespaces) with
# links limited to 100 Mbit/s each way, 4 ranks one per host, against plain mpirun -n 4 on
# this host. Every CSV column but `seconds` must be identical.
# usage: test_cluster.sh <ecco-train> [mpiexec]
# Prints SKIPPED and exits 77 (ctest: skipped) where network namespaces cannot be made.
set -u
PATH=$PATH:/usr/sbin:/sbin
train=${1:?usage: test_cluster.sh <ecco-train> [mpiexec]}
mpiexec=${2:-mpirun}
here=$(cd "$(dirname "$0")" && pwd)
cluster=$here/../../scripts/cluster.sh

skip() { echo "SKIPPED: $*"; exit 77; }
fail() { echo "FAIL: $*"; exit 1; }

# --- can this machine make namespaces, veths and tbf? -----------------------------------
[ "$(id -u)" -eq 0 ] || skip "network namespaces need root (running as uid $(id -u))"
for t in ip tc unshare timeout; do
  command -v "$t" >/dev/null 2>&1 || skip "'$t' is not installed (iproute2, util-linux)"
done
probe=ecco-probe-$$
if ! err=$(ip netns add "$probe" 2>&1); then
  skip "cannot create a network namespace: ip netns add: ${err//$'\n'/; }"
fi
probe_err=""
if ! err=$(ip -n "$probe" link add p0 type veth peer name p1 2>&1); then
  probe_err="cannot create a veth pair: ${err//$'\n'/; }"
elif ! err=$(tc -n "$probe" qdisc add dev p0 root tbf rate 100mbit burst 64k latency 50ms 2>&1); then
  probe_err="the tbf qdisc is not available: ${err//$'\n'/; }"
fi
ip netns delete "$probe" 2>/dev/null
[ -z "$probe_err" ] || skip "$probe_err"
command -v "$mpiexec" >/dev/null 2>&1 || fail "mpiexec '$mpiexec' not found"
[ -x "$train" ] || fail "ecco-train not found at $train"

export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
export ECCO_CLUSTER_NAME=ecco-t$$ ECCO_CLUSTER_MPIRUN=$mpiexec

# Clusters of earlier runs of this test that were killed before their trap ran (ctest
# kills a test at its timeout): their namespaces are named after a pid that is gone.
for ns in $(ip netns list | awk '{print $1}' | grep -E '^ecco-t[0-9]+-net$'); do
  pid=${ns#ecco-t}
  pid=${pid%-net}
  if ! kill -0 "$pid" 2>/dev/null; then
    echo "removing the stale test cluster ecco-t$pid"
    ECCO_CLUSTER_NAME=ecco-t$pid bash "$cluster" down
  fi
done

work=$(mktemp -d)
cleanup() {
  bash "$cluster" down >/dev/null 2>&1 || echo "warning: cluster.sh down failed"
  if ip netns list | awk '{print $1}' | grep -qE "^$ECCO_CLUSTER_NAME-"; then
    echo "FAIL: namespaces of $ECCO_CLUSTER_NAME are left after down"
    exit 1
  fi
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

# --- the cluster ----------------------------------------------------------------------
bash "$cluster" up 4 100mbit || fail "cluster.sh up 4 100mbit failed"
bash "$cluster" status | tee "$work/status" || fail "cluster.sh status failed"
limited=$(grep -o 'Mbit' "$work/status" | wc -l)
[ "$limited" -eq 8 ] || fail "expected 8 links (4 up, 4 down) limited to 100Mbit, status shows $limited"

# One rank per host: each rank reports its host's name.
bash "$cluster" run 4 --bin /bin/cat --timeout 60 -- /proc/sys/kernel/hostname > "$work/hosts" ||
  fail "cluster.sh run of /bin/cat failed"
hosts=$(sort -u "$work/hosts" | tr '\n' ' ')
[ "$(sort -u "$work/hosts" | wc -l)" -eq 4 ] || fail "the 4 ranks ran on hosts: $hosts"
echo "ranks ran on: $hosts"

job=(--data "synthetic:rows=300,dim=200" --problem least_squares --clients 8 --algorithm ef21
     --compressor topk:k=8 --rounds 300 --log-level warn)
bash "$cluster" run 4 --bin "$train" --timeout 200 -- "${job[@]}" --out "$work/cluster.csv" \
  > "$work/cluster.out" || { cat "$work/cluster.out"; fail "the run on the cluster failed"; }

# --- the same job on this host --------------------------------------------------------
timeout --kill-after=10 120 "$mpiexec" -n 4 "$train" "${job[@]}" --out "$work/single.csv" \
  > "$work/single.out" || { cat "$work/single.out"; fail "the single-host run failed"; }

rows=$(wc -l < "$work/single.csv")
[ "$rows" -gt 100 ] || fail "the single-host CSV has only $rows lines"
[ "$(head -n 1 "$work/cluster.csv")" = "$(head -n 1 "$work/single.csv")" ] || fail "the CSV headers differ"
cut -d, -f1-5,7- "$work/cluster.csv" > "$work/cluster.cols"
cut -d, -f1-5,7- "$work/single.csv" > "$work/single.cols"
if ! cmp -s "$work/cluster.cols" "$work/single.cols"; then
  echo "FAIL: the cluster run differs from the single-host run:"
  diff "$work/single.cols" "$work/cluster.cols" | head -n 10
  exit 1
fi
echo "single host: $(tail -n 1 "$work/single.csv")"
echo "cluster:     $(tail -n 1 "$work/cluster.csv")"
echo "identical CSV columns (all but seconds) on 4 hosts at 100 Mbit/s and on one host, $rows lines"
