#!/bin/sh
# Runs inside the VM after guest-test.sh: the project's lab tool brings up the shipped topologies
# with lsrd in `kernel` mode, exactly as `scripts/lab up` does on a host, and is driven only
# through lsrlab's own commands (up, verify, snapshot, status, ping, link, restart, down).
# - line3 (CE - PE - P - PE - CE) in detail: kernel routes, MPLS counters, a link down and up.
# - line2, ring4, core6 and frr-mix: `lsrlab verify` (sessions, every lsrd LFIB as the topology predicts
#   and installed in the kernel, labels agreed with FRR's ldpd) after up, a core link down and up,
#   and an lsrd killed and restarted; every CE pair pinging across (across FRR routers too: they
#   label-switch with the kernel's MPLS here); `down` leaving nothing.
# - ring4 and frr-mix under OSPF (`--igp ospf`); in ring4 an LER's zebra and ospfd killed and
#   started again beside its running lsrd.
# Prints "ok -"/"not ok -" lines and, between ==== markers, each lsrd router's kernel routes and
# the stage's `lsrlab snapshot` for scripts/vm/check-routes.py (stages <topology>-up, -linkdown,
# -linkup, -restarted; <topology>-ospf-up, ring4-ospf-zebra), and the captured echoes.
# TOPOLOGIES (from scripts/vm-test) picks the labs. Exit status: the number of failures.
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
lsrd_routers() { sed -n 's/^ *\([a-z0-9]*\): *{ *role: *l[se]r\(.*\)}.*/\1 \2/p' "topologies/$1.yaml" | grep -v 'software: *frr' | cut -d' ' -f1; }

dump() { # STAGE: what check-routes.py compares: each lsrd router's kernel routes, and every LFIB
    for node in $routers; do
        echo "==== $1 $node mpls"; in_node $node ip -f mpls route show
        echo "==== $1 $node ftn"; in_node $node ip route show table 193
    done
    echo "==== $1 snapshot"; lab snapshot
    echo "==== end"
}
# Frames received on every interface of every lsrd router while CEs ping, for check-routes.py:
# each labelled echo must carry an in-label of the receiving router's LFIB.
capture_start() {
    capture_pids=""
    for node in $routers; do
        for interface in $(in_node $node ls /sys/class/net | grep '^eth'); do
            # Not through a function: $! must be the process that becomes tcpdump.
            $IP netns exec $LAB_PREFIX-$node tcpdump -Z root -Q in -i $interface -nn -e -l -c 60 icmp or mpls >/tmp/capture-$node-$interface.txt 2>/dev/null &
            capture_pids="$capture_pids $!"
        done
    done
    sleep 2 # tcpdump's start under emulation
}
capture_stop() { # STAGE
    sleep 1
    kill $capture_pids 2>/dev/null
    wait $capture_pids 2>/dev/null
    for file in /tmp/capture-*.txt; do
        name=${file#/tmp/capture-}; name=${name%.txt}
        echo "==== $1 capture ${name%%-*} ${name#*-}"; cat "$file"
    done
    rm -f /tmp/capture-*.txt
    echo "==== end"
}
# The lab's processes: lsrd (by its state directory) and FRR's daemons.
lab_processes() { for file in /proc/[0-9]*/cmdline; do tr '\0' ' ' <"$file" 2>/dev/null; echo; done | grep -E '/run/lsrla[b]/|/usr/lib/fr[r]/'; }
no_lab_processes() { ! lab_processes; }
check_down() { # WHAT: lsrlab down, and neither WHAT nor a namespace of the lab left
    check "lsrlab down" lab down
    check "lsrlab down: no $1 of the lab left" no_lab_processes
    check "lsrlab down: no namespace of the lab left" sh -c '! $IP netns list | grep -q "^v-"'
}
wanted() { case " ${TOPOLOGIES:-line3 line2 ring4 core6 frr-mix ring4-ospf frr-mix-ospf} " in *" $1 "*) return 0;; esac; return 1; }

line3() {
    routers=$(lsrd_routers line3)
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

    check "lsrctl show lfib in p1 lists its PHP pops (kernel mode)" \
        sh -c '$IP netns exec v-p1 lsrctl show lfib --socket /run/lsrlab/v/p1.sock | grep -q " pop "'
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
    check "before down: the lab's three lsrd run" test "$(lab_processes | grep -c 'lsrd --config')" = 3
    check_down lsrd
    check "lsrlab down: its state directory is gone" test ! -e /run/lsrlab/v

    stamp "line3 done"
    if [ $failures -ne 0 ]; then
        cat /tmp/lab-up.out
        for node in $routers; do echo "---- lsrd log of $node"; tail -n 30 /tmp/lab-$node.log 2>/dev/null; done
    fi
}

# The other topologies, each through the same steps.
lab_problems() { # TOPOLOGY: what a failed run leaves to read
    cat /tmp/lab-up.out /tmp/verify.out 2>/dev/null
    for node in $(lsrd_routers $1); do echo "---- lsrd log of $node"; tail -n 20 /run/lsrlab/v/$node.log 2>/dev/null; done
    for log in /run/lsrlab/v/frr/*/frr.log; do [ -e "$log" ] && { echo "---- $log"; tail -n 20 "$log"; }; done
}
routes_of_all() { # every node's main table, while the lab is up
    for namespace in $($IP netns list | cut -d' ' -f1 | grep '^v-'); do
        echo "---- routes of $namespace"; $IP -n $namespace route show table main
    done
}
verify() { # DESCRIPTION SECONDS: lsrlab verify, polling up to SECONDS
    check "$1" sh -c "lsrlab verify --binaries /usr/local/bin --timeout $2 >/tmp/verify.out 2>&1; status=\$?; cat /tmp/verify.out; exit \$status"
}
pings() { # CE pairs as A:B
    for pair in $ce_pairs; do
        check "lsrlab ping ${pair%:*} ${pair#*:}: no loss" sh -c "for try in 1 2 3 4 5; do lsrlab ping ${pair%:*} ${pair#*:} --binaries /usr/local/bin && exit 0; sleep 1; done; exit 1"
    done
}
run_topology() { # TOPOLOGY LINK-TO-FAIL ROUTER-TO-RESTART "CE:CE ..." [cuts: the link is the only path]
    topology=$1 link=$2 restart=$3 ce_pairs=$4 cuts=${5:-}
    routers=$(lsrd_routers $topology)
    before=$failures
    stamp "lsrlab up $topology --dataplane kernel"
    lab up topologies/$topology.yaml --dataplane kernel --timeout 90 >/tmp/lab-up.out 2>&1
    check "lsrlab up $topology --dataplane kernel: every LDP session OPERATIONAL" grep -q '^LDP converged\.$' /tmp/lab-up.out
    check "lsrlab up $topology: its own demonstration ping crossed (3/3 replies)" grep -q '^ping .*: 3/3 replies' /tmp/lab-up.out
    verify "lsrlab verify: $topology as predicted, every lsrd LFIB installed in the kernel" 60
    dump $topology-up
    stamp "pings"
    if grep -q 'role: *lsr' topologies/$topology.yaml; then
        capture_start
        pings
        capture_stop $topology-up
    else
        pings # between adjacent LERs no label crosses the wire
    fi
    if [ -n "$link" ]; then
        stamp "link $link down"
        check "lsrlab link $link down" lab link $link down
        # Within LDP's default hello hold time (15 s): lsrd and FRR both see the link go.
        verify "lsrlab verify without $link: reconverged with no stale entries" 15
        if [ -n "$cuts" ]; then
            check "lsrlab ping ${ce_pairs%%:*} fails while its only path is down" \
                sh -c "! lsrlab ping ${ce_pairs%%:*} ${ce_pairs#*:} --binaries /usr/local/bin --count 1"
        else
            pings
        fi
        dump $topology-linkdown
        stamp "link $link up"
        check "lsrlab link $link up" lab link $link up
        verify "lsrlab verify with $link back" 30
        pings
        dump $topology-linkup
    fi
    stamp "kill -9 lsrd of $restart, lsrlab restart"
    check "lsrd of $restart killed (SIGKILL)" kill -9 "$(cat /run/lsrlab/v/$restart.pid)"
    check "lsrlab restart $restart" lab restart $restart
    # A restarted lsrd waits out its peers' 15 s initial session delay (RFC 5036 §2.5.3).
    verify "after the restart $restart rejoins, and no router holds a stale entry" 60
    pings
    dump $topology-restarted
    stamp "down"
    check_down "lsrd, zebra, staticd or ldpd"
    check "lsrlab down: its state directory is gone" test ! -e /run/lsrlab/v
    [ $failures -eq $before ] || lab_problems $topology
    stamp "$topology done"
}
wanted line3 && line3
# Adjacent LERs: each static route rides the other's implicit-null binding as a plain kernel route.
wanted line2 && run_topology line2 pe1-pe2 pe1 "ce1:ce2" cuts
wanted ring4 && run_topology ring4 pe1-p1 p1 "ce1:ce2"
# One of the two parallel p1-p2 links: the other keeps the path.
wanted core6 && run_topology core6 p1:eth1 p1 "ce1:ce3 ce1:ce4 ce2:ce3 ce2:ce4"
# FRR's p1 and pe2 between lsrd's pe1 and p2, in a line: the link down leaves no path.
wanted frr-mix && run_topology frr-mix p1-p2 p2 "ce1:ce2" cuts

# ring4 under OSPF (FRR's zebra and ospfd in every router, lsrd beside them), and pe1's FRR
# killed and started again beside its running lsrd: zebra takes the routes of FRR's protocol
# numbers for its own from before, and must leave lsrd's (protocol 205) alone.
run_ospf() { # TOPOLOGY [restart-frr]
    topology=$1 routers=$(lsrd_routers $1) ce_pairs="ce1:ce2"
    before=$failures
    stamp "lsrlab up $topology --igp ospf --dataplane kernel"
    lab up topologies/$topology.yaml --igp ospf --dataplane kernel --timeout 90 >/tmp/lab-up.out 2>&1
    check "lsrlab up $topology --igp ospf: OSPF converged" grep -q 'OSPF converged' /tmp/lab-up.out
    check "lsrlab up $topology --igp ospf: every LDP session OPERATIONAL" grep -q '^LDP converged\.$' /tmp/lab-up.out
    check "lsrlab up $topology --igp ospf: its own demonstration ping crossed (3/3 replies)" grep -q '^ping .*: 3/3 replies' /tmp/lab-up.out
    verify "lsrlab verify: $topology under OSPF as predicted, every lsrd LFIB installed in the kernel" 60 || routes_of_all
    pings
    dump $topology-ospf-up
    [ -n "${2:-}" ] && restart_frr
    stamp "down"
    check_down "lsrd, zebra, ospfd, staticd or ldpd"
    [ $failures -eq $before ] || lab_problems $topology
    stamp "$topology under OSPF done"
}
restart_frr() {
    frr=/run/lsrlab/v/frr/pe1
    # FRR crashing as a whole (what watchfrr then restarts): zebra and ospfd killed, started again.
    stamp "pe1's zebra and ospfd: kill -9, started again"
    check "pe1's zebra and ospfd killed (SIGKILL)" kill -9 "$(cat $frr/zebra.pid)" "$(cat $frr/ospfd.pid)"
    sleep 1
    check "pe1's zebra and ospfd started again beside lsrd" sh -c "
        $IP netns exec v-pe1 /usr/lib/frr/zebra -d -N v-pe1 -f $frr/frr.conf -i $frr/zebra.pid &&
        $IP netns exec v-pe1 /usr/lib/frr/ospfd -d -N v-pe1 -f $frr/frr.conf -i $frr/ospfd.pid"
    verify "lsrlab verify after pe1's FRR restarted: as predicted" 60
    # Route lines (a multipath route's next hops follow indented): lsrd's protocol only. zebra's
    # copies of what it took for its own would stay for as long as it runs.
    check "pe1's table 193 holds lsrd's routes only, no copies by zebra" \
        sh -c '$IP netns exec v-pe1 ip -N route show table 193 >/tmp/t193; cat /tmp/t193; grep -q "proto 205" /tmp/t193 && [ -z "$(awk "!/^[ \t]/ && !/proto 205/" /tmp/t193)" ]'
    pings
    dump $topology-ospf-zebra
}
wanted ring4-ospf && run_ospf ring4 restart-frr
# FRR's LER pe2 reaches ce1's subnet through its static route via pe1's loopback, resolved over
# OSPF's route with ldpd's label.
wanted frr-mix-ospf && run_ospf frr-mix
stamp "lab done"
exit $failures
