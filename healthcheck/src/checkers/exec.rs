//! `MISC_CHECK` / `vrrp_script`: run a program (argv, no shell) in its own process group.

use std::ffi::OsString;
use std::os::unix::process::ExitStatusExt;
use std::process::Stdio;
use std::time::Duration;

use async_trait::async_trait;
use tokio::process::Command;

use crate::checker::{Checker, Probe};
use crate::error::{CheckError, ConfigError};

/// Runs a program; exit status 0 = up (KA `check_misc.c`, `vrrp_script`).
///
/// The program runs in a new process group with stdin/stdout/stderr on `/dev/null`. On
/// timeout the whole group gets SIGTERM, and SIGKILL once [`kill_grace`](Self::kill_grace)
/// (2 s, keepalived's) has passed with any of it still running; the probe reports the
/// timeout once the program is gone and reaped. Processes it left in its group are killed
/// after it exits too, so a check never leaves anything running.
/// Grandchildren killed this way are re-parented to the nearest subreaper: if PID 1 of
/// your container does not reap, call [`become_subreaper`] once so this crate reaps them.
///
/// With [`ExecCheck::dynamic`] (keepalived `misc_dynamic`): exit 0 = up, 1 = down,
/// 2..=255 = up with [`Probe::value`] = status − 2 (the real server's new weight).
///
/// ```
/// use healthcheck::ExecCheck;
/// let check = ExecCheck::new(["/usr/bin/pidof", "haproxy"]).unwrap();
/// ```
#[derive(Debug, Clone)]
pub struct ExecCheck {
    argv: Vec<OsString>,
    dynamic: bool,
    uid_gid: Option<(u32, u32)>,
    kill_grace: Duration,
}

/// How long a timed-out program's group has between SIGTERM and SIGKILL (keepalived's).
pub const DEFAULT_KILL_GRACE: Duration = Duration::from_secs(2);

impl ExecCheck {
    /// `argv[0]` is looked up in `PATH` like `execvp`.
    pub fn new<I, S>(argv: I) -> Result<Self, ConfigError>
    where
        I: IntoIterator<Item = S>,
        S: Into<OsString>,
    {
        let argv: Vec<OsString> = argv.into_iter().map(Into::into).collect();
        if argv.is_empty() {
            return Err(ConfigError::EmptyArgv);
        }
        Ok(ExecCheck {
            argv,
            dynamic: false,
            uid_gid: None,
            kill_grace: DEFAULT_KILL_GRACE,
        })
    }

    /// How long a timed-out program's process group may take to end after SIGTERM before
    /// it gets SIGKILL ([`DEFAULT_KILL_GRACE`]); zero sends SIGKILL at once.
    ///
    /// ```
    /// use std::time::Duration;
    /// use healthcheck::ExecCheck;
    /// let check = ExecCheck::new(["/usr/local/bin/check_db"])
    ///     .unwrap()
    ///     .kill_grace(Duration::from_millis(500));
    /// ```
    pub fn kill_grace(mut self, grace: Duration) -> Self {
        self.kill_grace = grace;
        self
    }

    /// keepalived `misc_dynamic`.
    pub fn dynamic(mut self, dynamic: bool) -> Self {
        self.dynamic = dynamic;
        self
    }

    /// keepalived `user`: run as this uid/gid (needs privilege).
    pub fn user(mut self, uid: u32, gid: u32) -> Self {
        self.uid_gid = Some((uid, gid));
        self
    }

    fn verdict(&self, status: std::process::ExitStatus) -> Result<Probe, CheckError> {
        if let Some(sig) = status.signal() {
            return Err(CheckError::Signaled(sig));
        }
        let code = status.code().unwrap_or(-1);
        match (code, self.dynamic) {
            (0, _) => Ok(Probe::OK),
            (2..=255, true) => Ok(Probe {
                value: Some(i64::from(code) - 2),
            }),
            _ => Err(CheckError::ExitStatus(code)),
        }
    }
}

/// Kills the process group on drop unless disarmed (cancellation safety).
struct GroupGuard {
    pgid: Option<i32>,
    /// Once the leader is reaped its pid no longer pins the group id: only a `/proc` scan
    /// (in [`sweep_group`]) may then decide to signal the group.
    leader_reaped: bool,
}

impl GroupGuard {
    fn kill(&self) {
        self.signal(libc::SIGKILL);
    }

    fn signal(&self, sig: libc::c_int) {
        if let (Some(pgid), false) = (self.pgid, self.leader_reaped) {
            // SAFETY: plain syscall; the group id is our child's pid, which is not reaped
            // yet, so it cannot name another group.
            unsafe { libc::killpg(pgid, sig) };
        }
    }
}

impl Drop for GroupGuard {
    fn drop(&mut self) {
        self.kill();
        // The probe was cancelled: finish the cleanup (reaping) in the background.
        if let (Some(pgid), Ok(rt)) = (self.pgid, tokio::runtime::Handle::try_current()) {
            rt.spawn(sweep_group(pgid, tokio::time::Instant::now()));
        }
    }
}

/// Pids of live (non-zombie) processes whose process group is `pgid`.
fn group_members(pgid: i32) -> Vec<(i32, char)> {
    let mut out = Vec::new();
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return out;
    };
    for entry in dir.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<i32>().ok())
        else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        // Fields after the parenthesised comm: state ppid pgrp ...
        let Some(rest) = stat.rfind(')').map(|i| &stat[i + 1..]) else {
            continue;
        };
        let mut f = rest.split_whitespace();
        let state = f.next().and_then(|s| s.chars().next()).unwrap_or('?');
        let _ppid = f.next();
        if f.next().and_then(|s| s.parse::<i32>().ok()) == Some(pgid) {
            out.push((pid, state));
        }
    }
    out
}

/// Makes this process a child subreaper (`PR_SET_CHILD_SUBREAPER`), so processes
/// orphaned by killed check scripts are re-parented here and this crate reaps them.
/// Process-wide: call it once at start-up if your PID 1 does not reap zombies.
pub fn become_subreaper() -> std::io::Result<()> {
    // SAFETY: plain prctl with integer arguments.
    let rc = unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1 as libc::c_ulong, 0, 0, 0) };
    if rc == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

fn is_subreaper() -> bool {
    let mut v: libc::c_int = 0;
    // SAFETY: PR_GET_CHILD_SUBREAPER writes one c_int to the pointer, which is valid.
    let rc = unsafe {
        libc::prctl(
            libc::PR_GET_CHILD_SUBREAPER,
            &mut v as *mut libc::c_int,
            0,
            0,
            0,
        )
    };
    rc == 0 && v != 0
}

/// Kills what is left of the group and, when we are its reaper, reaps it. Live members
/// get SIGKILL only from `kill_from` on: a timed-out group's grace after SIGTERM.
async fn sweep_group(pgid: i32, kill_from: tokio::time::Instant) {
    let reaper = is_subreaper();
    let give_up = kill_from.max(tokio::time::Instant::now()) + Duration::from_secs(1);
    while tokio::time::Instant::now() < give_up {
        let members = group_members(pgid);
        if members.is_empty() {
            return;
        }
        if members.iter().any(|(_, s)| *s != 'Z') && tokio::time::Instant::now() >= kill_from {
            // SAFETY: the group has members, so its id is still pinned to them.
            unsafe { libc::killpg(pgid, libc::SIGKILL) };
        }
        if reaper {
            loop {
                let mut status = 0;
                // SAFETY: waitpid on our own children in that group only, non-blocking.
                let pid = unsafe { libc::waitpid(-pgid, &mut status, libc::WNOHANG) };
                if pid <= 0 {
                    break;
                }
            }
        } else if members.iter().all(|(_, s)| *s == 'Z') {
            // Zombies of another parent: not ours to reap.
            return;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    tracing::warn!(pgid, "process group still has members after 1 s of SIGKILL");
}

#[async_trait]
impl Checker for ExecCheck {
    async fn check(&self, timeout: Duration) -> Result<Probe, CheckError> {
        let program = self.argv[0].to_string_lossy().into_owned();
        let mut cmd = Command::new(&self.argv[0]);
        cmd.args(&self.argv[1..])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .kill_on_drop(true);
        if let Some((uid, gid)) = self.uid_gid {
            cmd.uid(uid).gid(gid);
        }
        let mut child = cmd
            .spawn()
            .map_err(|source| CheckError::Spawn { program, source })?;
        let pgid = child.id().map(|p| p as i32);
        let mut guard = GroupGuard {
            pgid,
            leader_reaped: false,
        };
        // From when leftovers of the group get SIGKILL: at once, or after a timeout's grace.
        let mut kill_from = None;
        let result = match tokio::time::timeout(timeout, child.wait()).await {
            Ok(Ok(status)) => self.verdict(status),
            Ok(Err(e)) => Err(CheckError::io("wait for child", e)),
            Err(_) => {
                // keepalived's way: SIGTERM to the group, SIGKILL after the grace period.
                let sigkill_at = tokio::time::Instant::now() + self.kill_grace;
                if self.kill_grace.is_zero() {
                    guard.kill();
                } else {
                    guard.signal(libc::SIGTERM);
                }
                if tokio::time::timeout_at(sigkill_at, child.wait())
                    .await
                    .is_err()
                {
                    guard.kill();
                }
                // Reap the leader so it never lingers as a zombie. The rest of the group got
                // SIGTERM too: the sweep gives it the same grace.
                let _ = child.wait().await;
                kill_from = Some(sigkill_at);
                Err(CheckError::Timeout(timeout))
            }
        };
        // The leader is reaped: only a scan can tell whether the group id is still in use.
        // The guard stays armed during the sweep so a cancellation here still finishes it.
        guard.leader_reaped = true;
        if let Some(pgid) = pgid {
            sweep_group(pgid, kill_from.unwrap_or_else(tokio::time::Instant::now)).await;
        }
        guard.pgid = None;
        result
    }

    fn kind(&self) -> &'static str {
        "exec"
    }
}
