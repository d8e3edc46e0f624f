//! systemd integration of hakitd (root, network namespaces): the `Type=notify` protocol on a
//! test-owned `NOTIFY_SOCKET` (READY=1 once the instances have started, WATCHDOG=1 at half of
//! `WATCHDOG_USEC`, STOPPING=1 on SIGTERM), the atomic `--pid-file`, and the unit file in
//! `dist/` passing `systemd-analyze verify`.
mod common;

use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use common::cluster::{Fam, Scenario};
use common::process::{Daemon, TempDir};
use common::topology::Topology;

fn hakitd() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_hakitd"))
}

/// The next datagram, with when it arrived.
fn next(sock: &UnixDatagram) -> Option<(Instant, String)> {
    let mut buf = [0u8; 512];
    let n = sock.recv(&mut buf).ok()?;
    Some((
        Instant::now(),
        String::from_utf8_lossy(&buf[..n]).into_owned(),
    ))
}

#[test]
fn notify_protocol_ready_watchdog_stopping() {
    if !common::is_root() {
        eprintln!("skipped: needs root");
        return;
    }
    let sc = Scenario::v3_fast(Fam::V4);
    let topo = Topology::new(1);
    let dir = TempDir::new(&format!("{}-systemd", topo.prefix));
    let socket = dir.join("notify.sock");
    let sock = UnixDatagram::bind(&socket).expect("binding the notify socket");
    sock.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let pid_file = dir.join("hakitd.pid");
    let watchdog = Duration::from_millis(400);
    let mut args: Vec<String> = vec![
        format!("NOTIFY_SOCKET={}", socket.display()),
        format!("WATCHDOG_USEC={}", watchdog.as_micros()),
        hakitd().display().to_string(),
    ];
    args.extend(sc.args(
        &topo,
        0,
        150,
        &["--pid-file", &pid_file.display().to_string()],
    ));
    // `env` execs hakitd: the PID is the daemon's.
    let mut d = Daemon::spawn(
        "hakitd",
        &topo.nodes[0].ns.name,
        Path::new("/usr/bin/env"),
        &args,
        &dir.join("hakitd.log"),
    );

    let (_, ready) = next(&sock).expect("no READY=1");
    assert!(ready.contains("READY=1"), "first notification: {ready:?}");
    assert!(
        ready.contains(&format!("MAINPID={}", d.pid())),
        "READY without our MAINPID: {ready:?}"
    );
    // Ready means started: the advert socket is open and the instance runs (it was
    // alone, so it becomes Master), and the PID file was there before.
    let pid = std::fs::read_to_string(&pid_file).expect("the PID file exists at READY");
    assert_eq!(pid.trim(), d.pid().to_string());
    let log = std::fs::read_to_string(dir.join("hakitd.log")).unwrap_or_default();
    assert!(
        log.contains("starting"),
        "READY before the instance started:\n{log}"
    );

    // Watchdog pings at half the interval.
    let mut pings = Vec::new();
    while pings.len() < 6 {
        let (at, msg) = next(&sock).expect("watchdog pings stopped");
        assert_eq!(msg, "WATCHDOG=1", "unexpected notification");
        pings.push(at);
    }
    let mut gaps: Vec<Duration> = pings.windows(2).map(|w| w[1] - w[0]).collect();
    gaps.sort();
    let median = gaps[gaps.len() / 2];
    let half = watchdog / 2;
    assert!(
        median > half * 3 / 4 && median < half * 5 / 4,
        "watchdog every {median:?}, expected about {half:?} ({gaps:?})"
    );

    d.signal(libc::SIGTERM);
    let stopping = loop {
        let (_, msg) = next(&sock).expect("no STOPPING=1 after SIGTERM");
        if msg != "WATCHDOG=1" {
            break msg;
        }
    };
    assert_eq!(stopping, "STOPPING=1");
    let status = d.wait_exit(Duration::from_secs(10)).expect("no exit");
    assert!(status.success(), "exit {status:?}");
    assert!(!pid_file.exists(), "the PID file outlived the daemon");
}

#[test]
fn unit_file_passes_systemd_analyze_verify() {
    let Ok(out) = Command::new("systemd-analyze").arg("--version").output() else {
        eprintln!("skipped: no systemd-analyze (scripts/setup.sh installs it)");
        return;
    };
    assert!(out.status.success());
    let unit = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/dist/hakitd.service"))
        .expect("dist/hakitd.service");
    assert!(unit.contains("Type=notify"));
    assert!(unit.contains("CapabilityBoundingSet=CAP_NET_ADMIN CAP_NET_RAW CAP_BPF"));
    // verify checks that ExecStart's binary exists: point it at the one just built.
    let dir = TempDir::new(&format!("hakit-unit-{}", std::process::id()));
    let path = dir.join("hakitd.service");
    std::fs::write(
        &path,
        unit.replace("/usr/local/bin/hakitd", &hakitd().display().to_string()),
    )
    .unwrap();
    let verify = Command::new("systemd-analyze")
        .args(["verify", "--man=no"])
        .arg(&path)
        .output()
        .expect("running systemd-analyze verify");
    let said = String::from_utf8_lossy(&verify.stderr);
    assert!(
        verify.status.success() && said.trim().is_empty(),
        "systemd-analyze verify: {said}"
    );
    let security = Command::new("systemd-analyze")
        .args(["security", "--offline=true"])
        .arg(&path)
        .output()
        .expect("running systemd-analyze security");
    let report = String::from_utf8_lossy(&security.stdout);
    let score = report
        .lines()
        .find_map(|l| l.split("exposure level for hakitd.service: ").nth(1))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|s| s.parse::<f64>().ok())
        .unwrap_or_else(|| panic!("no exposure level in:\n{report}"));
    eprintln!("systemd-analyze security: exposure {score}");
    assert!(score <= 3.0, "exposure {score} (was 2.4):\n{report}");
}
