//! End-to-end: minimal_failover runs keepalived's notify scripts on real transitions (root,
//! network namespaces): the specific script first, then the generic one with
//! `INSTANCE <name> <state> <priority>`, in order, and the STOP ones at shutdown.
mod common;

use std::path::Path;
use std::time::Duration;

use common::cluster::{spawn_node, wait_single_master, Fam, Scenario};
use common::keepalived::Keepalived;
use common::notify_log::{lines, logging_script};
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

/// The reading end of a notify FIFO, created by the test before the daemon starts (so the
/// daemon uses it as it is). Opened read-write and non-blocking: never blocks, never EOF.
struct FifoReader {
    file: std::fs::File,
    text: String,
}

impl FifoReader {
    fn new(path: &Path) -> FifoReader {
        use std::os::unix::fs::OpenOptionsExt;
        let c = std::ffi::CString::new(path.display().to_string()).unwrap();
        // SAFETY: a valid NUL-terminated path for the duration of the call.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0, "mkfifo");
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .custom_flags(libc::O_NONBLOCK)
            .open(path)
            .unwrap();
        FifoReader {
            file,
            text: String::new(),
        }
    }

    /// Every line written so far.
    fn lines(&mut self) -> Vec<String> {
        use std::io::Read;
        let mut buf = [0u8; 4096];
        while let Ok(n) = self.file.read(&mut buf) {
            if n == 0 {
                break;
            }
            self.text.push_str(&String::from_utf8_lossy(&buf[..n]));
        }
        self.text.lines().map(str::to_string).collect()
    }
}
