//! End-to-end: minimal_failover nodes in network namespaces (root), judged on the wire by a
//! capture in an observer namespace and by the addresses the kernel holds.
mod common;

use std::time::{Duration, Instant};

use common::cluster::{spawn_node, wait_single_master, Fam, Scenario};
use common::pcap::{failover_gap, Capture, Kind};
use common::process::{wait_until, Daemon, TempDir};
use common::topology::Topology;

const SETTLE: Duration = Duration::from_secs(6);
const SLACK: Duration = Duration::from_millis(50);

macro_rules! need_root {
    () => {
        if !common::is_root() {
            eprintln!("skipped: needs root");
            return;
        }
    };
}

fn live(ds: &[Option<Daemon>]) -> Vec<(usize, &Daemon)> {
    ds.iter()
        .enumerate()
        .filter_map(|(i, d)| d.as_ref().map(|d| (i, d)))
        .collect()
}

/// Starts `prios.len()` nodes, waits for node 0 (the highest priority) as the only Master.
fn start(sc: &Scenario, topo: &Topology, dir: &TempDir, prios: &[u8]) -> Vec<Option<Daemon>> {
    let ds: Vec<_> = prios
        .iter()
        .enumerate()
        .map(|(i, p)| Some(spawn_node(topo, dir, i, &sc.args(topo, i, *p, &[]))))
        .collect();
    wait_single_master(topo, &live(&ds), 0, sc.fam.vip(), SETTLE);
    ds
}

/// SIGKILL of the Master: the best Backup announces the VIP within Master_Down_Interval + 50 ms
/// of the old Master's last advert, on the wire, and is then the only live VIP holder.
fn hard_failover(sc: Scenario, prios: &[u8]) {
    let topo = Topology::new(prios.len());
    let dir = TempDir::new(&format!("{}-hard", topo.prefix));
    let cap = Capture::start(&topo.observer.name, "eth0", &dir.join("cap.pcap"));
    let mut ds = start(&sc, &topo, &dir, prios);
    std::thread::sleep(sc.interval() * 2);
    let mut old = ds[0].take().unwrap();
    old.signal(libc::SIGKILL);
    old.wait_exit(Duration::from_secs(2));
    let bound = sc.master_down(prios[1]);
    wait_single_master(&topo, &live(&ds), 1, sc.fam.vip(), bound * 2 + SETTLE);
    std::thread::sleep(Duration::from_millis(50));
    let frames = cap.stop();
    let (_, gap) = failover_gap(
        &frames,
        topo.nodes[0].mac,
        topo.nodes[1].mac,
        sc.fam.vip_addr(),
        Duration::ZERO,
    )
    .expect("new Master's GARP/NA seen on the wire after the old Master's last advert");
    eprintln!("{sc:?}: hard failover gap {gap:?}, Master_Down_Interval {bound:?}");
    assert!(
        gap <= bound + SLACK,
        "gap {gap:?} > bound {bound:?} + 50 ms"
    );
    assert!(
        gap + SLACK >= bound,
        "gap {gap:?} far below bound {bound:?}: took over too early"
    );
    // The new Master advertises with its own priority.
    assert!(frames.iter().any(|f| f.src_mac == topo.nodes[1].mac
        && matches!(f.kind, Kind::Advert { priority, vrid, .. } if priority == prios[1] && vrid == sc.vrid)));
}

#[test]
fn two_nodes_v3_ipv4_sigkill() {
    need_root!();
    hard_failover(Scenario::v3_fast(Fam::V4), &[200, 150]);
}

#[test]
fn three_nodes_v3_ipv4_sigkill_best_backup_wins() {
    need_root!();
    // Node 2 (priority 100) must stay Backup: checked by wait_single_master.
    hard_failover(Scenario::v3_fast(Fam::V4), &[200, 150, 100]);
}

#[test]
fn two_nodes_v3_ipv6_sigkill() {
    need_root!();
    hard_failover(Scenario::v3_fast(Fam::V6), &[200, 150]);
}

#[test]
fn three_nodes_v3_ipv6_sigkill() {
    need_root!();
    hard_failover(Scenario::v3_fast(Fam::V6), &[200, 150, 100]);
}

#[test]
fn two_nodes_v3_unicast_ipv4_sigkill() {
    need_root!();
    let mut sc = Scenario::v3_fast(Fam::V4);
    sc.unicast = true;
    hard_failover(sc, &[200, 150]);
}

#[test]
fn two_nodes_v3_unicast_ipv6_sigkill() {
    need_root!();
    let mut sc = Scenario::v3_fast(Fam::V6);
    sc.unicast = true;
    hard_failover(sc, &[200, 150]);
}

#[test]
fn two_nodes_v2_auth_sigkill() {
    need_root!();
    let sc = Scenario {
        vrid: 7,
        version: 2,
        advert_int: 1.0,
        fam: Fam::V4,
        auth_pass: Some("s3cret".into()),
        auth_ah: false,
        unicast: false,
    };
    hard_failover(sc, &[254, 253]);
}

/// Unicast adverts go to the peer's address, never to the multicast group.
#[test]
fn unicast_adverts_are_addressed_to_the_peer() {
    need_root!();
    let mut sc = Scenario::v3_fast(Fam::V4);
    sc.unicast = true;
    let topo = Topology::new(2);
    let dir = TempDir::new(&format!("{}-uc", topo.prefix));
    let cap = Capture::start(&topo.observer.name, "eth0", &dir.join("cap.pcap"));
    let _ds = start(&sc, &topo, &dir, &[200, 100]);
    std::thread::sleep(sc.interval() * 3);
    let frames = cap.stop();
    let adverts: Vec<_> = frames
        .iter()
        .filter_map(|f| match &f.kind {
            Kind::Advert { dst, .. } => Some(*dst),
            _ => None,
        })
        .collect();
    assert!(adverts.len() >= 3);
    assert!(adverts
        .iter()
        .all(|d| *d == std::net::IpAddr::V4(topo.nodes[1].ipv4)
            || *d == std::net::IpAddr::V4(topo.nodes[0].ipv4)));
}

/// v2 with a different password: the Backup refuses the Master's adverts and takes over too.
#[test]
fn v2_wrong_password_is_refused() {
    need_root!();
    let mut sc = Scenario {
        vrid: 9,
        version: 2,
        advert_int: 1.0,
        fam: Fam::V4,
        auth_pass: Some("right".into()),
        auth_ah: false,
        unicast: false,
    };
    let topo = Topology::new(2);
    let dir = TempDir::new(&format!("{}-auth", topo.prefix));
    let a = spawn_node(&topo, &dir, 0, &sc.args(&topo, 0, 254, &[]));
    sc.auth_pass = Some("wrong".into());
    let b = spawn_node(&topo, &dir, 1, &sc.args(&topo, 1, 100, &[]));
    // Both end up Master: each ignores the other's adverts.
    assert!(
        wait_until(Duration::from_secs(8), || a.state() == "Master"
            && b.state() == "Master"),
        "a {} b {}\n{}",
        a.state(),
        b.state(),
        b.log_text()
    );
}

/// SIGTERM: the Master sends priority 0, removes its VIP and exits 0; the Backup announces the
/// VIP within Skew_Time + 50 ms of the priority-0 advert.
fn graceful_failover(sc: Scenario) {
    let topo = Topology::new(2);
    let dir = TempDir::new(&format!("{}-term", topo.prefix));
    let cap = Capture::start(&topo.observer.name, "eth0", &dir.join("cap.pcap"));
    let prios = [200u8, 150];
    let mut ds = start(&sc, &topo, &dir, &prios);
    std::thread::sleep(sc.interval() * 2);
    let mut old = ds[0].take().unwrap();
    old.signal(libc::SIGTERM);
    let st = old
        .wait_exit(Duration::from_secs(5))
        .expect("exits after SIGTERM");
    assert_eq!(
        st.code(),
        Some(0),
        "exit code after SIGTERM; log:\n{}",
        old.log_text()
    );
    assert!(
        !topo.nodes[0].has_addr(sc.fam.vip()),
        "VIP removed on shutdown"
    );
    let last = old.transitions().last().map(|(_, t)| t.clone()).unwrap();
    assert_eq!(
        (last.from.as_str(), last.to.as_str(), last.reason.as_str()),
        ("Master", "Init", "shutdown")
    );
    wait_single_master(&topo, &live(&ds), 1, sc.fam.vip(), SETTLE);
    std::thread::sleep(Duration::from_millis(50));
    let frames = cap.stop();
    let prio0 = frames
        .iter()
        .find(|f| f.src_mac == topo.nodes[0].mac && f.advert_priority() == Some(0))
        .expect("priority-0 advert on the wire");
    let (last_old, gap) = failover_gap(
        &frames,
        topo.nodes[0].mac,
        topo.nodes[1].mac,
        sc.fam.vip_addr(),
        Duration::ZERO,
    )
    .unwrap();
    assert_eq!(
        last_old, prio0.ts,
        "the priority-0 advert is the old Master's last"
    );
    let bound = sc.skew(prios[1]);
    eprintln!("{sc:?}: graceful failover gap {gap:?}, Skew_Time {bound:?}");
    assert!(
        gap <= bound + SLACK,
        "gap {gap:?} > Skew_Time {bound:?} + 50 ms"
    );
}

#[test]
fn sigterm_v3_ipv4_takeover_within_skew() {
    need_root!();
    graceful_failover(Scenario::v3_fast(Fam::V4));
}

#[test]
fn sigterm_v3_ipv6_takeover_within_skew() {
    need_root!();
    graceful_failover(Scenario::v3_fast(Fam::V6));
}

/// Preemption: a restarted higher-priority node removes the stale VIP its crash left, then
/// takes mastership back; with --nopreempt it stays Backup; with --preempt-delay it waits.
#[test]
fn preemption_nopreempt_and_preempt_delay() {
    need_root!();
    let sc = Scenario::v3_fast(Fam::V4);
    let topo = Topology::new(2);
    let dir = TempDir::new(&format!("{}-preempt", topo.prefix));
    let mut ds = start(&sc, &topo, &dir, &[200, 150]);
    let vip = sc.fam.vip();

    // Crash node 0: its VIP stays behind; node 1 takes over.
    ds[0].take().unwrap().kill();
    assert!(
        topo.nodes[0].has_addr(vip),
        "a SIGKILLed daemon leaves its VIP"
    );
    wait_single_master(&topo, &live(&ds), 1, vip, SETTLE);

    // nopreempt: node 0 comes back as Backup, drops the stale VIP and stays Backup.
    ds[0] = Some(spawn_node(
        &topo,
        &dir,
        0,
        &sc.args(&topo, 0, 200, &["--nopreempt"]),
    ));
    assert!(wait_until(SETTLE, || ds[0].as_ref().unwrap().state() == "Backup"));
    assert!(
        wait_until(Duration::from_secs(2), || !topo.nodes[0].has_addr(vip)),
        "stale VIP removed at start"
    );
    std::thread::sleep(sc.master_down(200) * 3);
    wait_single_master(&topo, &live(&ds), 1, vip, Duration::from_millis(10));

    // preempt_delay 1 s: node 0 stays Backup for the delay, then takes over.
    ds[0].take().unwrap().signal(libc::SIGTERM);
    let t0 = Instant::now();
    ds[0] = Some(spawn_node(
        &topo,
        &dir,
        0,
        &sc.args(&topo, 0, 200, &["--preempt-delay", "1"]),
    ));
    assert!(wait_until(SETTLE, || ds[0].as_ref().unwrap().state() == "Backup"));
    std::thread::sleep(Duration::from_millis(700));
    assert_eq!(
        ds[0].as_ref().unwrap().state(),
        "Backup",
        "preempted before preempt_delay"
    );
    assert_eq!(ds[1].as_ref().unwrap().state(), "Master");
    wait_single_master(&topo, &live(&ds), 0, vip, SETTLE);
    let took = t0.elapsed();
    eprintln!("preempt_delay 1 s: took over after {took:?}");
    assert!(
        took >= Duration::from_secs(1),
        "took over after {took:?}, before preempt_delay"
    );

    // Plain preemption: node 0 restarted without options preempts node 1.
    ds[0].take().unwrap().kill();
    wait_single_master(&topo, &live(&ds), 1, vip, SETTLE);
    ds[0] = Some(spawn_node(&topo, &dir, 0, &sc.args(&topo, 0, 200, &[])));
    wait_single_master(&topo, &live(&ds), 0, vip, SETTLE);
    let tr = ds[1].as_ref().unwrap().transitions();
    let (_, last) = tr.last().unwrap();
    assert_eq!(
        (last.from.as_str(), last.to.as_str(), last.reason.as_str()),
        ("Master", "Backup", "higher_priority")
    );
}

/// A failing track script lowers the priority below the Backup's: mastership moves, and back.
#[test]
fn failing_track_script_moves_mastership() {
    need_root!();
    let sc = Scenario::v3_fast(Fam::V4);
    let topo = Topology::new(2);
    let dir = TempDir::new(&format!("{}-track", topo.prefix));
    let flag = dir.join("fail");
    let script = format!("test ! -e {}", flag.display());
    let mut ds = vec![
        Some(spawn_node(
            &topo,
            &dir,
            0,
            &sc.args(
                &topo,
                0,
                200,
                &[
                    "--track-script",
                    &script,
                    "--track-weight",
                    "-100",
                    "--track-interval",
                    "0.1",
                    "--track-fall",
                    "2",
                    "--track-rise",
                    "2",
                ],
            ),
        )),
        Some(spawn_node(&topo, &dir, 1, &sc.args(&topo, 1, 150, &[]))),
    ];
    wait_single_master(&topo, &live(&ds), 0, sc.fam.vip(), SETTLE);
    std::fs::write(&flag, b"").unwrap();
    wait_single_master(&topo, &live(&ds), 1, sc.fam.vip(), SETTLE);
    assert!(ds[0]
        .as_ref()
        .unwrap()
        .log_text()
        .contains("effective priority changed"));
    std::fs::remove_file(&flag).unwrap();
    wait_single_master(&topo, &live(&ds), 0, sc.fam.vip(), SETTLE);
    ds.clear();
}

/// A weight-0 track script puts the instance in FAULT while it fails.
#[test]
fn weight_zero_track_script_faults() {
    need_root!();
    let sc = Scenario::v3_fast(Fam::V4);
    let topo = Topology::new(2);
    let dir = TempDir::new(&format!("{}-track0", topo.prefix));
    let flag = dir.join("fail");
    let script = format!("test ! -e {}", flag.display());
    let ds = vec![
        Some(spawn_node(
            &topo,
            &dir,
            0,
            &sc.args(
                &topo,
                0,
                200,
                &["--track-script", &script, "--track-interval", "0.1"],
            ),
        )),
        Some(spawn_node(&topo, &dir, 1, &sc.args(&topo, 1, 150, &[]))),
    ];
    wait_single_master(&topo, &live(&ds), 0, sc.fam.vip(), SETTLE);
    std::fs::write(&flag, b"").unwrap();
    assert!(wait_until(SETTLE, || ds[0].as_ref().unwrap().state() == "Fault"));
    assert!(wait_until(SETTLE, || !topo.nodes[0].has_addr(sc.fam.vip())
        && topo.nodes[1].has_addr(sc.fam.vip())));
    std::fs::remove_file(&flag).unwrap();
    wait_single_master(&topo, &live(&ds), 0, sc.fam.vip(), SETTLE);
}

/// Link down: the Master enters FAULT and drops its VIP, the Backup takes over; link up: back.
#[test]
fn link_down_enters_fault() {
    need_root!();
    let sc = Scenario::v3_fast(Fam::V4);
    let topo = Topology::new(2);
    let dir = TempDir::new(&format!("{}-link", topo.prefix));
    let ds = start(&sc, &topo, &dir, &[200, 150]);
    topo.unplug(0);
    assert!(
        wait_until(SETTLE, || ds[0].as_ref().unwrap().state() == "Fault"),
        "{:?}",
        ds[0].as_ref().unwrap().lines()
    );
    let tr = ds[0].as_ref().unwrap().transitions();
    let (_, last) = tr.last().unwrap();
    assert_eq!(
        (last.from.as_str(), last.to.as_str(), last.reason.as_str()),
        ("Master", "Fault", "link_down")
    );
    assert!(wait_until(Duration::from_secs(1), || !topo.nodes[0]
        .has_addr(sc.fam.vip())));
    assert!(wait_until(SETTLE, || ds[1].as_ref().unwrap().state()
        == "Master"
        && topo.nodes[1].has_addr(sc.fam.vip())));
    topo.plug(0);
    wait_single_master(&topo, &live(&ds), 0, sc.fam.vip(), SETTLE);
}

/// --track-iface with weight 0: FAULT while the tracked interface is down.
#[test]
fn tracked_interface_down_faults() {
    need_root!();
    let sc = Scenario::v3_fast(Fam::V4);
    let topo = Topology::new(2);
    // A veth pair: taking the peer down drops dummy7's carrier.
    topo.nodes[0]
        .ns
        .ip(&[
            "link", "add", "dummy7", "type", "veth", "peer", "name", "dummy7p",
        ])
        .unwrap();
    topo.nodes[0]
        .ns
        .ip(&["link", "set", "dummy7p", "up"])
        .unwrap();
    topo.nodes[0]
        .ns
        .ip(&["link", "set", "dummy7", "up"])
        .unwrap();
    let dir = TempDir::new(&format!("{}-tif", topo.prefix));
    let ds = vec![
        Some(spawn_node(
            &topo,
            &dir,
            0,
            &sc.args(&topo, 0, 200, &["--track-iface", "dummy7"]),
        )),
        Some(spawn_node(&topo, &dir, 1, &sc.args(&topo, 1, 150, &[]))),
    ];
    wait_single_master(&topo, &live(&ds), 0, sc.fam.vip(), SETTLE);
    topo.nodes[0]
        .ns
        .ip(&["link", "set", "dummy7p", "down"])
        .unwrap();
    assert!(wait_until(SETTLE, || ds[0].as_ref().unwrap().state() == "Fault"));
    wait_until(SETTLE, || ds[1].as_ref().unwrap().state() == "Master");
    topo.nodes[0]
        .ns
        .ip(&["link", "set", "dummy7p", "up"])
        .unwrap();
    wait_single_master(&topo, &live(&ds), 0, sc.fam.vip(), SETTLE);
}

/// --config: two instances (IPv4 and IPv6) in a sync group move together.
#[test]
fn toml_config_sync_group_moves_together() {
    need_root!();
    let topo = Topology::new(2);
    let dir = TempDir::new(&format!("{}-toml", topo.prefix));
    let mut ds = Vec::new();
    for (i, prio) in [(0usize, 200u8), (1, 150)] {
        let conf = format!(
            "log_format = \"json\"\n\
             [[instance]]\nname = \"v4\"\niface = \"eth0\"\nvrid = 61\npriority = {prio}\nvips = [\"10.200.0.61/24\"]\nvrrp_version = 3\nadvert_int = 0.1\n\
             [[instance]]\nname = \"v6\"\niface = \"eth0\"\nvrid = 62\npriority = {prio}\nvips = [\"fd00:200::62/64\"]\nvrrp_version = 3\nadvert_int = 0.1\n\
             [[sync_group]]\nname = \"G\"\ninstances = [\"v4\", \"v6\"]\n"
        );
        let path = dir.join(&format!("n{i}.toml"));
        std::fs::write(&path, conf).unwrap();
        ds.push(Some(spawn_node(
            &topo,
            &dir,
            i,
            &["--config".to_string(), path.display().to_string()],
        )));
    }
    let both =
        |i: usize| topo.nodes[i].has_addr("10.200.0.61") && topo.nodes[i].has_addr("fd00:200::62");
    assert!(
        wait_until(SETTLE, || both(0) && !topo.nodes[1].has_addr("10.200.0.61")),
        "{}",
        ds[0].as_ref().unwrap().log_text()
    );
    // JSON logs on stderr.
    let log = ds[0].as_ref().unwrap().log_text();
    assert!(
        log.lines().next().is_some_and(|l| l.starts_with('{')),
        "json log: {log}"
    );
    // Link of node 0 down: both instances leave together (the group is in FAULT).
    topo.unplug(0);
    assert!(wait_until(SETTLE, || both(1)));
    let tr = ds[0].as_ref().unwrap().transitions();
    assert!(
        tr.iter().filter(|(_, t)| t.to == "Fault").count() >= 2,
        "{tr:?}"
    );
    topo.plug(0);
    assert!(wait_until(SETTLE, || both(0)
        && !topo.nodes[1].has_addr("10.200.0.61")
        && !topo.nodes[1].has_addr("fd00:200::62")));
    ds.clear();
}

/// A VIP left on a Backup by a crashed run is removed at start.
#[test]
fn stale_vip_removed_at_start() {
    need_root!();
    let sc = Scenario::v3_fast(Fam::V4);
    let topo = Topology::new(2);
    let dir = TempDir::new(&format!("{}-stale", topo.prefix));
    topo.nodes[1]
        .ns
        .ip(&["addr", "add", &sc.fam.vip_cidr(), "dev", "eth0"])
        .unwrap();
    let _ds = start(&sc, &topo, &dir, &[200, 150]);
    assert!(!topo.nodes[1].has_addr(sc.fam.vip()));
}
