#!/bin/sh
# Runs inside the VM after the tests: the kernel route install rate of lsrd against `ip -batch`.
IP=/usr/local/bin/ip
$IP netns add bench
$IP netns add bench-peer
$IP link add v0 netns bench type veth peer name v1 netns bench-peer
$IP netns exec bench $IP addr add 10.99.0.1/24 dev v0
$IP netns exec bench-peer $IP addr add 10.99.0.2/24 dev v1
$IP netns exec bench-peer $IP link set v1 up
$IP netns exec bench $IP link set v0 up
$IP netns exec bench sysctl -qw net.mpls.platform_labels=$(( ${ROUTES:-10000} + 16 ))
$IP netns exec bench lsr-kernel-bench v0 10.99.0.2 ${ROUTES:-10000} $IP
status=$?
$IP netns del bench
$IP netns del bench-peer
exit $status
