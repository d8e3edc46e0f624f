//! keepalived's `static_ipaddress`, `static_routes` and `static_rules` through
//! `hakitd --keepalived-conf`: installed at start-up whatever the VRRP state (here the only
//! instance stays in FAULT, its tracked interface having no carrier), changed by a SIGHUP
//! reload (what the file drops goes, what it adds comes), removed at SIGTERM.
mod common;

use std::time::Duration;

use common::process::{spawn_hakitd, wait_until, Daemon, TempDir};
use common::topology::{Netns, Topology};

const CONF: &str = "\
global_defs {
  router_id static-test
}
static_ipaddress {
  192.0.2.16/24 dev eth0 scope link
  198.51.100.7/32 dev eth0 label eth0:st
}
static_routes {
  203.0.113.0/24 via 192.0.2.254 dev eth0
  blackhole 203.0.114.0/24
}
static_rules {
  from 192.0.2.16 table 100 priority 1000
  to 203.0.115.0/24 table 101
}
vrrp_instance VI_1 {
  interface eth0
  virtual_router_id 51
  priority 100
  track_interface {
    eth1
  }
  virtual_ipaddress {
    10.200.0.100/24
  }
}
";

fn addrs(ns: &Netns) -> String {
    ns.ip(&["-o", "addr", "show", "dev", "eth0"]).unwrap()
}

fn routes(ns: &Netns) -> String {
    ns.ip(&["route", "show", "table", "all"]).unwrap()
}

fn rules(ns: &Netns) -> String {
    ns.ip(&["rule"]).unwrap()
}

#[test]
fn statics_come_at_start_whatever_the_state_follow_a_reload_and_go_at_stop() {
    if !common::is_root() {
        println!("skipped: needs root");
        return;
    }
    let topo = Topology::new(1);
    let ns = &topo.nodes[0].ns;
    // eth1: a veth whose peer stays down, so the tracked interface has no carrier: FAULT.
    ns.add_eth1_without_carrier();
    let dir = TempDir::new(&format!("{}-static", topo.prefix));
    let conf = dir.join("keepalived.conf");
    std::fs::write(&conf, CONF).unwrap();
    let mut hk = spawn_hakitd(&ns.name, &conf, &dir);
    let log = Daemon::stderr_text;
    let up = wait_until(Duration::from_secs(10), || {
        rules(ns).contains("to 203.0.115.0/24 lookup 101")
    });
    assert!(up, "statics not installed\n{}", log(&hk));
    let (a, r, u) = (addrs(ns), routes(ns), rules(ns));
    assert!(
        a.contains("192.0.2.16/24 scope link eth0"),
        "static address with its scope: {a}"
    );
    assert!(a.contains("198.51.100.7/32 scope global eth0:st"), "{a}");
    assert!(
        r.contains("203.0.113.0/24 via 192.0.2.254 dev eth0 proto keepalived"),
        "{r}"
    );
    assert!(
        r.contains("blackhole 203.0.114.0/24 proto keepalived"),
        "{r}"
    );
    assert!(
        u.contains("1000:\tfrom 192.0.2.16 lookup 100 proto keepalived"),
        "{u}"
    );
    // keepalived's default preference for a rule without one.
    assert!(
        u.contains("16384:\tfrom all to 203.0.115.0/24 lookup 101 proto keepalived"),
        "{u}"
    );
    // The instance is in FAULT, without its VIP: the statics do not depend on it.
    let fault = wait_until(Duration::from_secs(5), || log(&hk).contains("to=FAULT"));
    assert!(fault, "the instance should be in FAULT\n{}", log(&hk));
    assert!(!addrs(ns).contains("10.200.0.100"), "{}", addrs(ns));

    // SIGHUP: one route and one rule dropped, one route added.
    let changed = CONF
        .replace(
            "  blackhole 203.0.114.0/24\n",
            "  203.0.116.0/24 dev eth0\n",
        )
        .replace("  to 203.0.115.0/24 table 101\n", "");
    std::fs::write(&conf, changed).unwrap();
    hk.signal(libc::SIGHUP);
    let reloaded = wait_until(Duration::from_secs(10), || {
        let (r, u) = (routes(ns), rules(ns));
        r.contains("203.0.116.0/24 dev eth0 proto keepalived")
            && !r.contains("203.0.114.0/24")
            && !u.contains("203.0.115.0/24")
    });
    assert!(
        reloaded,
        "reload not applied\n{}\n{}\n{}",
        routes(ns),
        rules(ns),
        log(&hk)
    );
    assert!(routes(ns).contains("203.0.113.0/24 via 192.0.2.254"));
    assert!(addrs(ns).contains("192.0.2.16/24"));

    // SIGTERM: everything goes.
    hk.signal(libc::SIGTERM);
    assert!(
        hk.wait_exit(Duration::from_secs(15)).is_some(),
        "no exit\n{}",
        log(&hk)
    );
    let (a, r, u) = (addrs(ns), routes(ns), rules(ns));
    for gone in ["192.0.2.16", "198.51.100.7"] {
        assert!(!a.contains(gone), "{gone} left: {a}");
    }
    assert!(!r.contains("proto keepalived"), "routes left: {r}");
    assert!(!u.contains("proto keepalived"), "rules left: {u}");
}
