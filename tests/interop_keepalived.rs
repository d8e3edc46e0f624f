//! Interop with real keepalived (Debian package): mixed pairs in both roles for VRRPv2 with
//! auth (PASS, and AH: HMAC-MD5-96 under an IP Authentication Header), v3/IPv4, v3/IPv6 and
//! unicast. Each side accepts the other's adverts (keepalived logs
//! no checksum/auth/interval error and the lower side never becomes Master), mastership
//! follows priority, and failover works both ways (hard and graceful), judged on the wire.
mod common;

use std::time::Duration;

use common::cluster::{spawn_node, Fam, Scenario};
use common::keepalived::{last_entered_state, Keepalived};
use common::pcap::{failover_gap, Capture};
use common::peer::{ka_instance, Peer, PeerKind};
use common::process::{wait_until, TempDir};
use common::topology::Topology;

const SETTLE: Duration = Duration::from_secs(8);
const SLACK: Duration = Duration::from_millis(50);
const HIGH: u8 = 200;
const LOW: u8 = 100;

/// Waits until node `m` is the only VIP holder and its peer says Master.
fn wait_master(topo: &Topology, vip: &str, m: usize, peers: &[&Peer], what: &str) {
    let ok = wait_until(SETTLE, || {
        topo.holders(vip) == vec![m] && peers[m].is_master()
    });
    if !ok {
        panic!(
            "{what}: expected node {m} as the only Master; holders {:?}\n--- node0:\n{}\n--- node1:\n{}",
            topo.holders(vip),
            peers[0].log(),
            peers[1].log()
        );
    }
}

fn check_no_rejections(p: &Peer) {
    if let Peer::Ka(k) = p {
        let bad = k.rejections();
        assert!(
            bad.is_empty(),
            "keepalived rejected adverts:\n{}",
            bad.join("\n")
        );
    }
}

/// Node 0 has the high priority. `ka_high` chooses which side runs keepalived.
fn interop(sc: Scenario, ka_high: bool) {
    let topo = Topology::new(2);
    let dir = TempDir::new(&format!("{}-interop", topo.prefix));
    let vip = sc.fam.vip();
    let cap = Capture::start(&topo.observer.name, "eth0", &dir.join("cap.pcap"));
    let (high_kind, low_kind) = if ka_high {
        (PeerKind::Ka, PeerKind::Mf)
    } else {
        (PeerKind::Mf, PeerKind::Ka)
    };
    let mut high = Peer::start(high_kind, &sc, &topo, &dir, 0, HIGH, 0);
    let low = Peer::start(low_kind, &sc, &topo, &dir, 1, LOW, 0);

    // 1. Mastership follows priority and the low side accepts the high side's adverts.
    wait_master(&topo, vip, 0, &[&high, &low], "start");
    std::thread::sleep(sc.master_down(LOW) + sc.interval() * 2);
    assert!(
        !low.ever_master(),
        "the low-priority side took over: it refused the adverts\n{}",
        low.log()
    );
    assert_eq!(topo.holders(vip), vec![0]);

    // 2. Hard failover high → low, on the wire.
    let t_kill = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap();
    high.kill_hard();
    let ok = wait_until(SETTLE, || low.is_master() && topo.nodes[1].has_addr(vip));
    assert!(
        ok,
        "low side did not take over after the Master was killed\n{}",
        low.log()
    );
    std::thread::sleep(Duration::from_millis(50));
    let frames = cap.frames();
    let (_, gap) = failover_gap(
        &frames,
        topo.nodes[0].mac,
        topo.nodes[1].mac,
        sc.fam.vip_addr(),
        t_kill - Duration::from_secs(5),
    )
    .expect("takeover GARP/NA on the wire");
    let bound = sc.master_down(LOW);
    eprintln!("{sc:?} ka_high={ka_high}: hard failover gap {gap:?}, bound {bound:?}");
    assert!(gap <= bound + SLACK, "gap {gap:?} > {bound:?} + 50 ms");

    // 3. The high side comes back and takes over again (the low side accepts being preempted).
    high = Peer::start(high_kind, &sc, &topo, &dir, 0, HIGH, 1);
    wait_master(&topo, vip, 0, &[&high, &low], "preemption back");

    // 4. Graceful failover: SIGTERM on the high side, the low side takes over within skew.
    std::thread::sleep(sc.interval() * 3);
    let t_term = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap();
    let code = high.stop();
    if high.kind() == PeerKind::Mf {
        assert_eq!(code, Some(0), "minimal_failover exit code after SIGTERM");
    }
    let ok = wait_until(SETTLE, || low.is_master() && topo.holders(vip) == vec![1]);
    assert!(
        ok,
        "low side did not take over after SIGTERM\n{}",
        low.log()
    );
    std::thread::sleep(Duration::from_millis(50));
    let frames = cap.stop();
    let (_, gap) = failover_gap(
        &frames,
        topo.nodes[0].mac,
        topo.nodes[1].mac,
        sc.fam.vip_addr(),
        t_term - Duration::from_millis(1),
    )
    .expect("graceful takeover GARP/NA on the wire");
    let bound = sc.skew(LOW);
    eprintln!("{sc:?} ka_high={ka_high}: graceful failover gap {gap:?}, Skew_Time {bound:?}");
    assert!(
        gap <= bound + SLACK,
        "gap {gap:?} > Skew_Time {bound:?} + 50 ms"
    );

    check_no_rejections(&high);
    check_no_rejections(&low);
}

fn v2_auth() -> Scenario {
    Scenario {
        vrid: 12,
        version: 2,
        advert_int: 1.0,
        fam: Fam::V4,
        auth_pass: Some("hakit".into()),
        auth_ah: false,
        unicast: false,
    }
}

/// keepalived's `auth_type AH`: VRRPv2 under an IP Authentication Header (HMAC-MD5-96).
fn v2_ah() -> Scenario {
    Scenario {
        vrid: 13,
        auth_ah: true,
        ..v2_auth()
    }
}

/// AH in unicast mode: keepalived leaves the TTL out of the ICV there.
fn v2_ah_unicast() -> Scenario {
    Scenario {
        unicast: true,
        ..v2_ah()
    }
}

fn unicast_v4() -> Scenario {
    let mut sc = Scenario::v3_fast(Fam::V4);
    sc.unicast = true;
    sc
}

macro_rules! need_root {
    () => {
        if !common::is_root() || !std::path::Path::new("/usr/sbin/keepalived").exists() {
            eprintln!("skipped: needs root and keepalived");
            return;
        }
    };
}

#[test]
fn v2_auth_keepalived_master_minimal_backup() {
    need_root!();
    interop(v2_auth(), true);
}

#[test]
fn v2_auth_minimal_master_keepalived_backup() {
    need_root!();
    interop(v2_auth(), false);
}

#[test]
fn v2_ah_keepalived_master_minimal_backup() {
    need_root!();
    interop(v2_ah(), true);
}

#[test]
fn v2_ah_minimal_master_keepalived_backup() {
    need_root!();
    interop(v2_ah(), false);
}

#[test]
fn v2_ah_unicast_keepalived_master_minimal_backup() {
    need_root!();
    interop(v2_ah_unicast(), true);
}

#[test]
fn v2_ah_unicast_minimal_master_keepalived_backup() {
    need_root!();
    interop(v2_ah_unicast(), false);
}

#[test]
fn v3_ipv4_keepalived_master_minimal_backup() {
    need_root!();
    interop(Scenario::v3_fast(Fam::V4), true);
}

#[test]
fn v3_ipv4_minimal_master_keepalived_backup() {
    need_root!();
    interop(Scenario::v3_fast(Fam::V4), false);
}

#[test]
fn v3_ipv6_keepalived_master_minimal_backup() {
    need_root!();
    interop(Scenario::v3_fast(Fam::V6), true);
}

#[test]
fn v3_ipv6_minimal_master_keepalived_backup() {
    need_root!();
    interop(Scenario::v3_fast(Fam::V6), false);
}

#[test]
fn unicast_keepalived_master_minimal_backup() {
    need_root!();
    interop(unicast_v4(), true);
}

#[test]
fn unicast_minimal_master_keepalived_backup() {
    need_root!();
    interop(unicast_v4(), false);
}

/// Negative control for the log check: keepalived runs `sc`, minimal_failover the same with
/// another password; keepalived must log a rejection containing `needle`.
fn keepalived_logs_another_password(sc: Scenario, needle: &str) {
    let topo = Topology::new(2);
    let dir = TempDir::new(&format!("{}-badpass", topo.prefix));
    let ka = Keepalived::start(
        "ka0",
        &topo.nodes[0].ns.name,
        &ka_instance(&sc, &topo, 0, LOW),
        &dir.0,
    );
    let other = Scenario {
        auth_pass: Some("other".into()),
        ..sc
    };
    let _mf = spawn_node(&topo, &dir, 1, &other.args(&topo, 1, HIGH, &[]));
    assert!(
        wait_until(Duration::from_secs(8), || ka
            .rejections()
            .iter()
            .any(|l| l.contains(needle))),
        "keepalived logged no rejection with {needle:?}:\n{}",
        ka.log()
    );
}

#[test]
fn keepalived_logs_a_wrong_password() {
    need_root!();
    keepalived_logs_another_password(v2_auth(), "passwd");
}

/// AH: another key makes keepalived log an invalid HMAC-MD5 ICV.
#[test]
fn keepalived_logs_a_wrong_ah_key() {
    need_root!();
    keepalived_logs_another_password(v2_ah(), "IPSEC");
}

/// The Master/Backup check reads keepalived's last "Entering … STATE" line: counting entries
/// would call FAULT → BACKUP → MASTER not Master.
#[test]
fn keepalived_state_is_the_last_entered_line() {
    assert_eq!(last_entered_state("Starting VRRP child process"), None);
    let log = "(VI_51) Entering BACKUP STATE (init)\n\
               (VI_51) Entering MASTER STATE\n\
               (VI_51) Entering FAULT STATE\n\
               (VI_51) Entering BACKUP STATE\n\
               (VI_51) Entering MASTER STATE\n\
               (VI_51) sending 0 priority\n";
    assert_eq!(last_entered_state(log).as_deref(), Some("MASTER"));
    let log = format!("{log}(VI_51) Entering FAULT STATE (interface eth0 down)\n");
    assert_eq!(last_entered_state(&log).as_deref(), Some("FAULT"));
}
