//! The tokio side's watchers of the instances: the links of every interface (an instance's
//! own and its tracked ones) on one shared [`LinkMonitor`] (one socket and one task, whatever
//! the number of instances), and the track scripts, files and processes as checks on one
//! `healthcheck` monitor (rise/fall like keepalived's `vrrp_script`), each feeding one
//! tracker of one instance slot. A reload starts those of new instances and stops the checks
//! of removed ones (a watched link stays: it costs nothing while it is quiet).

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use healthcheck::{
    CheckId, CheckSpec, ExecCheck, FileCheck, HttpCheck, HttpUrl, Monitor, MonitorConfig, Policy,
    ProcessCheck, StatusCodes, TcpCheck, TrackWeight,
};
use tracing::{info, warn};
use vip_netlink::{LinkChange, LinkMonitor, LinkWatcher};
use vrrp_fsm::TrackerId;

use crate::runtime::daemon::{ctx, lock, spawn_supervised, DaemonError};
use crate::runtime::event_queue::{Event, EventSender};
use crate::runtime::script_security::ScriptUser;
use crate::runtime::spec::{CheckTiming, InstanceSpec, TrackHttp, TrackTcp};

/// The ids of the running checks (see [`check_id`]): an event of a check stopped meanwhile
/// is dropped.
type RunningChecks = Arc<Mutex<BTreeSet<CheckId>>>;

/// The link watches and tracker checks of every instance.
pub struct Watchers {
    /// Who track scripts run as (`None`: root).
    script_user: Option<ScriptUser>,
    watched: BTreeSet<String>,
    links: LinkWatcher,
    monitor: Monitor,
    running: RunningChecks,
}

/// A check's id: the slot (never reused) and the tracker it feeds (whose id says what it
/// watches and how), so a reload that keeps a tracker keeps its check running.
fn check_id(slot: usize, tracker: TrackerId) -> CheckId {
    CheckId(((slot as u64) << 32) | u64::from(tracker.0))
}

/// The slot and tracker a check feeds, from its id.
fn fed_by(check: CheckId) -> (usize, TrackerId) {
    ((check.0 >> 32) as usize, TrackerId(check.0 as u32))
}

impl Watchers {
    /// No watcher yet; link and tracker changes will go to `tx` (starts the link monitor's
    /// task and a forwarding task).
    pub fn new(tx: EventSender, script_user: Option<ScriptUser>) -> Result<Self, DaemonError> {
        let links = LinkMonitor::new().map_err(|e| ctx("watching the links", e))?;
        let watcher = links.watcher();
        spawn_supervised(
            &tx,
            "the link monitor".into(),
            follow_links(tx.clone(), links),
        );
        let (monitor, mut changes) = Monitor::new(MonitorConfig::default());
        let running = RunningChecks::default();
        {
            let (tx, running) = (tx.clone(), running.clone());
            let (fwd, events) = (tx.clone(), tx.clone());
            let tx = fwd;
            spawn_supervised(&events, "the tracker forwarder".into(), async move {
                while let Some(ch) = changes.recv().await {
                    let live = lock(&running).contains(&ch.id);
                    // Up / Down for a script, the file's value for a track_file; nothing
                    // before a script's first result.
                    if let (true, Some(state)) = (live, ch.to_vrrp_fsm()) {
                        let (slot, tracker) = fed_by(ch.id);
                        tx.send(Event::Tracker(slot, tracker, state));
                    }
                }
            });
        }
        Ok(Watchers {
            script_user,
            watched: BTreeSet::new(),
            links: watcher,
            monitor,
            running,
        })
    }

    /// Watches each interface of `spec` not watched yet; returns their link states now.
    pub fn watch_links(&mut self, spec: &InstanceSpec) -> Result<Vec<(String, bool)>, DaemonError> {
        let ifaces = std::iter::once(&spec.iface).chain(spec.track_ifaces.iter().map(|t| &t.iface));
        let mut states = Vec::new();
        for iface in ifaces {
            if self.watched.contains(iface) {
                continue;
            }
            // Links only: the address events of our own VIPs would wake the VRRP thread
            // mid-takeover. A tracked interface may be missing (down until it appears); the
            // instance's own one must exist to open its sockets.
            let now = self.links.watch(iface);
            if now.is_none() {
                if *iface == spec.iface {
                    return Err(DaemonError::Other(format!(
                        "watching {iface}: no such interface"
                    )));
                }
                warn!(%iface, "tracked interface not found: down until it appears");
            }
            states.push((iface.clone(), now.is_some_and(|s| s.up)));
            self.watched.insert(iface.clone());
        }
        Ok(states)
    }

    /// Makes the checks of the instance in `slot` those of `spec`: starts the missing ones
    /// (all of them for a new instance) and stops those it no longer has; the others run on.
    pub fn sync_checks(&self, slot: usize, spec: &InstanceSpec) -> Result<(), DaemonError> {
        let rise_fall = |rise, fall| Policy::Script {
            rise,
            fall,
            init_fail: false,
        };
        let mut wanted: Vec<(&str, CheckSpec)> = Vec::new();
        for t in &spec.track_scripts {
            let mut exec = ExecCheck::new(t.argv.clone())
                .map_err(|e| DaemonError::Other(format!("{}: track script: {e}", spec.name)))?;
            if let Some(u) = self.script_user {
                exec = exec.user(u.uid, u.gid);
            }
            let check = CheckSpec::new(check_id(slot, t.id), exec)
                .interval(t.interval)
                .timeout(t.timeout)
                .policy(rise_fall(t.rise, t.fall));
            wanted.push(("track script", check));
        }
        // keepalived watches a track_file with inotify: so does FileCheck under the monitor,
        // the interval being only a fallback.
        for f in &spec.track_files {
            let file = FileCheck::new(f.path.clone());
            let check = CheckSpec::new(check_id(slot, f.id), file)
                .interval(Duration::from_secs(1))
                .timeout(Duration::from_secs(1))
                .policy(rise_fall(1, 1))
                .weight(TrackWeight::new(f.weight).scaled_by_value());
            wanted.push(("track file", check));
        }
        for t in &spec.track_processes {
            let scan = ProcessCheck::new(t.matcher.clone()).count(t.min, t.max);
            let check = CheckSpec::new(check_id(slot, t.id), scan)
                .interval(t.interval)
                .timeout(t.interval.max(Duration::from_secs(1)))
                .policy(rise_fall(t.rise, t.fall));
            wanted.push(("track process", check));
        }
        for t in &spec.track_tcp {
            wanted.push(("TCP check", tcp_check(check_id(slot, t.id), t, false)));
        }
        for t in &spec.track_http {
            let check = http_check(check_id(slot, t.id), t, false)
                .map_err(|e| DaemonError::Other(format!("{}: HTTP check: {e}", spec.name)))?;
            wanted.push(("HTTP check", check));
        }
        let mut running = lock(&self.running);
        self.stop_unless(&mut running, |id| {
            fed_by(id).0 != slot || wanted.iter().any(|w| w.1.id == id)
        });
        for (what, check) in wanted {
            if running.contains(&check.id) {
                continue;
            }
            let id = check.id;
            self.monitor
                .add(check)
                .map_err(|e| DaemonError::Other(format!("{}: {what}: {e}", spec.name)))?;
            running.insert(id);
        }
        Ok(())
    }

    /// Stops the checks of the instance in `slot`.
    pub fn remove_checks(&self, slot: usize) {
        self.stop_unless(&mut lock(&self.running), |id| fed_by(id).0 != slot);
        info!(slot, "tracker checks stopped");
    }

    /// Stops every check (at exit, before the notify scripts drain).
    pub fn stop_checks(&self) {
        self.stop_unless(&mut lock(&self.running), |_| false);
    }

    /// Stops the running checks `keep` says no to.
    fn stop_unless(&self, running: &mut BTreeSet<CheckId>, keep: impl Fn(CheckId) -> bool) {
        running.retain(|&id| {
            let kept = keep(id);
            if !kept {
                self.monitor.remove(id);
            }
            kept
        });
    }
}

/// The check of a `track_tcp` entry, as `id`; `init_fail`: down until `rise` successes.
pub(crate) fn tcp_check(id: CheckId, t: &TrackTcp, init_fail: bool) -> CheckSpec {
    timed(
        CheckSpec::new(id, TcpCheck::new(t.addr)),
        &t.timing,
        init_fail,
    )
}

/// The check of a `track_http` entry, as `id`; `init_fail`: down until `rise` successes.
pub(crate) fn http_check(
    id: CheckId,
    t: &TrackHttp,
    init_fail: bool,
) -> Result<CheckSpec, healthcheck::ConfigError> {
    let mut url = HttpUrl::new(t.path.clone());
    if let Some(s) = t.status {
        url = url.status(StatusCodes::new([s..=s])?);
    }
    let check = CheckSpec::new(id, HttpCheck::new(t.addr, vec![url]));
    Ok(timed(check, &t.timing, init_fail))
}

/// `check` with a TCP or HTTP tracker's interval, timeout and rise/fall.
fn timed(check: CheckSpec, timing: &CheckTiming, init_fail: bool) -> CheckSpec {
    check
        .interval(timing.interval)
        .timeout(timing.timeout)
        .policy(Policy::Script {
            rise: timing.rise,
            fall: timing.fall,
            init_fail,
        })
}

/// How long to wait before opening the link monitor's socket again after it failed.
const REOPEN: Duration = Duration::from_millis(500);

/// Follows the links of every watched interface for as long as the daemon runs: up and
/// down; removed is down (FAULT for its instances, as keepalived does) until an interface of
/// that name appears again, which is then reported with its new index so the instances on it
/// reopen their sockets. A netlink overrun makes the monitor read every link again (and log
/// it); a failed socket is opened again, never a reason to stop.
async fn follow_links(tx: EventSender, mut links: LinkMonitor) {
    loop {
        match links.next_change().await {
            Ok((name, LinkChange::Up)) => tx.send(Event::Link(name, true)),
            Ok((name, LinkChange::Down)) => tx.send(Event::Link(name, false)),
            Ok((name, LinkChange::Removed)) => {
                warn!(iface = %name, "interface removed: down until it comes back");
                tx.send(Event::Link(name, false));
            }
            Ok((name, LinkChange::Appeared(st))) => {
                info!(iface = %name, index = st.index, up = st.up, "interface found (again)");
                tx.send(Event::LinkIndex(name.clone(), st.index));
                tx.send(Event::Link(name, st.up));
            }
            Err(e) => {
                warn!("link monitor failed ({e}): opening it again");
                tokio::time::sleep(REOPEN).await;
            }
        }
    }
}
