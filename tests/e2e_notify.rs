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
        let script = dir.join(&format!("notify{i}.sh"));
        std::fs::write(
            &script,
            format!("#!/bin/sh\necho \"$*\" >> {}\n", logs[i].display()),
        )
        .unwrap();
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
        let s = script.display().to_string();
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
