//! keepalived's notify scripts: `notify_master`, `notify_backup`, `notify_fault`,
//! `notify_stop` (run as written) and the generic `notify` (run after the specific one with
//! `INSTANCE <name> <MASTER|BACKUP|FAULT|STOP> <priority>` appended, as keepalived does);
//! `notify_master_rx_lower_pri` when a Master hears a lower priority (run as written). A sync
//! group has the same five (not the rx-lower one), run when the group's state changes, the
//! generic one with `GROUP <name> <state> 0` appended: keepalived 2.2.7 passes priority 0 for
//! a group (seen on its scripts here).
//!
//! The VRRP loop only queues a [`NotifyJob`] after a transition's network actions are done;
//! the scripts run on the tokio side, so a slow script never delays an advert or a takeover.
//! One instance's scripts run one after another, in the order of its transitions (a
//! MASTER script finishes before the BACKUP one that follows starts: keepalived starts them
//! concurrently, which races in cloud failover scripts); different instances do not wait for
//! each other. A script that runs longer than [`NOTIFY_TIMEOUT`] is killed so the queue moves
//! on, with its process group and every process found under it, those in another session too
//! (keepalived 2.2.7 times out only the scripts it runs at shutdown, after a second, and kills
//! their group only); a backlog beyond [`NOTIFY_BACKLOG`] jobs drops its oldest. Scripts get
//! no stdin, and their stdout and stderr are discarded (stdout carries the daemon's state
//! lines). At shutdown the daemon waits for the queued scripts, the STOP ones included, for at
//! most [`NOTIFY_TIMEOUT`] and a second, then ends what they left running
//! ([`crate::runtime::reaper`]).

use std::collections::{HashMap, VecDeque};
use std::process::Stdio;
use std::time::Duration;

use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver, UnboundedSender};
use tokio::task::JoinHandle;
use tracing::{debug, warn};
use vrrp_fsm::{State, StateChangeReason};

use crate::runtime::notify_fifo::NotifyFifo;
use crate::runtime::reaper;
use crate::runtime::script_security::ScriptUser;

/// How long a notify script may run before it is killed.
pub const NOTIFY_TIMEOUT: Duration = Duration::from_secs(10);

/// An instance's notify scripts (program and arguments, split on whitespace, no shell).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NotifyScripts {
    /// `notify`: every announced transition, with four arguments appended.
    pub any: Option<Vec<String>>,
    /// `notify_master`.
    pub master: Option<Vec<String>>,
    /// `notify_backup`.
    pub backup: Option<Vec<String>>,
    /// `notify_fault`.
    pub fault: Option<Vec<String>>,
    /// `notify_stop`: the instance stopped (daemon shutdown).
    pub stop: Option<Vec<String>>,
    /// `notify_master_rx_lower_pri`: a Master heard a lower priority (another node thinks it
    /// is Master: the AWS secondary-IP race of keepalived issue 950). Run as written, on every
    /// such advert, as keepalived does; `notify` is not run for it.
    pub master_rx_lower_pri: Option<Vec<String>>,
}

impl NotifyScripts {
    /// No script configured.
    pub fn is_empty(&self) -> bool {
        self == &NotifyScripts::default()
    }

    fn specific(&self, state: &str) -> Option<&Vec<String>> {
        match state {
            "MASTER" => self.master.as_ref(),
            "BACKUP" => self.backup.as_ref(),
            "FAULT" => self.fault.as_ref(),
            "STOP" => self.stop.as_ref(),
            MASTER_RX_LOWER_PRI => self.master_rx_lower_pri.as_ref(),
            _ => None,
        }
    }
}

/// The event name of a Master hearing a lower priority (keepalived's notify FIFO spelling):
/// the FIFO line carries the Master's own priority; the script runs as written.
pub const MASTER_RX_LOWER_PRI: &str = "MASTER_RX_LOWER_PRI";

/// The FIFO's event names for a change of the effective priority in Master and Backup
/// (keepalived's `notify_priority_changes`; no script runs for them).
pub fn priority_event(state: State) -> Option<&'static str> {
    match state {
        State::Master => Some("MASTER_PRIORITY"),
        State::Backup => Some("BACKUP_PRIORITY"),
        _ => None,
    }
}

/// The state keepalived's notify scripts name for a transition to `to`; `None` for one not
/// announced (back to Init other than by a shutdown).
pub fn notify_state(to: State, reason: StateChangeReason) -> Option<&'static str> {
    match to {
        State::Master => Some("MASTER"),
        State::Backup => Some("BACKUP"),
        State::Fault => Some("FAULT"),
        State::Init if reason == StateChangeReason::Shutdown => Some("STOP"),
        _ => None,
    }
}

/// What a notify job is about: `$1` of the generic `notify`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NotifySubject {
    /// A VRRP instance (`INSTANCE`).
    Instance,
    /// A sync group (`GROUP`).
    Group,
}

impl NotifySubject {
    fn word(self) -> &'static str {
        match self {
            NotifySubject::Instance => "INSTANCE",
            NotifySubject::Group => "GROUP",
        }
    }
}

/// The state a sync group's scripts name, from its members' states: FAULT if one member is
/// in Fault, MASTER once all are Master, STOP once all stopped after a start (`announced` is
/// what was last announced), otherwise BACKUP; `None` before the group first started.
pub fn group_state(
    members: impl IntoIterator<Item = State>,
    announced: Option<&'static str>,
) -> Option<&'static str> {
    let (mut any, mut fault, mut all_master, mut all_init) = (false, false, true, true);
    for s in members {
        any = true;
        fault |= s == State::Fault;
        all_master &= s == State::Master;
        all_init &= s == State::Init;
    }
    if !any {
        None
    } else if fault {
        Some("FAULT")
    } else if all_master {
        Some("MASTER")
    } else if all_init {
        announced.map(|_| "STOP")
    } else {
        Some("BACKUP")
    }
}

/// One transition to announce.
#[derive(Debug, Clone)]
pub struct NotifyJob {
    /// An instance or a sync group.
    pub subject: NotifySubject,
    /// Its name (`$2` of `notify`).
    pub name: String,
    /// `MASTER`, `BACKUP`, `FAULT` or `STOP` (`$3`), or a FIFO event: [`MASTER_RX_LOWER_PRI`]
    /// or one of [`priority_event`].
    pub state: &'static str,
    /// Effective priority after the transition (`$4`); 0 for a group.
    pub priority: u8,
    /// The scripts in force when it happened (a reload may change them).
    pub scripts: NotifyScripts,
}

/// Queues jobs from any thread; dropping every sender lets the runner finish.
pub type NotifySender = UnboundedSender<NotifyJob>;

/// Starts the runner on the current tokio runtime, with keepalived's `notify_fifo` if given.
/// Await the handle after dropping the senders to let queued scripts finish.
pub fn spawn_notifier(
    fifo: Option<NotifyFifo>,
    user: Option<ScriptUser>,
) -> (NotifySender, JoinHandle<()>) {
    spawn_notifier_with(
        fifo,
        Runner {
            user,
            timeout: NOTIFY_TIMEOUT,
        },
    )
}

/// How scripts are run: as whom, and for how long at most.
#[derive(Debug, Clone, Copy)]
struct Runner {
    user: Option<ScriptUser>,
    timeout: Duration,
}

fn spawn_notifier_with(fifo: Option<NotifyFifo>, runner: Runner) -> (NotifySender, JoinHandle<()>) {
    let (tx, rx) = unbounded_channel();
    (tx, tokio::spawn(dispatch(rx, fifo, runner)))
}

/// Writes each transition to the FIFO, in order, then hands the job to its instance's (or
/// group's) script queue, starting one on first use.
async fn dispatch(
    mut rx: UnboundedReceiver<NotifyJob>,
    mut fifo: Option<NotifyFifo>,
    runner: Runner,
) {
    let mut queues: HashMap<(NotifySubject, String), (NotifySender, JoinHandle<()>)> =
        HashMap::new();
    while let Some(job) = rx.recv().await {
        if let Some(f) = &mut fifo {
            f.write(job.subject.word(), &job.name, job.state, job.priority);
        }
        if job.scripts.is_empty() {
            continue;
        }
        let key = (job.subject, job.name.clone());
        let (tx, _) = queues.entry(key).or_insert_with(|| {
            let (tx, rx) = unbounded_channel();
            (tx, tokio::spawn(run_in_order(rx, runner)))
        });
        let _ = tx.send(job);
    }
    for (_, (tx, worker)) in queues.drain() {
        drop(tx);
        let _ = worker.await;
    }
}

/// Most jobs one instance keeps waiting while its scripts run: a flapping instance whose
/// script hangs must not grow the queue without bound. Past it the oldest are skipped
/// (logged): the latest states are the ones a script must see.
pub const NOTIFY_BACKLOG: usize = 16;

async fn run_in_order(mut rx: UnboundedReceiver<NotifyJob>, runner: Runner) {
    let mut backlog: VecDeque<NotifyJob> = VecDeque::new();
    loop {
        if backlog.is_empty() {
            match rx.recv().await {
                Some(job) => backlog.push_back(job),
                None => return,
            }
        }
        while let Ok(job) = rx.try_recv() {
            backlog.push_back(job);
        }
        let excess = backlog.len().saturating_sub(NOTIFY_BACKLOG);
        if excess > 0 {
            backlog.drain(..excess);
            warn!(
                skipped = excess,
                "notify scripts fall behind the transitions: skipped the oldest"
            );
        }
        let Some(job) = backlog.pop_front() else {
            continue;
        };
        if let Some(argv) = job.scripts.specific(job.state) {
            run_script(&job, argv, &[], runner).await;
        }
        if let (Some(argv), false) = (&job.scripts.any, job.state == MASTER_RX_LOWER_PRI) {
            let extra = [
                job.subject.word().to_string(),
                job.name.clone(),
                job.state.to_string(),
                job.priority.to_string(),
            ];
            run_script(&job, argv, &extra, runner).await;
        }
    }
}

async fn run_script(job: &NotifyJob, argv: &[String], extra: &[String], runner: Runner) {
    let Some((program, args)) = argv.split_first() else {
        return;
    };
    let mut command = tokio::process::Command::new(program);
    if let Some(u) = runner.user {
        command.uid(u.uid).gid(u.gid);
    }
    let child = command
        .args(args)
        .args(extra)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        // Its own process group, so a timeout ends what it started too.
        .process_group(0)
        .kill_on_drop(true)
        .spawn();
    let mut child = match child {
        Ok(c) => c,
        Err(e) => {
            warn!(subject = job.subject.word(), name = %job.name, state = job.state, %program, "notify script: {e}");
            return;
        }
    };
    match tokio::time::timeout(runner.timeout, child.wait()).await {
        Ok(Ok(status)) if status.success() => {
            debug!(subject = job.subject.word(), name = %job.name, state = job.state, %program, "notify script done")
        }
        Ok(Ok(status)) => {
            warn!(subject = job.subject.word(), name = %job.name, state = job.state, %program, %status, "notify script failed")
        }
        Ok(Err(e)) => {
            warn!(subject = job.subject.word(), name = %job.name, state = job.state, %program, "notify script: {e}")
        }
        Err(_) => {
            warn!(subject = job.subject.word(), name = %job.name, state = job.state, %program, timeout = ?runner.timeout, "notify script killed after the timeout");
            if let Some(pid) = child.id() {
                kill_script_tree(pid);
            }
            let _ = child.kill().await;
        }
    }
}

/// SIGKILL to a timed-out script's process group (started with `process_group(0)`: its
/// group id is its PID) and to every descendant found under it first, those that left the
/// group or the session (`setsid`) included: the process group alone would miss them, and
/// they would hang on as orphans of the daemon (see [`crate::runtime::reaper`]).
fn kill_script_tree(pid: u32) {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return;
    };
    // Read before the kill: once the script is gone its children are re-parented.
    let below = reaper::descendants_of(pid);
    if let Some(leader) = reaper::ProcStat::read(pid) {
        reaper::signal_with_group(&leader, libc::SIGKILL);
    }
    for p in below {
        if let Some(stat) = reaper::ProcStat::read(p) {
            reaper::signal_with_group(&stat, libc::SIGKILL);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn script(dir: &std::path::Path, body: &str) -> String {
        use std::os::unix::fs::PermissionsExt;
        let path = dir.join("n.sh");
        std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        path.display().to_string()
    }

    #[test]
    fn transitions_are_named_as_keepalived_does() {
        assert_eq!(
            notify_state(State::Master, StateChangeReason::Startup),
            Some("MASTER")
        );
        assert_eq!(
            notify_state(State::Init, StateChangeReason::Shutdown),
            Some("STOP")
        );
        assert_eq!(notify_state(State::Init, StateChangeReason::Startup), None);
    }

    #[test]
    fn a_group_is_master_only_when_all_members_are_and_faults_with_one() {
        use State::*;
        assert_eq!(group_state([Init, Init], None), None);
        assert_eq!(group_state([Backup, Init], None), Some("BACKUP"));
        assert_eq!(
            group_state([Master, Backup], Some("BACKUP")),
            Some("BACKUP")
        );
        assert_eq!(
            group_state([Master, Master], Some("BACKUP")),
            Some("MASTER")
        );
        assert_eq!(group_state([Master, Fault], Some("MASTER")), Some("FAULT"));
        assert_eq!(group_state([Init, Init], Some("MASTER")), Some("STOP"));
    }

    /// A script that started a child, and another in a session of its own (`setsid`), and
    /// hangs: at the timeout its whole process group goes, and the escaped child too.
    #[tokio::test]
    async fn a_timed_out_script_is_killed_with_its_process_group() {
        let dir = std::env::temp_dir().join(format!("mf-notify-pg-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let pid_file = dir.join("child.pid");
        let sh = script(
            &dir,
            &format!(
                "sleep 1000 & echo $! > {p}; setsid sleep 1000 & echo $! >> {p}; sleep 1000",
                p = pid_file.display()
            ),
        );
        let runner = Runner {
            user: None,
            // Long enough for the script to write its children's PIDs on a loaded machine
            // (at 500 ms a CI run once killed it before it had).
            timeout: Duration::from_secs(2),
        };
        let (tx, notifier) = spawn_notifier_with(None, runner);
        tx.send(NotifyJob {
            subject: NotifySubject::Instance,
            name: "web".into(),
            state: "MASTER",
            priority: 100,
            scripts: NotifyScripts {
                master: Some(vec![sh]),
                ..NotifyScripts::default()
            },
        })
        .unwrap();
        drop(tx);
        tokio::time::timeout(Duration::from_secs(5), notifier)
            .await
            .expect("the runner waited for the script past its timeout")
            .unwrap();
        let children: Vec<i32> = std::fs::read_to_string(&pid_file)
            .unwrap()
            .lines()
            .map(|l| l.trim().parse().unwrap())
            .collect();
        assert_eq!(children.len(), 2);
        for child in children {
            // Reaped by nobody yet (the shell's child): gone or a zombie, never running.
            let alive = || {
                std::fs::read_to_string(format!("/proc/{child}/stat"))
                    .map(|s| !s.contains(") Z "))
                    .unwrap_or(false)
            };
            // SIGKILL is sent, not waited for: give the kernel a moment to end it.
            for _ in 0..100 {
                if !alive() {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            let stat = std::fs::read_to_string(format!("/proc/{child}/stat"));
            assert!(
                !alive(),
                "the script's child {child} survived the kill: {stat:?}"
            );
        }
        std::fs::remove_dir_all(&dir).ok();
    }

    #[tokio::test]
    async fn a_backlog_behind_a_slow_script_keeps_only_the_latest() {
        let dir = std::env::temp_dir().join(format!("mf-notify-bl-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let log = dir.join("log");
        let sh = script(
            &dir,
            &format!("sleep 0.1; echo \"$*\" >> {}", log.display()),
        );
        let (tx, runner) = spawn_notifier(None, None);
        // The first job starts at once; the next 40 queue up behind its 0.1 s.
        for k in 0..41u8 {
            tx.send(NotifyJob {
                subject: NotifySubject::Instance,
                name: "web".into(),
                state: "BACKUP",
                priority: k,
                scripts: NotifyScripts {
                    any: Some(vec![sh.clone()]),
                    ..NotifyScripts::default()
                },
            })
            .unwrap();
            if k == 0 {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
        drop(tx);
        runner.await.unwrap();
        let got: Vec<String> = std::fs::read_to_string(&log)
            .unwrap()
            .lines()
            .map(|l| l.rsplit(' ').next().unwrap().to_string())
            .collect();
        let want: Vec<String> = std::iter::once(0)
            .chain(41 - NOTIFY_BACKLOG as u8..41)
            .map(|k| k.to_string())
            .collect();
        assert_eq!(got, want);
        std::fs::remove_dir_all(&dir).ok();
    }

    #[tokio::test]
    async fn one_instances_scripts_run_in_order_specific_first_then_generic() {
        let dir = std::env::temp_dir().join(format!("mf-notify-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let log = dir.join("log");
        // Each run sleeps a little, so scripts started concurrently would interleave.
        let sh = script(
            &dir,
            &format!("sleep 0.05; echo \"$*\" >> {}", log.display()),
        );
        let scripts = NotifyScripts {
            any: Some(vec![sh.clone()]),
            master: Some(vec![sh.clone(), "to-master".into()]),
            backup: Some(vec![sh.clone(), "to-backup".into()]),
            ..NotifyScripts::default()
        };
        let (tx, runner) = spawn_notifier(None, None);
        for (state, priority) in [("BACKUP", 100), ("MASTER", 100), ("BACKUP", 90)] {
            tx.send(NotifyJob {
                subject: NotifySubject::Instance,
                name: "web".into(),
                state,
                priority,
                scripts: scripts.clone(),
            })
            .unwrap();
        }
        // A Master hearing a lower priority: its own script only, not the generic one.
        tx.send(NotifyJob {
            subject: NotifySubject::Instance,
            name: "web".into(),
            state: MASTER_RX_LOWER_PRI,
            priority: 90,
            scripts: NotifyScripts {
                master_rx_lower_pri: Some(vec![sh.clone(), "rx-lower".into()]),
                ..scripts.clone()
            },
        })
        .unwrap();
        // A missing program is logged, not fatal.
        tx.send(NotifyJob {
            subject: NotifySubject::Instance,
            name: "web".into(),
            state: "FAULT",
            priority: 90,
            scripts: NotifyScripts {
                fault: Some(vec!["/nonexistent/notify".into()]),
                ..NotifyScripts::default()
            },
        })
        .unwrap();
        drop(tx);
        runner.await.unwrap();
        let lines = std::fs::read_to_string(&log).unwrap();
        assert_eq!(
            lines.lines().collect::<Vec<_>>(),
            vec![
                "to-backup",
                "INSTANCE web BACKUP 100",
                "to-master",
                "INSTANCE web MASTER 100",
                "to-backup",
                "INSTANCE web BACKUP 90",
                "rx-lower",
            ]
        );
        std::fs::remove_dir_all(&dir).ok();
    }
}
