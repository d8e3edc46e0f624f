//! End-to-end: the route announcer (`[[announce]]`) with real FRR 8.4 (root, network
//! namespaces): an upstream router running zebra and bgpd, two service nodes each running
//! minimal_failover and its own FRR peering eBGP with it, a client behind it (see
//! `common::routed`).
//!
//! - anycast: all healthy, the upstream's FIB has one next hop per node (ECMP), IPv4 and
//!   IPv6; a failing check on one node removes exactly its next hop, recovery adds it back;
//! - FRR restarted (SIGTERM, then SIGKILL) on a node: the route comes back without
//!   restarting hakit;
//! - VRRP-gated: the Backup announces with a worse MED, a Master's graceful stop moves the
//!   upstream's best path to the other node, the client sees answers from it.
//!
//! The figures (latencies, outage) are measured by `benches/routed.sh`; these tests only
//! print what they saw.
mod common;

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use common::process::wait_until;
use common::routed::{
    anycast_toml, can_run, devs, meds, probe_v4, vrrp_toml, Prober, Routed, ECHO_PORT, SERVICE_V4,
    SERVICE_V6,
};

const BGP_UP: Duration = Duration::from_secs(40);
const CONVERGE: Duration = Duration::from_secs(20);

/// Waits until the upstream's next hops for both prefixes are `want`; panics with what they
/// were otherwise.
fn wait_hops(t: &Routed, want: &BTreeSet<String>, what: &str) -> Duration {
    let start = Instant::now();
    let ok = wait_until(CONVERGE, || {
        &t.next_hops(SERVICE_V4) == want && &t.next_hops(SERVICE_V6) == want
    });
    assert!(
        ok,
        "{what}: upstream next hops v4 {:?} v6 {:?}, wanted {want:?}\n{}",
        t.next_hops(SERVICE_V4),
        t.next_hops(SERVICE_V6),
        t.best_path(SERVICE_V4)
    );
    start.elapsed()
}

/// The node that answers the client on `addr`.
fn answering_node(t: &Routed, v6: bool) -> Option<u8> {
    let sock = t.client_socket(v6);
    let ip = if v6 { "[fd77::1]" } else { "10.77.0.1" };
    let target = format!("{ip}:{ECHO_PORT}").parse().unwrap();
    let probe = Prober::start(sock, target, Duration::from_millis(10));
    std::thread::sleep(Duration::from_millis(100));
    probe.finish().last_node()
}

#[test]
fn anycast_ecmp_follows_each_nodes_health_check() {
    if !can_run("anycast") {
        return;
    }
    let mut t = Routed::new(2, false);
    assert!(t.wait_sessions(BGP_UP), "BGP sessions did not come up");
    // No service yet: nothing is announced.
    t.start_hakit(1, &anycast_toml());
    t.start_hakit(2, &anycast_toml());
    std::thread::sleep(Duration::from_secs(1));
    assert!(
        t.next_hops(SERVICE_V4).is_empty(),
        "announced before healthy"
    );
    t.open_service(1);
    t.open_service(2);
    wait_hops(&t, &devs(&["u1", "u2"]), "both healthy");
    let svc = t.nodes[0].ns.ip(&["addr", "show", "dev", "svc"]).unwrap();
    assert!(
        svc.contains("10.77.0.1/32") && svc.contains("fd77::1/128"),
        "{svc}"
    );
    assert!(answering_node(&t, false).is_some(), "no answer over IPv4");
    assert!(answering_node(&t, true).is_some(), "no answer over IPv6");

    t.close_service(1);
    let withdraw = wait_hops(&t, &devs(&["u2"]), "node 1's check failing");
    assert!(t.announced_on(1).is_empty(), "{}", t.announced_on(1));
    let svc = t.nodes[0].ns.ip(&["addr", "show", "dev", "svc"]).unwrap();
    assert!(!svc.contains("10.77.0.1"), "address still held: {svc}");
    assert_eq!(answering_node(&t, false), Some(2));
    assert_eq!(answering_node(&t, true), Some(2));

    t.open_service(1);
    let announce = wait_hops(&t, &devs(&["u1", "u2"]), "node 1 healthy again");
    println!("anycast: withdrawn in {withdraw:?}, announced again in {announce:?} (polled)");
    // Node 2 stops gracefully: its path goes, node 1's stays.
    let h = t.nodes[1].hakit.as_mut().unwrap();
    h.signal(libc::SIGTERM);
    assert!(
        h.wait_exit(Duration::from_secs(10)).is_some(),
        "hakit did not exit"
    );
    wait_hops(&t, &devs(&["u1"]), "node 2 stopped");
    assert!(t.announced_on(2).is_empty(), "{}", t.announced_on(2));
}

#[test]
fn frr_restarted_on_a_node_announces_again_without_restarting_hakit() {
    if !can_run("frr restart") {
        return;
    }
    let mut t = Routed::new(1, false);
    assert!(t.wait_sessions(BGP_UP), "BGP sessions did not come up");
    t.open_service(1);
    t.start_hakit(1, &anycast_toml());
    wait_hops(&t, &devs(&["u1"]), "healthy");
    let hakit_pid = t.nodes[0].hakit.as_ref().unwrap().pid();
    for crash in [false, true] {
        let what = if crash { "SIGKILL" } else { "SIGTERM" };
        if crash {
            t.nodes[0].frr.kill();
        } else {
            t.nodes[0].frr.stop();
        }
        // The upstream loses the routes (at once after a NOTIFICATION, after the hold time
        // after a crash); the kernel keeps what hakit installed.
        wait_hops(&t, &BTreeSet::new(), &format!("FRR stopped ({what})"));
        let kept = t.announced_on(1);
        assert!(
            kept.contains("10.77.0.1") && kept.contains("fd77::1"),
            "{kept}"
        );
        t.nodes[0].frr.start_again();
        let back = wait_hops(&t, &devs(&["u1"]), &format!("FRR started again ({what})"));
        println!("FRR {what}: routes back {back:?} after FRR started again (polled)");
        let h = t.nodes[0].hakit.as_mut().unwrap();
        assert_eq!(h.pid(), hakit_pid);
        assert!(h.wait_exit(Duration::ZERO).is_none(), "hakit exited");
    }
}

fn wait_meds(t: &Routed, want: &[u32], what: &str) {
    let ok = wait_until(CONVERGE, || {
        meds(t, SERVICE_V4) == want && meds(t, SERVICE_V6) == want
    });
    assert!(
        ok,
        "{what}: MEDs {:?} / {:?}, wanted {want:?}\n{}",
        meds(t, SERVICE_V4),
        meds(t, SERVICE_V6),
        t.best_path(SERVICE_V4)
    );
}

#[test]
fn vrrp_gated_backup_announces_a_worse_med_and_takes_over() {
    if !can_run("vrrp-gated") {
        return;
    }
    let mut t = Routed::new(2, false);
    assert!(t.wait_sessions(BGP_UP), "BGP sessions did not come up");
    t.start_hakit(1, &vrrp_toml(150));
    t.start_hakit(2, &vrrp_toml(100));
    // The Master's path is best, the Backup's is there with a worse MED.
    wait_meds(&t, &[10, 100], "Master and Backup");
    wait_hops(&t, &devs(&["u1"]), "Master preferred");

    // A graceful stop of the Master: it withdraws, the Backup's path is best at once, then it
    // becomes Master and announces the better MED.
    let probe = probe_v4(&t);
    std::thread::sleep(Duration::from_millis(300));
    let h = t.nodes[0].hakit.as_mut().unwrap();
    h.signal(libc::SIGTERM);
    assert!(
        h.wait_exit(Duration::from_secs(10)).is_some(),
        "hakit did not exit"
    );
    wait_hops(&t, &devs(&["u2"]), "Master stopped");
    wait_meds(&t, &[10], "the Backup became Master");
    std::thread::sleep(Duration::from_millis(300));
    let log = probe.finish();
    println!(
        "graceful: client outage {:?}, {} of {} lost",
        log.outage(),
        log.lost(),
        log.sent.len()
    );
    assert_eq!(log.last_node(), Some(2));
    assert!(t.announced_on(1).is_empty(), "{}", t.announced_on(1));

    // Node 1 again: it preempts and its path is best again.
    t.start_hakit(1, &vrrp_toml(150));
    wait_meds(&t, &[10, 100], "node 1 back");
    wait_hops(&t, &devs(&["u1"]), "node 1 preferred again");

    // The Master's node crashes (hakit and FRR killed, its service gone): its BGP session
    // closes, the Backup's path is best, then it announces as Master.
    let probe = probe_v4(&t);
    std::thread::sleep(Duration::from_millis(300));
    t.crash(1);
    wait_hops(&t, &devs(&["u2"]), "Master's node crashed");
    wait_meds(&t, &[10], "the Backup became Master after the crash");
    std::thread::sleep(Duration::from_millis(300));
    let log = probe.finish();
    println!(
        "crash: client outage {:?}, {} of {} lost",
        log.outage(),
        log.lost(),
        log.sent.len()
    );
    assert_eq!(log.last_node(), Some(2));
}

/// How long the upstream keeps node 1's path after node 1's FRR goes silent (SIGSTOP: no
/// keepalive, no BFD, no closed session: a hung or cut-off node).
fn silent_node_detection(bfd: bool) -> Duration {
    let mut t = Routed::new(2, bfd);
    assert!(t.wait_sessions(BGP_UP), "BGP sessions did not come up");
    for k in [1, 2] {
        t.open_service(k);
        t.start_hakit(k, &anycast_toml());
    }
    wait_hops(&t, &devs(&["u1", "u2"]), "both healthy");
    if bfd {
        let ok = wait_until(CONVERGE, || {
            t.up_frr.vtysh("show bfd peers brief").matches("up").count() >= 4
        });
        assert!(
            ok,
            "BFD sessions: {}",
            t.up_frr.vtysh("show bfd peers brief")
        );
    }
    let start = Instant::now();
    t.hang(1);
    let gone = wait_until(Duration::from_secs(10), || {
        t.next_hops(SERVICE_V4) == devs(&["u2"])
    });
    let took = start.elapsed();
    assert!(gone, "node 1's path stayed: {:?}", t.next_hops(SERVICE_V4));
    took
}

#[test]
fn bfd_removes_a_silent_nodes_path_and_the_hold_time_does_without_it() {
    if !can_run("bfd") {
        return;
    }
    let with_bfd = silent_node_detection(true);
    let hold = silent_node_detection(false);
    println!(
        "silent node: path removed after {with_bfd:?} with BFD 3 x 100 ms, {hold:?} with BGP \
         hold time {} s alone",
        common::routed::HOLD.1
    );
}
