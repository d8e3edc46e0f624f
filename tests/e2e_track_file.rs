//! End-to-end: keepalived's `track_file` in minimal_failover (root, network namespaces). The
//! number in the file times the weight moves the priority, so writing it moves mastership
//! (the file is watched with inotify, as keepalived does); a total of −254 is FAULT.
mod common;

use std::path::Path;
use std::time::Duration;

use common::cluster::{spawn_node, wait_single_master, Fam, Scenario};
use common::process::{wait_until, Daemon, TempDir};
use common::topology::Topology;

const SETTLE: Duration = Duration::from_secs(6);

/// Writes `value` the way an operator's `echo N > file` does (in place).
fn write(path: &Path, value: &str) {
    std::fs::write(path, format!("{value}\n")).unwrap();
}

#[test]
fn a_tracked_files_value_moves_mastership_and_faults_at_minus_254() {
    if !common::is_root() {
        eprintln!("skipped: needs root");
        return;
    }
    let sc = Scenario::v3_fast(Fam::V4);
    let topo = Topology::new(2);
    let dir = TempDir::new(&format!("{}-trackfile", topo.prefix));
    let file = dir.join("maint");
    write(&file, "0");
    let conf = dir.join("n0.toml");
    std::fs::write(
        &conf,
        format!(
            "[[instance]]\nname = \"web\"\niface = \"eth0\"\nvrid = {}\npriority = 200\n\
             vips = [\"{}\"]\nvrrp_version = 3\nadvert_int = 0.1\n\
             track_file = [{{ path = \"{}\", weight = -1 }}]\n",
            sc.vrid,
            sc.fam.vip_cidr(),
            file.display()
        ),
    )
    .unwrap();
    let ds: Vec<Daemon> = vec![
        spawn_node(
            &topo,
            &dir,
            0,
            &["--config".to_string(), conf.display().to_string()],
        ),
        spawn_node(&topo, &dir, 1, &sc.args(&topo, 1, 150, &[])),
    ];
    let live: Vec<(usize, &Daemon)> = ds.iter().enumerate().collect();
    wait_single_master(&topo, &live, 0, sc.fam.vip(), SETTLE);

    // 100 × −1: node 0 drops to 100, below node 1's 150, which preempts it.
    write(&file, "100");
    wait_single_master(&topo, &live, 1, sc.fam.vip(), SETTLE);
    // Back to 0: node 0 is 200 again and preempts back.
    write(&file, "0");
    wait_single_master(&topo, &live, 0, sc.fam.vip(), SETTLE);
    // 254 × −1 = −254: FAULT, node 1 takes over.
    write(&file, "254");
    assert!(
        wait_until(SETTLE, || ds[0].state() == "Fault"
            && ds[1].state() == "Master"
            && topo.holders(sc.fam.vip()) == vec![1]),
        "{}\n{}",
        ds[0].log_text(),
        ds[1].log_text()
    );
    // A missing file counts 0 (FileCheck's rule for an unreadable file): out of FAULT,
    // Master again.
    std::fs::remove_file(&file).unwrap();
    wait_single_master(&topo, &live, 0, sc.fam.vip(), SETTLE);
}
