//! Real keepalived (Debian package, /usr/sbin/keepalived) as an interop peer: config
//! generation, running it in a namespace with its own pid files, killing it by PID, and
//! scanning its log for the errors that show an advert was rejected.

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::process::{signal, wait_until, Daemon};

/// Where scripts/peers/keepalived-2.4.3.sh installs keepalived 2.4.3, the `auth_hmac` peer.
pub const KA_243: &str = "/opt/keepalived-2.4.3/sbin/keepalived";

/// What one keepalived VRRP instance is configured with.
#[derive(Debug, Clone)]
pub struct KaInstance {
    /// Interface.
    pub iface: String,
    /// VRID.
    pub vrid: u8,
    /// Priority.
    pub priority: u8,
    /// 2 or 3.
    pub version: u8,
    /// Advert interval in seconds.
    pub advert_int: f64,
    /// VIPs with prefix, e.g. "10.200.0.100/24".
    pub vips: Vec<String>,
    /// v2 PASS authentication.
    pub auth_pass: Option<String>,
    /// With `auth_pass`: `auth_type AH` instead of PASS.
    pub auth_ah: bool,
    /// Unicast source.
    pub unicast_src: Option<String>,
    /// Unicast peers.
    pub unicast_peers: Vec<String>,
    /// nopreempt.
    pub nopreempt: bool,
}

impl KaInstance {
    /// keepalived.conf text.
    pub fn config(&self, router_id: &str) -> String {
        let mut s = format!(
            "global_defs {{\n  router_id {router_id}\n  enable_script_security\n  script_user root\n  \
             vrrp_garp_master_delay 0\n}}\n\
             vrrp_instance VI_{vrid} {{\n  state BACKUP\n  interface {iface}\n  virtual_router_id {vrid}\n  \
             priority {prio}\n  advert_int {int}\n  version {ver}\n",
            vrid = self.vrid,
            iface = self.iface,
            prio = self.priority,
            int = self.advert_int,
            ver = self.version,
        );
        if self.nopreempt {
            s.push_str("  nopreempt\n");
        }
        if let Some(p) = &self.auth_pass {
            let kind = if self.auth_ah { "AH" } else { "PASS" };
            s.push_str(&format!(
                "  authentication {{\n    auth_type {kind}\n    auth_pass {p}\n  }}\n"
            ));
        }
        if let Some(src) = &self.unicast_src {
            s.push_str(&format!("  unicast_src_ip {src}\n  unicast_peer {{\n"));
            for p in &self.unicast_peers {
                s.push_str(&format!("    {p}\n"));
            }
            s.push_str("  }\n");
        }
        s.push_str("  virtual_ipaddress {\n");
        for v in &self.vips {
            s.push_str(&format!("    {v} dev {}\n", self.iface));
        }
        s.push_str("  }\n}\n");
        s
    }
}

/// A running keepalived (parent + VRRP child).
pub struct Keepalived {
    /// The parent process (run with -n, so it is our child).
    pub daemon: Daemon,
    /// The VRRP child's pid file.
    pub vrrp_pidfile: PathBuf,
}

impl Keepalived {
    /// Writes the config into `dir` and starts keepalived in `ns`.
    pub fn start(name: &str, ns: &str, inst: &KaInstance, dir: &Path) -> Keepalived {
        Keepalived::start_with_config(name, ns, &inst.config(name), dir)
    }

    /// Writes `config` (a whole keepalived.conf) into `dir` and starts keepalived in `ns`.
    pub fn start_with_config(name: &str, ns: &str, config: &str, dir: &Path) -> Keepalived {
        let conf = dir.join(format!("{name}.conf"));
        std::fs::write(&conf, config).expect("writing keepalived.conf");
        let pid = dir.join(format!("{name}.pid"));
        let vrrp_pid = dir.join(format!("{name}.vrrp.pid"));
        let args: Vec<String> = vec![
            "-n".into(),
            "-l".into(),
            "-D".into(),
            "-G".into(),
            "-P".into(),
            "-f".into(),
            conf.display().to_string(),
            "-p".into(),
            pid.display().to_string(),
            "-r".into(),
            vrrp_pid.display().to_string(),
            "-c".into(),
            dir.join(format!("{name}.chk.pid")).display().to_string(),
            "-b".into(),
            dir.join(format!("{name}.bfd.pid")).display().to_string(),
        ];
        let daemon = Daemon::spawn(
            name,
            ns,
            Path::new("/usr/sbin/keepalived"),
            &args,
            &dir.join(format!("{name}.log")),
        );
        let ka = Keepalived {
            daemon,
            vrrp_pidfile: vrrp_pid,
        };
        assert!(
            wait_until(Duration::from_secs(10), || ka.vrrp_pid().is_some()),
            "keepalived {name} did not start its VRRP child; log:\n{}",
            ka.daemon.log_text()
        );
        ka
    }

    /// Writes `config` into `dir` and starts keepalived 2.4.3 (built by
    /// scripts/peers/keepalived-2.4.3.sh into [`KA_243`]) in `ns`, as its README says: `-f`
    /// first (2.4.3 ignored it after `--vrrp`), log to the console.
    pub fn start_243(name: &str, ns: &str, config: &str, dir: &Path) -> Keepalived {
        let conf = dir.join(format!("{name}.conf"));
        std::fs::write(&conf, config).expect("writing keepalived.conf");
        let vrrp_pid = dir.join(format!("{name}.vrrp.pid"));
        let args: Vec<String> = vec![
            "-f".into(),
            conf.display().to_string(),
            "-n".into(),
            "-l".into(),
            "-D".into(),
            "-p".into(),
            dir.join(format!("{name}.pid")).display().to_string(),
            "-r".into(),
            vrrp_pid.display().to_string(),
        ];
        let daemon = Daemon::spawn(
            name,
            ns,
            Path::new(KA_243),
            &args,
            &dir.join(format!("{name}.log")),
        );
        let ka = Keepalived {
            daemon,
            vrrp_pidfile: vrrp_pid,
        };
        assert!(
            wait_until(Duration::from_secs(10), || ka.vrrp_pid().is_some()),
            "keepalived {name} did not start its VRRP child; log:\n{}",
            ka.daemon.log_text()
        );
        ka
    }

    /// keepalived's reload: `config` replaces the file [`start_243`](Self::start_243) wrote
    /// into `dir`, then SIGHUP to the parent.
    pub fn reload(&self, config: &str, dir: &Path) {
        let conf = dir.join(format!("{}.conf", self.daemon.name));
        std::fs::write(&conf, config).expect("writing keepalived.conf");
        self.daemon.signal(libc::SIGHUP);
    }

    /// The VRRP child's pid.
    pub fn vrrp_pid(&self) -> Option<u32> {
        std::fs::read_to_string(&self.vrrp_pidfile)
            .ok()?
            .trim()
            .parse()
            .ok()
    }

    /// Hard kill: freeze the parent (so it cannot respawn or clean up), SIGKILL the VRRP
    /// child, then SIGKILL the parent.
    pub fn kill_hard(&mut self) {
        let parent = self.daemon.pid();
        signal(parent, libc::SIGSTOP);
        if let Some(child) = self.vrrp_pid() {
            signal(child, libc::SIGKILL);
        }
        signal(parent, libc::SIGKILL);
        self.daemon.kill();
    }

    /// Graceful stop (SIGTERM to the parent; it stops the VRRP child, which sends priority 0).
    /// Returns the parent's exit code (`None`: no exit within 10 s, or killed by a signal).
    pub fn stop(&mut self) -> Option<i32> {
        self.daemon.signal(libc::SIGTERM);
        self.daemon
            .wait_exit(Duration::from_secs(10))
            .and_then(|s| s.code())
    }

    /// The log so far.
    pub fn log(&self) -> String {
        self.daemon.log_text()
    }

    /// Log lines that show a received advert was rejected or mismatched.
    pub fn rejections(&self) -> Vec<String> {
        rejection_lines(&self.log())
    }

    /// How many times the log says the instance entered `state` ("MASTER", "BACKUP", "FAULT").
    pub fn entered(&self, state: &str) -> usize {
        let needle = format!("Entering {state} STATE");
        self.log().matches(&needle).count()
    }

    /// The state the instance entered last ("BACKUP", "MASTER", "FAULT"), `None` before the
    /// first "Entering … STATE" line.
    pub fn state(&self) -> Option<String> {
        last_entered_state(&self.log())
    }

    /// True when the last state entered is MASTER. Counting entries ("MASTER" more often than
    /// "BACKUP" + "FAULT") is wrong after FAULT → BACKUP → MASTER, and underflows before the
    /// first line; the last line is what keepalived is in now.
    pub fn is_master(&self) -> bool {
        self.state().as_deref() == Some("MASTER")
    }
}

/// The state named by the last "Entering <STATE> STATE" line of a keepalived log.
pub fn last_entered_state(log: &str) -> Option<String> {
    log.rmatch_indices("Entering ").find_map(|(at, needle)| {
        let mut words = log[at + needle.len()..].split_whitespace();
        let state = words.next()?;
        (words.next() == Some("STATE")).then(|| state.to_string())
    })
}

/// keepalived log lines that reveal a rejected or mismatched advert (bad checksum, password,
/// auth type, interval, TTL, version, length, address list).
pub fn rejection_lines(log: &str) -> Vec<String> {
    const BAD: &[&str] = &[
        "checksum",
        "passwd",
        "password",
        "auth type",
        "authtype",
        "Auth",
        "interval mismatch",
        "advertisement interval",
        "invalid",
        "Invalid",
        "ttl",
        "TTL",
        "bogus",
        "wrong",
        "length",
        "version",
        "address list",
        "not matching",
        "mismatch",
        "IPSEC",
        "AH header",
        "already processed",
    ];
    log.lines()
        // The banner, the command line and the config echo are not about packets.
        .filter(|l| {
            !l.contains("Keepalived v")
                && !l.contains("Command line")
                && !l.contains("Opening file")
        })
        .filter(|l| !l.contains("Configuration file") && !l.contains("Running on"))
        .filter(|l| BAD.iter().any(|b| l.contains(b)))
        .map(str::to_string)
        .collect()
}
