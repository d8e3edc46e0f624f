#!/bin/sh
# Two LVS directors (hakitd, VRRP + virtual_server + lvs_sync_daemon) in the IPVS VM, and a
# TCP connection that survives the Master's death:
#
#   scripts/ipvs-vm/lvs-ha.sh            the test (CI; about 2 min)
#   scripts/ipvs-vm/lvs-ha.sh bench [N]  N failovers per daemon and way (default 5; the Master
#                                        killed, or stopped by SIGTERM), medians printed;
#                                        keepalived's figures beside hakitd's when the host
#                                        has /usr/sbin/keepalived (2.2.7, run in the VM)
#
# Build first: cargo build --bin hakitd && cargo build --example lvs_ha_probe
#
# Topology, all in the VM, every namespace on one bridge (br0, in the VM's root namespace):
#   c  (client)        10.0.0.100/24
#   d1, d2 (directors) 10.0.0.2|3/24 and 10.1.0.2|3/24 on eth0; VRRP instance VI_1 holds the
#                      NAT VIP 10.0.0.10, the DR VIP 10.0.0.20 and the real servers' gateway
#                      10.1.0.1; d1 has priority 150, d2 100
#   r1..r3 (real)      10.1.0.11..13/24, default route via 10.1.0.1 (NAT answers go back
#                      through the Master), 10.0.0.20/32 on lo with arp_ignore/arp_announce and
#                      a policy route so that DR answers go straight to the client
# Each real server runs `lvs_ha_probe serve` (a line-echo server) on port 7000.
#
# The test: the Master's IPVS table is what the config says (ipvsadm -Ln, field by field), the
# sync daemons are master on d1 and backup on d2; then, for NAT and DR, the client holds ONE
# connection through the VIP with a request every 10 ms while d1 dies (every process in its
# namespace SIGKILLed and its link set down, as a dead machine); d2 takes over and the same
# connection must go on (no request lost, no reconnect). Without lvs_sync_daemon the same
# failover must break the connection, so the test can fail. Then a graceful switchover
# (SIGTERM of the Master's hakitd) must keep the connection too, and so must a pair of one
# hakitd and one keepalived (when the host has /usr/sbin/keepalived, 2.2.7), each way.
# Before all that, keepalived's own IPv6 LVS sample (keepalived.conf.IPv6, as shipped and with
# its virtual_server_group in use) is run by hakitd and keepalived side by side: the same
# ipvsadm -Ln, before and after its check fails.
set -eu
mode="${1:-test}"
runs="${2:-5}"
if [ "${IPVS_VM:-}" != 1 ]; then
    here=$(cd "$(dirname "$0")" && pwd)
    bin="$here/../../target/debug/hakitd"
    probe="$here/../../target/debug/examples/lvs_ha_probe"
    for b in "$bin" "$probe"; do
        [ -x "$b" ] || {
            echo "lvs-ha.sh: build first: cargo build --bin hakitd && cargo build --example lvs_ha_probe" >&2
            exit 1
        }
    done
    set --
    extra="$bin $probe"
    if [ -x /usr/sbin/keepalived ]; then
        extra="$extra /usr/sbin/keepalived"
        set -- "$@" --file /usr/sbin/keepalived:/usr/sbin/keepalived
        # keepalived's IPv6 LVS sample, run by both daemons side by side (test mode).
        sample=/usr/share/doc/keepalived/samples/keepalived.conf.IPv6
        [ -f "$sample" ] && set -- "$@" --file "$sample:/payload/sample-IPv6.conf"
    fi
    for lib in $(for b in $extra; do ldd "$b" | grep -o '/[^ ]*'; done | sort -u); do
        [ -f "$lib" ] && set -- "$@" --file "$lib:$lib"
    done
    timeout=300
    [ "$mode" = bench ] && timeout=$((120 + runs * 120))
    exec bash "$here/run" --timeout "$timeout" --file "$bin" --file "$probe" "$@" \
        -- "$here/lvs-ha.sh" "$mode" "$runs"
fi

P=/payload
fail() {
    echo "FAIL $*"
    for d in d1 d2; do
        [ -f /tmp/$d.log ] && { echo "--- $d log"; tail -n 25 /tmp/$d.log; }
        echo "--- $d ipvsadm"
        ip netns exec $d ipvsadm -Ln 2>&1 | head -20 || true
        ip netns exec $d ipvsadm -Lnc 2>&1 | head -10 || true
    done
    [ -f /tmp/h6.log ] && { echo "--- hakitd (IPv6 sample)"; tail -n 25 /tmp/h6.log; }
    [ -f /tmp/syslog ] && { echo "--- keepalived (syslog)"; tail -n 25 /tmp/syslog; }
    [ -f /tmp/probe.out ] && { echo "--- probe"; cat /tmp/probe.out; }
    exit 1
}

# (sh has no locals: every helper's variables have names of their own.)

# --- the network ----------------------------------------------------------------------------------
ip link add br0 type bridge || fail "no bridge module"
ip link set br0 up
plug() { # $1 = namespace: veth "p-$1" on br0, "eth0" inside
    ip netns add "$1"
    ip link add "p-$1" type veth peer name eth0 netns "$1"
    ip link set "p-$1" master br0 up
    ip -n "$1" link set lo up
    ip -n "$1" link set eth0 up
}
sysctl_in() { ip netns exec "$1" sysctl -qw "$2" >/dev/null; }

plug c
ip -n c addr add 10.0.0.100/24 dev eth0
for i in 1 2 3; do
    r=r$i
    plug $r
    ip -n $r addr add 10.1.0.1$i/24 dev eth0
    ip -n $r route add default via 10.1.0.1
    ip -n $r addr add 10.0.0.20/32 dev lo
    for k in all eth0; do
        sysctl_in $r net.ipv4.conf.$k.arp_ignore=1
        sysctl_in $r net.ipv4.conf.$k.arp_announce=2
    done
    # DR: answers from the VIP go straight to the client, not through a director.
    ip -n $r rule add from 10.0.0.20 lookup 100
    ip -n $r route add 10.0.0.0/24 dev eth0 table 100
    ip netns exec $r $P/lvs_ha_probe serve 0.0.0.0:7000 $r >/dev/null 2>&1 &
done

# A director namespace, fresh for every run (a new IPVS table and connection table).
director() { # $1 = d1|d2
    idx=${1#d}
    ip netns add "$1"
    ip link add "p-$1" type veth peer name eth0 netns "$1"
    ip link set "p-$1" master br0 up
    ip -n "$1" link set lo up
    ip -n "$1" link set eth0 up
    ip -n "$1" addr add 10.0.0.$((idx + 1))/24 dev eth0
    ip -n "$1" addr add 10.1.0.$((idx + 1))/24 dev eth0
    sysctl_in "$1" net.ipv4.ip_forward=1
    # One interface for both sides: no ICMP redirects to the real servers.
    for k in all default eth0; do sysctl_in "$1" net.ipv4.conf.$k.send_redirects=0; done
}
director_gone() { # $1 = d1|d2: every process in it killed, the namespace deleted
    for pid in $(ip netns pids "$1" 2>/dev/null); do kill -9 "$pid" 2>/dev/null || true; done
    ip link del "p-$1" 2>/dev/null || true
    ip netns del "$1" 2>/dev/null || true
}

# keepalived.conf of director $1 (priority $2); $3: 0 no sync daemon, 1 sync id 5, vrid
# the sync id left out (keepalived's default: the instance's VRID, 51).
conf() {
    sync=""
    [ "$3" = 1 ] && sync="lvs_sync_daemon eth0 VI_1 id 5"
    [ "$3" = vrid ] && sync="lvs_sync_daemon eth0 VI_1"
    cat <<EOF
global_defs {
  router_id $1
  vrrp_version 3
  $sync
}
vrrp_instance VI_1 {
  state BACKUP
  interface eth0
  virtual_router_id 51
  priority $2
  advert_int 0.2
  virtual_ipaddress {
    10.0.0.10/24
    10.0.0.20/24
    10.1.0.1/24
  }
}
virtual_server 10.0.0.10 7000 {
  delay_loop 2
  lb_algo wrr
  lb_kind NAT
  protocol TCP
  real_server 10.1.0.11 7000 {
    weight 3
    TCP_CHECK {
      connect_timeout 2
    }
  }
  real_server 10.1.0.12 7000 {
    weight 2
    TCP_CHECK {
      connect_timeout 2
    }
  }
  real_server 10.1.0.13 7000 {
    weight 1
    TCP_CHECK {
      connect_timeout 2
    }
  }
}
virtual_server 10.0.0.20 7000 {
  delay_loop 2
  lb_algo lc
  lb_kind DR
  persistence_timeout 60
  protocol TCP
  real_server 10.1.0.11 7000 {
    weight 1
    TCP_CHECK {
      connect_timeout 2
    }
  }
  real_server 10.1.0.12 7000 {
    weight 1
    TCP_CHECK {
      connect_timeout 2
    }
  }
  real_server 10.1.0.13 7000 {
    weight 1
    TCP_CHECK {
      connect_timeout 2
    }
  }
}
EOF
}

# Starts director $1 (priority $2) running daemon $3 (hakitd|keepalived), sync $4.
start_director() {
    director "$1"
    conf "$1" "$2" "$4" >/tmp/$1.conf
    case "$3" in
        hakitd)
            ip netns exec "$1" $P/hakitd --keepalived-conf /tmp/$1.conf >/dev/null 2>/tmp/$1.log &
            ;;
        keepalived)
            # keepalived logs to syslog: busybox's, into a file, not onto the console.
            pidof syslogd >/dev/null || syslogd -O /tmp/syslog
            ip netns exec "$1" /usr/sbin/keepalived -n -D -f /tmp/$1.conf -p /run/$1.pid \
                -r /run/$1-vrrp.pid -c /run/$1-chk.pid >/tmp/$1.log 2>&1 &
            ;;
    esac
    eval "${1}_daemon=$!"
}

holds_vip() { ip -n "$1" -4 addr show dev eth0 2>/dev/null | grep -q 'inet 10.0.0.10/'; }
wait_for() { # $1 = what, $2... = a command that must succeed within 30 s
    what=$1
    shift
    tries=0
    until "$@"; do
        tries=$((tries + 1))
        [ $tries -lt 300 ] || fail "$what: not within 30 s"
        sleep 0.1
    done
}

# A service and its destinations as ipvsadm -Ln shows them in director $1, one per ';'.
table() {
    ip netns exec "$1" ipvsadm -Ln 2>/dev/null |
        awk '$1 == "TCP" { s = $1 " " $2 " " $3; if ($4 != "") s = s " " $4 " " $5; print s }
             $1 == "->" && $2 != "RemoteAddress:Port" { print $2, $3, $4 }' |
        tr '\n' ';'
}
want_table="TCP 10.0.0.10:7000 wrr;10.1.0.11:7000 Masq 3;10.1.0.12:7000 Masq 2;10.1.0.13:7000 Masq 1;\
TCP 10.0.0.20:7000 lc persistent 60;10.1.0.11:7000 Route 1;10.1.0.12:7000 Route 1;10.1.0.13:7000 Route 1;"
table_ok() { [ "$(table "$1")" = "$want_table" ]; }

# The sync daemons director $1 runs, as ipvsadm -L --daemon shows them, one per ';'.
daemons() { ip netns exec "$1" ipvsadm -L --daemon 2>/dev/null | sed 's/ *$//' | tr '\n' ';'; }
# Whether director $1's connection table has the client's connection to VIP $2.
has_conn() {
    ip netns exec "$1" ipvsadm -Lnc 2>/dev/null |
        awk -v vip="$2:7000" '$3 == "ESTABLISHED" && $4 ~ /^10\.0\.0\.100:/ && $5 == vip { found = 1 }
                              END { exit !found }'
}

# One failover: daemon $1 (hakitd, keepalived, or D1+D2 for one of each), VIP $2 (NAT or
# DR), sync $3 (as conf's), $4 = kill (d1 dies: every process in
# its namespace SIGKILLed, its link set down) or term (d1's daemon stops gracefully, SIGTERM);
# the probe's line in /tmp/probe.out.
failover() {
    start_director d1 150 "${1%+*}" "$3"
    wait_for "d1 Master" holds_vip d1
    start_director d2 100 "${1#*+}" "$3"
    wait_for "d1 table" table_ok d1
    wait_for "d2 table" table_ok d2
    # Without the counters: what the daemon programmed, for a comparison between daemons.
    ip netns exec d1 ipvsadm -Ln |
        awk '$1 == "->" { print $1, $2, $3, $4; next } { print $1, $2, $3, $4, $5 }' >"/tmp/table-${1%+*}"
    sleep 1 # d2 settles as Backup
    holds_vip d2 && fail "d2 holds the VIP while d1 is Master"
    ip netns exec c $P/lvs_ha_probe probe "$2:7000" 10 9 >/tmp/probe.out 2>&1 &
    probe=$!
    wait_for "connection in d1" has_conn d1 "$2"
    if [ "$3" != 0 ]; then
        # The master sync daemon sends what it has every 2 s at the latest.
        wait_for "connection synced to d2" has_conn d2 "$2"
    else
        sleep 2
    fi
    sleep 0.5
    case "$4" in
        kill)
            for pid in $(ip netns pids d1); do kill -9 "$pid"; done
            ip -n d1 link set eth0 down
            ;;
        term) kill -TERM "$d1_daemon" ;;
    esac
    wait_for "d2 takes over" holds_vip d2
    # The connection must be used after the takeover too: the probe is still running 1 s on.
    sleep 1
    kill -0 "$probe" 2>/dev/null || fail "the probe ended before 1 s of traffic through d2"
    wait "$probe" || fail "probe: $(cat /tmp/probe.out)"
    director_gone d1
    director_gone d2
}
field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p"; }

# keepalived's IPv6 LVS sample (Debian's keepalived.conf.IPv6), as shipped and with its
# commented-out `virtual_server group IPv6_group` line in use (an IPv6 range, ae00::2-9: nine
# services), run by hakitd and by keepalived at the same time, each in a fresh namespace (its own
# IPVS table). ipvsadm -Ln must show the same services and real servers in both: first with the
# real server up (no alpha: up until a check fails), then without it once its SMTP_CHECK has
# failed (nothing answers at ae00::10), and nothing after SIGTERM.
lvs_table() { # $1 = namespace: ipvsadm -Ln without the counters
    ip netns exec "$1" ipvsadm -Ln 2>/dev/null |
        awk '$1 == "->" { print $1, $2, $3, $4; next } { print $1, $2, $3, $4, $5 }'
}
same_tables() { # $1 = a line pattern (grep), $2 = how many lines of both tables match it
    [ "$(lvs_table h6 | grep -c "$1")" = "$2" ] && [ "$(lvs_table k6 | grep -c "$1")" = "$2" ] &&
        [ "$(lvs_table h6)" = "$(lvs_table k6)" ]
}
rs_gone() { # $1 = how many services both tables keep, without the real server
    same_tables '^TCP \[ae00::' "$1" && ! lvs_table h6 | grep -q 'ae00::10'
}
ipv6_sample() { # $1 = the config, $2 = how many services it makes
    for ns in h6 k6; do
        ip netns add $ns
        ip -n $ns link set lo up
    done
    pidof syslogd >/dev/null || syslogd -O /tmp/syslog
    ip netns exec h6 $P/hakitd --keepalived-conf "$1" >/dev/null 2>/tmp/h6.log &
    h6_daemon=$!
    ip netns exec k6 /usr/sbin/keepalived -n -D -f "$1" -p /run/k6.pid -r /run/k6-vrrp.pid \
        -c /run/k6-chk.pid >/tmp/k6.log 2>&1 &
    k6_daemon=$!
    wait_for "$1: $2 services with the real server, the same in both" \
        same_tables '^-> \[ae00::10\]:25 Masq 1$' "$2"
    echo "PASS $1, real server up: hakitd's table is keepalived's ($2 services)"
    # The check fails within delay_loop 6 s plus its retries on both sides.
    wait_for "$1: the failed real server gone from both tables" rs_gone "$2"
    echo "PASS $1, SMTP_CHECK failed: both keep the $2 services without the real server"
    lvs_table h6 | sed 's/^/    /'
    kill -TERM "$h6_daemon" "$k6_daemon"
    wait "$h6_daemon" "$k6_daemon" || true
    for ns in h6 k6; do
        [ -z "$(lvs_table $ns | grep '^TCP')" ] || fail "$1: $ns kept its services after SIGTERM"
        ip netns del $ns
    done
    echo "PASS $1: SIGTERM removes the services in both"
}

if [ "$mode" = test ]; then
    if [ -x /usr/sbin/keepalived ] && [ -f $P/sample-IPv6.conf ]; then
        ipv6_sample $P/sample-IPv6.conf 1
        sed 's/^virtual_server ae00::1 80 {/virtual_server group IPv6_group {/' \
            $P/sample-IPv6.conf >/tmp/sample-IPv6-group.conf
        grep -q '^virtual_server group IPv6_group' /tmp/sample-IPv6-group.conf ||
            fail "the sample's virtual_server line was not found"
        ipv6_sample /tmp/sample-IPv6-group.conf 9
    else
        echo "SKIP keepalived.conf.IPv6 side by side: no keepalived or no sample on the host"
    fi

    # The tables and the sync daemons' roles, then the headline for NAT and DR.
    start_director d1 150 hakitd 1
    wait_for "d1 Master" holds_vip d1
    start_director d2 100 hakitd 1
    wait_for "d1 table" table_ok d1
    echo "PASS Master's IPVS table: $(table d1)"
    wait_for "d2 table" table_ok d2
    echo "PASS Backup's IPVS table is the same"
    d1d=$(daemons d1)
    d2d=$(daemons d2)
    [ "$d1d" = "master sync daemon (mcast=eth0, syncid=5, maxlen=1472, group=224.0.0.81, port=8848, ttl=1);" ] || fail "d1 sync daemons: '$d1d'"
    [ "$d2d" = "backup sync daemon (mcast=eth0, syncid=5, maxlen=1472, group=224.0.0.81, port=8848, ttl=1);" ] || fail "d2 sync daemons: '$d2d'"
    echo "PASS sync daemons: d1 $d1d d2 $d2d"
    director_gone d1
    director_gone d2

    for kind in NAT:10.0.0.10 DR:10.0.0.20; do
        failover hakitd "${kind#*:}" 1 kill
        line=$(cat /tmp/probe.out)
        echo "${kind%%:*} with lvs_sync_daemon: $line"
        [ "$(echo "$line" | field broke)" = 0 ] || fail "${kind%%:*}: the connection broke"
        [ "$(echo "$line" | field lost)" = 0 ] || fail "${kind%%:*}: requests lost"
        case "$(echo "$line" | field servers)" in
            *,*) fail "${kind%%:*}: answered by more than one real server" ;;
        esac
        echo "PASS ${kind%%:*}: the same connection survived the failover"
    done

    failover hakitd 10.0.0.10 0 kill
    line=$(cat /tmp/probe.out)
    echo "NAT without lvs_sync_daemon: $line"
    [ "$(echo "$line" | field broke)" != 0 ] || fail "without sync daemon the connection survived"
    echo "PASS without lvs_sync_daemon the connection breaks"

    # A graceful switchover (the Master's hakitd stopped by SIGTERM): the VIPs leave before
    # the IPVS services, whose removal unhooks IPVS from the old Master's kernel.
    failover hakitd 10.0.0.10 1 term
    line=$(cat /tmp/probe.out)
    echo "NAT, Master's hakitd stopped by SIGTERM: $line"
    [ "$(echo "$line" | field broke)" = 0 ] || fail "SIGTERM: the connection broke"
    [ "$(echo "$line" | field lost)" = 0 ] || fail "SIGTERM: requests lost"
    echo "PASS SIGTERM of the Master: the same connection goes on"

    if [ -x /usr/sbin/keepalived ]; then
        # hakitd and keepalived 2.2.7 as a pair, each way, no sync id in either
        # keepalived.conf: both take the VRID (a Backup with another non-zero id ignores the
        # Master's messages), so the connection survives.
        for pair in hakitd+keepalived keepalived+hakitd; do
            failover $pair 10.0.0.10 vrid kill
            line=$(cat /tmp/probe.out)
            echo "NAT, ${pair%+*} Master, ${pair#*+} Backup: $line"
            [ "$(echo "$line" | field broke)" = 0 ] || fail "$pair: the connection broke"
            [ "$(echo "$line" | field lost)" = 0 ] || fail "$pair: requests lost"
            echo "PASS ${pair%+*} Master to ${pair#*+} Backup: the same connection goes on"
        done
        diff /tmp/table-hakitd /tmp/table-keepalived ||
            fail "ipvsadm -Ln: hakitd's table (<) is not keepalived's (>) for the same config"
        echo "PASS ipvsadm -Ln: hakitd's table is keepalived's for the same keepalived.conf"
    else
        echo "SKIP hakitd and keepalived as a pair: no /usr/sbin/keepalived on the host"
    fi
    echo "lvs-ha: all steps passed"
    exit 0
fi

# --- bench ----------------------------------------------------------------------------------------
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
daemons_to_bench=hakitd
[ -x /usr/sbin/keepalived ] && daemons_to_bench="hakitd keepalived"
for how in kill term; do
    for daemon in $daemons_to_bench; do
        : >/tmp/bench-$daemon-$how
        run=0
        while [ $run -lt "$runs" ]; do
            failover "$daemon" 10.0.0.10 1 $how
            line=$(cat /tmp/probe.out)
            echo "bench $daemon $how run $((run + 1)): $line"
            echo "$line" >>/tmp/bench-$daemon-$how
            run=$((run + 1))
        done
    done
done
if [ -f /tmp/table-keepalived ]; then
    if diff /tmp/table-hakitd /tmp/table-keepalived; then
        echo "PASS ipvsadm -Ln: hakitd's table is keepalived's for the same keepalived.conf"
    else
        echo "DIFF ipvsadm -Ln: hakitd's table (<) and keepalived's (>) differ"
    fi
fi
echo "bench: NAT, one connection, a request every 10 ms, lvs_sync_daemon on, medians of $runs runs"
echo "(kill: the Master dies, SIGKILL and link down; term: its daemon stops, SIGTERM)"
printf '%-11s %-5s %6s %6s %8s %11s\n' daemon how lost broke stalled max_gap_ms
for how in kill term; do
    for daemon in $daemons_to_bench; do
        f=/tmp/bench-$daemon-$how
        printf '%-11s %-5s %6s %6s %8s %11s\n' "$daemon" $how \
            "$(field lost <$f | median)" "$(field broke <$f | median)" \
            "$(field stalled <$f | median)" "$(field max_gap_ms <$f | median)"
    done
done
