#!/usr/bin/env bash
# An emulated multi-host cluster on one Linux machine, for running ecco-train across
# "hosts" that talk TCP over rate-limited links (docs/cluster.md).
#
#   cluster.sh up N RATE          N hosts (network namespaces) on a bridge, each link
#                                 limited to RATE in both directions (100mbit, 1gbit, none)
#   cluster.sh run NP [OPTIONS] -- ARGS...
#                                 mpirun with NP ranks spread round-robin over the hosts,
#                                 running ecco-train ARGS
#   cluster.sh status             hosts, addresses, rates
#   cluster.sh check [--throughput]
#                                 connectivity between all hosts, isolation, and optionally
#                                 the throughput of one link
#   cluster.sh down               remove everything (safe when nothing exists)
#
# Layout: namespace <name>-net holds the bridge br0 (address .254, where mpirun runs);
# namespace <name>-h<i> is host i with interface veth0 (address .<i+1>), joined to the
# bridge by a veth pair whose bridge end is h<i>. Nothing is created in the root
# namespace: no interface of these namespaces reaches a physical device, there is no
# default route and no forwarding, so no packet can leave the machine.
#
# Environment: ECCO_CLUSTER_NAME (default ecco; prefix of the namespaces),
# ECCO_CLUSTER_NET (default 10.213.0; the private /24 used inside the namespaces),
# ECCO_CLUSTER_STATE_DIR (default /run/ecco-cluster), ECCO_CLUSTER_BIN (ecco-train),
# ECCO_CLUSTER_MPIRUN (default mpirun), ECCO_CLUSTER_TIMEOUT (seconds, default 3600).
set -uo pipefail
# ip and tc live in /usr/sbin, which a non-login shell may not have on its PATH.
PATH=$PATH:/usr/sbin:/sbin

readonly PROG=cluster
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
readonly REPO
NAME=${ECCO_CLUSTER_NAME:-ecco}
NET=${ECCO_CLUSTER_NET:-10.213.0}
STATE_ROOT=${ECCO_CLUSTER_STATE_DIR:-/run/ecco-cluster}
STATE=$STATE_ROOT/$NAME
BRNS=$NAME-net
MAX_HOSTS=200

# Set while `up` builds a cluster: a failure or signal then removes the partial cluster.
BUILDING=0

usage() {
  cat <<EOF
usage: scripts/cluster.sh up N RATE          create N hosts, links limited to RATE
                                             (e.g. 100mbit, 1gbit, 500kbit, none)
       scripts/cluster.sh run NP [--bin PATH] [--timeout SEC] [--map node|block] -- ARGS...
                                             mpirun NP ranks of ecco-train ARGS on the hosts
       scripts/cluster.sh status             show hosts, addresses and rates
       scripts/cluster.sh check [--throughput]
                                             verify connectivity and isolation; measure a link
       scripts/cluster.sh down               remove the cluster
environment: ECCO_CLUSTER_NAME=$NAME ECCO_CLUSTER_NET=$NET ECCO_CLUSTER_STATE_DIR=$STATE_ROOT
             ECCO_CLUSTER_BIN ECCO_CLUSTER_MPIRUN ECCO_CLUSTER_TIMEOUT (see docs/cluster.md)
EOF
}

info() { echo "$PROG: $*" >&2; }

# One error line, non-zero exit; a cluster half-built by `up` is removed first.
die() {
  if [ "$BUILDING" = 1 ]; then
    BUILDING=0
    teardown quiet
  fi
  echo "$PROG: error: $*" >&2
  exit 1
}

# run_or_die "what" cmd args...: runs cmd; on failure dies with "what: <its output>".
run_or_die() {
  local what=$1 out
  shift
  if ! out=$("$@" 2>&1); then
    out=${out//$'\n'/; }
    die "$what: ${out:-exit status $?}"
  fi
}

validate_config() {
  [[ "$NAME" =~ ^[a-z][a-z0-9-]{0,23}$ ]] ||
    die "ECCO_CLUSTER_NAME must be lower-case letters, digits and '-', at most 24 characters (got '$NAME')"
  local a b c
  IFS=. read -r a b c <<<"$NET"
  [[ "$NET" =~ ^[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}$ ]] && [ "$b" -le 255 ] && [ "$c" -le 255 ] ||
    die "ECCO_CLUSTER_NET must be the first three numbers of a /24, e.g. 10.213.0 (got '$NET')"
  if ! { [ "$a" = 10 ] || { [ "$a" = 192 ] && [ "$b" = 168 ]; } ||
         { [ "$a" = 172 ] && [ "$b" -ge 16 ] && [ "$b" -le 31 ]; }; }; then
    die "ECCO_CLUSTER_NET must be a private (RFC 1918) network, e.g. 10.213.0 (got '$NET')"
  fi
}

need_tools() {
  [ "$(id -u)" -eq 0 ] || die "network namespaces need root (run as root or with sudo)"
  local t
  for t in ip tc unshare timeout; do
    command -v "$t" >/dev/null 2>&1 || die "'$t' not found (Debian packages iproute2, util-linux, coreutils)"
  done
}

host_ns() { echo "$NAME-h$1"; }
host_addr() { echo "$NET.$(($1 + 1))"; }

# Namespaces of this cluster that exist now (also those a crashed `up` left behind).
existing_ns() {
  ip netns list 2>/dev/null | awk '{print $1}' | grep -E "^${NAME}-(net|h[0-9]+)\$" || true
}

load_state() {
  [ -f "$STATE/state" ] || die "cluster '$NAME' is not up (no $STATE/state); run: scripts/cluster.sh up N RATE"
  # shellcheck disable=SC1091
  source "$STATE/state"
  local i
  for ((i = 0; i < HOSTS; i++)); do
    [ -e "/run/netns/$(host_ns "$i")" ] ||
      die "cluster '$NAME' is broken: namespace $(host_ns "$i") is missing; run: scripts/cluster.sh up $HOSTS $RATE"
  done
}

# Kills every process inside namespace $1 (TERM, then KILL after 3 s). Prints the count.
kill_ns_procs() {
  local ns=$1 pids n=0 t
  pids=$(ip netns pids "$ns" 2>/dev/null | tr '\n' ' ')
  [ -n "${pids// /}" ] || { echo 0; return; }
  n=$(wc -w <<<"$pids")
  # shellcheck disable=SC2086
  kill -TERM $pids 2>/dev/null
  for ((t = 0; t < 30; t++)); do
    pids=$(ip netns pids "$ns" 2>/dev/null | tr '\n' ' ')
    [ -n "${pids// /}" ] || { echo "$n"; return; }
    sleep 0.1
  done
  # shellcheck disable=SC2086
  kill -KILL $pids 2>/dev/null
  sleep 0.2
  echo "$n"
}

# Removes the namespaces (and with them the veths and the bridge) and the state.
teardown() {
  local quiet=${1:-} ns
  for ns in $(existing_ns); do
    kill_ns_procs "$ns" >/dev/null
    # Deleting one end of a veth pair deletes both; the bridge goes with its namespace.
    ip netns delete "$ns" 2>/dev/null
  done
  rm -rf "$STATE"
  rmdir "$STATE_ROOT" 2>/dev/null || true
  if [ -n "$(existing_ns)" ]; then
    echo "$PROG: error: could not delete namespaces: $(existing_ns | tr '\n' ' ')" >&2
    return 1
  fi
  [ -n "$quiet" ] || info "cluster '$NAME' is down"
  return 0
}

# Rate as tc understands it -> bytes per second (awk prints an integer), or fails.
rate_bytes() {
  local r=${1,,} num unit
  [[ "$r" =~ ^([0-9]+(\.[0-9]+)?)(bit|kbit|mbit|gbit|tbit|bps|kbps|mbps|gbps)$ ]] || return 1
  num=${BASH_REMATCH[1]} unit=${BASH_REMATCH[3]}
  awk -v n="$num" -v u="$unit" 'BEGIN {
    m["bit"] = 1/8; m["kbit"] = 1e3/8; m["mbit"] = 1e6/8; m["gbit"] = 1e9/8; m["tbit"] = 1e12/8;
    m["bps"] = 1; m["kbps"] = 1e3; m["mbps"] = 1e6; m["gbps"] = 1e9;
    b = n * m[u]; if (b < 1000) exit 1; printf "%.0f\n", b }'
}

# tbf on device $2 in namespace $1 with rate $3 (bytes/s in $4). The bucket holds 4 ms of
# traffic (at least 64 KiB, so that a full TSO segment fits); the queue holds 50 ms.
add_tbf() {
  local ns=$1 dev=$2 rate=$3 bytes=$4 burst
  burst=$((bytes / 250))
  [ "$burst" -ge 65536 ] || burst=65536
  run_or_die "tc tbf on $dev in $ns" tc -n "$ns" qdisc replace dev "$dev" root tbf \
    rate "$rate" burst "$burst" latency 50ms
}

write_agent() {
  # mpirun calls: agent [options] HOST COMMAND... where COMMAND is a shell command line
  # (as for ssh). The agent starts it in the host's namespace with its own UTS namespace,
  # hostname and TMPDIR, so that the Open MPI daemons of different hosts never share a
  # hostname or a session directory.
  cat >"$STATE/agent" <<EOF
#!/usr/bin/env bash
# rsh agent for mpirun, written by scripts/cluster.sh up; do not edit.
set -u
while [ \$# -gt 0 ] && [ "\${1#-}" != "\$1" ]; do shift; done
[ \$# -ge 2 ] || { echo "cluster agent: usage: agent HOST COMMAND..." >&2; exit 2; }
host=\$1
shift
ns= tmp=
while read -r h_ns h_addr h_tmp; do
  if [ "\$h_addr" = "\$host" ] || [ "\$h_ns" = "\$host" ]; then ns=\$h_ns tmp=\$h_tmp; fi
done < "$STATE/hosts"
[ -n "\$ns" ] || { echo "cluster agent: unknown host '\$host' (not in $STATE/hosts)" >&2; exit 2; }
exec ip netns exec "\$ns" unshare --uts /bin/sh -c \
  'echo "\$0" > /proc/sys/kernel/hostname && TMPDIR=\$1 && export TMPDIR && exec /bin/sh -c "\$2"' \
  "\$ns" "\$tmp" "\$*"
EOF
  chmod 755 "$STATE/agent"
}

cmd_up() {
  [ $# -eq 2 ] || die "up needs N and RATE, e.g. up 4 100mbit"
  local n=$1 rate=${2,,} bytes=0 i ns addr
  [[ "$n" =~ ^[0-9]+$ ]] && [ "$n" -ge 1 ] && [ "$n" -le "$MAX_HOSTS" ] ||
    die "N must be a number of hosts from 1 to $MAX_HOSTS (got '$n')"
  if [ "$rate" != none ]; then
    bytes=$(rate_bytes "$rate") ||
      die "RATE must be 'none' or a tc rate of at least 8kbit such as 100mbit, 1gbit, 500kbit (got '$2')"
  fi
  need_tools
  if [ -n "$(existing_ns)" ] || [ -e "$STATE" ]; then
    info "cluster '$NAME' exists; tearing it down first"
    teardown quiet || die "could not remove the existing cluster '$NAME'"
  fi
  BUILDING=1
  trap 'die "interrupted; the partial cluster was removed"' INT TERM HUP

  run_or_die "cannot create network namespaces (ip netns add $BRNS)" ip netns add "$BRNS"
  mkdir -p "$STATE/tmp" || die "cannot create the state directory $STATE"
  : >"$STATE/hosts"
  run_or_die "loopback in $BRNS" ip -n "$BRNS" link set lo up
  run_or_die "bridge in $BRNS" ip -n "$BRNS" link add br0 type bridge stp_state 0 forward_delay 0
  run_or_die "bridge address" ip -n "$BRNS" addr add "$NET.254/24" dev br0
  run_or_die "bridge up" ip -n "$BRNS" link set br0 up
  for ((i = 0; i < n; i++)); do
    ns=$(host_ns "$i") addr=$(host_addr "$i")
    run_or_die "ip netns add $ns" ip netns add "$ns"
    run_or_die "loopback in $ns" ip -n "$ns" link set lo up
    run_or_die "veth pair for $ns" ip -n "$BRNS" link add "h$i" type veth peer name veth0 netns "$ns"
    run_or_die "attach h$i to the bridge" ip -n "$BRNS" link set "h$i" master br0
    run_or_die "link h$i up" ip -n "$BRNS" link set "h$i" up
    run_or_die "address of $ns" ip -n "$ns" addr add "$addr/24" dev veth0
    run_or_die "link veth0 up in $ns" ip -n "$ns" link set veth0 up
    if [ "$rate" != none ]; then
      add_tbf "$ns" veth0 "$rate" "$bytes"   # uplink: host -> bridge
      add_tbf "$BRNS" "h$i" "$rate" "$bytes" # downlink: bridge -> host
    fi
    mkdir -p "$STATE/tmp/h$i" && echo "$ns $addr $STATE/tmp/h$i" >>"$STATE/hosts" ||
      die "cannot write the state in $STATE"
  done
  mkdir -p "$STATE/tmp/net" || die "cannot write the state in $STATE"
  # New namespaces start with forwarding off; make it explicit, and keep IPv6 out of the
  # picture so that the only addresses are those of the test subnet.
  for ns in "$BRNS" $(for ((i = 0; i < n; i++)); do host_ns "$i"; done); do
    run_or_die "sysctls in $ns" ip netns exec "$ns" /bin/sh -c \
      'echo 0 > /proc/sys/net/ipv4/ip_forward; for f in /proc/sys/net/ipv6/conf/*/disable_ipv6; do [ -e "$f" ] && echo 1 > "$f"; done; true'
  done
  cat >"$STATE/state" <<EOF
HOSTS=$n
RATE=$rate
NET=$NET
CREATED='$(date -u +%Y-%m-%dT%H:%M:%SZ)'
EOF
  write_agent
  check_isolation "$n"
  check_connectivity "$n"
  BUILDING=0
  trap - INT TERM HUP
  info "cluster '$NAME' is up: $n hosts $(host_addr 0)..$(host_addr $((n - 1))) on $NET.0/24, links limited to $rate each way"
}

# Fails unless every namespace has only lo plus its link, only test-subnet addresses,
# no default route and no forwarding.
check_isolation() {
  local n=$1 ns fwd bad
  for ns in "$BRNS" $(for ((i = 0; i < n; i++)); do host_ns "$i"; done); do
    [ -z "$(ip -n "$ns" route show default 2>/dev/null)" ] || die "isolation: $ns has a default route"
    [ -z "$(ip -n "$ns" -6 route show default 2>/dev/null)" ] || die "isolation: $ns has an IPv6 default route"
    bad=$(ip -n "$ns" -4 -o addr show | awk -v net="$NET." '$4 !~ "^127\\." && index($4, net) != 1 {print $4}')
    [ -z "$bad" ] || die "isolation: $ns has addresses outside $NET.0/24: $bad"
    bad=$(ip -n "$ns" -o link show | awk -F': ' '{sub(/@.*/, "", $2); print $2}' |
      grep -vxE 'lo|br0|veth0|h[0-9]+' || true)
    [ -z "$bad" ] || die "isolation: $ns has unexpected interfaces: $bad"
    fwd=$(ip netns exec "$ns" cat /proc/sys/net/ipv4/ip_forward)
    [ "$fwd" = 0 ] || die "isolation: IP forwarding is on in $ns"
  done
}

# Every host reaches every other host (ping, or a TCP probe where ping is missing).
check_connectivity() {
  local n=$1 i j failed=() tries
  [ "$n" -ge 2 ] || return 0
  if command -v ping >/dev/null 2>&1; then
    for ((i = 0; i < n; i++)); do
      for ((j = 0; j < n; j++)); do
        [ "$i" != "$j" ] || continue
        # The first packet may wait for ARP; allow a few tries.
        tries=0
        until ip netns exec "$(host_ns "$i")" ping -n -q -c 1 -W 1 "$(host_addr "$j")" >/dev/null 2>&1; do
          tries=$((tries + 1))
          [ "$tries" -lt 3 ] || { failed+=("h$i->h$j"); break; }
        done
      done
    done
  else
    local py
    py=$(python_bin) || die "cannot check connectivity: neither ping (iputils-ping) nor python3 is installed"
    local port=47613 pids=()
    for ((i = 0; i < n; i++)); do
      ip netns exec "$(host_ns "$i")" timeout 30 "$py" -c '
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], int(sys.argv[2]))); s.listen(256)
while True:
    c, _ = s.accept(); c.close()' "$(host_addr "$i")" "$port" 2>/dev/null &
      pids+=($!)
    done
    for ((i = 0; i < n; i++)); do
      for ((j = 0; j < n; j++)); do
        [ "$i" != "$j" ] || continue
        ip netns exec "$(host_ns "$i")" "$py" -c '
import socket, sys, time
end = time.time() + 5
while True:
    try:
        socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=1).close(); break
    except OSError:
        if time.time() > end: sys.exit(1)
        time.sleep(0.1)' "$(host_addr "$j")" "$port" || failed+=("h$i->h$j")
      done
    done
    kill "${pids[@]}" 2>/dev/null
    wait "${pids[@]}" 2>/dev/null
  fi
  [ "${#failed[@]}" -eq 0 ] || die "connectivity: no answer for ${failed[*]}"
}

python_bin() {
  if [ -x /usr/bin/python3 ]; then echo /usr/bin/python3
  elif command -v python3 >/dev/null 2>&1; then command -v python3
  else return 1
  fi
}

# Sends a few seconds' worth of data from host 0 to host 1 and prints the rate seen by
# the receiver. The path crosses host 0's uplink and host 1's downlink, both limited.
measure_throughput() {
  local py bytes out port=47614 srv rc
  [ "$HOSTS" -ge 2 ] || die "--throughput needs at least 2 hosts"
  py=$(python_bin) || die "--throughput needs python3"
  if [ "$RATE" = none ]; then bytes=$((1024 * 1024 * 1024)); else bytes=$(($(rate_bytes "$RATE") * 2)); fi
  local tmp=$STATE/tmp/throughput
  ip netns exec "$(host_ns 1)" timeout 120 "$py" -c '
import socket, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], int(sys.argv[2]))); s.listen(1)
open(sys.argv[3], "w").close()
c, _ = s.accept(); n = 0; t0 = None
while True:
    b = c.recv(1 << 20)
    if t0 is None: t0 = time.perf_counter()
    if not b: break
    n += len(b)
print(n, time.perf_counter() - t0)' "$(host_addr 1)" "$port" "$tmp.ready" >"$tmp" 2>&1 &
  srv=$!
  local t=0
  while [ ! -e "$tmp.ready" ] && [ "$t" -lt 100 ]; do sleep 0.05; t=$((t + 1)); done
  ip netns exec "$(host_ns 0)" timeout 120 "$py" -c '
import socket, sys
c = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=10)
c.settimeout(None)
left = int(sys.argv[3]); chunk = b"\0" * (1 << 20)
while left > 0:
    c.sendall(chunk[:min(left, len(chunk))]); left -= min(left, len(chunk))
c.close()' "$(host_addr 1)" "$port" "$bytes"
  rc=$?
  wait "$srv" || rc=1
  out=$(cat "$tmp" 2>/dev/null)
  rm -f "$tmp" "$tmp.ready"
  [ "$rc" = 0 ] || die "throughput: the transfer from $(host_ns 0) to $(host_ns 1) failed: ${out//$'\n'/; }"
  awk -v out="$out" -v rate="$RATE" -v a="$(host_ns 0)" -v b="$(host_ns 1)" 'BEGIN {
    split(out, f, " "); printf "cluster: throughput %s -> %s: %.1f Mbit/s (%.1f MB in %.2f s; limit %s)\n",
      a, b, f[1] * 8 / f[2] / 1e6, f[1] / 1e6, f[2], rate }'
}

cmd_check() {
  local tput=0
  while [ $# -gt 0 ]; do
    case $1 in
      --throughput | -t) tput=1 ;;
      *) die "check: unknown option '$1' (only --throughput)" ;;
    esac
    shift
  done
  need_tools
  load_state
  check_isolation "$HOSTS"
  check_connectivity "$HOSTS"
  echo "cluster: ok: $HOSTS hosts reach each other; no default route, no forwarding, only $NET.0/24 addresses"
  [ "$tput" = 0 ] || measure_throughput
}

cmd_status() {
  need_tools
  load_state
  echo "cluster '$NAME': $HOSTS hosts on $NET.0/24, links limited to $RATE each way (up since $CREATED)"
  echo "mpirun runs in $BRNS ($NET.254); state in $STATE"
  local ns addr tmp i=0 up down
  while read -r ns addr tmp; do
    up=$(tc -n "$ns" qdisc show dev veth0 2>/dev/null | awk '/tbf/ {for (k = 1; k <= NF; k++) if ($k == "rate") print $(k + 1)}')
    down=$(tc -n "$BRNS" qdisc show dev "h$i" 2>/dev/null | awk '/tbf/ {for (k = 1; k <= NF; k++) if ($k == "rate") print $(k + 1)}')
    printf '  %-16s %-15s up %-10s down %s\n' "$ns" "$addr" "${up:-unlimited}" "${down:-unlimited}"
    i=$((i + 1))
  done <"$STATE/hosts"
}

cmd_down() {
  [ $# -eq 0 ] || die "down takes no arguments"
  need_tools
  if [ -z "$(existing_ns)" ] && [ ! -e "$STATE" ]; then
    info "cluster '$NAME' is not up; nothing to do"
    return 0
  fi
  teardown || exit 1
}

# Kills what a run left in the namespaces (daemons or ranks after a failure or signal).
clean_run() {
  local ns k total=0
  for ns in $(existing_ns); do
    k=$(kill_ns_procs "$ns")
    total=$((total + k))
  done
  [ "$total" = 0 ] || info "killed $total leftover processes in the cluster's namespaces"
}

cmd_run() {
  local np=${1:-} bin=${ECCO_CLUSTER_BIN:-$REPO/build/release/apps/ecco-train}
  local limit=${ECCO_CLUSTER_TIMEOUT:-3600} map=node mpirun=${ECCO_CLUSTER_MPIRUN:-mpirun}
  [[ "$np" =~ ^[0-9]+$ ]] && [ "$np" -ge 1 ] || die "run needs a number of ranks NP >= 1 (got '$np')"
  shift
  while [ $# -gt 0 ] && [ "$1" != -- ]; do
    case $1 in
      --bin) [ $# -ge 2 ] || die "--bin needs a path"; bin=$2; shift ;;
      --timeout) [ $# -ge 2 ] || die "--timeout needs seconds"; limit=$2; shift ;;
      --map) [ $# -ge 2 ] || die "--map needs node or block"; map=$2; shift ;;
      *) die "run: unknown option '$1' (options: --bin PATH, --timeout SEC, --map node|block; then -- and the ecco-train arguments)" ;;
    esac
    shift
  done
  [ "${1:-}" = -- ] || die "run: put the ecco-train arguments after '--'"
  shift
  [[ "$limit" =~ ^[0-9]+$ ]] && [ "$limit" -ge 1 ] || die "--timeout must be a positive number of seconds (got '$limit')"
  case $map in node | block) ;; *) die "--map must be node (round-robin) or block (got '$map')" ;; esac
  need_tools
  load_state
  [ -x "$bin" ] || die "ecco-train not found at $bin (build it, or give --bin PATH or ECCO_CLUSTER_BIN)"
  bin=$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")
  local mpirun_path
  mpirun_path=$(command -v "$mpirun") || die "'$mpirun' not found (Debian package openmpi-bin)"

  local work hostfile slots
  work=$(mktemp -d "$STATE/tmp/run.XXXXXX") || die "cannot create a run directory in $STATE/tmp"
  hostfile=$work/hostfile
  # --map block fills each host before the next one: slots = ceil(NP / hosts).
  slots=1
  [ "$map" = node ] || slots=$(((np + HOSTS - 1) / HOSTS))
  awk -v s="$slots" '{print $2, "slots=" s}' "$STATE/hosts" >"$hostfile"

  local mapping=(--map-by node)
  [ "$map" = node ] || mapping=(--map-by slot)
  # All hosts share this machine's CPUs. Open MPI sees one rank per "node" and lets it
  # spin while it waits; with more ranks than CPUs the spinning ranks starve the one that
  # has work and rounds become ~100x slower. So ranks yield the CPU when idle unless the
  # caller chose. Yielding only helps between tasks of one scheduler group: a daemonised
  # orted starts a session, and so an autogroup, of its own, and each rank then keeps
  # its CPU for a full time slice (rounds ~10x slower). Hence the daemons stay attached
  # to mpirun's session (orte_leave_session_attached) and every rank shares one group.
  local cpus yield=()
  cpus=$(nproc 2>/dev/null || echo 1)
  if [ -z "${OMPI_MCA_mpi_yield_when_idle:-}" ] && [ "$np" -gt "$cpus" ]; then
    yield=(--mca mpi_yield_when_idle 1)
  fi
  local mpi=("$mpirun_path" -np "$np" --hostfile "$hostfile" "${mapping[@]}" --bind-to none --oversubscribe
    --wdir "$PWD" "${yield[@]}"
    --mca plm rsh --mca plm_rsh_agent "$STATE/agent" --mca plm_rsh_no_tree_spawn 1
    --mca orte_leave_session_attached 1
    --mca btl "self,tcp" --mca btl_tcp_if_include "$NET.0/24" --mca oob_tcp_if_include "$NET.0/24"
    "$bin" "$@")

  # Settings from the caller's environment that would clash with the ones above.
  unset OMPI_MCA_btl_tcp_if_exclude OMPI_MCA_oob_tcp_if_exclude OMPI_MCA_btl_tcp_if_include \
    OMPI_MCA_oob_tcp_if_include OMPI_MCA_btl OMPI_MCA_plm OMPI_MCA_plm_rsh_agent
  export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
  info "$np ranks on $HOSTS hosts ($RATE links), map-by $map, limit ${limit}s: $(basename "$bin") $*"

  local pid rc filter
  # mpirun's stderr without one harmless line: mpirun's child puts itself in its own
  # process group and execs the agent, often before mpirun's own setpgid on it, which
  # then fails with EACCES and warns.
  exec 4> >(grep -v --line-buffered -e 'plm:rsh: Warning: setpgid(.*) failed in parent with errno=Permission denied' >&2)
  filter=$!
  # mpirun runs in the bridge's namespace with its own hostname and TMPDIR.
  timeout --kill-after=15 "$limit" ip netns exec "$BRNS" unshare --uts /bin/sh -c \
    'echo "$0" > /proc/sys/kernel/hostname && TMPDIR=$1 && export TMPDIR && shift && exec "$@"' \
    "$BRNS" "$STATE/tmp/net" "${mpi[@]}" 2>&4 &
  pid=$!
  local started=$SECONDS
  trap 'kill -TERM $pid 2>/dev/null; wait $pid 2>/dev/null; clean_run; rm -rf "$work"; exec 4>&-; echo "$PROG: error: interrupted; the run was stopped (the cluster stays up)" >&2; exit 130' INT TERM HUP
  wait "$pid"
  rc=$?
  trap - INT TERM HUP
  exec 4>&-
  wait "$filter" 2>/dev/null
  clean_run
  rm -rf "$work"
  [ "$rc" != 137 ] || [ $((SECONDS - started)) -lt "$limit" ] || rc=124
  case $rc in
    0) return 0 ;;
    124) echo "$PROG: error: mpirun did not finish within ${limit}s and was stopped (raise --timeout or ECCO_CLUSTER_TIMEOUT)" >&2 ;;
    *) echo "$PROG: error: mpirun failed with exit status $rc" >&2 ;;
  esac
  exit "$rc"
}

main() {
  local command=${1:-}
  [ $# -eq 0 ] || shift
  case $command in
    -h | --help | help) usage; return 0 ;;
    "") echo "$PROG: error: no command given (up, run, status, check, down; see --help)" >&2; exit 2 ;;
  esac
  validate_config
  case $command in
    up) cmd_up "$@" ;;
    run) cmd_run "$@" ;;
    down) cmd_down "$@" ;;
    status) [ $# -eq 0 ] || die "status takes no arguments"; cmd_status ;;
    check) cmd_check "$@" ;;
    *) die "unknown command '$command' (up, run, status, check, down; see --help)" ;;
  esac
}

main "$@"
