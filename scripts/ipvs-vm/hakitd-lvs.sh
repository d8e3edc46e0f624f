#!/bin/sh
# hakitd itself as an LVS director, from a keepalived.conf, against the VM's real IPVS:
#
#   scripts/ipvs-vm/hakitd-lvs.sh        (after `cargo build --bin hakitd`; about 10 s)
#
# On the host it boots the IPVS VM (scripts/ipvs-vm/run) with target/debug/hakitd and its
# libraries, and runs itself there. In the VM, `hakitd --keepalived-conf` runs a
# virtual_server (wrr, NAT, quorum 2, sorry server) whose real servers' MISC_CHECKs test files,
# and a fwmark one (DR, a real server without a port);
# the script removes and restores those files and checks `ipvsadm -Ln` at every step: failed
# real servers leave, the sorry server takes over when the quorum is lost and leaves when it is
# back, and SIGTERM removes the service.
set -eu
if [ "${IPVS_VM:-}" != 1 ]; then
    here=$(cd "$(dirname "$0")" && pwd)
    bin="$here/../../target/debug/hakitd"
    [ -x "$bin" ] || { echo "hakitd-lvs.sh: build hakitd first (cargo build --bin hakitd)" >&2; exit 1; }
    set --
    for lib in $(ldd "$bin" | grep -o '/[^ ]*'); do
        [ -f "$lib" ] && set -- "$@" --file "$lib:$lib"
    done
    exec bash "$here/run" --timeout 300 --file "$bin" "$@" -- "$here/hakitd-lvs.sh"
fi

cat >/tmp/k.conf <<'EOF'
global_defs {
  router_id vm
}
virtual_server 192.0.2.1 80 {
  delay_loop 0.2
  lb_algo wrr
  lb_kind NAT
  protocol TCP
  quorum 2
  sorry_server 198.51.100.9 80
  real_server 198.51.100.2 8081 {
    weight 2
    MISC_CHECK {
      misc_path "test -e /tmp/rs1"
    }
  }
  real_server 198.51.100.3 8082 {
    weight 1
    MISC_CHECK {
      misc_path "test -e /tmp/rs2"
    }
  }
}
virtual_server fwmark 7 {
  lb_algo rr
  lb_kind DR
  real_server 198.51.100.4 {
    weight 3
  }
}
track_file fc {
  file /tmp/fc
  weight 0
}
track_file fw {
  file /tmp/fw
}
virtual_server 192.0.2.1 8000 {
  delay_loop 0.2
  lb_algo rr
  real_server 198.51.100.2 8000 {
    FILE_CHECK {
      track_file fc
    }
  }
  real_server 198.51.100.4 8000 {
    weight 2
    FILE_CHECK {
      track_file fw
      weight 3
    }
  }
}
virtual_server_group G {
  192.0.2.5-6 443
  fwmark 8
}
virtual_server group G {
  delay_loop 0.2
  lb_algo rr
  lb_kind DR
  real_server 198.51.100.2 443 {
    PING_CHECK {
      connect_timeout 1
    }
  }
  real_server 198.51.100.77 443 {
    PING_CHECK {
      connect_timeout 0.3
      retry 0
    }
  }
}
virtual_server 192.0.2.1 53 {
  protocol UDP
  delay_loop 0.2
  lb_algo rr
  real_server 198.51.100.2 5353 {
    UDP_CHECK {
      connect_timeout 0.3
      retry 0
    }
  }
}
EOF
touch /tmp/rs1 /tmp/rs2
/payload/hakitd --keepalived-conf /tmp/k.conf 2>/tmp/hakitd.log &
pid=$!

fail() {
    echo "FAIL $*"
    kill "$pid" 2>/dev/null || true
    tail -n 30 /tmp/hakitd.log
    exit 1
}

# The service line and its destinations as ipvsadm shows them, one per ';'.
table() {
    ipvsadm -Ln -t 192.0.2.1:80 2>/dev/null |
        awk '$1 == "TCP" { print $1, $2, $3 } $1 == "->" && $2 != "RemoteAddress:Port" { print $2, $3, $4 }' |
        tr '\n' ';'
}

# The fwmark service the same way.
fwm() {
    ipvsadm -Ln -f 7 2>/dev/null |
        awk '$1 == "FWM" { print $1, $2, $3 } $1 == "->" && $2 != "RemoteAddress:Port" { print $2, $3, $4 }' |
        tr '\n' ';'
}

expect() { # $1 = step, $2 = the table wanted
    i=0
    while [ $i -lt 100 ]; do
        have=$(table)
        if [ "$have" = "$2" ]; then
            echo "PASS $1: $have"
            return 0
        fi
        sleep 0.2
        i=$((i + 1))
    done
    fail "$1: ipvsadm shows '$have', want '$2'"
}

svc="TCP 192.0.2.1:80 wrr;"
expect "all alive" "${svc}198.51.100.2:8081 Masq 2;198.51.100.3:8082 Masq 1;"
[ "$(fwm)" = "FWM 7 rr;198.51.100.4:0 Route 3;" ] || fail "fwmark service: ipvsadm shows '$(fwm)'"
echo "PASS fwmark service: $(fwm)"
# Any service the same way: $1 = ipvsadm's selector (-t ADDR, -u ADDR, -f MARK).
svc_of() {
    ipvsadm -Ln $1 2>/dev/null |
        awk '$1 ~ /^(TCP|UDP|FWM)$/ { print $1, $2, $3 } $1 == "->" && $2 != "RemoteAddress:Port" { print $2, $3, $4 }' |
        tr '\n' ';'
}
expect_svc() { # $1 = step, $2 = selector, $3 = the table wanted
    i=0
    while [ $i -lt 100 ]; do
        have=$(svc_of "$2")
        [ "$have" = "$3" ] && { echo "PASS $1: $have"; return 0; }
        sleep 0.2
        i=$((i + 1))
    done
    fail "$1: ipvsadm $2 shows '$have', want '$3'"
}
# virtual_server_group: one service per member, the same real servers; PING_CHECK keeps the
# one that answers (the rs namespace) and drops the one nobody holds.
expect_svc "group member 192.0.2.5:443" "-t 192.0.2.5:443" "TCP 192.0.2.5:443 rr;198.51.100.2:443 Route 1;"
expect_svc "group member 192.0.2.6:443" "-t 192.0.2.6:443" "TCP 192.0.2.6:443 rr;198.51.100.2:443 Route 1;"
expect_svc "group member fwmark 8" "-f 8" "FWM 8 rr;198.51.100.2:443 Route 1;"
# UDP_CHECK: nothing listens on 5353 in the rs namespace, its ICMP port unreachable is down.
expect_svc "UDP_CHECK on a closed port" "-u 192.0.2.1:53" "UDP 192.0.2.1:53 rr;"
# FILE_CHECK: no file reads as 0 (both up, weights as configured); weight 0 and a number:
# down; a weight W: the server's weight moves by N x W.
fc="TCP 192.0.2.1:8000 rr;"
expect_svc "FILE_CHECK, no files" "-t 192.0.2.1:8000" "${fc}198.51.100.2:8000 Masq 1;198.51.100.4:8000 Masq 2;"
echo 1 >/tmp/fc
echo 4 >/tmp/fw
expect_svc "FILE_CHECK, maintenance 1 and weight file 4" "-t 192.0.2.1:8000" "${fc}198.51.100.4:8000 Masq 14;"
echo 0 >/tmp/fc
expect_svc "FILE_CHECK, maintenance back to 0" "-t 192.0.2.1:8000" "${fc}198.51.100.2:8000 Masq 1;198.51.100.4:8000 Masq 14;"
rm /tmp/rs2
expect "rs2 failed, quorum 2 kept" "${svc}198.51.100.2:8081 Masq 2;"
rm /tmp/rs1
expect "quorum lost: sorry server" "${svc}198.51.100.9:80 Masq 1;"
touch /tmp/rs2
# Once hakitd has seen rs2 back (its log says so), live weight 1 < quorum 2: still sorry.
i=0
until grep -q 'rs=198.51.100.3:8082 alive=true' /tmp/hakitd.log; do
    i=$((i + 1))
    [ $i -lt 100 ] || fail "hakitd never saw rs2 come back"
    sleep 0.2
done
[ "$(table)" = "${svc}198.51.100.9:80 Masq 1;" ] || fail "rs2 back: ipvsadm shows '$(table)'"
echo "PASS rs2 back, live weight 1 < quorum 2: still the sorry server"
touch /tmp/rs1
expect "quorum back" "${svc}198.51.100.2:8081 Masq 2;198.51.100.3:8082 Masq 1;"

# SIGHUP, keepalived's reload: the UDP virtual server goes, a new one comes, the group's
# scheduler changes in place; the FILE_CHECK one is unchanged and keeps its state (the
# weight 14 its file set, although its real server's configured weight is 2).
awk '
    /^virtual_server 192.0.2.1 53 / { skip = 1 }
    skip { if ($0 ~ /^}/) skip = 0; next }
    /^virtual_server group G/ { group = 1 }
    /^}/ { group = 0 }
    group && /^  lb_algo rr$/ { print "  lb_algo wlc"; next }
    { print }
' /tmp/k.conf >/tmp/k.conf.new
printf 'virtual_server 192.0.2.1 9000 {\n  lb_algo sh\n  real_server 198.51.100.2 9000 {\n  }\n}\n' >>/tmp/k.conf.new
mv /tmp/k.conf.new /tmp/k.conf
kill -HUP "$pid"
expect_svc "reload: a virtual server added" "-t 192.0.2.1:9000" "TCP 192.0.2.1:9000 sh;198.51.100.2:9000 Masq 1;"
expect_svc "reload: the group's scheduler edited" "-t 192.0.2.6:443" "TCP 192.0.2.6:443 wlc;198.51.100.2:443 Route 1;"
expect_svc "reload: a virtual server removed" "-u 192.0.2.1:53" ""
[ "$(svc_of '-t 192.0.2.1:8000')" = "${fc}198.51.100.2:8000 Masq 1;198.51.100.4:8000 Masq 14;" ] ||
    fail "reload: the unchanged FILE_CHECK server lost its state: $(svc_of '-t 192.0.2.1:8000')"
echo "PASS reload: the unchanged virtual server kept its state"
# A bad file is refused whole: nothing changes.
sed -i 's/^  lb_algo sh$/  lb_algo fastest/' /tmp/k.conf
kill -HUP "$pid"
i=0
until grep -q 'fastest' /tmp/hakitd.log; do
    i=$((i + 1))
    [ $i -lt 50 ] || fail "a bad reload was not refused"
    sleep 0.2
done
[ "$(svc_of '-t 192.0.2.1:9000')" = "TCP 192.0.2.1:9000 sh;198.51.100.2:9000 Masq 1;" ] ||
    fail "a refused reload changed the table: $(svc_of '-t 192.0.2.1:9000')"
echo "PASS reload: a bad scheduler is refused, the table stays"
kill -TERM "$pid"
wait "$pid" || fail "hakitd exited with $?"
left="$(table)$(fwm)$(svc_of '-t 192.0.2.1:9000')$(svc_of '-t 192.0.2.1:8000')$(svc_of '-t 192.0.2.5:443')$(svc_of '-f 8')$(svc_of '-u 192.0.2.1:53')"
[ -z "$left" ] || fail "services left after SIGTERM: $left"
echo "PASS SIGTERM: service removed"
echo "hakitd-lvs: all steps passed"
