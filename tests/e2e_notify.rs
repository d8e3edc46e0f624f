//! End-to-end: minimal_failover runs keepalived's notify scripts on real transitions (root,
//! network namespaces): the specific script first, then the generic one with
//! `INSTANCE <name> <state> <priority>`, in order, and the STOP ones at shutdown.
mod common;

use std::time::Duration;

use common::cluster::{spawn_node, wait_single_master, Fam, Scenario};
use common::keepalived::Keepalived;
use common::notify_log::{lines, logging_script, FifoReader};
use common::process::{wait_until, Daemon, TempDir};
use common::topology::Topology;

const SETTLE: Duration = Duration::from_secs(6);

#[test]
fn notify_scripts_follow_the_transitions_in_order() {
    if !common::is_root() {
        eprintln!("skipped: needs root");
        return;
    }
    let sc = Scenario::v3_fast(Fam::V4);
    let topo = Topology::new(2);
    let dir = TempDir::new(&format!("{}-notify", topo.prefix));
    let logs = [dir.join("n0.log"), dir.join("n1.log")];
    let mut ds: Vec<Daemon> = Vec::new();
    for (i, prio) in [(0usize, 200u8), (1, 150)] {
        let s = logging_script(&dir.join(&format!("notify{i}.sh")), &logs[i]);
        let specific = |what: &str| format!("{s} {what}");
        let (m, b, f, st) = (
            specific("to-master"),
            specific("to-backup"),
            specific("to-fault"),
            specific("stopped"),
        );
        let args = sc.args(
            &topo,
            i,
            prio,
            &[
                "--notify",
                &s,
                "--notify-master",
                &m,
                "--notify-backup",
                &b,
                "--notify-fault",
                &f,
                "--notify-stop",
                &st,
            ],
        );
        ds.push(spawn_node(&topo, &dir, i, &args));
    }
    let live: Vec<(usize, &Daemon)> = ds.iter().enumerate().collect();
    wait_single_master(&topo, &live, 0, sc.fam.vip(), SETTLE);
    let startup0 = [
        "to-backup",
        "INSTANCE VI_51 BACKUP 200",
        "to-master",
        "INSTANCE VI_51 MASTER 200",
    ];
    assert!(
        wait_until(SETTLE, || lines(&logs[0]) == startup0),
        "{:?}",
        lines(&logs[0])
    );
    assert!(wait_until(SETTLE, || lines(&logs[1])
        == ["to-backup", "INSTANCE VI_51 BACKUP 150"]));

    // Graceful stop of the Master: its STOP scripts run before it exits; the Backup takes
    // over and says so.
    ds[0].signal(libc::SIGTERM);
    assert_eq!(
        ds[0]
            .wait_exit(Duration::from_secs(15))
            .and_then(|s| s.code()),
        Some(0)
    );
    let mut expected0: Vec<&str> = startup0.to_vec();
    expected0.extend(["stopped", "INSTANCE VI_51 STOP 200"]);
    assert_eq!(lines(&logs[0]), expected0);
    assert!(
        wait_until(SETTLE, || lines(&logs[1]).len() == 4),
        "{:?}",
        lines(&logs[1])
    );
    assert_eq!(
        lines(&logs[1])[2..],
        ["to-master", "INSTANCE VI_51 MASTER 150"]
    );

    // Link down: FAULT.
    topo.unplug(1);
    assert!(
        wait_until(SETTLE, || lines(&logs[1]).len() == 6),
        "{:?}",
        lines(&logs[1])
    );
    assert_eq!(
        lines(&logs[1])[4..],
        ["to-fault", "INSTANCE VI_51 FAULT 150"]
    );
}

/// keepalived's AWS case (issue 950): a node that hears nobody (here: the Master's adverts to
/// it go to a wrong MAC) makes itself Master while the real Master still runs. The real Master hears its lower priority and runs
/// `notify_master_rx_lower_pri` (as written, no arguments), so a script can take the
/// addresses back.
#[test]
fn a_master_hearing_a_lower_priority_runs_notify_master_rx_lower_pri() {
    if !common::is_root() {
        eprintln!("skipped: needs root");
        return;
    }
    let topo = Topology::new(3);
    let dir = TempDir::new(&format!("{}-rxlow", topo.prefix));
    let log = dir.join("rx.log");
    let script = logging_script(&dir.join("rx.sh"), &log);
    let addr = |i: usize| topo.nodes[i].ipv4.to_string();
    let rx = format!("{script} reclaim");
    // Node 1 sends to node 0 only, and node 0 has a wrong MAC for node 2 (its adverts to
    // node 2 reach nobody): node 2 hears nobody, while node 0 hears node 2.
    let peers: [Vec<usize>; 3] = [vec![1, 2], vec![0], vec![0, 1]];
    topo.nodes[0]
        .ns
        .ip(&[
            "neigh",
            "replace",
            &addr(2),
            "lladdr",
            "02:00:00:00:00:99",
            "dev",
            "eth0",
            "nud",
            "permanent",
        ])
        .unwrap();
    let ds: Vec<Daemon> = [200u8, 150, 100]
        .iter()
        .enumerate()
        .map(|(i, prio)| {
            let mut args: Vec<String> = [
                "--iface",
                "eth0",
                "--vrid",
                "65",
                "--priority",
                &prio.to_string(),
                "--vip",
                "10.200.0.65/24",
                "--vrrp-version",
                "3",
                "--advert-int",
                "0.1",
                "--unicast-src",
                &addr(i),
            ]
            .iter()
            .map(|s| s.to_string())
            .collect();
            for &p in &peers[i] {
                args.extend(["--unicast-peer".to_string(), addr(p)]);
            }
            if i == 0 {
                args.extend(["--notify-master-rx-lower-pri".to_string(), rx.clone()]);
            }
            spawn_node(&topo, &dir, i, &args)
        })
        .collect();
    assert!(
        wait_until(SETTLE, || ds[0].state() == "Master"
            && ds[2].state() == "Master"),
        "{}\n{}",
        ds[0].log_text(),
        ds[2].log_text()
    );
    assert!(
        wait_until(SETTLE, || lines(&log).len() >= 3),
        "{:?}\n{}",
        lines(&log),
        ds[0].log_text()
    );
    assert!(
        lines(&log).iter().all(|l| l == "reclaim"),
        "{:?}",
        lines(&log)
    );
    // Node 1 hears only node 0 (higher): it never ran anything and stays Backup.
    assert_eq!(ds[1].state(), "Backup");
}

/// A sync group's notify scripts, side by side with keepalived's: on node 0 minimal_failover,
/// on node 1 keepalived, each with two instances on eth0 in one group and the same group
/// scripts (the VRIDs differ, so each daemon is alone and becomes Master). Both nodes lose
/// and regain their link, then stop gracefully. The group scripts must see the same
/// transitions from both daemons: BACKUP, MASTER, FAULT, BACKUP, MASTER, STOP, the generic
/// one with `GROUP G <state> 0` appended. keepalived starts a group's specific and generic
/// scripts concurrently, so the two kinds are compared as separate sequences. Both daemons
/// also write a notify FIFO: each instance and the group get the same lines from both.
#[test]
fn sync_group_notify_scripts_match_keepalived() {
    if !common::is_root() {
        eprintln!("skipped: needs root");
        return;
    }
    let topo = Topology::new(2);
    let dir = TempDir::new(&format!("{}-group", topo.prefix));
    let logs = [dir.join("g0.log"), dir.join("g1.log")];
    let script = |i: usize| logging_script(&dir.join(&format!("group{i}.sh")), &logs[i]);

    let (s0, s1) = (script(0), script(1));
    // Both daemons also write every transition to a notify FIFO, read by this test.
    let fifos = [dir.join("mf.fifo"), dir.join("ka.fifo")];
    let mut readers = [FifoReader::new(&fifos[0]), FifoReader::new(&fifos[1])];
    let mut toml = format!("notify_fifo = \"{}\"\n", fifos[0].display());
    for (name, vrid) in [("VI_A", 71), ("VI_B", 72)] {
        toml.push_str(&format!(
            "[[instance]]\nname = \"{name}\"\niface = \"eth0\"\nvrid = {vrid}\npriority = 100\n\
             vips = [\"10.200.0.{vrid}/24\"]\nvrrp_version = 3\nadvert_int = 0.1\n"
        ));
    }
    toml.push_str(&format!(
        "[[sync_group]]\nname = \"G\"\ninstances = [\"VI_A\", \"VI_B\"]\nnotify = \"{s0}\"\n\
         notify_master = \"{s0} to-master\"\nnotify_backup = \"{s0} to-backup\"\n\
         notify_fault = \"{s0} to-fault\"\nnotify_stop = \"{s0} stopped\"\n"
    ));
    let conf = dir.join("mf.toml");
    std::fs::write(&conf, toml).unwrap();
    let mut mf = spawn_node(
        &topo,
        &dir,
        0,
        &["--config".to_string(), conf.display().to_string()],
    );

    let mut ka_conf = format!(
        "global_defs {{\n  router_id kaG\n  enable_script_security\n  script_user root\n  \
         vrrp_garp_master_delay 0\n  notify_fifo {}\n}}\n",
        fifos[1].display()
    );
    ka_conf.push_str(&format!(
        "vrrp_sync_group G {{\n  group {{\n    VI_A\n    VI_B\n  }}\n  notify \"{s1}\"\n  \
         notify_master \"{s1} to-master\"\n  notify_backup \"{s1} to-backup\"\n  \
         notify_fault \"{s1} to-fault\"\n  notify_stop \"{s1} stopped\"\n}}\n"
    ));
    for (name, vrid) in [("VI_A", 81), ("VI_B", 82)] {
        ka_conf.push_str(&format!(
            "vrrp_instance {name} {{\n  state BACKUP\n  interface eth0\n  virtual_router_id {vrid}\n  \
             priority 100\n  advert_int 0.1\n  version 3\n  \
             virtual_ipaddress {{\n    10.200.0.{vrid}/24 dev eth0\n  }}\n}}\n"
        ));
    }
    let mut ka = Keepalived::start_with_config("kaG", &topo.nodes[1].ns.name, &ka_conf, &dir.0);

    // The generic script's lines, and the specific ones', of daemon `i`.
    let split = |i: usize| -> (Vec<String>, Vec<String>) {
        lines(&logs[i])
            .into_iter()
            .partition(|l| l.starts_with("GROUP "))
    };
    let generic = |states: &[&str]| -> Vec<String> {
        states.iter().map(|s| format!("GROUP G {s} 0")).collect()
    };
    let reach = |states: &[&str], mf: &Daemon, ka: &Keepalived| {
        let want = generic(states);
        assert!(
            wait_until(SETTLE, || (0..2).all(|i| split(i).0 == want)),
            "want {want:?}\nminimal_failover: {:?}\nkeepalived: {:?}\n{}\n{}",
            lines(&logs[0]),
            lines(&logs[1]),
            mf.log_text(),
            ka.log()
        );
    };
    reach(&["BACKUP", "MASTER"], &mf, &ka);
    assert!(topo.nodes[0].has_addr("10.200.0.72") && topo.nodes[1].has_addr("10.200.0.82"));

    topo.unplug(0);
    topo.unplug(1);
    reach(&["BACKUP", "MASTER", "FAULT"], &mf, &ka);
    topo.plug(0);
    topo.plug(1);
    reach(&["BACKUP", "MASTER", "FAULT", "BACKUP", "MASTER"], &mf, &ka);

    mf.signal(libc::SIGTERM);
    assert_eq!(
        mf.wait_exit(Duration::from_secs(15)).and_then(|s| s.code()),
        Some(0)
    );
    ka.stop();
    let all = ["BACKUP", "MASTER", "FAULT", "BACKUP", "MASTER", "STOP"];
    reach(&all, &mf, &ka);
    let specific: Vec<String> = [
        "to-backup",
        "to-master",
        "to-fault",
        "to-backup",
        "to-master",
        "stopped",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    assert!(
        wait_until(SETTLE, || (0..2).all(|i| split(i).1 == specific)),
        "minimal_failover: {:?}\nkeepalived: {:?}",
        lines(&logs[0]),
        lines(&logs[1])
    );

    // The FIFOs: the same lines for each instance and for the group, in the same order
    // (keepalived orders a group's line against its members' lines differently at startup,
    // so each subject is compared on its own).
    let fifo_lines: Vec<Vec<String>> = readers.iter_mut().map(|r| r.lines()).collect();
    for subject in ["INSTANCE \"VI_A\"", "INSTANCE \"VI_B\"", "GROUP \"G\""] {
        let of = |i: usize| -> Vec<&String> {
            fifo_lines[i]
                .iter()
                .filter(|l| l.starts_with(subject))
                .collect()
        };
        assert_eq!(of(0), of(1), "{subject}\n{fifo_lines:?}");
        assert_eq!(of(0).len(), 6, "{subject}: {fifo_lines:?}");
    }
    assert_eq!(
        fifo_lines[0]
            .iter()
            .filter(|l| l.starts_with("GROUP"))
            .collect::<Vec<_>>(),
        [
            "GROUP \"G\" BACKUP 0",
            "GROUP \"G\" MASTER 0",
            "GROUP \"G\" FAULT 0",
            "GROUP \"G\" BACKUP 0",
            "GROUP \"G\" MASTER 0",
            "GROUP \"G\" STOP 0"
        ]
    );
}

/// The notify FIFO's other lines, next to keepalived on the same VRID: with
/// `notify_priority_changes`, each change of the effective priority (a track_file here) as
/// `MASTER_PRIORITY` / `BACKUP_PRIORITY` and the new priority; and `MASTER_RX_LOWER_PRI` with
/// the Master's own priority whenever it hears a lower one, its script run with no argument.
/// The bridge stops flooding multicast to a node to make two Masters, then floods it again,
/// to the Master that is to hear the lower priority first.
/// 1. split: both Master; healed: ours (200) hears keepalived's 100, keepalived yields;
/// 2. track files at 30 then 0: ours MASTER_PRIORITY 230, 200; keepalived BACKUP_PRIORITY 130, 100;
/// 3. split again (both ways), ours down to 50 (file −150): keepalived Master; healed
///    towards keepalived first: it hears our 50 and says MASTER_RX_LOWER_PRI 100; then ours
///    hears keepalived and yields.
#[test]
fn fifo_priority_and_rx_lower_lines_match_keepalived() {
    if !common::is_root() {
        eprintln!("skipped: needs root");
        return;
    }
    let topo = Topology::new(2);
    let dir = TempDir::new(&format!("{}-fifo", topo.prefix));
    let fifos = [dir.join("mf.fifo"), dir.join("ka.fifo")];
    let mut readers = [FifoReader::new(&fifos[0]), FifoReader::new(&fifos[1])];
    let files = [dir.join("mf.track"), dir.join("ka.track")];
    let rx_logs = [dir.join("mf-rx.log"), dir.join("ka-rx.log")];
    for f in &files {
        std::fs::write(f, "0\n").unwrap();
    }
    let rx = [0, 1].map(|i| logging_script(&dir.join(&format!("rx{i}.sh")), &rx_logs[i]));
    // Multicast reaches node `i` only while its bridge port floods it.
    let flood = |i: usize, on: bool| {
        let onoff = if on { "on" } else { "off" };
        let port = format!("v{i}");
        let args = [
            "link",
            "set",
            "dev",
            &port,
            "type",
            "bridge_slave",
            "mcast_flood",
            onoff,
        ];
        topo.bridge.ip(&args).unwrap();
    };
    flood(0, false);
    flood(1, false);

    let toml = format!(
        "notify_fifo = \"{}\"\nnotify_priority_changes = true\n\
         [[instance]]\nname = \"VI_73\"\niface = \"eth0\"\nvrid = 73\npriority = 200\n\
         vips = [\"10.200.0.73/24\"]\nvrrp_version = 3\nadvert_int = 0.1\n\
         track_file = [{{ path = \"{}\", weight = 1 }}]\nnotify_master_rx_lower_pri = \"{}\"\n",
        fifos[0].display(),
        files[0].display(),
        rx[0]
    );
    let conf = dir.join("mf.toml");
    std::fs::write(&conf, toml).unwrap();
    let mf = spawn_node(
        &topo,
        &dir,
        0,
        &["--config".to_string(), conf.display().to_string()],
    );
    let ka_conf = format!(
        "global_defs {{\n  router_id kaF\n  enable_script_security\n  script_user root\n  \
         vrrp_garp_master_delay 0\n  notify_fifo {}\n}}\n\
         track_file tf {{\n  file {}\n  weight 1\n}}\n\
         vrrp_instance VI_73 {{\n  state BACKUP\n  interface eth0\n  virtual_router_id 73\n  \
         priority 100\n  advert_int 0.1\n  version 3\n  track_file {{\n    tf\n  }}\n  \
         notify_priority_changes\n  notify_master_rx_lower_pri \"{}\"\n  \
         virtual_ipaddress {{\n    10.200.0.73/24 dev eth0\n  }}\n}}\n",
        fifos[1].display(),
        files[1].display(),
        rx[1]
    );
    let mut ka = Keepalived::start_with_config("kaF", &topo.nodes[1].ns.name, &ka_conf, &dir.0);
    // Each FIFO is read as a sequence: a line counts only after the one waited for last.
    let mut next = [0usize; 2];
    let mut wait_line = |i: usize, line: &str| {
        let mut found = None;
        let ok = wait_until(SETTLE, || {
            let l = readers[i].lines();
            found = (next[i]..l.len()).find(|&k| l[k] == line);
            found.is_some()
        });
        assert!(
            ok,
            "{line} after line {}: {:?}\n{}",
            next[i],
            readers[i].lines(),
            if i == 0 { mf.log_text() } else { ka.log() }
        );
        next[i] = found.unwrap_or(0) + 1;
    };

    // 1. Two Masters, then one hears the other.
    wait_line(0, "INSTANCE \"VI_73\" MASTER 200");
    wait_line(1, "INSTANCE \"VI_73\" MASTER 100");
    flood(0, true);
    wait_line(0, "INSTANCE \"VI_73\" MASTER_RX_LOWER_PRI 200");
    flood(1, true);
    wait_line(1, "INSTANCE \"VI_73\" BACKUP 100");

    // 2. Priority changes in each role.
    for (value, ours, theirs) in [(30, 230, 130), (0, 200, 100)] {
        for f in &files {
            std::fs::write(f, format!("{value}\n")).unwrap();
        }
        wait_line(0, &format!("INSTANCE \"VI_73\" MASTER_PRIORITY {ours}"));
        wait_line(1, &format!("INSTANCE \"VI_73\" BACKUP_PRIORITY {theirs}"));
    }

    // 3. The roles reversed: keepalived is the Master that hears a lower priority. Neither
    //    hears the other until our priority is down, or ours would yield to keepalived's
    //    adverts before keepalived heard one of its own.
    flood(0, false);
    flood(1, false);
    wait_line(1, "INSTANCE \"VI_73\" MASTER 100");
    std::fs::write(&files[0], "-150\n").unwrap();
    wait_line(0, "INSTANCE \"VI_73\" MASTER_PRIORITY 50");
    flood(1, true);
    wait_line(1, "INSTANCE \"VI_73\" MASTER_RX_LOWER_PRI 100");
    flood(0, true);
    wait_line(0, "INSTANCE \"VI_73\" BACKUP 50");

    // Both rx-lower scripts ran as written: no argument appended.
    for log in &rx_logs {
        let l = lines(log);
        assert!(
            !l.is_empty() && l.iter().all(|l| l.is_empty()),
            "{log:?}: {l:?}"
        );
    }
    // Ours wrote nothing keepalived would not: every line is one of these shapes.
    let ours = readers[0].lines();
    let expected_kinds = ["BACKUP", "MASTER", "MASTER_RX_LOWER_PRI", "MASTER_PRIORITY"];
    assert!(
        ours.iter().all(|l| expected_kinds
            .iter()
            .any(|k| l.starts_with(&format!("INSTANCE \"VI_73\" {k} ")))),
        "{ours:?}"
    );
    ka.stop();
}
