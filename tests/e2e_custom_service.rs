//! End-to-end: `examples/custom_service.rs`, the README's 30-line HA service on the hakit
//! runtime, as two real nodes in network namespaces (root). Each node's TCP check connects to
//! a listener this test holds on the node's own 127.0.0.1:8080.
//!
//! - SIGKILL of the Master: the Backup's GARP follows the Master's last advert within
//!   Master_Down_Interval + 50 ms, on the wire.
//! - The killed node left its VIP configured (the kernel keeps it); restarted, the library
//!   removes it before the instance starts, and from then on (polled every 20 ms, through a
//!   whole Master_Down_Interval and more) it never holds the VIP while the other is Master.
//! - The Master's check fails (its listener closes): priority −50, the other node preempts;
//!   the listener back, mastership comes back.
mod common;

use std::net::TcpListener;
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::pcap::{failover_gap, Capture};
use common::process::{example_binary_named, wait_until, Daemon, TempDir};
use common::topology::{Topology, VIP4};

const SLACK: Duration = Duration::from_millis(50);

/// Master_Down_Interval of VRRPv3 at 1 s adverts: 3 intervals plus the skew.
fn master_down(priority: u8) -> Duration {
    Duration::from_secs(3) + Duration::from_secs(1) * u32::from(256 - u16::from(priority)) / 256
}

/// A TCP listener on 127.0.0.1:8080 inside namespace `ns`, accepting until dropped.
struct Listener {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Listener {
    fn start(ns: &str) -> Listener {
        let path = format!("/var/run/netns/{ns}");
        let stop = Arc::new(AtomicBool::new(false));
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            let file = std::fs::File::open(&path).expect("opening the namespace");
            // SAFETY: setns on this thread only, with a namespace descriptor we hold open.
            let rc = unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) };
            assert_eq!(rc, 0, "setns {path}");
            let l = TcpListener::bind("127.0.0.1:8080").expect("bind 127.0.0.1:8080");
            l.set_nonblocking(true).unwrap();
            ready_tx.send(()).unwrap();
            while !flag.load(Ordering::SeqCst) {
                match l.accept() {
                    Ok((conn, _)) => drop(conn),
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        ready_rx
            .recv_timeout(Duration::from_secs(5))
            .expect("listener ready");
        Listener {
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// custom_service on node `i` at `priority`.
fn spawn(topo: &Topology, dir: &TempDir, i: usize, priority: u8, run: &str) -> Daemon {
    let args = [
        "eth0".to_string(),
        priority.to_string(),
        format!("{VIP4}/24"),
    ];
    Daemon::spawn(
        &format!("cs{i}"),
        &topo.nodes[i].ns.name,
        &example_binary_named("custom_service"),
        &args,
        &dir.join(&format!("cs{i}-{run}.log")),
    )
}

/// The state custom_service printed last (`web: BACKUP -> MASTER (...)`), "INIT" before any.
fn state(d: &Daemon) -> String {
    d.lines()
        .iter()
        .rev()
        .find_map(|l| {
            let after = l.split(" -> ").nth(1)?;
            Some(after.split_whitespace().next()?.to_string())
        })
        .unwrap_or_else(|| "INIT".into())
}

fn holds(topo: &Topology, i: usize) -> bool {
    topo.nodes[i].has_addr(VIP4)
}

/// Waits until node `master` is the only Master and holder and `backup` is Backup.
fn wait_master(topo: &Topology, ds: [(&Daemon, usize); 2], master: usize, timeout: Duration) {
    let ok = wait_until(timeout, || {
        ds.iter().all(|(d, i)| {
            let want = if *i == master { "MASTER" } else { "BACKUP" };
            state(d) == want && holds(topo, *i) == (*i == master)
        })
    });
    if !ok {
        let mut msg = format!("expected node {master} as the only Master\n");
        for (d, i) in ds {
            msg += &format!(
                "--- node {i}: {:?}, holds {}\n{}\n",
                d.lines(),
                holds(topo, i),
                d.log_text()
            );
        }
        panic!("{msg}");
    }
}

#[test]
fn custom_service_fails_over_restarts_clean_and_follows_its_check() {
    if !common::is_root() {
        eprintln!("skipped: needs root");
        return;
    }
    let topo = Topology::new(2);
    let dir = TempDir::new(&format!("{}-custom", topo.prefix));
    for n in &topo.nodes {
        n.ns.ip(&["link", "set", "lo", "up"]).unwrap();
    }
    let _l0 = Listener::start(&topo.nodes[0].ns.name);
    let mut l1 = Some(Listener::start(&topo.nodes[1].ns.name));
    let cap = Capture::start(&topo.observer.name, "eth0", &dir.join("cap.pcap"));

    let mut n0 = spawn(&topo, &dir, 0, 200, "a");
    let n1 = spawn(&topo, &dir, 1, 150, "a");
    wait_master(&topo, [(&n0, 0), (&n1, 1)], 0, Duration::from_secs(10));

    // SIGKILL of the Master: the Backup takes over on time, on the wire.
    std::thread::sleep(Duration::from_secs(2));
    n0.kill();
    let bound = master_down(150);
    wait_until(bound * 2, || state(&n1) == "MASTER" && holds(&topo, 1));
    std::thread::sleep(Duration::from_millis(100));
    let frames = cap.stop();
    let (_, gap) = failover_gap(
        &frames,
        topo.nodes[0].mac,
        topo.nodes[1].mac,
        VIP4.parse().unwrap(),
        Duration::ZERO,
    )
    .expect("the new Master's GARP after the old Master's last advert");
    eprintln!("custom_service: failover gap {gap:?}, Master_Down_Interval {bound:?}");
    assert!(gap <= bound + SLACK, "gap {gap:?} > {bound:?} + 50 ms");
    assert!(gap + SLACK >= bound, "gap {gap:?}: took over too early");

    // The killed node's VIP is still configured: the split brain a restart must clear.
    assert!(holds(&topo, 0), "SIGKILL left no stale VIP to clean up");
    let n0 = spawn(&topo, &dir, 0, 120, "b");
    assert!(
        wait_until(Duration::from_secs(10), || state(&n0) == "BACKUP"),
        "restarted node never reached Backup: {:?}\n{}",
        n0.lines(),
        n0.log_text()
    );
    let started = Instant::now();
    let mut polls = 0;
    while started.elapsed() < bound + Duration::from_secs(2) {
        let (h0, h1) = (holds(&topo, 0), holds(&topo, 1));
        assert!(
            !h0 && h1 && state(&n1) == "MASTER",
            "poll {polls}: restarted node holds {h0}, Master holds {h1} ({})",
            state(&n1)
        );
        polls += 1;
        std::thread::sleep(Duration::from_millis(20));
    }
    eprintln!("custom_service: {polls} polls, the restarted node never held the VIP");

    // The Master's check fails: 150 - 50 = 100 < 120, node 0 preempts; back up, node 1 does.
    drop(l1.take());
    wait_master(
        &topo,
        [(&n0, 0), (&n1, 1)],
        0,
        Duration::from_secs(2) + master_down(120) * 2,
    );
    l1 = Some(Listener::start(&topo.nodes[1].ns.name));
    wait_master(
        &topo,
        [(&n0, 0), (&n1, 1)],
        1,
        Duration::from_secs(2) + master_down(150) * 2,
    );
    drop(l1);

    // SIGTERM is graceful: the VIP goes with the Master.
    n1.signal(libc::SIGTERM);
    let mut n1 = n1;
    let status = n1.wait_exit(Duration::from_secs(10));
    assert!(status.is_some_and(|s| s.success()), "exit {status:?}");
    assert!(!holds(&topo, 1), "the VIP stayed after SIGTERM");
}
