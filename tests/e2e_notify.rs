//! End-to-end: minimal_failover runs keepalived's notify scripts on real transitions (root,
//! network namespaces): the specific script first, then the generic one with
//! `INSTANCE <name> <state> <priority>`, in order, and the STOP ones at shutdown.
mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::Duration;

use common::cluster::{spawn_node, wait_single_master, Fam, Scenario};
use common::process::{wait_until, Daemon, TempDir};
use common::topology::Topology;

const SETTLE: Duration = Duration::from_secs(6);

fn lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect()
}

/// Writes an executable script at `path` that appends its arguments as one line to `log`;
/// returns its path as a string.
fn logging_script(path: &Path, log: &Path) -> String {
    std::fs::write(
        path,
        format!("#!/bin/sh\necho \"$*\" >> {}\n", log.display()),
    )
    .unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path.display().to_string()
}

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
