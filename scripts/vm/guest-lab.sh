#!/bin/sh
# Runs inside the VM after guest-test.sh: the project's lab tool brings up topologies/line3.yaml
# (CE - PE - P - PE - CE) with lsrd in `kernel` mode, exactly as `scripts/lab up` does on a host,
# and is driven only through lsrlab's own commands (up, status, exec, ping, link, down).
# Prints "ok -"/"not ok -" lines and, between ==== markers, each router's kernel routes and LFIB
# for scripts/vm/check-routes.py (stages line3-up, line3-linkdown, line3-linkup).
# Exit status: the number of failures.
. /guest-lib.sh
stamp() { echo "# $(cut -d' ' -f1 /proc/uptime) s: $*"; }

# lsrlab runs its commands through Foundation's Process, whose run loop wakes itself with a pair
# of UDP sockets on 127.0.0.1 (swift-corelibs-foundation's CFSocket): with the VM's own loopback
# down that pair cannot be made, and lsrlab waits forever for its first child to end.
ip link set lo up
# lsrlab finds lsrd and lsrctl in --binaries and the topology relative to the working directory.
cd /lab || exit 1
export LAB_PREFIX=v
lab() { sub=$1; shift; lsrlab "$sub" --binaries /usr/local/bin "$@"; }
in_node() { node=$1; shift; ip netns exec "$LAB_PREFIX-$node" "$@"; }
routers="pe1 p1 pe2"

stamp "lsrlab up line3 --dataplane kernel"
lab up topologies/line3.yaml --dataplane kernel --timeout 60 >/tmp/lab-up.out 2>&1
stamp "lsrlab up exited with $?"
check "lsrlab up line3 --dataplane kernel: every LDP session OPERATIONAL" grep -q '^LDP converged\.$' /tmp/lab-up.out
check "lsrlab up: its own demonstration ping crossed (3/3 replies)" grep -q '^ping ce1 -> ce2 .*: 3/3 replies' /tmp/lab-up.out
check "every router's lsrd runs with dataplane: kernel" \
    sh -c 'for node in pe1 p1 pe2; do grep -qx "dataplane: kernel" /run/lsrlab/v/$node.yaml || exit 1; done'

# Converged when both PEs push onto the far CE subnet (their static routes over the LSPs) and
# the P router swaps or pops in its kernel MPLS table.
ftn_present() { in_node $1 ip route show table 193 | grep -q "^$2 .*encap mpls"; }
converged() { ftn_present pe1 192.168.2.0/24 && ftn_present pe2 192.168.1.0/24 && in_node p1 ip -f mpls route show | grep -q .; }
check "the PEs get labelled kernel routes to the far CE subnets, the P router kernel MPLS routes" wait_for 30 converged
session_ends() { lab status | sed -n 's/.*: \([0-9]*\)\/\([0-9]*\) LDP session ends OPERATIONAL.*/\1 \2/p'; }
all_sessions_up() { set -- $(session_ends); [ -n "$1" ] && [ "$1" = "$2" ] && [ "$1" -gt 0 ]; }
check "lsrlab status: every LDP session end OPERATIONAL" all_sessions_up
check "the P router has no route to the CE subnets" \
    sh -c '! $IP netns exec v-p1 ip route get 192.168.2.1 && ! $IP netns exec v-p1 ip route get 192.168.1.1'
check "the P router does not IP-forward (ip_forward=0)" test "$(in_node p1 cat /proc/sys/net/ipv4/ip_forward)" = 0

# lsrctl straight at the control socket lsrlab gave each lsrd (lsrlab exec would add a start of
# lsrlab to each of these, a second under TCG).
lsrctl_of() { node=$1; shift; in_node $node lsrctl "$@" --socket /run/lsrlab/$LAB_PREFIX/$node.sock; }
dump() { # STAGE: what check-routes.py compares
    for node in $routers; do
        echo "==== $1 $node mpls"; in_node $node ip -f mpls route show
        echo "==== $1 $node ftn"; in_node $node ip route show table 193
        echo "==== $1 $node lfib"; lsrctl_of $node show lfib --json
        echo "==== $1 $node dataplane"; lsrctl_of $node show dataplane --json
    done
    echo "==== end"
}
dump line3-up

# Labelled frames received by the P router on each core interface (the kernel's MPLS stats).
mpls_rx() { in_node p1 ip -s -f mpls link show dev $1 | awk '/RX:/ { getline; print $2; exit }'; }
ping_counted() { # DESCRIPTION: lsrlab ping ce1 ce2 (3 echoes), both directions label-switched by p1
    before0=$(mpls_rx eth0); before1=$(mpls_rx eth1)
    check "$1" lab ping ce1 ce2
    after0=$(mpls_rx eth0); after1=$(mpls_rx eth1)
    echo "# p1 MPLS RX packets: eth0 (from pe1) ${before0:-?} -> ${after0:-?}, eth1 (from pe2) ${before1:-?} -> ${after1:-?}"
    check "and p1 label-switched them both ways (MPLS RX on eth0 and eth1 grew by 3 or more)" \
        test "${after0:-0}" -ge $(( ${before0:-0} + 3 )) -a "${after1:-0}" -ge $(( ${before1:-0} + 3 ))
}
stamp "pings"
ping_counted "lsrlab ping ce1 ce2: no loss across the kernel dataplane"

# A core link down: the LSP to pe2 goes, and with it pe1's labelled route to ce2's subnet.
stamp "link down"
check "lsrlab link p1-pe2 down" lab link p1-pe2 down
check "pe1's labelled route to 192.168.2.0/24 leaves the kernel with the LSP" \
    wait_for 20 sh -c '! $IP netns exec v-pe1 ip route show table 193 | grep -q "^192.168.2.0/24 "'
check "p1's MPLS routes toward pe2 leave the kernel" wait_for 20 sh -c '! $IP netns exec v-p1 ip -f mpls route show | grep -q "via inet 10.0.2.2"'
check "and pe2's labelled route to 192.168.1.0/24 leaves too" \
    wait_for 20 sh -c '! $IP netns exec v-pe2 ip route show table 193 | grep -q "^192.168.1.0/24 "'
check "lsrlab ping ce1 ce2 fails while the only path is down" sh -c '! lsrlab ping ce1 ce2 --binaries /usr/local/bin --count 1'
dump line3-linkdown
stamp "link up"
check "lsrlab link p1-pe2 up" lab link p1-pe2 up
check "after the link returns the labelled routes come back" wait_for 30 converged
stamp "converged again"
ping_again() { for try in 1 2 3 4 5 6 7 8 9 10; do lab ping ce1 ce2 && return 0; sleep 1; done; return 1; }
check "lsrlab ping ce1 ce2 succeeds again after reconvergence" ping_again
ping_counted "lsrlab ping ce1 ce2 after link up: no loss"
dump line3-linkup

# down stops exactly the lab's processes and removes its namespaces (and lsrd its routes).
stamp "down"
for node in $routers; do cp /run/lsrlab/v/$node.log /tmp/lab-$node.log 2>/dev/null; done
lab_processes() { for file in /proc/[0-9]*/cmdline; do tr '\0' ' ' <"$file" 2>/dev/null; echo; done | grep '/run/lsrla[b]/'; }
check "before down: the lab's three lsrd run" test "$(lab_processes | grep -c 'lsrd --config')" = 3
check "lsrlab down" lab down
no_lab_processes() { ! lab_processes; }
check "lsrlab down: no lsrd of the lab left" no_lab_processes
check "lsrlab down: no namespace of the lab left" sh -c '! $IP netns list | grep -q "^v-"'
check "lsrlab down: its state directory is gone" test ! -e /run/lsrlab/v

stamp "lab done"
if [ $failures -ne 0 ]; then
    cat /tmp/lab-up.out
    for node in $routers; do echo "---- lsrd log of $node"; tail -n 30 /tmp/lab-$node.log 2>/dev/null; done
fi
exit $failures
