#!/usr/bin/env bash
# A multi-host test bed on one machine: N "hosts" h1..hN, each a Linux network namespace with its
# own address on a private switch, and its own hostname for the processes started in it (a UTS
# namespace per launch). OpenMPI then sees N nodes: ranks on different hosts talk over its TCP
# transport, ranks on the same host over shared memory — as on a real cluster.
#
#   Tests/scripts/netns_hosts.sh up N          # create h1..hN (needs root and `ip`)
#   Tests/scripts/netns_hosts.sh down          # remove every namespace and file this script made
#   Tests/scripts/netns_hosts.sh run HOST CMD… # run CMD as if logged in on HOST
#   Tests/scripts/netns_hosts.sh agent HOST CMD…  # the same; OpenMPI's launch agent (instead of ssh)
#
# The network: a namespace "ecg-sw" holds a Linux bridge; each host namespace "ecg-hK" has one end
# of a veth pair with address 10.77.0.K/24, the other end on the bridge. Nothing is added to the
# machine's own network namespace, and the only addresses ever used are these hosts' own.
# `ip netns exec` bind-mounts /etc/netns/ecg-hK/hosts over /etc/hosts, so h1..hN resolve in every
# host. mpirun runs in h1 (`run h1 mpirun …`) with `--mca plm_rsh_agent "<this script> agent"`.
set -euo pipefail
SELF=$(readlink -f "$0")
PREFIX=ecg-h
SWITCH=ecg-sw
NET=10.77.0
STATE=/run/ecg-netns-hosts   # how many hosts are up

cmd=${1:-}; shift || true
case "$cmd" in
up)
    n=${1:?usage: netns_hosts.sh up N}
    [ "$(id -u)" = 0 ] || { echo "netns_hosts: needs root (ip netns)" >&2; exit 1; }
    command -v ip >/dev/null || { echo "netns_hosts: needs iproute2 (ip)" >&2; exit 1; }
    "$SELF" down >/dev/null 2>&1 || true
    ip netns add $SWITCH
    ip -n $SWITCH link add br0 type bridge
    ip -n $SWITCH link set br0 up
    ip -n $SWITCH link set lo up
    hosts="127.0.0.1 localhost"
    for k in $(seq 1 "$n"); do hosts+=$'\n'"$NET.$k h$k"; done
    for k in $(seq 1 "$n"); do
        ns=$PREFIX$k
        ip netns add "$ns"
        # Create the pair inside the switch namespace, then move one end into the host.
        ip -n $SWITCH link add "p$k" type veth peer name eth0 netns "$ns"
        ip -n $SWITCH link set "p$k" master br0 up
        ip -n "$ns" addr add "$NET.$k/24" dev eth0
        ip -n "$ns" link set eth0 up
        ip -n "$ns" link set lo up
        mkdir -p "/etc/netns/$ns"
        printf '%s\n' "$hosts" > "/etc/netns/$ns/hosts"
        echo "h$k" > "/etc/netns/$ns/hostname"
    done
    echo "$n" > "$STATE"
    # Wait until every host answers on TCP from h1 (the bridge needs a moment to forward).
    for k in $(seq 1 "$n"); do
        for _ in $(seq 50); do
            # A refused connection proves the path works (nothing listens on port 1); only a
            # time-out means the bridge does not forward yet.
            out=$(ip netns exec ${PREFIX}1 timeout 0.5 bash -c "exec 3<>/dev/tcp/$NET.$k/1" 2>&1 || true)
            [[ $out == *refused* ]] && break
            sleep 0.1
        done
    done
    echo "netns_hosts: $n hosts up: $(seq -s ' ' -f 'h%g' 1 "$n") on $NET.0/24"
    ;;
down)
    for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep -E "^($PREFIX[0-9]+|$SWITCH)$" || true); do
        # Processes still running in a host namespace (a test that failed) go with it.
        for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -9 "$pid" 2>/dev/null || true; done
        ip netns del "$ns" 2>/dev/null || true
        rm -rf "/etc/netns/$ns"
    done
    rm -f "$STATE"
    echo "netns_hosts: down"
    ;;
run|agent)
    host=${1:?usage: netns_hosts.sh run HOST CMD...}; shift
    # OpenMPI's rsh launcher may pass options before the host name (e.g. -x); skip them.
    while [[ $host == -* ]]; do host=${1:?}; shift; done
    # The cgroup mounts of the machine, outermost first (tmpfs at /sys/fs/cgroup before v1
    # controllers under it; a pure cgroup2 machine has one line).
    export CGROUPS=$(awk '$2 ~ "^/sys/fs/cgroup" { print $3 ":" $4 ":" $2 }' /proc/self/mounts | tr '\n' ' ')
    k=${host#h}
    [[ $k =~ ^[0-9]+$ ]] || { echo "netns_hosts: unknown host '$host'" >&2; exit 2; }
    ip netns list | grep -qw "$PREFIX$k" || { echo "netns_hosts: host $host is not up" >&2; exit 2; }
    # The rsh agent gets the remote command as one string (like ssh); `run` gets words.
    if [ "$cmd" = agent ]; then set -- bash -c "$*"; fi
    # `ip netns exec` mounts a fresh /sys for the namespace, without the cgroup file systems that
    # slurmd insists on finding: mount them again there, as the machine has them (only in this
    # launch's mount namespace). CGROUPS lists them as "type:options:dir" (see below).
    exec ip netns exec "$PREFIX$k" unshare --uts -- bash -c '
        host=$1; shift
        if ! mountpoint -q /sys/fs/cgroup; then
            for m in $CGROUPS; do
                IFS=: read -r type opts dir <<<"$m"
                mkdir -p "$dir" 2>/dev/null; mount -t "$type" -o "$opts" "$type" "$dir" 2>/dev/null || true
            done
        fi
        hostname "$host"; exec "$@"' bash "$host" "$@"
    ;;
*)
    sed -n '2,17p' "$SELF" >&2
    exit 2
    ;;
esac
