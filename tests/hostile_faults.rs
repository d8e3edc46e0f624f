//! Bad days, in namespaces (root): a second copy of a running daemon, a tracked and an own
//! interface deleted and re-created, a panic inside the engine. Each must end in a state
//! (refused, FAULT, a clean stop), never in a daemon that exits and leaves its VIP behind or
//! runs on half alive.
mod common;

use std::time::Duration;

use common::cluster::{spawn_node, wait_single_master, Fam, Scenario};
use common::process::{wait_until, Daemon, TempDir};
use common::topology::{in_netns, Topology, VIP4};
use hakit::fsm::State;
use hakit::{Config, Daemon as HaDaemon, Event, VrrpInstance};

fn need_root() -> bool {
    if !common::is_root() {
        eprintln!("skipped: needs root");
        return false;
    }
    true
}

/// A second copy with the same arguments on the Master's node is refused before it touches
/// anything: the Master keeps its VIP and its state, and still holds it after the copy exits.
#[test]
fn a_second_copy_is_refused_and_touches_nothing() {
    if !need_root() {
        return;
    }
    let sc = Scenario::v3_fast(Fam::V4);
    let topo = Topology::new(2);
    let dir = TempDir::new(&format!("{}-copy", topo.prefix));
    let ds = [
        spawn_node(&topo, &dir, 0, &sc.args(&topo, 0, 200, &[])),
        spawn_node(&topo, &dir, 1, &sc.args(&topo, 1, 100, &[])),
    ];
    let live: Vec<(usize, &Daemon)> = ds.iter().enumerate().collect();
    wait_single_master(&topo, &live, 0, VIP4, Duration::from_secs(6));
    // The running daemon kept only the capabilities it needs, and no_new_privs.
    let status = std::fs::read_to_string(format!("/proc/{}/status", ds[0].pid())).unwrap();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .map(|v| u64::from_str_radix(v.trim(), 16).unwrap())
            .unwrap()
    };
    let kept: u64 = hakit::runtime::privileges::KEPT
        .iter()
        .fold(0, |m, &c| m | (1u64 << c));
    assert_eq!(field("CapEff:") & !kept, 0, "{status}");
    assert_eq!(field("CapBnd:") & !kept, 0, "{status}");
    assert_eq!(field("NoNewPrivs:"), 1, "{status}");
    let mut copy = spawn_node(&topo, &dir, 0, &sc.args(&topo, 0, 200, &[]));
    let status = copy.wait_exit(Duration::from_secs(5));
    assert!(
        status.is_some_and(|s| !s.success()),
        "the copy ran: {status:?}"
    );
    let log = copy.log_text();
    assert!(
        log.contains("already run by PID") && log.contains(&ds[0].pid().to_string()),
        "{log}"
    );
    // Watched for a while: the first daemon stays the only Master and keeps the VIP.
    for _ in 0..20 {
        assert_eq!(topo.holders(VIP4), vec![0]);
        assert_eq!(ds[0].state(), "Master");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Deleting a tracked interface is FAULT (the VIP goes, the peer takes over), re-creating it
/// recovers; deleting the instance's own interface is FAULT too, and once an interface of that
/// name is back the instance reopens its sockets and takes the VIP back (preempt).
#[test]
fn deleted_interfaces_are_fault_and_their_return_recovers() {
    if !need_root() {
        return;
    }
    let sc = Scenario::v3_fast(Fam::V4);
    let topo = Topology::new(2);
    let dir = TempDir::new(&format!("{}-ifdel", topo.prefix));
    let n0 = &topo.nodes[0].ns;
    let veth = |add: bool| {
        let args: &[&str] = if add {
            &[
                "link", "add", "trk0", "type", "veth", "peer", "name", "trk1",
            ]
        } else {
            &["link", "del", "trk0"]
        };
        n0.ip(args).unwrap();
        if add {
            n0.ip(&["link", "set", "trk0", "up"]).unwrap();
            n0.ip(&["link", "set", "trk1", "up"]).unwrap();
        }
    };
    veth(true);
    let ds = [
        spawn_node(
            &topo,
            &dir,
            0,
            &sc.args(&topo, 0, 200, &["--track-iface", "trk0"]),
        ),
        spawn_node(&topo, &dir, 1, &sc.args(&topo, 1, 100, &[])),
    ];
    let live: Vec<(usize, &Daemon)> = ds.iter().enumerate().collect();
    wait_single_master(&topo, &live, 0, VIP4, Duration::from_secs(6));

    veth(false);
    assert!(
        wait_until(Duration::from_secs(3), || ds[0].state() == "Fault"
            && topo.holders(VIP4) == vec![1]),
        "tracked interface deleted: {:?} {:?}\n{}",
        ds[0].lines(),
        topo.holders(VIP4),
        ds[0].log_text()
    );
    veth(true);
    wait_single_master(&topo, &live, 0, VIP4, Duration::from_secs(6));

    // The own interface: its veth pair deleted from the bridge side, then a new one.
    topo.bridge
        .ip(&["link", "del", &topo.nodes[0].bridge_port])
        .unwrap();
    assert!(
        wait_until(Duration::from_secs(3), || ds[0].state() == "Fault"
            && topo.holders(VIP4) == vec![1]),
        "own interface deleted: {:?}\n{}",
        ds[0].lines(),
        ds[0].log_text()
    );
    let (br, ns, port) = (&topo.bridge.name, &n0.name, &topo.nodes[0].bridge_port);
    for args in [
        vec![
            "-n", br, "link", "add", port, "type", "veth", "peer", "name", "eth0", "netns", ns,
        ],
        vec![
            "-n",
            ns,
            "link",
            "set",
            "eth0",
            "address",
            "02:00:00:00:00:01",
        ],
        vec!["-n", br, "link", "set", port, "master", "br0"],
        vec!["-n", br, "link", "set", port, "up"],
        vec!["-n", ns, "addr", "add", "10.200.0.1/24", "dev", "eth0"],
        vec!["-n", ns, "link", "set", "eth0", "up"],
    ] {
        common::topology::ip(&args);
    }
    wait_single_master(&topo, &live, 0, VIP4, Duration::from_secs(8));
    assert!(
        ds[0].log_text().contains("sockets reopened"),
        "{}",
        ds[0].log_text()
    );
}

/// A panic on the VRRP thread, or in one of the daemon's tokio tasks, ends in the same clean
/// stop as a shutdown (the VIP removed, `Stopped` with the reason), never a half-alive daemon.
#[test]
fn a_panic_anywhere_stops_cleanly() {
    if !need_root() {
        return;
    }
    for vrrp_thread in [true, false] {
        let topo = Topology::new(1);
        let ns = topo.nodes[0].ns.name.clone();
        let dir = TempDir::new(&format!("{}-panic", topo.prefix));
        let lock_dir = dir.join("locks").display().to_string();
        let holds = move |ns: &str| {
            common::topology::ip(&["-n", ns, "-o", "addr", "show", "dev", "eth0"])
                .contains(&format!("{VIP4}/24"))
        };
        let inside = ns.clone();
        let error = in_netns(&ns, move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let mut config = Config::new().instance(
                    VrrpInstance::new("web", "eth0", 61, 150)
                        .vrrp_version(3)
                        .advert_int(0.1)
                        .vip(format!("{VIP4}/24")),
                );
                config.lock_dir = Some(lock_dir);
                let mut daemon = HaDaemon::start(config).await.expect("start");
                let mut events = daemon.events();
                loop {
                    match tokio::time::timeout(Duration::from_secs(5), events.recv()).await {
                        Ok(Some(Event::StateChanged {
                            to: State::Master, ..
                        })) => break,
                        Ok(Some(_)) => {}
                        other => panic!("no Master: {other:?}"),
                    }
                }
                assert!(holds(&inside));
                daemon.inject_panic(vrrp_thread);
                let stopped = loop {
                    match tokio::time::timeout(Duration::from_secs(5), events.recv()).await {
                        Ok(Some(Event::Stopped { error })) => break error,
                        Ok(Some(_)) => {}
                        other => panic!("no Stopped after the panic: {other:?}"),
                    }
                };
                assert!(!holds(&inside), "the VIP stayed after the panic");
                let result = daemon.shutdown().await;
                assert!(result.is_err(), "{result:?}");
                stopped
            })
        });
        let error = error.expect("Stopped carries the panic");
        assert!(error.contains("panicked"), "{error}");
    }
}

/// The processes a notify script leaves: `left` forked, `setsid`ed away and still running when
/// the script (notify_backup) exits; `orphan` forked through a subshell that exits at once, so
/// it is re-parented while the script runs and exits a second later; `hung` `setsid`ed away
/// by notify_master, which then hangs. Each writes its PID to a file in `dir`.
fn escaping_scripts(dir: &std::path::Path) -> (String, String) {
    use std::os::unix::fs::PermissionsExt;
    let d = dir.display();
    let write = |name: &str, body: String| {
        let path = dir.join(name);
        std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        path.display().to_string()
    };
    let backup = write(
        "backup.sh",
        format!("setsid sh -c 'echo $$ > {d}/left.pid; exec sleep 1000' &\nexit 0"),
    );
    let master = write(
        "master.sh",
        format!(
            "echo $$ > {d}/script.pid\n\
             (sh -c 'echo $$ > {d}/orphan.pid; exec sleep 1' &)\n\
             setsid sh -c 'echo $$ > {d}/hung.pid; exec sleep 1000' &\n\
             exec sleep 1000"
        ),
    );
    (backup, master)
}

/// A script or its leftover, by the PID it wrote to `dir/name`; killed when dropped if still
/// running (keepalived leaves them).
struct Leftover {
    pid: i32,
}

impl Leftover {
    fn wait(dir: &std::path::Path, name: &str) -> Leftover {
        let path = dir.join(name);
        let mut pid = None;
        assert!(
            wait_until(Duration::from_secs(15), || {
                pid = std::fs::read_to_string(&path)
                    .ok()
                    .and_then(|s| s.trim().parse().ok());
                pid.is_some()
            }),
            "{} never written",
            path.display()
        );
        Leftover { pid: pid.unwrap() }
    }

    fn stat(&self) -> Option<hakit::runtime::reaper::ProcStat> {
        hakit::runtime::reaper::ProcStat::read(self.pid)
    }

    /// Running (not gone, not a zombie).
    fn running(&self) -> bool {
        self.stat().is_some_and(|s| s.state != 'Z')
    }

    /// Gone for good: neither running nor a zombie left for nobody to reap.
    fn gone(&self) -> bool {
        self.stat().is_none()
    }
}

impl Drop for Leftover {
    /// Whatever a daemon left behind goes with the test (its own session: the PID only).
    fn drop(&mut self) {
        if self.running() {
            common::process::signal(self.pid as u32, libc::SIGKILL);
        }
    }
}

/// Zombie children of `pid`: what nobody reaped.
fn zombies_of(pid: u32) -> Vec<i32> {
    hakit::runtime::reaper::children_of(pid as i32)
        .into_iter()
        .filter(|&c| hakit::runtime::reaper::ProcStat::read(c).is_some_and(|s| s.state == 'Z'))
        .collect()
}

/// A notify script that forks, `setsid`s and hangs, side by side with keepalived 2.2.7. Both
/// daemons are child subreapers: a script's orphan becomes their child and is reaped when it
/// exits (no zombie). Ours also kills, at the script's 10 s timeout, what the script started
/// in another session, and at shutdown every orphan still running; keepalived sets no timeout
/// on notify scripts and leaves both running after it stopped (printed, then killed here).
#[test]
fn a_notify_script_that_forks_setsids_and_hangs_leaves_nothing() {
    if !need_root() {
        return;
    }
    let sc = Scenario::v3_fast(Fam::V4);
    let (topo_mf, topo_ka) = (Topology::new(1), Topology::new(1));
    let dir = TempDir::new(&format!("{}-reap", topo_mf.prefix));
    let (dir_mf, dir_ka) = (dir.join("mf"), dir.join("ka"));
    for d in [&dir_mf, &dir_ka] {
        std::fs::create_dir_all(d).unwrap();
    }
    let (backup_mf, master_mf) = escaping_scripts(&dir_mf);
    let (backup_ka, master_ka) = escaping_scripts(&dir_ka);
    let mut mf = spawn_node(
        &topo_mf,
        &dir,
        0,
        &sc.args(
            &topo_mf,
            0,
            200,
            &["--notify-backup", &backup_mf, "--notify-master", &master_mf],
        ),
    );
    let ka_conf = common::peer::ka_instance(&sc, &topo_ka, 0, 200)
        .config("reap")
        .replace(
            "  virtual_ipaddress {",
            &format!(
                "  notify_backup {backup_ka}\n  notify_master {master_ka}\n  virtual_ipaddress {{"
            ),
        );
    let mut ka = common::keepalived::Keepalived::start_with_config(
        "reap",
        &topo_ka.nodes[0].ns.name,
        &ka_conf,
        &dir_ka,
    );
    let (mf_pid, ka_pid) = (mf.pid() as i32, ka.daemon.pid() as i32);

    // The orphan is re-parented to each daemon (the subreaper), not to init.
    let orphans = [
        Leftover::wait(&dir_mf, "orphan.pid"),
        Leftover::wait(&dir_ka, "orphan.pid"),
    ];
    for (o, parent) in orphans.iter().zip([mf_pid, ka_pid]) {
        assert!(
            wait_until(Duration::from_millis(800), || o
                .stat()
                .is_some_and(|s| s.ppid == parent)),
            "orphan {} not adopted by {parent}: {:?}",
            o.pid,
            o.stat()
        );
    }
    // It exits after a second: reaped by both, no zombie.
    for o in &orphans {
        assert!(
            wait_until(Duration::from_secs(4), || o.gone()),
            "orphan {} left a zombie: {:?}",
            o.pid,
            o.stat()
        );
    }
    let hung = [
        Leftover::wait(&dir_mf, "hung.pid"),
        Leftover::wait(&dir_ka, "hung.pid"),
    ];
    let left = [
        Leftover::wait(&dir_mf, "left.pid"),
        Leftover::wait(&dir_ka, "left.pid"),
    ];
    // The hung scripts themselves (keepalived's is never timed out).
    let scripts = [
        Leftover::wait(&dir_mf, "script.pid"),
        Leftover::wait(&dir_ka, "script.pid"),
    ];
    assert!(left[0]
        .stat()
        .is_some_and(|s| s.ppid == mf_pid && s.state != 'Z'));
    // Ours: notify_master timed out after 10 s; what it setsid'ed away went with it.
    assert!(
        wait_until(Duration::from_secs(15), || hung[0].gone()),
        "the hung script's escapee survived its timeout: {:?}\n{}",
        hung[0].stat(),
        mf.log_text()
    );
    assert!(scripts[0].gone(), "{:?}", scripts[0].stat());
    let ka_hung_after_timeout = hung[1].running();
    assert!(
        zombies_of(mf.pid()).is_empty(),
        "{:?}",
        zombies_of(mf.pid())
    );
    assert!(zombies_of(ka.daemon.pid()).is_empty());

    // Shutdown: ours ends what the scripts left running; keepalived leaves it.
    mf.signal(libc::SIGTERM);
    assert!(
        mf.wait_exit(Duration::from_secs(15)).is_some(),
        "{}",
        mf.log_text()
    );
    assert!(
        left[0].gone(),
        "left running after the daemon stopped: {:?}",
        left[0].stat()
    );
    ka.stop();
    let ka_left = [&hung[1], &left[1], &scripts[1]]
        .iter()
        .filter(|l| l.running())
        .count();
    eprintln!(
        "| | hakit | keepalived |\n|---|---|---|\n\
         | orphan re-parented to the daemon, reaped (no zombie) | yes | yes |\n\
         | setsid'ed child of a hung script, after its timeout | killed | {} |\n\
         | processes scripts left running after the daemon stopped | 0 | {ka_left} |",
        if ka_hung_after_timeout {
            "running (no timeout)"
        } else {
            "gone"
        }
    );
}
