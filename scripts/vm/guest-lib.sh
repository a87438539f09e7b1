# Sourced by the guest scripts (busybox sh): TAP-like result lines and polling.
# Debian's static busybox runs its own applets before PATH: name the real iproute2 explicitly.
failures=0
export IP=/usr/local/bin/ip
ip() { $IP "$@"; }
ok() { echo "ok - $*"; }
not_ok() { echo "not ok - $*"; failures=$((failures + 1)); }
check() { # DESCRIPTION COMMAND...
    description=$1; shift
    if "$@" >/tmp/check.out 2>&1; then ok "$description"; else not_ok "$description"; sed 's/^/    /' /tmp/check.out; return 1; fi
}
wait_for() { # SECONDS COMMAND...: polls every half second.
    limit=$(( $1 * 2 )); shift
    while [ $limit -gt 0 ]; do
        "$@" >/dev/null 2>&1 && return 0
        sleep 0.5; limit=$((limit - 1))
    done
    return 1
}
