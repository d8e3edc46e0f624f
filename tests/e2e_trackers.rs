//! End-to-end: keepalived's `track_file` and `track_process` in minimal_failover (root,
//! network namespaces). The number in a tracked file times the weight moves the priority, so
//! writing it moves mastership (the file is watched with inotify, as keepalived does); a total
//! of −254 is FAULT. A tracked process that is gone lowers the priority by its weight.
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

/// Node 0 from a TOML file (priority 200, `tracker` appended to its instance), node 1 from
/// flags at 150, both VRRPv3 at 0.1 s; returns once node 0 is the only Master.
fn start_pair(topo: &Topology, dir: &TempDir, sc: &Scenario, tracker: &str) -> Vec<Daemon> {
    let conf = dir.join("n0.toml");
    std::fs::write(
        &conf,
        format!(
            "[[instance]]\nname = \"web\"\niface = \"eth0\"\nvrid = {}\npriority = 200\n\
             vips = [\"{}\"]\nvrrp_version = 3\nadvert_int = 0.1\n{tracker}\n",
            sc.vrid,
            sc.fam.vip_cidr(),
        ),
    )
    .unwrap();
    let ds: Vec<Daemon> = vec![
        spawn_node(
            topo,
            dir,
            0,
            &["--config".to_string(), conf.display().to_string()],
        ),
        spawn_node(topo, dir, 1, &sc.args(topo, 1, 150, &[])),
    ];
    let live: Vec<(usize, &Daemon)> = ds.iter().enumerate().collect();
    wait_single_master(topo, &live, 0, sc.fam.vip(), SETTLE);
    ds
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
    let tracker = format!(
        "track_file = [{{ path = \"{}\", weight = -1 }}]",
        file.display()
    );
    let ds = start_pair(&topo, &dir, &sc, &tracker);
    let live: Vec<(usize, &Daemon)> = ds.iter().enumerate().collect();

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

/// keepalived's `track_process`: node 0 (priority 200, weight −100) is Master while a process
/// named after this test runs, and yields to node 1 (150) while it does not. The process is
/// a copy of `sleep` under a unique name, started and ended by this test (by PID).
#[test]
fn a_tracked_process_moves_mastership_while_it_is_gone() {
    if !common::is_root() {
        eprintln!("skipped: needs root");
        return;
    }
    let sc = Scenario::v3_fast(Fam::V4);
    let topo = Topology::new(2);
    let dir = TempDir::new(&format!("{}-trackproc", topo.prefix));
    let name = format!("{}svc", topo.prefix);
    let bin = dir.join(&name);
    std::fs::copy("/bin/sleep", &bin).unwrap();
    // Another test's fork may briefly hold the copy's write descriptor (ETXTBSY): retry.
    let start_svc = || {
        for _ in 0..50 {
            match std::process::Command::new(&bin).arg("600").spawn() {
                Ok(child) => return Svc(child),
                Err(e) if e.raw_os_error() == Some(libc::ETXTBSY) => {
                    std::thread::sleep(Duration::from_millis(20))
                }
                Err(e) => panic!("start the tracked process: {e}"),
            }
        }
        panic!("start the tracked process: text file busy for 1 s");
    };
    let svc = start_svc();
    let tracker =
        format!("track_process = [{{ process = \"{name}\", weight = -100, interval = 0.2 }}]");
    let ds = start_pair(&topo, &dir, &sc, &tracker);
    let live: Vec<(usize, &Daemon)> = ds.iter().enumerate().collect();
    drop(svc);
    wait_single_master(&topo, &live, 1, sc.fam.vip(), SETTLE);
    let _svc = start_svc();
    wait_single_master(&topo, &live, 0, sc.fam.vip(), SETTLE);
}

/// The tracked process this test started, ended by its PID when dropped (a failed assertion
/// included).
struct Svc(std::process::Child);

impl Drop for Svc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
