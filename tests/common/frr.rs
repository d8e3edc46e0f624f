//! Real FRR (the Debian package's `zebra`, `bgpd`, `bfdd`) run inside a namespace: each
//! instance with its own configuration file, pid files, zserv and vty sockets in a directory
//! of its own, the daemons in the foreground as children of the test (stopped by PID, killed
//! on drop).

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::process::{wait_until, Daemon};

/// Where the Debian package puts the daemons.
const FRR_DIR: &str = "/usr/lib/frr";

/// Why FRR cannot run here, if it cannot (the tests then skip, saying so).
pub fn missing() -> Option<String> {
    for d in ["zebra", "bgpd", "bfdd"] {
        let p = Path::new(FRR_DIR).join(d);
        if !p.exists() {
            return Some(format!("{} not found (apt-get install frr)", p.display()));
        }
    }
    if super::topology::run("id", &["-u", "frr"]).is_err() {
        return Some("no user frr (apt-get install frr)".into());
    }
    None
}

/// One FRR instance in a namespace.
pub struct Frr {
    ns: String,
    dir: PathBuf,
    bfd: bool,
    daemons: Vec<Daemon>,
    starts: u32,
}

impl Frr {
    /// Writes `config` to `dir/frr.conf` (`dir` is created, owned by `frr`) and starts zebra,
    /// bgpd and, with `bfd`, bfdd in namespace `ns`.
    pub fn start(ns: &str, dir: &Path, config: &str, bfd: bool) -> Frr {
        std::fs::create_dir_all(dir).expect("creating the FRR directory");
        std::fs::write(dir.join("frr.conf"), config).expect("writing frr.conf");
        super::topology::run("chown", &["-R", "frr:frr", &dir.display().to_string()])
            .expect("chown frr");
        let mut frr = Frr {
            ns: ns.to_string(),
            dir: dir.to_path_buf(),
            bfd,
            daemons: Vec::new(),
            starts: 0,
        };
        frr.spawn_all();
        frr
    }

    fn path(&self, name: &str) -> String {
        self.dir.join(name).display().to_string()
    }

    fn spawn_all(&mut self) {
        self.starts += 1;
        let zsock = self.path("zserv.api");
        let _ = std::fs::remove_file(&zsock);
        let dir = self.dir.clone();
        let path = move |name: &str| dir.join(name).display().to_string();
        let common = |d: &str| -> Vec<String> {
            vec![
                "-f".into(),
                path("frr.conf"),
                "-i".into(),
                path(&format!("{d}.pid")),
                "-z".into(),
                zsock.clone(),
                "--vty_socket".into(),
                path(""),
                "--log".into(),
                format!("file:{}", path(&format!("{d}.log"))),
            ]
        };
        let mut order = vec!["zebra", "bgpd"];
        if self.bfd {
            order.insert(1, "bfdd");
        }
        for d in order {
            let mut args = common(d);
            if d == "bfdd" {
                args.extend(["--bfdctl".into(), path("bfdd.sock")]);
            }
            let log = self.dir.join(format!("{d}.{}.stderr", self.starts));
            let program = Path::new(FRR_DIR).join(d);
            self.daemons
                .push(Daemon::spawn(d, &self.ns, &program, &args, &log));
            if d == "zebra" {
                let up = wait_until(Duration::from_secs(10), || Path::new(&zsock).exists());
                assert!(up, "zebra in {} did not open {zsock}", self.ns);
            }
        }
    }

    /// Stops every daemon (SIGTERM, SIGKILL after 5 s), bgpd first.
    pub fn stop(&mut self) {
        while let Some(mut d) = self.daemons.pop() {
            d.signal(libc::SIGTERM);
            if d.wait_exit(Duration::from_secs(5)).is_none() {
                d.kill();
            }
        }
    }

    /// Kills every daemon at once (SIGKILL), as a crash would.
    pub fn kill(&mut self) {
        while let Some(mut d) = self.daemons.pop() {
            d.kill();
        }
    }

    /// Sends `sig` to every daemon (SIGSTOP: a node gone silent, no keepalive nor BFD).
    pub fn signal_all(&self, sig: libc::c_int) {
        for d in &self.daemons {
            d.signal(sig);
        }
    }

    /// Starts the daemons again with the same configuration.
    pub fn start_again(&mut self) {
        assert!(self.daemons.is_empty(), "stop FRR first");
        self.spawn_all();
    }

    /// The PIDs of the running daemons.
    pub fn pids(&self) -> Vec<u32> {
        self.daemons.iter().map(Daemon::pid).collect()
    }

    /// `vtysh -c CMD` against this instance.
    pub fn vtysh(&self, cmd: &str) -> String {
        let dir = self.path("");
        super::topology::run(
            "ip",
            &[
                "netns",
                "exec",
                &self.ns,
                "vtysh",
                "--vty_socket",
                &dir,
                "-c",
                cmd,
            ],
        )
        .unwrap_or_else(|e| e)
    }
}

impl Drop for Frr {
    fn drop(&mut self) {
        self.kill();
    }
}
