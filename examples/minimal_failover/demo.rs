//! `--demo`: a failover you can watch, on any Linux box with iproute2 (run as root).
//!
//! It builds its own namespaces on a bridge (two nodes and a passive observer), starts two
//! instances of this very binary (VRRPv3, 100 ms adverts), kills the Master with SIGKILL, then
//! restarts it (it preempts back) and stops it with SIGTERM. It prints the timeline and the
//! failover times measured on the wire by the observer, next to the RFC 5798 bounds, then
//! deletes everything it created.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, ExitCode, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::demo_capture::{WireEvent, WireKind, WireTap};

const VRID: u8 = 51;
const ADVERT_MS: u64 = 100;
const PRIO_A: u8 = 200;
const PRIO_B: u8 = 100;
const VIP: &str = "10.99.0.100";

static INTERRUPTED: AtomicBool = AtomicBool::new(false);

extern "C" fn on_sigint(_: libc::c_int) {
    INTERRUPTED.store(true, Ordering::SeqCst);
}

/// A failure of the demo (it cleans up and exits 1).
type DemoResult<T> = Result<T, String>;

fn ip(args: &[&str]) -> DemoResult<()> {
    let out = Command::new("ip")
        .args(args)
        .output()
        .map_err(|e| format!("running ip (install iproute2): {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "ip {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(())
}

/// The namespaces of the demo; dropping it deletes them.
struct Namespaces {
    names: Vec<String>,
}

impl Namespaces {
    fn build(prefix: &str) -> DemoResult<Namespaces> {
        let mut ns = Namespaces { names: Vec::new() };
        let br = format!("{prefix}-br");
        for name in [
            br.clone(),
            format!("{prefix}-a"),
            format!("{prefix}-b"),
            format!("{prefix}-obs"),
        ] {
            ip(&["netns", "add", &name])?;
            ns.names.push(name.clone());
            ip(&["-n", &name, "link", "set", "lo", "up"])?;
        }
        ip(&[
            "-n",
            &br,
            "link",
            "add",
            "br0",
            "type",
            "bridge",
            "stp_state",
            "0",
            "forward_delay",
            "0",
            "mcast_snooping",
            "0",
            "ageing_time",
            "0",
        ])?;
        ip(&["-n", &br, "link", "set", "br0", "up"])?;
        for (k, node) in ["a", "b", "obs"].iter().enumerate() {
            let inner = format!("{prefix}-{node}");
            let port = format!("v{node}");
            ip(&[
                "-n", &br, "link", "add", &port, "type", "veth", "peer", "name", "eth0", "netns",
                &inner,
            ])?;
            ip(&[
                "-n",
                &inner,
                "link",
                "set",
                "eth0",
                "address",
                &format!("02:00:00:00:99:0{}", k + 1),
            ])?;
            ip(&["-n", &br, "link", "set", &port, "master", "br0"])?;
            ip(&["-n", &br, "link", "set", &port, "up"])?;
            ip(&["-n", &inner, "link", "set", "eth0", "up"])?;
            if *node != "obs" {
                ip(&[
                    "-n",
                    &inner,
                    "addr",
                    "add",
                    &format!("10.99.0.{}/24", k + 1),
                    "dev",
                    "eth0",
                ])?;
            }
        }
        Ok(ns)
    }
}

impl Drop for Namespaces {
    fn drop(&mut self) {
        for n in self.names.iter().rev() {
            let _ = Command::new("ip").args(["netns", "del", n]).status();
        }
    }
}

/// One node: this binary run inside its namespace; SIGKILLed on drop if still running.
struct Node {
    label: &'static str,
    child: Option<Child>,
}

impl Node {
    fn pid(&self) -> u32 {
        self.child.as_ref().map(Child::id).unwrap_or(0)
    }

    fn signal(&self, sig: libc::c_int) {
        if let Some(c) = &self.child {
            // SAFETY: kill(2) on the pid of our own child; no memory involved.
            unsafe {
                libc::kill(c.id() as libc::pid_t, sig);
            }
        }
    }

    fn reap(&mut self) -> Option<std::process::ExitStatus> {
        let c = self.child.as_mut()?;
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(st)) = c.try_wait() {
                self.child = None;
                return Some(st);
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        None
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// A transition line from a node, with when it was read.
struct Line {
    at: Instant,
    node: &'static str,
    from: String,
    to: String,
    reason: String,
}

struct Demo {
    t0: Instant,
    prefix: String,
    tx: mpsc::Sender<Line>,
    rx: mpsc::Receiver<Line>,
    state: [String; 2],
}

impl Demo {
    fn say(&self, at: Instant, msg: &str) {
        println!(
            "[{:>8.3} s] {msg}",
            at.duration_since(self.t0).as_secs_f64()
        );
    }

    fn spawn(&self, label: &'static str, prio: u8) -> DemoResult<Node> {
        let exe = std::env::current_exe().map_err(|e| format!("locating this binary: {e}"))?;
        let ns = format!("{}-{}", self.prefix, label.to_ascii_lowercase());
        let mut child = Command::new("ip")
            .args(["netns", "exec", &ns])
            .arg(exe)
            .args([
                "--iface",
                "eth0",
                "--vrid",
                &VRID.to_string(),
                "--priority",
                &prio.to_string(),
            ])
            .args([
                "--vip",
                &format!("{VIP}/24"),
                "--vrrp-version",
                "3",
                "--advert-int",
                "0.1",
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("starting node {label}: {e}"))?;
        let out = child.stdout.take().ok_or("no stdout")?;
        let tx = self.tx.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                let Ok(v) = serde_json::from_str::<serde_json::Value>(&line) else {
                    continue;
                };
                let s = |k: &str| v.get(k).and_then(|x| x.as_str()).unwrap_or("?").to_string();
                let _ = tx.send(Line {
                    at: Instant::now(),
                    node: label,
                    from: s("from"),
                    to: s("to"),
                    reason: s("reason"),
                });
            }
        });
        let node = Node {
            label,
            child: Some(child),
        };
        self.say(
            Instant::now(),
            &format!("node {label} started (priority {prio}, pid {})", node.pid()),
        );
        Ok(node)
    }

    /// Prints transitions until `done(states)` holds or `timeout` passes.
    fn until(&mut self, timeout: Duration, done: impl Fn(&[String; 2]) -> bool) -> DemoResult<()> {
        let deadline = Instant::now() + timeout;
        while !done(&self.state) {
            if INTERRUPTED.load(Ordering::SeqCst) {
                return Err("interrupted".into());
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(format!(
                    "timed out waiting; states A={} B={}",
                    self.state[0], self.state[1]
                ));
            }
            if let Ok(l) = self.rx.recv_timeout(left.min(Duration::from_millis(50))) {
                self.say(
                    l.at,
                    &format!("node {}: {} -> {} ({})", l.node, l.from, l.to, l.reason),
                );
                self.state[usize::from(l.node == "B")] = l.to;
            }
        }
        Ok(())
    }

    fn pause(&mut self, d: Duration) -> DemoResult<()> {
        let end = Instant::now() + d;
        let _ = self.until(d, |_| Instant::now() >= end);
        if INTERRUPTED.load(Ordering::SeqCst) {
            return Err("interrupted".into());
        }
        Ok(())
    }
}

fn wall(d: Duration, t0_wall: Duration, t0: Instant) -> Instant {
    t0 + d.saturating_sub(t0_wall)
}

/// Prints the on-wire failover between `old` and `new` MACs after `since`.
fn report_gap(
    demo: &Demo,
    events: &[WireEvent],
    old: [u8; 6],
    new: [u8; 6],
    since: Duration,
    bound: Duration,
    what: &str,
) -> Option<Duration> {
    let last = events
        .iter()
        .rev()
        .find(|e| e.ts >= since && e.src == old && matches!(e.kind, WireKind::Advert { .. }))?;
    let first = events
        .iter()
        .find(|e| e.ts >= last.ts && e.src == new && matches!(e.kind, WireKind::Garp))?;
    let gap = first.ts - last.ts;
    let prio = match last.kind {
        WireKind::Advert { priority } => priority,
        _ => 0,
    };
    let t0_wall = demo.t0_wall();
    demo.say(
        wall(last.ts, t0_wall, demo.t0),
        &format!("wire: last advert of the old Master (priority {prio})"),
    );
    demo.say(
        wall(first.ts, t0_wall, demo.t0),
        "wire: first gratuitous ARP of the new Master",
    );
    println!(
        "    {what}: {:.3} ms on the wire; RFC 5798 bound {:.3} ms ({:+.3} ms)",
        gap.as_secs_f64() * 1e3,
        bound.as_secs_f64() * 1e3,
        (gap.as_secs_f64() - bound.as_secs_f64()) * 1e3
    );
    Some(gap)
}

impl Demo {
    fn t0_wall(&self) -> Duration {
        let now_wall = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        now_wall.saturating_sub(self.t0.elapsed())
    }
}

fn scenario(demo: &mut Demo, tap: &WireTap) -> DemoResult<()> {
    let mac_a = [2, 0, 0, 0, 0x99, 1];
    let mac_b = [2, 0, 0, 0, 0x99, 2];
    let adv = Duration::from_millis(ADVERT_MS);
    let skew = |p: u8| adv * (256 - u32::from(p)) / 256;
    let master_down = |p: u8| adv * 3 + skew(p);

    println!("\n== 1. Election: A (priority {PRIO_A}) and B (priority {PRIO_B}), VRRPv3, adverts every {ADVERT_MS} ms");
    let mut a = demo.spawn("A", PRIO_A)?;
    let b = demo.spawn("B", PRIO_B)?;
    demo.until(Duration::from_secs(5), |s| {
        s[0] == "Master" && s[1] == "Backup"
    })?;
    // Wire events from here on belong to the next failover.
    let since = demo.t0_wall() + demo.t0.elapsed();
    demo.pause(Duration::from_millis(500))?;

    println!(
        "\n== 2. Hard failover: SIGKILL the Master (A); B takes over after Master_Down_Interval"
    );
    demo.say(
        Instant::now(),
        &format!("SIGKILL node {} (pid {})", a.label, a.pid()),
    );
    a.signal(libc::SIGKILL);
    let _ = a.reap();
    demo.until(Duration::from_secs(5), |s| s[1] == "Master")?;
    demo.pause(Duration::from_millis(100))?;
    let hard = report_gap(
        demo,
        &tap.events(),
        mac_a,
        mac_b,
        since,
        master_down(PRIO_B),
        "failover (A's last advert -> B's first GARP)",
    );
    println!(
        "    Master_Down_Interval = 3 x {ADVERT_MS} ms + (256 - {PRIO_B}) / 256 x {ADVERT_MS} ms"
    );

    println!("\n== 3. A comes back: it removes the VIP its crash left behind and preempts B");
    let mut a = demo.spawn("A", PRIO_A)?;
    demo.until(Duration::from_secs(5), |s| {
        s[0] == "Master" && s[1] == "Backup"
    })?;
    let since = demo.t0_wall() + demo.t0.elapsed();
    demo.pause(Duration::from_millis(500))?;

    println!("\n== 4. Graceful failover: SIGTERM the Master (A): priority-0 advert, B takes over after Skew_Time");
    demo.say(Instant::now(), &format!("SIGTERM node A (pid {})", a.pid()));
    a.signal(libc::SIGTERM);
    let st = a.reap();
    demo.until(Duration::from_secs(5), |s| s[1] == "Master")?;
    demo.say(
        Instant::now(),
        &format!(
            "node A exited with {}",
            st.and_then(|s| s.code())
                .map_or("?".into(), |c| c.to_string())
        ),
    );
    demo.pause(Duration::from_millis(100))?;
    let graceful = report_gap(
        demo,
        &tap.events(),
        mac_a,
        mac_b,
        since,
        skew(PRIO_B),
        "failover (A's priority-0 advert -> B's first GARP)",
    );
    println!("    Skew_Time = (256 - {PRIO_B}) / 256 x {ADVERT_MS} ms");
    drop(b);

    println!("\n== Summary");
    if let Some(g) = hard {
        println!(
            "  hard failover     {:>9.3} ms   bound {:>9.3} ms",
            g.as_secs_f64() * 1e3,
            master_down(PRIO_B).as_secs_f64() * 1e3
        );
    }
    if let Some(g) = graceful {
        println!(
            "  graceful failover {:>9.3} ms   bound {:>9.3} ms",
            g.as_secs_f64() * 1e3,
            skew(PRIO_B).as_secs_f64() * 1e3
        );
    }
    if hard.is_none() || graceful.is_none() {
        return Err("a failover was not seen on the wire".into());
    }
    Ok(())
}

/// Runs the demo; exit 0 when both failovers were seen on the wire.
pub fn run() -> ExitCode {
    // SAFETY: geteuid(2) has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("minimal_failover --demo: run it as root (it creates network namespaces)");
        return ExitCode::from(1);
    }
    // SAFETY: installing an async-signal-safe handler (it only stores to an atomic). SIGHUP
    // too: a closed terminal must not leave the namespaces behind.
    unsafe {
        for sig in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
            libc::signal(sig, on_sigint as *const () as libc::sighandler_t);
        }
    }
    let prefix = format!("hkdemo{}", std::process::id());
    let (tx, rx) = mpsc::channel();
    let mut demo = Demo {
        t0: Instant::now(),
        prefix: prefix.clone(),
        tx,
        rx,
        state: ["Init".into(), "Init".into()],
    };
    let result = (|| {
        let ns = Namespaces::build(&prefix)?;
        demo.say(Instant::now(), &format!(
            "namespaces {prefix}-{{br,a,b,obs}}: bridge br0, A 10.99.0.1, B 10.99.0.2, VIP {VIP}, observer listening"
        ));
        let tap = WireTap::start(&format!("{prefix}-obs"), "eth0")?;
        let r = scenario(&mut demo, &tap);
        drop(tap);
        drop(ns);
        r
    })();
    println!("\ncleaned up: namespaces {prefix}-* deleted");
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("minimal_failover --demo: {e}");
            ExitCode::from(1)
        }
    }
}
