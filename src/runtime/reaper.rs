//! The daemon as child subreaper: what a script leaves behind is adopted, reaped and, at
//! shutdown, ended.
//!
//! A notify or check script may fork, `setsid` away and exit or hang. Without a subreaper
//! its orphans go to the namespace's init, out of the daemon's sight: nothing ends them when
//! the script times out or the daemon stops. keepalived sets `PR_SET_CHILD_SUBREAPER` in its
//! parent process and reaps with `waitpid(-1)` on SIGCHLD, so orphans do not stay zombies;
//! but it never kills them, and they outlive it at shutdown. Ours, at start-up
//! ([`Reaper::start`]):
//!
//! * `prctl(PR_SET_CHILD_SUBREAPER)`: a script's orphans become the daemon's children;
//! * on every SIGCHLD, and every second, zombies that are adopted orphans are reaped (see
//!   below), so none accumulates;
//! * at shutdown ([`Reaper::end_orphans`]), after the `notify_stop` scripts: every adopted
//!   orphan still running gets SIGTERM (with its process group), SIGKILL one second later,
//!   and is reaped. A script's helpers die with the daemon that started them, as under a
//!   systemd unit's cgroup; a service meant to outlive the daemon is started through the
//!   service manager, not forked from a notify script.
//!
//! The timeout of a notify script ([`crate::runtime::notify`]) ends the script's process
//! group and every descendant found under it, those in another session included.
//!
//! Reaping without stealing: a blind `waitpid(-1)` would take the exit status that
//! `tokio::process` or `std::process` waits for, of children of the daemon or of the program
//! that embeds it. A first `waitid(P_ALL, WNOHANG | WNOWAIT)` peeks whether any child is a
//! zombie at all (it consumes nothing); if one is, the children listed in
//! `/proc/self/task/*/children` are read, and a zombie is reaped by its PID only when it is
//! an adopted orphan: one that left the daemon's session (`setsid`), or that is in a process
//! group which is neither the daemon's nor led by itself. Whatever a program spawns stays in
//! the daemon's process group unless asked otherwise, and every script the engine runs leads
//! a group of its own (`process_group(0)`), so neither is ever taken; an orphan that made
//! itself a group leader without leaving the session is not recognised and stays a zombie
//! until the daemon exits (such a process is rare: a shell with job control).
#![allow(unsafe_code)]

use std::collections::BTreeSet;
use std::time::Duration;

use tokio::task::JoinHandle;
use tracing::{debug, info, warn};

/// How often the reaper looks for zombies without a SIGCHLD (one can be missed when two
/// arrive together, or when a zombie is adopted).
const SWEEP_EVERY: Duration = Duration::from_secs(1);

/// How long an orphan has between SIGTERM and SIGKILL at shutdown.
pub const ORPHAN_GRACE: Duration = Duration::from_secs(1);

/// One process as `/proc/PID/stat` shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProcStat {
    /// PID.
    pub pid: i32,
    /// The state letter (`Z`: zombie).
    pub state: char,
    /// Parent PID.
    pub ppid: i32,
    /// Process group.
    pub pgid: i32,
    /// Session.
    pub sid: i32,
}

impl ProcStat {
    /// Reads `/proc/PID/stat`; `None` once the process is gone.
    pub fn read(pid: i32) -> Option<ProcStat> {
        let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        // The command name is in parentheses and may hold anything: read after the last ')'.
        let rest = &text[text.rfind(')')? + 1..];
        let mut f = rest.split_whitespace();
        let state = f.next()?.chars().next()?;
        let mut num = || f.next()?.parse::<i32>().ok();
        Some(ProcStat {
            pid,
            state,
            ppid: num()?,
            pgid: num()?,
            sid: num()?,
        })
    }

    /// An orphan adopted by the daemon (whose group and session are `own`'s), as opposed
    /// to a child it or its program spawned (see the module docs).
    pub fn is_adopted(&self, own: &ProcStat) -> bool {
        self.sid != own.sid || (self.pgid != own.pgid && self.pgid != self.pid)
    }
}

/// The PIDs listed in `/proc/PID/task/*/children` (each thread's children).
pub fn children_of(pid: i32) -> BTreeSet<i32> {
    let mut out = BTreeSet::new();
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return out;
    };
    for task in tasks.flatten() {
        if let Ok(text) = std::fs::read_to_string(task.path().join("children")) {
            out.extend(
                text.split_whitespace()
                    .filter_map(|p| p.parse::<i32>().ok()),
            );
        }
    }
    out
}

/// Every descendant of `pid` (children, their children, ...), read from `/proc`.
pub fn descendants_of(pid: i32) -> BTreeSet<i32> {
    let mut out = BTreeSet::new();
    let mut todo = vec![pid];
    while let Some(p) = todo.pop() {
        for c in children_of(p) {
            if out.insert(c) {
                todo.push(c);
            }
        }
    }
    out
}

/// This process as `/proc/self/stat` shows it.
fn own() -> Option<ProcStat> {
    // SAFETY: getpid has no preconditions.
    ProcStat::read(unsafe { libc::getpid() })
}

/// The daemon's adopted orphans, as `/proc` shows them now.
fn adopted() -> Vec<ProcStat> {
    let Some(me) = own() else {
        return Vec::new();
    };
    children_of(me.pid)
        .into_iter()
        .filter_map(ProcStat::read)
        .filter(|c| c.ppid == me.pid && c.is_adopted(&me))
        .collect()
}

/// Whether any child is a zombie, without reaping it.
fn any_zombie() -> bool {
    // SAFETY: all-zero is a valid siginfo_t; waitid writes it and, with WNOWAIT, consumes
    // nothing.
    let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
    let rc = unsafe {
        libc::waitid(
            libc::P_ALL,
            0,
            &mut info,
            libc::WEXITED | libc::WNOHANG | libc::WNOWAIT,
        )
    };
    // SAFETY: waitid filled the siginfo_t (si_pid is 0 when no child has changed state).
    rc == 0 && unsafe { info.si_pid() } != 0
}

/// Reaps the adopted orphans that are zombies; returns how many.
pub fn reap_orphans() -> usize {
    if !any_zombie() {
        return 0;
    }
    let mut reaped = 0;
    for orphan in adopted().into_iter().filter(|c| c.state == 'Z') {
        let mut status = 0;
        // SAFETY: waitpid on one PID, a zombie child of ours (only we reap adopted ones).
        if unsafe { libc::waitpid(orphan.pid, &mut status, libc::WNOHANG) } == orphan.pid {
            debug!(pid = orphan.pid, status, "reaped an adopted orphan");
            reaped += 1;
        }
    }
    reaped
}

/// Sends `signal` to `pid` and, unless it is the daemon's, to its process group.
pub fn signal_with_group(stat: &ProcStat, signal: libc::c_int) {
    let own_pgid = own().map(|o| o.pgid);
    // SAFETY: kill(2) with integer arguments; a negative PID names a process group.
    unsafe {
        if Some(stat.pgid) != own_pgid && stat.pgid > 1 {
            libc::kill(-stat.pgid, signal);
        }
        libc::kill(stat.pid, signal);
    }
}

/// The subreaper's task; see the module docs.
#[derive(Debug)]
pub struct Reaper {
    task: Option<JoinHandle<()>>,
}

impl Reaper {
    /// Makes this process a child subreaper and starts reaping adopted orphans on the
    /// current tokio runtime. Without the `prctl` (an old kernel) the daemon runs on without
    /// one, as before, and says so.
    pub fn start() -> Reaper {
        // SAFETY: prctl with integer arguments only.
        if unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) } != 0 {
            warn!(
                "PR_SET_CHILD_SUBREAPER: {}; orphans of scripts go to init",
                std::io::Error::last_os_error()
            );
        }
        let task = tokio::spawn(async {
            let mut sigchld =
                match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::child()) {
                    Ok(s) => Some(s),
                    Err(e) => {
                        warn!("SIGCHLD: {e}; reaping orphans every second only");
                        None
                    }
                };
            let mut sweep = tokio::time::interval(SWEEP_EVERY);
            loop {
                match &mut sigchld {
                    Some(s) => {
                        tokio::select! {
                            _ = s.recv() => {}
                            _ = sweep.tick() => {}
                        }
                    }
                    None => {
                        sweep.tick().await;
                    }
                }
                reap_orphans();
            }
        });
        Reaper { task: Some(task) }
    }

    /// Ends every adopted orphan still running: SIGTERM to it and its process group,
    /// SIGKILL after [`ORPHAN_GRACE`], each reaped. Returns how many there were. Orphans of
    /// orphans are adopted in turn as their parents die, so it looks again until none is
    /// left (bounded: twice the grace).
    pub async fn end_orphans(&self) -> usize {
        let first = adopted();
        if first.is_empty() {
            return 0;
        }
        let mut seen = BTreeSet::new();
        let started = tokio::time::Instant::now();
        let mut signal = libc::SIGTERM;
        loop {
            let now = adopted();
            let live: Vec<_> = now.iter().filter(|c| c.state != 'Z').collect();
            if live.is_empty() && now.is_empty() {
                break;
            }
            for c in &live {
                if seen.insert((c.pid, signal)) {
                    debug!(pid = c.pid, signal, "ending an adopted orphan");
                    signal_with_group(c, signal);
                }
            }
            reap_orphans();
            let elapsed = started.elapsed();
            if elapsed >= ORPHAN_GRACE * 2 {
                warn!(left = now.len(), "orphans of scripts still there at exit");
                break;
            }
            if elapsed >= ORPHAN_GRACE {
                signal = libc::SIGKILL;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        info!(orphans = first.len(), "ended what scripts left running");
        first.len()
    }
}

impl Reaper {
    /// [`Reaper::end_orphans`] without a runtime to wait on (a daemon dropped without
    /// shutdown): SIGKILL at once, reaped for at most a quarter of a second.
    pub fn kill_orphans_now(&self) {
        for c in adopted() {
            signal_with_group(&c, libc::SIGKILL);
        }
        for _ in 0..25 {
            reap_orphans();
            if adopted().is_empty() {
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for Reaper {
    fn drop(&mut self) {
        if let Some(t) = self.task.take() {
            t.abort();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_is_read_past_a_command_name_with_spaces_and_parentheses() {
        let me = own().expect("/proc/self/stat");
        // Group and session are 0 when their leader is outside our PID namespace (a
        // container's test runner), so compare with the kernel's own answers.
        assert_eq!(me.pid, std::process::id() as i32);
        // SAFETY: getpgrp and getsid(0) only read the calling process's ids.
        let (pgid, sid) = unsafe { (libc::getpgrp(), libc::getsid(0)) };
        assert_eq!((me.pgid, me.sid), (pgid, sid));
        assert!(!me.is_adopted(&me));
    }

    #[test]
    fn what_a_program_spawns_is_never_taken_for_an_orphan() {
        let me = own().unwrap();
        // Spawned in the daemon's group, or leading its own (as every script does): ours.
        let plain = ProcStat {
            pid: 10,
            state: 'Z',
            ppid: me.pid,
            pgid: me.pgid,
            sid: me.sid,
        };
        let leader = ProcStat { pgid: 10, ..plain };
        assert!(!plain.is_adopted(&me) && !leader.is_adopted(&me));
        // A script's background child (its script's group), or a setsid escapee: adopted.
        let background = ProcStat { pgid: 9, ..plain };
        let escaped = ProcStat {
            pgid: 10,
            sid: 10,
            ..plain
        };
        assert!(background.is_adopted(&me) && escaped.is_adopted(&me));
    }

    /// A child that tokio waits for keeps its exit status although the reaper sweeps while
    /// it is a zombie; an orphan-like child (another session) is reaped.
    #[tokio::test]
    async fn the_sweep_leaves_spawned_children_to_their_waiters() {
        let mut child = tokio::process::Command::new("/bin/sh")
            .args(["-c", "exit 7"])
            .spawn()
            .unwrap();
        let pid = child.id().unwrap() as i32;
        // Zombie now (nobody waited yet); a sweep must not take it.
        assert!(wait_for(|| ProcStat::read(pid).is_some_and(|s| s.state == 'Z')).await);
        reap_orphans();
        let status = child.wait().await.unwrap();
        assert_eq!(status.code(), Some(7));
        // A child in a session of its own is what an escaped orphan looks like: reaped.
        let escaped = std::process::Command::new("/usr/bin/setsid")
            .args(["/bin/sh", "-c", "exit 3"])
            .spawn()
            .unwrap();
        let pid = escaped.id() as i32;
        std::mem::forget(escaped);
        assert!(wait_for(|| ProcStat::read(pid).is_some_and(|s| s.state == 'Z')).await);
        // Other tests of this binary may leave orphans of their own: at least this one.
        assert!(reap_orphans() >= 1);
        assert!(ProcStat::read(pid).is_none(), "the orphan stayed a zombie");
    }

    async fn wait_for(mut f: impl FnMut() -> bool) -> bool {
        for _ in 0..200 {
            if f() {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        false
    }
}
