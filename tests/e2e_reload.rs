//! End-to-end: SIGHUP reloads minimal_failover's `--config` without a state transition, as
//! keepalived's reload does (root, network namespaces).
mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use common::cluster::{spawn_node, wait_single_master, Fam, Scenario};
use common::keepalived::Keepalived;
use common::notify_log::{lines, logging_script};
use common::pcap::{Capture, Kind};
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
    // The state change is printed after the network actions (the VIP is up first).
    assert!(ds[1].wait_state("Master", SETTLE), "{}", ds[1].log_text());
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
    // (Another VRID would be another instance: see the add/remove test below.)
    let vmac = std::fs::read_to_string(&conf[0])
        .unwrap()
        .replace("priority = 180", "priority = 250")
        + "use_vmac = true\n";
    std::fs::write(&conf[1], vmac).unwrap();
    reload(&ds[1], "reload refused");
    let log = ds[1].log_text();
    assert!(log.contains("use_vmac"), "{log}");
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

/// Instances as (name, VRID offset, priority), then sync groups as (name, members): one
/// layout written for both daemons, each with its own VRIDs (`base` + offset).
type Layout<'a> = (&'a [(&'a str, u8, u8)], &'a [(&'a str, &'a [&'a str])]);

/// minimal_failover on node 0 and keepalived on node 1, each alone on its VRIDs (so every
/// instance is Master), each running the generic notify script of every instance and group
/// into its own log.
struct SideBySide {
    conf: [PathBuf; 2],
    logs: [PathBuf; 2],
    scripts: [String; 2],
    bases: [u8; 2],
    mf: Daemon,
    ka: Keepalived,
}

impl SideBySide {
    fn start(topo: &Topology, dir: &TempDir, bases: [u8; 2], layout: Layout) -> SideBySide {
        let logs = [dir.join("mf-notify.log"), dir.join("ka-notify.log")];
        let scripts = [0, 1].map(|i| logging_script(&dir.join(&format!("notify{i}.sh")), &logs[i]));
        let conf = [dir.join("mf.toml"), dir.join("kaR.conf")];
        write_layout(&conf, &scripts, bases, layout);
        let mf = spawn_node(
            topo,
            dir,
            0,
            &["--config".to_string(), conf[0].display().to_string()],
        );
        let text = std::fs::read_to_string(&conf[1]).unwrap();
        let ka = Keepalived::start_with_config("kaR", &topo.nodes[1].ns.name, &text, &dir.0);
        SideBySide {
            conf,
            logs,
            scripts,
            bases,
            mf,
            ka,
        }
    }

    /// Rewrites both files for `layout` and sends both daemons SIGHUP.
    fn reload(&self, layout: Layout) {
        write_layout(&self.conf, &self.scripts, self.bases, layout);
        reload(&self.mf, "reload applied");
        self.ka.daemon.signal(libc::SIGHUP);
    }

    fn lines(&self, i: usize) -> Vec<String> {
        lines(&self.logs[i])
    }

    /// Waits until both notify logs have `line`.
    fn wait_both(&self, line: &str) {
        let has = |i: usize| self.lines(i).iter().any(|l| l == line);
        assert!(
            wait_until(Duration::from_secs(10), || has(0) && has(1)),
            "{line}: {:?} {:?}\n{}",
            self.lines(0),
            self.lines(1),
            self.mf.log_text()
        );
    }
}

/// Writes both daemons' files (`conf`) for `layout`.
fn write_layout(
    conf: &[PathBuf; 2],
    scripts: &[String; 2],
    bases: [u8; 2],
    (insts, groups): Layout,
) {
    let [ours, theirs] = [0, 1].map(|i| {
        let (base, script) = (bases[i], &scripts[i]);
        let mut s = String::new();
        if i == 1 {
            s += "global_defs {\n  router_id kaR\n  enable_script_security\n  script_user root\n  \
                  vrrp_garp_master_delay 0\n}\n";
        }
        for (g, members) in groups {
            s += &if i == 0 {
                let m: Vec<String> = members.iter().map(|m| format!("\"{m}\"")).collect();
                format!(
                    "[[sync_group]]\nname = \"{g}\"\ninstances = [{}]\nnotify = \"{script}\"\n",
                    m.join(", ")
                )
            } else {
                format!(
                    "vrrp_sync_group {g} {{\n  group {{\n    {}\n  }}\n  notify \"{script}\"\n}}\n",
                    members.join("\n    ")
                )
            };
        }
        for &(name, offset, prio) in insts {
            let vrid = base + offset;
            s += &if i == 0 {
                format!(
                    "[[instance]]\nname = \"{name}\"\niface = \"eth0\"\nvrid = {vrid}\npriority = {prio}\n\
                     vips = [\"10.200.0.{vrid}/24\"]\nvrrp_version = 3\nadvert_int = 0.1\nnotify = \"{script}\"\n"
                )
            } else {
                format!(
                    "vrrp_instance {name} {{\n  state BACKUP\n  interface eth0\n  virtual_router_id {vrid}\n  \
                     priority {prio}\n  advert_int 0.1\n  version 3\n  notify \"{script}\"\n  \
                     virtual_ipaddress {{\n    10.200.0.{vrid}/24 dev eth0\n  }}\n}}\n"
                )
            };
        }
        s
    });
    std::fs::write(&conf[0], ours).unwrap();
    std::fs::write(&conf[1], theirs).unwrap();
}

/// keepalived's reload adds and removes instances, matching the running ones by interface,
/// VRID and family (a renamed instance runs on): minimal_failover does the same, next to a
/// keepalived given the same change (ours on VRIDs 71..73, keepalived's 91..93).
/// - removed B: a priority-0 advert, its VIP gone, its notify script gets FAULT;
/// - added C: Backup, then Master after its Master_Down_Interval, with its GARPs;
/// - A, renamed A2: no transition, no priority-0 advert, its VIP stays, later notify lines
///   carry the new name.
#[test]
fn sighup_adds_and_removes_instances_as_keepalived_does() {
    need_root!();
    let topo = Topology::new(2);
    let dir = TempDir::new(&format!("{}-hupadd", topo.prefix));
    let cap = Capture::start(&topo.observer.name, "eth0", &dir.join("cap.pcap"));
    let mut sbs = SideBySide::start(
        &topo,
        &dir,
        [70, 90],
        (&[("A", 1, 150), ("B", 2, 150)], &[]),
    );
    sbs.wait_both("INSTANCE A MASTER 150");
    sbs.wait_both("INSTANCE B MASTER 150");
    let before = [sbs.lines(0).len(), sbs.lines(1).len()];
    let mf_transitions = sbs.mf.transitions().len();

    let hup_ns = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap();
    sbs.reload((&[("A2", 1, 150), ("C", 3, 100)], &[]));
    sbs.wait_both("INSTANCE C MASTER 100");
    std::thread::sleep(Duration::from_millis(500));

    // The same notify lines from both daemons, C's in order.
    let after: Vec<Vec<String>> = (0..2).map(|i| sbs.lines(i)[before[i]..].to_vec()).collect();
    let expected = [
        "INSTANCE B FAULT 150",
        "INSTANCE C BACKUP 100",
        "INSTANCE C MASTER 100",
    ];
    for (who, lines) in ["minimal_failover", "keepalived"].iter().zip(&after) {
        let mut sorted = lines.clone();
        sorted.sort();
        assert_eq!(sorted, expected, "{who}: {lines:?}");
        let at = |l: &str| lines.iter().position(|x| x == l);
        assert!(at(expected[1]) < at(expected[2]), "{who}: {lines:?}");
    }
    // Ours prints B's shutdown and C's two transitions, nothing for A.
    let t: Vec<(u8, String, String)> = sbs.mf.transitions()[mf_transitions..]
        .iter()
        .map(|(_, t)| (t.vrid, t.to.clone(), t.reason.clone()))
        .collect();
    assert!(t.iter().all(|(vrid, _, _)| *vrid != 71), "{t:?}");
    assert!(t.contains(&(72, "Init".into(), "shutdown".into())), "{t:?}");
    assert!(
        t.iter().filter(|(vrid, _, _)| *vrid == 73).count() == 2,
        "{t:?}"
    );
    for (node, (a, b, c)) in [(0, (71, 72, 73)), (1, (91, 92, 93))] {
        let has = |v: u8| topo.nodes[node].has_addr(&format!("10.200.0.{v}"));
        assert_eq!((has(a), has(b), has(c)), (true, false, true), "node {node}");
    }

    // On the wire, from the reload on: B's priority 0 (once adverts stop), C's GARPs, A's
    // adverts at its priority only.
    let frames: Vec<_> = cap.stop().into_iter().filter(|f| f.ts >= hup_ns).collect();
    let adverts = |vrid_wanted: u8| -> Vec<u8> {
        frames
            .iter()
            .filter_map(|f| match f.kind {
                Kind::Advert { vrid, priority, .. } if vrid == vrid_wanted => Some(priority),
                _ => None,
            })
            .collect()
    };
    for (who, (a, b, c)) in [
        ("minimal_failover", (71, 72, 73)),
        ("keepalived", (91, 92, 93)),
    ] {
        assert!(
            !adverts(a).is_empty() && adverts(a).iter().all(|&p| p == 150),
            "{who}: A {:?}",
            adverts(a)
        );
        assert_eq!(adverts(b).last(), Some(&0), "{who}: B {:?}", adverts(b));
        assert!(adverts(c).contains(&100), "{who}: C {:?}", adverts(c));
        let vip_c: std::net::IpAddr = format!("10.200.0.{c}").parse().unwrap();
        assert!(
            frames.iter().any(|f| f.announces(vip_c)),
            "{who}: no GARP for C"
        );
    }
    assert!(sbs.ka.rejections().is_empty(), "{:?}", sbs.ka.rejections());
    sbs.ka.stop();
}

/// What a reload starts for a new instance beyond its sockets, and stops for a removed one:
/// its VMAC (created before it starts, removed after it stops) and its tracker checks (a
/// track_file written after the reload moves it to FAULT).
#[test]
fn sighup_sets_up_a_new_instances_vmac_and_trackers_and_tears_them_down() {
    need_root!();
    let topo = Topology::new(1);
    let dir = TempDir::new(&format!("{}-hupvmac", topo.prefix));
    let track = dir.join("maint");
    std::fs::write(&track, "0\n").unwrap();
    let a = "[[instance]]\nname = \"A\"\niface = \"eth0\"\nvrid = 76\npriority = 150\n\
             vips = [\"10.200.0.76/24\"]\nvrrp_version = 3\nadvert_int = 0.1\n";
    let v = format!(
        "[[instance]]\nname = \"V\"\niface = \"eth0\"\nvrid = 77\npriority = 150\n\
         vips = [\"10.200.0.77/24\"]\nvrrp_version = 3\nadvert_int = 0.1\nuse_vmac = true\n\
         track_file = [{{ path = \"{}\", weight = -1 }}]\n",
        track.display()
    );
    let conf = dir.join("mf.toml");
    std::fs::write(&conf, a).unwrap();
    let mf = spawn_node(
        &topo,
        &dir,
        0,
        &["--config".to_string(), conf.display().to_string()],
    );
    assert!(mf.wait_state("Master", SETTLE), "{}", mf.log_text());
    let node = &topo.nodes[0];
    let vmac = || node.ns.ip(&["-d", "link", "show", "vrrp.77"]).ok();
    let state_of = |vrid: u8| {
        mf.transitions()
            .iter()
            .rev()
            .find(|(_, t)| t.vrid == vrid)
            .map(|(_, t)| t.to.clone())
    };
    assert!(vmac().is_none());

    std::fs::write(&conf, format!("{a}{v}")).unwrap();
    reload(&mf, "reload applied");
    assert!(
        wait_until(SETTLE, || state_of(77).as_deref() == Some("Master")),
        "{}",
        mf.log_text()
    );
    let link = vmac().expect("the new instance's VMAC");
    assert!(link.contains("00:00:5e:00:01:4d"), "{link}");
    let on_vmac = node
        .ns
        .ip(&["-4", "addr", "show", "dev", "vrrp.77"])
        .unwrap();
    assert!(on_vmac.contains("10.200.0.77/24"), "{on_vmac}");

    // The new instance's track_file is watched: 254 × -1 puts it in FAULT, A runs on.
    std::fs::write(&track, "254\n").unwrap();
    assert!(
        wait_until(SETTLE, || state_of(77).as_deref() == Some("Fault")),
        "{}",
        mf.log_text()
    );
    assert_eq!(state_of(76).as_deref(), Some("Master"));

    // Removed again: it stops and its VMAC goes; A keeps its one transition.
    std::fs::write(&conf, a).unwrap();
    reload(&mf, "reload applied");
    assert!(wait_until(SETTLE, || vmac().is_none()), "{}", mf.log_text());
    assert_eq!(
        mf.transitions()
            .iter()
            .filter(|(_, t)| t.vrid == 76)
            .count(),
        2,
        "{:?}",
        mf.transitions()
    );
    assert!(node.has_addr("10.200.0.76"));
    assert!(mf.log_text().contains("removed by the reload"));
}

/// Sync groups on a reload, next to keepalived given the same change: a group the file drops
/// is dissolved (its member A runs on alone without a transition, its member B, dropped too,
/// shuts down), and a new group of new instances starts under the group's rules.
#[test]
fn sighup_dissolves_a_dropped_sync_group_and_starts_a_new_one_as_keepalived_does() {
    need_root!();
    let topo = Topology::new(2);
    let dir = TempDir::new(&format!("{}-hupgrp", topo.prefix));
    let before: Layout = (&[("A", 0, 150), ("B", 1, 150)], &[("G", &["A", "B"])]);
    let after: Layout = (
        &[("A", 0, 150), ("C", 2, 150), ("D", 3, 150)],
        &[("H", &["C", "D"])],
    );
    let mut sbs = SideBySide::start(&topo, &dir, [101, 111], before);
    sbs.wait_both("GROUP G MASTER 0");
    std::thread::sleep(Duration::from_millis(300));
    let start = [sbs.lines(0).len(), sbs.lines(1).len()];
    let mf_transitions = sbs.mf.transitions().len();

    sbs.reload(after);
    sbs.wait_both("GROUP H MASTER 0");
    std::thread::sleep(Duration::from_millis(500));
    let sorted = |v: &Vec<String>| {
        let mut v = v.clone();
        v.sort();
        v
    };
    // A loaded machine may run the last notify scripts late: wait (bounded) until both sides
    // have run the same set, then compare what they ran.
    let new_lines =
        || -> Vec<Vec<String>> { (0..2).map(|i| sbs.lines(i)[start[i]..].to_vec()).collect() };
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    let mut new = new_lines();
    while sorted(&new[0]) != sorted(&new[1]) && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
        new = new_lines();
    }
    assert_eq!(
        sorted(&new[0]),
        sorted(&new[1]),
        "minimal_failover {:?}, keepalived {:?}",
        new[0],
        new[1]
    );
    assert!(new[0].iter().all(|l| !l.contains(" A ")), "{:?}", new[0]);
    assert!(
        sbs.mf.transitions()[mf_transitions..]
            .iter()
            .all(|(_, t)| t.vrid != 101),
        "{:?}",
        sbs.mf.transitions()
    );
    for (node, base) in [(0, 101u8), (1, 111)] {
        let has = |v: u8| topo.nodes[node].has_addr(&format!("10.200.0.{v}"));
        assert_eq!(
            (has(base), has(base + 1), has(base + 2), has(base + 3)),
            (true, false, true, true),
            "node {node}"
        );
    }
    assert!(sbs
        .mf
        .log_text()
        .contains("sync group dissolved by the reload"));
    sbs.ka.stop();
}

/// Trackers change on a reload, as keepalived's reload re-reads track_script: a passing script
/// added to the Master changes nothing; a failing one lowers it below its Backup, which takes
/// over; dropping it again gives the Master its priority back, and it preempts.
#[test]
fn sighup_adds_and_drops_track_scripts_of_a_running_instance() {
    need_root!();
    let topo = Topology::new(2);
    let dir = TempDir::new(&format!("{}-huptrack", topo.prefix));
    let conf = [dir.join("n0.toml"), dir.join("n1.toml")];
    let write = |i: usize, priority: u8, scripts: &[&str]| {
        let scripts: Vec<String> = scripts
            .iter()
            .map(|c| {
                format!("{{ cmd = \"{c}\", weight = -100, interval = 0.1, fall = 1, rise = 1 }}")
            })
            .collect();
        let text = format!(
            "[[instance]]\nname = \"web\"\niface = \"eth0\"\nvrid = 65\npriority = {priority}\n\
             vips = [\"{VIP_A}/24\"]\nvrrp_version = 3\nadvert_int = 0.1\ntrack_script = [{}]\n",
            scripts.join(", ")
        );
        std::fs::write(&conf[i], text).unwrap();
    };
    write(0, 200, &[]);
    write(1, 150, &[]);
    let ds = start_pair(&topo, &dir, &conf, SETTLE);
    let start = ds[0].transitions().len();

    write(0, 200, &["/bin/true"]);
    reload(&ds[0], "reload applied");
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(ds[0].transitions().len(), start, "{}", ds[0].log_text());

    write(0, 200, &["/bin/true", "/bin/false"]);
    reload(&ds[0], "reload applied");
    assert!(
        wait_until(SETTLE, || ds[1].state() == "Master"
            && topo.nodes[1].has_addr(VIP_A)),
        "{}",
        ds[0].log_text()
    );
    assert!(ds[0].wait_state("Backup", SETTLE));
    assert!(ds[0].log_text().contains("effective priority changed"));

    write(0, 200, &["/bin/true"]);
    reload(&ds[0], "reload applied");
    assert!(
        wait_until(SETTLE, || ds[0].state() == "Master"
            && topo.nodes[0].has_addr(VIP_A)),
        "{}",
        ds[0].log_text()
    );
    assert_eq!(ds[0].transitions().last().unwrap().1.reason, "preempted");
    assert!(ds[1].wait_state("Backup", SETTLE));
}
