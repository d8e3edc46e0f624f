//! Processes started inside a namespace (`ip netns exec` execs in place, so the PID we get is
//! the program's own), their stdout lines collected with arrival times, killed by PID on drop.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Sends `sig` to `pid` (a process this test started).
pub fn signal(pid: u32, sig: libc::c_int) {
    // SAFETY: kill(2) has no memory-safety preconditions; the pid is one of our own children.
    unsafe {
        libc::kill(pid as libc::pid_t, sig);
    }
}

/// One state-transition line printed by minimal_failover on stdout.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct Transition {
    /// Wall clock, ms since the epoch.
    pub ts_ms: u64,
    /// Interface.
    pub iface: String,
    /// Virtual router id.
    pub vrid: u8,
    /// Old state.
    pub from: String,
    /// New state.
    pub to: String,
    /// Why.
    pub reason: String,
}

/// A child process killed (SIGKILL) and reaped on drop.
pub struct Daemon {
    child: Option<Child>,
    /// Human name for messages.
    pub name: String,
    lines: Arc<Mutex<Vec<(Instant, String)>>>,
    /// Where stderr goes.
    pub log: PathBuf,
}

impl Daemon {
    /// Spawns `program args…` inside namespace `ns`, stderr to `log`, stdout collected.
    pub fn spawn(name: &str, ns: &str, program: &Path, args: &[String], log: &Path) -> Daemon {
        let err = std::fs::File::create(log).expect("creating log file");
        let mut child = Command::new("ip")
            .args(["netns", "exec", ns])
            .arg(program)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(err))
            .spawn()
            .unwrap_or_else(|e| panic!("spawning {}: {e}", program.display()));
        let out = child.stdout.take().unwrap();
        let lines = Arc::new(Mutex::new(Vec::new()));
        let sink = lines.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                sink.lock().unwrap().push((Instant::now(), line));
            }
        });
        Daemon {
            child: Some(child),
            name: name.to_string(),
            lines,
            log: log.to_path_buf(),
        }
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().map(|c| c.id()).unwrap_or(0)
    }

    /// Sends a signal.
    pub fn signal(&self, sig: libc::c_int) {
        if let Some(c) = &self.child {
            signal(c.id(), sig);
        }
    }

    /// Waits for the process to exit.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + timeout;
        let c = self.child.as_mut()?;
        loop {
            if let Ok(Some(st)) = c.try_wait() {
                return Some(st);
            }
            if Instant::now() >= deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// SIGKILL and reap.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Every stdout line so far.
    pub fn lines(&self) -> Vec<String> {
        self.lines
            .lock()
            .unwrap()
            .iter()
            .map(|(_, l)| l.clone())
            .collect()
    }

    /// Every transition line so far, with the time it was read.
    pub fn transitions(&self) -> Vec<(Instant, Transition)> {
        self.lines
            .lock()
            .unwrap()
            .iter()
            .filter_map(|(t, l)| serde_json::from_str(l).ok().map(|tr| (*t, tr)))
            .collect()
    }

    /// The state after the last transition ("Init" before any).
    pub fn state(&self) -> String {
        self.transitions()
            .last()
            .map(|(_, t)| t.to.clone())
            .unwrap_or_else(|| "Init".into())
    }

    /// Waits until the current state is `state`.
    pub fn wait_state(&self, state: &str, timeout: Duration) -> bool {
        wait_until(timeout, || self.state() == state)
    }

    /// The stderr log so far.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Polls `f` every 2 ms until it is true or `timeout` passes.
pub fn wait_until(timeout: Duration, f: impl FnMut() -> bool) -> bool {
    wait_until_every(timeout, Duration::from_millis(2), f)
}

/// Polls `f` every `period` until it is true or `timeout` passes.
pub fn wait_until_every(timeout: Duration, period: Duration, mut f: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if f() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(period);
    }
}

/// A temporary directory removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    /// Creates `/tmp/<prefix>` (fresh).
    pub fn new(prefix: &str) -> TempDir {
        let p = std::env::temp_dir().join(prefix);
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).expect("creating temp dir");
        TempDir(p)
    }

    /// A path inside.
    pub fn join(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        if std::env::var_os("HAKIT_KEEP_TMP").is_none() {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

/// True when `bin` exists and is newer than every source file of the example and of the
/// library it runs on.
fn is_fresh(bin: &Path, example: &str) -> bool {
    let Ok(built) = std::fs::metadata(bin).and_then(|m| m.modified()) else {
        return false;
    };
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut dirs = vec![root.join("src"), root.join("src/runtime")];
    dirs.push(root.join("examples").join(example));
    let single = root.join("examples").join(format!("{example}.rs"));
    let newer = |m: std::time::SystemTime| m > built;
    if std::fs::metadata(&single)
        .and_then(|m| m.modified())
        .is_ok_and(newer)
    {
        return false;
    }
    dirs.iter().all(|dir| {
        std::fs::read_dir(dir)
            .map(|entries| {
                entries
                    .filter_map(Result::ok)
                    .filter_map(|e| e.metadata().and_then(|m| m.modified()).ok())
                    .all(|m| !newer(m))
            })
            .unwrap_or(true)
    })
}

/// Path of the minimal_failover example (see [`example_binary_named`]).
pub fn example_binary() -> PathBuf {
    example_binary_named("minimal_failover")
}

/// Path of an example (a normal, non-test build of it).
///
/// `cargo build --examples` puts it in `target/<profile>/examples/`, next to the test
/// binaries, and it is used from there when it is up to date. `cargo test --all-targets` only
/// builds examples in test mode, so otherwise it is built here, once per test process and
/// example, into its own target directory (`target/minimal-failover-e2e`: a separate build
/// lock, as the outer cargo may still hold the main one).
pub fn example_binary_named(example: &str) -> PathBuf {
    static BUILT: std::sync::Mutex<Vec<(String, PathBuf)>> = std::sync::Mutex::new(Vec::new());
    let mut built = BUILT.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((_, p)) = built.iter().find(|(n, _)| n == example) {
        return p.clone();
    }
    let exe = std::env::current_exe().expect("current_exe");
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("target/<profile>");
    let profile = profile_dir
        .file_name()
        .and_then(|s| s.to_str())
        .unwrap_or("debug")
        .to_string();
    let plain = profile_dir.join("examples").join(example);
    if is_fresh(&plain, example) {
        built.push((example.to_string(), plain.clone()));
        return plain;
    }
    let target = profile_dir
        .parent()
        .expect("target dir")
        .join("minimal-failover-e2e");
    let mut cmd = Command::new(env!("CARGO"));
    cmd.args(["build", "--example", example, "--target-dir"])
        .arg(&target)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env_remove("CARGO_TARGET_DIR");
    if profile == "release" {
        cmd.arg("--release");
    }
    eprintln!("building {example} into {}", target.display());
    let st = cmd
        .status()
        .unwrap_or_else(|e| panic!("running cargo build --example {example}: {e}"));
    assert!(st.success(), "cargo build --example {example} failed");
    let bin = target.join(&profile).join("examples").join(example);
    assert!(bin.exists(), "{} missing after the build", bin.display());
    built.push((example.to_string(), bin.clone()));
    bin
}

/// Starts `hakitd --keepalived-conf CONF` inside namespace `ns`, its log in `dir`.
pub fn spawn_hakitd(ns: &str, conf: &Path, dir: &TempDir) -> Daemon {
    Daemon::spawn(
        "hakitd",
        ns,
        Path::new(env!("CARGO_BIN_EXE_hakitd")),
        &["--keepalived-conf".into(), conf.display().to_string()],
        &dir.join("hakitd.log"),
    )
}

impl Daemon {
    /// What the process wrote on stderr so far.
    pub fn stderr_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}
