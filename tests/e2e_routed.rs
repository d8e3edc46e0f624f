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
//!   upstream's best path to the other node, the client sees answers from it;
//! - VRRP-gated with a Backup that withdraws: a Master's graceful stop keeps its route until
//!   the Backup, Master then, has announced: the client loses nothing;
//! - the same pair over iBGP with the README's route-map recipe: the Backup's path reaches
//!   the upstream with LOCAL_PREF 50, the Master's with 100, and the best path follows a
//!   failover and the old Master's return;
//! - reload (SIGHUP): the upstream's BGP table and FIB follow each change of `[[announce]]`
//!   (metric, protocol, table, checks, vrrp_instance, added, removed) with no loss at the
//!   client where the prefix stays wanted, and a bad value is refused, the running
//!   announcements kept.
//!
//! The figures (latencies, outage) are measured by `benches/routed.sh`; these tests only
//! print what they saw.
mod common;

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use common::process::wait_until;
use common::routed::{
    anycast_toml, can_run, devs, meds, probe_v4, vrrp_toml, vrrp_withdraw_toml, Prober, Routed,
    ECHO_PORT, SERVICE_V4, SERVICE_V6,
};

/// The upstream's paths as `(peer, LOCAL_PREF, best)` for IPv4 and IPv6, when node `a`
/// (the Master) announces and node `b` (the Backup) too, if given.
fn prefs(a: usize, b: Option<usize>) -> [Vec<(String, u32, bool)>; 2] {
    let mut v4 = vec![(format!("10.0.{a}.2"), 100, true)];
    let mut v6 = vec![(format!("fd00:0:{a}::2"), 100, true)];
    if let Some(b) = b {
        v4.push((format!("10.0.{b}.2"), 50, false));
        v6.push((format!("fd00:0:{b}::2"), 50, false));
    }
    v4.sort();
    v6.sort();
    [v4, v6]
}

fn wait_prefs(t: &Routed, want: &[Vec<(String, u32, bool)>; 2], what: &str) {
    let ok = wait_until(CONVERGE, || {
        t.local_prefs(SERVICE_V4) == want[0] && t.local_prefs(SERVICE_V6) == want[1]
    });
    assert!(
        ok,
        "{what}: paths {:?} / {:?}, wanted {want:?}",
        t.local_prefs(SERVICE_V4),
        t.local_prefs(SERVICE_V6)
    );
}

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
    t.stop_hakit(2);
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
    t.stop_hakit(1);
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

#[test]
fn ibgp_backup_path_carries_a_lower_local_preference_and_the_best_path_follows_failover() {
    if !can_run("local-preference") {
        return;
    }
    let mut t = Routed::new_ibgp(2);
    assert!(t.wait_sessions(BGP_UP), "BGP sessions did not come up");
    t.start_hakit(1, &vrrp_toml(150));
    t.start_hakit(2, &vrrp_toml(100));
    // backup_metric 100 matches the nodes' `match metric 100` / `set local-preference 50`.
    wait_prefs(&t, &prefs(1, Some(2)), "Master node 1, Backup node 2");
    wait_hops(&t, &devs(&["u1"]), "Master preferred");
    t.stop_hakit(1);
    wait_prefs(&t, &prefs(2, None), "node 2 Master alone");
    wait_hops(&t, &devs(&["u2"]), "node 2 preferred");
    t.start_hakit(1, &vrrp_toml(150));
    wait_prefs(&t, &prefs(1, Some(2)), "node 1 Master again, node 2 Backup");
    wait_hops(&t, &devs(&["u1"]), "node 1 preferred again");
}

/// A reload step: the new `[[announce]]` tables, the upstream's MEDs for IPv4 and IPv6
/// after it, what it is, and a kernel route it leaves.
type Step = (
    String,
    &'static [u32],
    &'static [u32],
    &'static str,
    &'static str,
);

/// The reload test's configuration: a VRRP instance on the node's uplink (alone, so
/// Master) and `announce`.
fn reload_toml(announce: &str) -> String {
    format!(
        "[[instance]]\nname = 'up'\niface = 'e0'\nvrid = 9\npriority = 100\n\
         vrrp_version = 3\nadvert_int = 0.1\nvips = ['10.0.1.100/24']\n{announce}"
    )
}

fn announce(prefix: &str, body: &str) -> String {
    format!("[[announce]]\nprefix = '{prefix}'\niface = 'svc'\n{body}\n")
}

#[test]
fn reload_moves_each_announcement_to_its_new_form_and_the_upstream_follows() {
    if !can_run("reload") {
        return;
    }
    let mut t = Routed::new(1, false);
    assert!(t.wait_sessions(BGP_UP), "BGP sessions did not come up");
    let v4 = |body: &str| announce(SERVICE_V4, body);
    let v6 = |body: &str| announce(SERVICE_V6, body);
    t.start_hakit(1, &reload_toml(&v4("metric = 10")));
    let wait = |t: &Routed, want4: &[u32], want6: &[u32], what: &str| {
        let ok = wait_until(CONVERGE, || {
            meds(t, SERVICE_V4) == want4 && meds(t, SERVICE_V6) == want6
        });
        assert!(
            ok,
            "{what}: MEDs {:?} / {:?}, wanted {want4:?} / {want6:?}\n{}",
            meds(t, SERVICE_V4),
            meds(t, SERVICE_V6),
            t.hakit_log(1)
        );
    };
    wait(&t, &[10], &[], "started");
    wait_hops_v4(&t, &["u1"], "started");

    // Each step: a reload, what the upstream then has, and no request lost meanwhile where
    // IPv4 stays wanted.
    let steps: [Step; 4] = [
        (
            v4("metric = 20\nprotocol = 86") + &v6("metric = 30"),
            &[20],
            &[30],
            "v4 metric and protocol changed, v6 added",
            "10.77.0.1 dev lo table 100 metric 20",
        ),
        (
            v4("metric = 20\nprotocol = 86\ntable = 101") + &v6("metric = 30"),
            &[20],
            &[30],
            "v4 moved to table 101",
            "10.77.0.1 dev lo table 101 metric 20",
        ),
        (
            v4("metric = 20\nprotocol = 86\ntable = 101\n\
                track_tcp = [{ connect = '127.0.0.1:8080', interval = 0.1, rise = 3, fall = 2 }]")
                + &v6("metric = 40\nvrrp_instance = 'up'\nbackup_metric = 100"),
            &[20],
            &[40],
            "a passing check added to v4, v6 gated by the (Master) instance",
            "fd77::1 dev lo metric 40",
        ),
        (
            v6("metric = 40\nvrrp_instance = 'up'\nbackup_metric = 100"),
            &[],
            &[40],
            "v4 removed",
            "fd77::1 dev lo metric 40",
        ),
    ];
    t.open_service(1);
    // The instance is Master before anything is gated by it.
    let vip = || t.nodes[0].ns.ip(&["addr", "show", "dev", "e0"]).unwrap();
    let master = wait_until(CONVERGE, || vip().contains("10.0.1.100"));
    assert!(master, "no Master: {}", t.hakit_log(1));
    for (k, (announce, want4, want6, what, route)) in steps.into_iter().enumerate() {
        let probe = probe_v4(&t);
        std::thread::sleep(Duration::from_millis(200));
        t.reload_hakit(1, &reload_toml(&announce));
        wait(&t, want4, want6, what);
        std::thread::sleep(Duration::from_millis(300));
        let log = probe.finish();
        println!(
            "reload {k} ({what}): {} of {} lost, outage {:?}",
            log.lost(),
            log.sent.len(),
            log.outage()
        );
        if !want4.is_empty() {
            assert_eq!(log.lost(), 0, "{what}: the client lost requests");
            wait_hops_v4(&t, &["u1"], what);
        }
        // Protocol 85 (the default) and 86 (the IPv4 route's from the first step).
        let kernel = t.announced_on(1)
            + &t.nodes[0]
                .ns
                .ip(&["-4", "route", "show", "table", "all", "proto", "86"])
                .unwrap();
        assert!(kernel.contains(route), "{what}: {route:?} not in {kernel}");
        assert_eq!(
            kernel.contains("10.77.0.1"),
            !want4.is_empty(),
            "{what}: {kernel}"
        );
        assert_eq!(
            kernel.contains("fd77::1"),
            !want6.is_empty(),
            "{what}: {kernel}"
        );
    }
    // v4 removed: its address goes after its drain (0.5 s), v6's stays.
    let svc = || t.nodes[0].ns.ip(&["addr", "show", "dev", "svc"]).unwrap();
    let released = wait_until(Duration::from_secs(3), || !svc().contains("10.77.0.1"));
    assert!(released, "v4 address still held: {}", svc());
    assert!(svc().contains("fd77::1"), "{}", svc());
    assert!(t.next_hops(SERVICE_V4).is_empty());

    // A bad value: the reload is refused, what runs stays.
    t.reload_hakit(1, &reload_toml(&v6("metric = 0")));
    let refused = wait_until(CONVERGE, || t.hakit_log(1).contains("announce[0].metric"));
    assert!(refused, "no refusal logged: {}", t.hakit_log(1));
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(meds(&t, SERVICE_V6), [40]);
    let kernel = t.announced_on(1);
    assert!(
        kernel.contains("fd77::1") && kernel.contains("metric 40"),
        "{kernel}"
    );
}

fn wait_hops_v4(t: &Routed, want: &[&str], what: &str) {
    let want = devs(want);
    let ok = wait_until(CONVERGE, || t.next_hops(SERVICE_V4) == want);
    assert!(ok, "{what}: v4 next hops {:?}", t.next_hops(SERVICE_V4));
}

#[test]
fn vrrp_gated_master_only_pair_loses_nothing_on_a_graceful_stop() {
    if !can_run("master-only graceful stop") {
        return;
    }
    let mut t = Routed::new(2, false);
    assert!(t.wait_sessions(BGP_UP), "BGP sessions did not come up");
    t.start_hakit(1, &vrrp_withdraw_toml(150));
    t.start_hakit(2, &vrrp_withdraw_toml(100));
    wait_meds(&t, &[10], "Master only");
    wait_hops(&t, &devs(&["u1"]), "Master announces");
    let probe = probe_v4(&t);
    std::thread::sleep(Duration::from_millis(300));
    t.stop_hakit(1);
    wait_hops(&t, &devs(&["u2"]), "the Backup took over");
    std::thread::sleep(Duration::from_millis(300));
    let log = probe.finish();
    println!(
        "master-only graceful stop: {} of {} lost, outage {:?}",
        log.lost(),
        log.sent.len(),
        log.outage()
    );
    assert_eq!(log.last_node(), Some(2));
    assert_eq!(log.lost(), 0, "the client lost requests");
    assert!(t.announced_on(1).is_empty(), "{}", t.announced_on(1));
}
