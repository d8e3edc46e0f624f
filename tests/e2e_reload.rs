//! End-to-end: SIGHUP reloads minimal_failover's `--config` without a state transition, as
//! keepalived's reload does (root, network namespaces).
mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use common::cluster::{spawn_node, wait_single_master, Fam, Scenario};
use common::process::{wait_until, Daemon, TempDir};
use common::topology::Topology;

const SETTLE: Duration = Duration::from_secs(6);
const VIP_A: &str = "10.200.0.61";
const VIP_B: &str = "10.200.0.62";

macro_rules! need_root {
    () => {
        if !common::is_root() {
            eprintln!("skipped: needs root");
            return;
        }
    };
}

fn write_config(path: &Path, vrid: u8, priority: u8, vips: &[&str]) {
    let vips: Vec<String> = vips.iter().map(|v| format!("\"{v}/24\"")).collect();
    let text = format!(
        "[[instance]]\nname = \"web\"\niface = \"eth0\"\nvrid = {vrid}\npriority = {priority}\n\
         vips = [{}]\nvrrp_version = 3\nadvert_int = 0.1\n",
        vips.join(", ")
    );
    std::fs::write(path, text).unwrap();
}

/// Starts node 0 and node 1 from their config files; waits until node 0 holds `VIP_A` and
/// has printed its Master line (the VIP is added before the line is written), and node 1 is
/// Backup.
fn start_pair(topo: &Topology, dir: &TempDir, conf: &[PathBuf; 2], wait: Duration) -> Vec<Daemon> {
    let ds: Vec<Daemon> = (0..2)
        .map(|i| {
            spawn_node(
                topo,
                dir,
                i,
                &["--config".to_string(), conf[i].display().to_string()],
            )
        })
        .collect();
    assert!(
        wait_until(wait, || topo.nodes[0].has_addr(VIP_A)
            && ds[0].state() == "Master"
            && ds[1].state() == "Backup"),
        "{}",
        ds[0].log_text()
    );
    ds
}

/// SIGHUP, then waits for the daemon to log the outcome (`applied` or `refused`) once more
/// than before.
fn reload(d: &Daemon, outcome: &str) {
    let count = |d: &Daemon| d.log_text().matches(outcome).count();
    let before = count(d);
    d.signal(libc::SIGHUP);
    assert!(
        wait_until(SETTLE, || count(d) > before),
        "{}: no {outcome:?} after SIGHUP:\n{}",
        d.name,
        d.log_text()
    );
}

fn alive(d: &mut Daemon) -> bool {
    d.wait_exit(Duration::from_millis(1)).is_none()
}

#[test]
fn sighup_applies_priority_and_vips_without_a_transition_and_refuses_the_rest() {
    need_root!();
    let topo = Topology::new(2);
    let dir = TempDir::new(&format!("{}-reload", topo.prefix));
    let conf = [dir.join("n0.toml"), dir.join("n1.toml")];
    write_config(&conf[0], 61, 200, &[VIP_A]);
    write_config(&conf[1], 61, 150, &[VIP_A]);
    let mut ds = start_pair(&topo, &dir, &conf, SETTLE);
    let transitions = |d: &Daemon| d.transitions().len();
    let start = [transitions(&ds[0]), transitions(&ds[1])];

    // 1. The Master gets a second VIP and a lower priority (still above its Backup's): it
    //    installs the VIP at once and stays Master; nobody changes state.
    write_config(&conf[0], 61, 180, &[VIP_A, VIP_B]);
    reload(&ds[0], "reload applied");
    assert!(wait_until(SETTLE, || topo.nodes[0].has_addr(VIP_B)));
    assert!(topo.nodes[0].has_addr(VIP_A));
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(
        [transitions(&ds[0]), transitions(&ds[1])],
        start,
        "{:?}",
        ds[0].transitions()
    );
    let log = ds[0].log_text();
    assert!(log.contains("effective priority changed"), "{log}");

    // 2. A VIP dropped from the file leaves the Master; the other stays.
    write_config(&conf[0], 61, 180, &[VIP_B]);
    reload(&ds[0], "reload applied");
    assert!(wait_until(SETTLE, || !topo.nodes[0].has_addr(VIP_A)));
    assert!(topo.nodes[0].has_addr(VIP_B));

    // 3. The Backup raised above the Master: it preempts (RFC 5798: it discards the now
    //    lower-priority adverts until its Master_Down_Timer runs out), and the VIP moves.
    write_config(&conf[1], 61, 250, &[VIP_B]);
    reload(&ds[1], "reload applied");
    assert!(
        wait_until(SETTLE, || topo.nodes[1].has_addr(VIP_B)
            && !topo.nodes[0].has_addr(VIP_B)),
        "{}",
        ds[1].log_text()
    );
    let (_, t) = ds[1].transitions().last().cloned().unwrap();
    assert_eq!((t.to.as_str(), t.reason.as_str()), ("Master", "preempted"));
    assert!(ds[0].wait_state("Backup", SETTLE));
    assert_eq!(
        ds[0].transitions().last().unwrap().1.reason,
        "higher_priority"
    );

    // 4. A file that fails validation, and one that changes the VRID: refused, naming the
    //    field; the daemon runs on as it was.
    let now = transitions(&ds[1]);
    write_config(&conf[1], 61, 0, &[VIP_B]);
    reload(&ds[1], "reload refused");
    assert!(
        ds[1].log_text().contains("priority"),
        "{}",
        ds[1].log_text()
    );
    write_config(&conf[1], 62, 250, &[VIP_B]);
    reload(&ds[1], "reload refused");
    let log = ds[1].log_text();
    assert!(log.contains("vrid cannot change on a reload"), "{log}");
    std::fs::remove_file(&conf[1]).unwrap();
    reload(&ds[1], "reload refused");
    std::thread::sleep(Duration::from_millis(500));
    assert!(alive(&mut ds[1]));
    assert_eq!(transitions(&ds[1]), now);
    assert!(topo.nodes[1].has_addr(VIP_B));
    assert!(!topo.nodes[0].has_addr(VIP_B));
}

#[test]
fn sighup_without_a_config_file_changes_nothing_and_does_not_stop_the_daemon() {
    need_root!();
    let sc = Scenario::v3_fast(Fam::V4);
    let topo = Topology::new(2);
    let dir = TempDir::new(&format!("{}-hupflags", topo.prefix));
    let mut ds: Vec<Daemon> = [200u8, 150]
        .iter()
        .enumerate()
        .map(|(i, p)| spawn_node(&topo, &dir, i, &sc.args(&topo, i, *p, &[])))
        .collect();
    let live: Vec<(usize, &Daemon)> = ds.iter().enumerate().collect();
    wait_single_master(&topo, &live, 0, sc.fam.vip(), SETTLE);
    let before = ds[0].transitions().len();
    reload(&ds[0], "no file to reload");
    reload(&ds[0], "no file to reload");
    std::thread::sleep(Duration::from_millis(500));
    assert!(alive(&mut ds[0]), "{}", ds[0].log_text());
    assert_eq!(ds[0].transitions().len(), before);
    assert!(topo.nodes[0].has_addr(sc.fam.vip()));
    assert!(!topo.nodes[1].has_addr(sc.fam.vip()));
    // Still stops gracefully afterwards.
    ds[0].signal(libc::SIGTERM);
    assert_eq!(
        ds[0]
            .wait_exit(Duration::from_secs(3))
            .and_then(|s| s.code()),
        Some(0)
    );
    assert!(!topo.nodes[0].has_addr(sc.fam.vip()));
}

/// A VRRPv2 password rotation: both nodes reloaded within one advert interval keep their
/// roles (no transition), and adverts carry the new password.
#[test]
fn sighup_rotates_the_v2_password_without_a_transition() {
    need_root!();
    let topo = Topology::new(2);
    let dir = TempDir::new(&format!("{}-hupauth", topo.prefix));
    let conf = [dir.join("n0.toml"), dir.join("n1.toml")];
    let write = |i: usize, priority: u8, pass: &str| {
        let text = format!(
            "[[instance]]\nname = \"web\"\niface = \"eth0\"\nvrid = 63\npriority = {priority}\n\
             vips = [\"{VIP_A}/24\"]\nvrrp_version = 2\nadvert_int = 1\nauth_pass = \"{pass}\"\n"
        );
        std::fs::write(&conf[i], text).unwrap();
    };
    write(0, 200, "old-pw");
    write(1, 150, "old-pw");
    let ds = start_pair(&topo, &dir, &conf, Duration::from_secs(10));
    let before = [ds[0].transitions().len(), ds[1].transitions().len()];
    write(0, 200, "new-pw");
    write(1, 150, "new-pw");
    reload(&ds[1], "reload applied");
    reload(&ds[0], "reload applied");
    // Longer than the Backup's Master_Down_Interval (3.6 s): a refused password would have
    // made it take over by now.
    std::thread::sleep(Duration::from_secs(5));
    assert_eq!(
        [ds[0].transitions().len(), ds[1].transitions().len()],
        before,
        "{}",
        ds[1].log_text()
    );
    assert!(topo.nodes[0].has_addr(VIP_A));
    assert!(!topo.nodes[1].has_addr(VIP_A));
}

/// Unicast peers change on a reload (keepalived users add a node this way in clouds without
/// multicast): a third node nobody sends to is Master on its own until the Master's reload
/// lists it, then it hears the Master and yields; the Master keeps its state throughout.
#[test]
fn sighup_changes_the_unicast_peers_and_the_new_node_yields() {
    need_root!();
    let topo = Topology::new(3);
    let dir = TempDir::new(&format!("{}-hupuni", topo.prefix));
    let addr = |i: usize| topo.nodes[i].ipv4.to_string();
    let write = |i: usize, priority: u8, peers: &[usize]| {
        let peers: Vec<String> = peers.iter().map(|&p| format!("\"{}\"", addr(p))).collect();
        let text = format!(
            "[[instance]]\nname = \"web\"\niface = \"eth0\"\nvrid = 64\npriority = {priority}\n\
             vips = [\"{VIP_A}/24\"]\nvrrp_version = 3\nadvert_int = 0.1\n\
             unicast_src = \"{}\"\nunicast_peers = [{}]\n",
            addr(i),
            peers.join(", ")
        );
        let path = dir.join(&format!("n{i}.toml"));
        std::fs::write(&path, text).unwrap();
        path
    };
    let conf = [
        write(0, 200, &[1]),
        write(1, 150, &[0]),
        write(2, 100, &[0, 1]),
    ];
    let ds: Vec<Daemon> = (0..3)
        .map(|i| {
            spawn_node(
                &topo,
                &dir,
                i,
                &["--config".to_string(), conf[i].display().to_string()],
            )
        })
        .collect();
    // Node 2 hears nobody: it is Master too.
    assert!(
        wait_until(SETTLE, || ds[0].state() == "Master"
            && ds[1].state() == "Backup"
            && ds[2].state() == "Master"
            && topo.nodes[2].has_addr(VIP_A)),
        "{}",
        ds[2].log_text()
    );
    let master_transitions = ds[0].transitions().len();
    write(0, 200, &[1, 2]);
    reload(&ds[0], "reload applied");
    assert!(
        wait_until(SETTLE, || ds[2].state() == "Backup"
            && !topo.nodes[2].has_addr(VIP_A)),
        "{}",
        ds[2].log_text()
    );
    assert_eq!(
        ds[2].transitions().last().unwrap().1.reason,
        "higher_priority"
    );
    assert!(ds[0].log_text().contains("new unicast peers"));
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(ds[0].transitions().len(), master_transitions);
    assert!(topo.nodes[0].has_addr(VIP_A));
    assert!(!topo.nodes[1].has_addr(VIP_A));
    assert!(!topo.nodes[2].has_addr(VIP_A));
}
