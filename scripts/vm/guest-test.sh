#!/bin/sh
# Runs inside the VM (busybox sh, real iproute2 `ip`): LER1 - LSR - LER2 in namespaces, lsrd in
# `kernel` mode in each. The LERs reach each other's customer prefix (172.16.x.0/24) only through
# lsrd's static-routes over the LSP to the far loopback; the LSR has no route to it. Prints "ok -"/"not ok -" lines and, between ==== markers, each node's
# kernel routes and LFIB for scripts/vm/check-routes.py. Exit status: the number of failures.
. /guest-lib.sh
in_ns() { ns=$1; shift; ip netns exec "$ns" "$@"; }

for ns in ler1 lsr ler2; do
    ip netns add $ns
    in_ns $ns ip link set lo up
done
ip link add a1 netns ler1 type veth peer name b1 netns lsr
ip link add a2 netns ler2 type veth peer name b2 netns lsr
# A second LSR-LER2 link for equal-cost multipath (used at the end).
ip link add a3 netns ler2 type veth peer name b3 netns lsr
in_ns lsr ip addr add 10.0.3.2/24 dev b3
in_ns ler2 ip addr add 10.0.3.1/24 dev a3
in_ns ler1 ip addr add 1.1.1.1/32 dev lo
in_ns ler1 ip addr add 172.16.1.1/32 dev lo
in_ns ler1 ip addr add 10.0.1.1/24 dev a1
in_ns lsr ip addr add 2.2.2.2/32 dev lo
in_ns lsr ip addr add 10.0.1.2/24 dev b1
in_ns lsr ip addr add 10.0.2.2/24 dev b2
in_ns ler2 ip addr add 3.3.3.3/32 dev lo
in_ns ler2 ip addr add 172.16.3.1/32 dev lo
in_ns ler2 ip addr add 10.0.2.1/24 dev a2
for link in "ler1 a1" "lsr b1" "lsr b2" "lsr b3" "ler2 a2" "ler2 a3"; do set -- $link; in_ns $1 ip link set $2 up; done

# The IGP: loopbacks and links only. No node has a kernel route to the far customer prefix.
lsr_routes() {
    in_ns lsr ip route replace 1.1.1.1/32 via 10.0.1.1
    in_ns lsr ip route replace 3.3.3.3/32 via 10.0.2.1
}
for prefix in 2.2.2.2/32 3.3.3.3/32 10.0.2.0/24; do in_ns ler1 ip route add $prefix via 10.0.1.2; done
for prefix in 2.2.2.2/32 1.1.1.1/32 10.0.1.0/24; do in_ns ler2 ip route add $prefix via 10.0.2.2; done
lsr_routes
# The LSR must not forward IP: whatever crosses it is label switched.
in_ns lsr sysctl -qw net.ipv4.ip_forward=0
for ns in ler1 ler2; do in_ns $ns sysctl -qw net.ipv4.ip_forward=1; done

router_id() { case $1 in ler1) echo 1.1.1.1;; lsr) echo 2.2.2.2;; ler2) echo 3.3.3.3;; esac; }
interfaces() { case $1 in ler1) echo a1;; lsr) echo "b1 b2 b3";; ler2) echo "a2 a3";; esac; }
# The far LER's customer prefix, behind its loopback.
static_route() { case $1 in ler1) echo "{ prefix: 172.16.3.0/24, via: 3.3.3.3 }";; ler2) echo "{ prefix: 172.16.1.0/24, via: 1.1.1.1 }";; esac; }
start_lsrd() {
    ns=$1
    {
        echo "router-id: $(router_id $ns)"
        echo "interfaces:"
        for interface in $(interfaces $ns); do echo "  - { name: $interface, hello-interval: 1, hold-time: 3 }"; done
        echo "label-range: 100-9999"
        echo "dataplane: kernel"
        [ $ns = lsr ] || printf 'static-routes:\n  - %s\n' "$(static_route $ns)"
        # LER1 relies on the default: platform_labels sized from the label range.
        [ $ns = ler1 ] || echo "kernel: { platform-labels: 10000 }"
        echo "control-socket: /tmp/$ns.sock"
    } > /tmp/$ns.yaml
    # A simple command, so that $! is lsrd itself (ip netns exec execs in place).
    $IP netns exec $ns lsrd --config /tmp/$ns.yaml >>/tmp/$ns.log 2>&1 &
    eval "pid_$ns=$!"
}
lfib_json() { lsrctl show lfib --json --socket /tmp/$1.sock; }
for ns in ler1 lsr ler2; do start_lsrd $ns; done

# Converged when both ingress LERs push onto the far customer prefix (their static routes).
ftn_present() { in_ns $1 ip route show table 193 | grep -q "^$2 .*encap mpls"; }
converged() { ftn_present ler1 172.16.3.0/24 && ftn_present ler2 172.16.1.0/24 && in_ns lsr ip -f mpls route show | grep -q .; }
echo "# $(cut -d' ' -f1 /proc/uptime) s: lsrd started"
check "the LERs get labelled routes to the customer prefixes (LDP converged, static routes over the LSPs)" wait_for 40 converged
check "the LSR has no route to the customer prefixes" sh -c '! $IP netns exec lsr ip route get 172.16.3.1 && ! $IP netns exec lsr ip route get 172.16.1.1'

dump() { # STAGE
    for ns in ler1 lsr ler2; do
        echo "==== $1 $ns mpls"; in_ns $ns ip -f mpls route show
        echo "==== $1 $ns ftn"; in_ns $ns ip route show table 193
        echo "==== $1 $ns lfib"; lfib_json $ns
        echo "==== $1 $ns dataplane"; lsrctl show dataplane --json --socket /tmp/$ns.sock
    done
    echo "==== end"
}
dump converged

mpls_rx_packets() { in_ns lsr ip -s -f mpls link show dev b1 | awk '/RX:/ { getline; print $2; exit }'; }
before=$(mpls_rx_packets)
ping_across() { in_ns ler1 ping -c 3 -W 2 -I 172.16.1.1 172.16.3.1; }
check "LER1 pings LER2's customer address across the LSR" ping_across
after=$(mpls_rx_packets)
echo "# LSR b1 MPLS RX packets: ${before:-?} -> ${after:-?}"
check "the LSR's MPLS counters grew by the pings" test "${after:-0}" -ge $(( ${before:-0} + 3 ))
check "the LSR does not IP-forward (ip_forward=0)" test "$(in_ns lsr cat /proc/sys/net/ipv4/ip_forward)" = 0

# Link down: the LSR loses its routes toward LER2, and the labels for them.
in_ns lsr ip link set b2 down
lsr_label_gone() { ! in_ns lsr ip -f mpls route show | grep -q 'via inet 10.0.2.1'; }
check "after b2 down the LSR's routes toward LER2 leave the kernel" wait_for 20 lsr_label_gone
check "and LER1 loses its static route to 172.16.3.0/24 with the LSP" wait_for 20 sh -c '! $IP netns exec ler1 ip route show table 193 | grep -q "^172.16.3.0/24 "'
dump linkdown
in_ns lsr ip link set b2 up
sleep 1
lsr_routes
check "after b2 up the labelled routes come back" wait_for 40 converged
check "and the pings cross again" ping_across
dump linkup

# kill -9 leaves routes behind; the next lsrd must remove what it no longer wants.
eval "kill -9 \$pid_lsr"
sleep 0.5
stale_label=$(in_ns lsr ip -f mpls route show | awk '/via inet 10.0.2.1/ { print $1; exit }')
check "routes stay in the kernel after kill -9" test -n "$stale_label"
# While lsrd is down, a FEC disappears: its label must not survive the restart.
in_ns lsr ip route del 3.3.3.3/32
start_lsrd lsr
restarted() { in_ns lsr test -S /tmp/lsr.sock && lfib_json lsr | grep -q '"inLabel"'; }
check "lsrd restarts" wait_for 30 restarted
sleep 3
check "no stale route: the kernel's MPLS table holds only what the new LFIB wants" \
    sh -c "! $IP netns exec lsr ip -f mpls route show | grep -q 'via inet 10.0.2.1'"
dump restarted
lsr_routes
check "after the routes return, the pings cross again" sh -c 'for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do $IP netns exec ler1 ping -c 1 -W 1 -I 172.16.1.1 172.16.3.1 >/dev/null && exit 0; sleep 1; done; exit 1'
dump final

# ECMP: two equal-cost IGP next hops toward LER2 make one multipath MPLS route on the LSR.
in_ns lsr ip route replace 3.3.3.3/32 nexthop via 10.0.2.1 dev b2 nexthop via 10.0.3.1 dev b3
multipath() { in_ns lsr ip -f mpls route show | grep -q 'nexthop via inet 10.0.3.1 dev b3'; }
check "ECMP: the LSR installs a multipath MPLS route over b2 and b3" wait_for 20 multipath
check "ECMP: the pings cross the multipath route" ping_across
dump ecmp

# A clean stop removes lsrd's routes and rule.
for ns in ler1 lsr ler2; do eval "kill -TERM \$pid_$ns"; done
sleep 2
check "SIGTERM: no MPLS route of lsrd left on the LSR" sh -c '! $IP netns exec lsr ip -f mpls route show | grep -q .'
check "SIGTERM: no labelled route left on LER1" sh -c '! $IP netns exec ler1 ip route show table 193 | grep -q .'
check "SIGTERM: LER1's policy rule removed" sh -c '! $IP netns exec ler1 ip rule show | grep -q "lookup 193"'
check "SIGTERM: the IGP's route on LER1 is untouched" sh -c '$IP netns exec ler1 ip route show | grep -q "^3.3.3.3 via 10.0.1.2"'
check "SIGTERM: LER1 has no route to the customer prefix left" sh -c '! $IP netns exec ler1 ip route get 172.16.3.1'

echo "# $(cut -d' ' -f1 /proc/uptime) s: the plane checks"
# Who receives labelled frames: net.mpls.conf.<if>.input per dataplane mode (no LDP peer needed).
ip netns add planes
in_ns planes ip link set lo up
ip link add u1 netns planes type veth peer name u2 netns planes
for interface in u1 u2; do in_ns planes ip link set $interface up; done
in_ns planes sysctl -qw net.mpls.platform_labels=10000
input_of() { in_ns planes cat /proc/sys/net/mpls/conf/$1/input; }
run_planes() { # DATAPLANE INTERFACE-ENTRIES...
    dataplane=$1; shift
    { echo "router-id: 9.9.9.9"; echo "interfaces:"; for entry in "$@"; do echo "  - $entry"; done
      echo "dataplane: $dataplane"; echo "control-socket: /tmp/planes.sock"; } > /tmp/planes.yaml
    for interface in u1 u2; do in_ns planes sysctl -qw net.mpls.conf.$interface.input=1; done
    $IP netns exec planes lsrd --config /tmp/planes.yaml >>/tmp/planes.log 2>&1 &
    planes_pid=$!
    wait_for 30 in_ns planes test -S /tmp/planes.sock
}
stop_planes() {
    kill -TERM $planes_pid
    check "lsrd ($dataplane) stops on SIGTERM" wait_for 15 sh -c "! kill -0 $planes_pid"
    kill -KILL $planes_pid 2>/dev/null
    rm -f /tmp/planes.sock
}
# Routes a kernel-mode lsrd left (protocol 205): a userspace-mode lsrd removes them, since the
# kernel would forward with them beside it.
in_ns planes ip addr add 10.9.9.1/24 dev u1
check "planted: a kernel-plane swap route" in_ns planes ip -f mpls route add 5000 as 6000 via inet 10.9.9.2 dev u1 proto 205
check "planted: a kernel-plane push route" \
    in_ns planes ip route add 172.31.0.0/16 encap mpls 6001 via 10.9.9.2 dev u1 table 193 proto 205
run_planes userspace u1 u2
check "userspace: the kernel does not take labelled frames on lsrd's interfaces (input=0)" \
    test "$(input_of u1)$(input_of u2)" = 00
check "userspace: the kernel plane's routes of an earlier run are gone" \
    sh -c '[ -z "$($IP netns exec planes ip -f mpls route show proto 205)" ] && [ -z "$($IP netns exec planes ip route show table 193 proto 205)" ]'
stop_planes
run_planes both "{ name: u1, forwarding: userspace }" u2
check "both: the userspace-owned interface has input=0, the kernel-owned one input=1" \
    test "$(input_of u1)$(input_of u2)" = 01
stop_planes
ip netns del planes

echo "# $(cut -d' ' -f1 /proc/uptime) s: done"
if [ $failures -ne 0 ]; then
    for ns in ler1 lsr ler2 planes; do echo "---- lsrd log of $ns"; tail -n 30 /tmp/$ns.log; done
fi
exit $failures
