//! The driver loop: the I/O around the Sans-IO `vrrp_fsm::Router`.
//!
//! It waits for the first of: a received advert, a link event, a tracker change, a signal, or
//! the router's next deadline (on a [`PreciseTimer`]); feeds the router; then performs every
//! action the router queued, in order (send advert, add/remove VIPs, GARP/NA bursts, print the
//! state transition).
//!
//! A Backup sleeps through its Master's adverts ([`WakeOn::PriorityZero`]): it wakes for the
//! Master's advert due last before its Master_Down_Timer (where the kernel takes the eBPF
//! filter of [`AdvertSocket::set_wake_after`]), for its Master_Down_Timer (a silent Master),
//! or for a priority-0 advert, and first feeds the router every advert that arrived
//! meanwhile, each at its kernel arrival time, so a live Master just moves the deadline.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::task::Poll;
use std::time::Instant;

use healthcheck::{CheckId, CheckSpec, ExecCheck, Health, Monitor, MonitorConfig, Policy};
use tokio::signal::unix::{signal, SignalKind};
use tokio::sync::mpsc;
use tracing::{debug, info, warn};
use vip_netlink::{
    AdvertSocket, AdvertSocketConfig, Announce, Announcer, Change, IpFamily, LinkEvent, LinkEvents,
    LinkWatch, ReceivedAdvertRef, Vip, VipManager, VipOps, WakeOn,
};
use vrrp_fsm::{Action, InstanceId, Router, State, SyncGroupConfig, TrackerState};
use vrrp_proto::Advert;

use crate::config::{iface_tracker, script_tracker, DaemonSpec, InstanceSpec};
use crate::output::{print_transition, state_name};
use crate::precise_timer::{Fired, PreciseTimer, PRECISE_MARGIN};

/// Why the daemon stopped with an error (exit 1).
#[derive(Debug)]
pub enum DriverError {
    /// Missing CAP_NET_RAW / CAP_NET_ADMIN.
    Privileges(String),
    /// Anything else, with context.
    Other(String),
}

impl std::fmt::Display for DriverError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DriverError::Privileges(m) => write!(
                f,
                "{m}: minimal_failover needs CAP_NET_RAW and CAP_NET_ADMIN (run it as root)"
            ),
            DriverError::Other(m) => f.write_str(m),
        }
    }
}

fn ctx(what: &str, e: vip_netlink::Error) -> DriverError {
    match e {
        vip_netlink::Error::PermissionDenied { .. } => {
            DriverError::Privileges(format!("{what}: {e}"))
        }
        e => DriverError::Other(format!("{what}: {e}")),
    }
}

/// Something that happened outside the state machine.
enum Event {
    /// SIGTERM or SIGINT: shut down gracefully.
    Shutdown(&'static str),
    Link(String, bool),
    Tracker(usize, vrrp_fsm::TrackerId, bool),
    Fatal(String),
}

/// The I/O of one instance.
struct InstanceIo {
    spec: InstanceSpec,
    id: InstanceId,
    sock: Arc<AdvertSocket>,
    announcer: Announcer,
    vips: Vec<Vip>,
    /// The advert this instance sends, built once; only the priority changes per send.
    advert: Box<Advert>,
    /// The time last given to [`AdvertSocket::set_wake_after`].
    wake_after: Option<Instant>,
}

/// Runs the daemon until SIGTERM/SIGINT (then shuts down gracefully and returns `Ok`).
pub async fn run(spec: DaemonSpec) -> Result<(), DriverError> {
    let vip_mgr = VipManager::new().map_err(|e| ctx("opening rtnetlink", e))?;
    let mut router = Router::new();
    let mut ios = Vec::new();
    for inst in &spec.instances {
        let id = router
            .add_instance(inst.fsm.clone())
            .map_err(|e| DriverError::Other(format!("{}: {e}", inst.name)))?;
        let family = IpFamily::of(&inst.fsm.vips[0].addr);
        let mut cfg = AdvertSocketConfig::multicast(inst.iface.clone(), family, inst.fsm.version)
            .with_vrid(inst.fsm.vrid)
            .with_unicast_peers(inst.fsm.unicast_peers.iter().copied());
        if let Some(src) = inst.unicast_src {
            cfg = cfg.with_source(src);
        }
        let sock = AdvertSocket::open(cfg)
            .map_err(|e| ctx(&format!("{}: opening the advert socket", inst.name), e))?;
        let announcer = Announcer::new(&inst.iface)
            .map_err(|e| ctx(&format!("{}: opening the GARP/NA socket", inst.name), e))?;
        let vips = inst
            .fsm
            .vips
            .iter()
            .map(|v| Vip::new(inst.iface.clone(), v.addr, v.prefix_len))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| ctx(&inst.name, e))?;
        let advert = match router.instance(id) {
            Some(i) => Box::new(i.advert(0)),
            None => return Err(DriverError::Other(format!("{}: instance lost", inst.name))),
        };
        ios.push(InstanceIo {
            spec: inst.clone(),
            id,
            sock: Arc::new(sock),
            announcer,
            vips,
            advert,
            wake_after: None,
        });
    }
    for (name, members) in &spec.sync_groups {
        let ids = members.iter().map(|&m| ios[m].id).collect();
        router
            .add_sync_group(SyncGroupConfig::new(ids))
            .map_err(|e| DriverError::Other(format!("sync group {name}: {e}")))?;
    }

    // A crashed earlier run may have left our VIPs behind; we are not Master yet, so they go.
    for io in &ios {
        if io.spec.fsm.priority == 255 {
            continue;
        }
        for v in &io.vips {
            match vip_mgr.remove(v).await {
                Ok(Change::Applied) => {
                    warn!(instance = %io.spec.name, vip = %v.address(), "removed a stale VIP left by an earlier run")
                }
                Ok(Change::Unchanged) => {}
                Err(e) => return Err(ctx("removing a stale VIP", e)),
            }
        }
    }

    let (tx, mut rx) = mpsc::unbounded_channel::<Event>();
    let now = Instant::now();

    // Link state of every interface we care about, then a watcher task per interface.
    let mut ifaces: BTreeMap<String, ()> = BTreeMap::new();
    for io in &ios {
        ifaces.insert(io.spec.iface.clone(), ());
        for t in &io.spec.track_ifaces {
            ifaces.insert(t.iface.clone(), ());
        }
    }
    for iface in ifaces.keys() {
        let mut watch = LinkWatch::new(iface).map_err(|e| ctx(&format!("watching {iface}"), e))?;
        apply_link(&mut router, &ios, now, iface, watch.is_up());
        let tx = tx.clone();
        let name = iface.clone();
        tokio::spawn(async move {
            loop {
                match watch.next_event().await {
                    Ok(LinkEvent::Up) => {
                        let _ = tx.send(Event::Link(name.clone(), true));
                    }
                    Ok(LinkEvent::Down) | Ok(LinkEvent::Removed) => {
                        let _ = tx.send(Event::Link(name.clone(), false));
                    }
                    Ok(_) => {}
                    Err(e) => {
                        let _ = tx.send(Event::Fatal(format!("link watch on {name}: {e}")));
                        return;
                    }
                }
            }
        });
    }

    // Track scripts on a healthcheck monitor (rise/fall like vrrp_script).
    let (monitor, mut changes) = Monitor::new(MonitorConfig::default());
    let mut checks: BTreeMap<u64, (usize, usize)> = BTreeMap::new();
    for (i, io) in ios.iter().enumerate() {
        for (k, t) in io.spec.track_scripts.iter().enumerate() {
            let check_id = (i * 1000 + k) as u64;
            let exec = ExecCheck::new(t.argv.clone())
                .map_err(|e| DriverError::Other(format!("{}: track script: {e}", io.spec.name)))?;
            let spec = CheckSpec::new(CheckId(check_id), exec)
                .interval(t.interval)
                .timeout(t.interval)
                .policy(Policy::Script {
                    rise: t.rise,
                    fall: t.fall,
                    init_fail: false,
                });
            monitor
                .add(spec)
                .map_err(|e| DriverError::Other(format!("{}: track script: {e}", io.spec.name)))?;
            checks.insert(check_id, (i, k));
        }
    }
    {
        let tx = tx.clone();
        tokio::spawn(async move {
            while let Some(ch) = changes.recv().await {
                let Some(&(i, k)) = checks.get(&ch.id.0) else {
                    continue;
                };
                let up = match ch.state.health {
                    Health::Up => true,
                    Health::Down => false,
                    Health::Unknown => continue,
                };
                let _ = tx.send(Event::Tracker(i, script_tracker(k), up));
            }
        });
    }

    // Signals arrive through the event channel, so the hot loop polls one channel, not
    // two signal streams, on every wake-up.
    let mut sigterm = signal(SignalKind::terminate())
        .map_err(|e| DriverError::Other(format!("SIGTERM handler: {e}")))?;
    let mut sigint = signal(SignalKind::interrupt())
        .map_err(|e| DriverError::Other(format!("SIGINT handler: {e}")))?;
    {
        let tx = tx.clone();
        tokio::spawn(async move {
            let which = tokio::select! {
                _ = sigterm.recv() => "SIGTERM",
                _ = sigint.recv() => "SIGINT",
            };
            let _ = tx.send(Event::Shutdown(which));
        });
    }
    let mut timer = PreciseTimer::new().map_err(|e| DriverError::Other(format!("timerfd: {e}")))?;

    for io in &ios {
        info!(
            instance = %io.spec.name, iface = %io.spec.iface, vrid = io.spec.fsm.vrid,
            priority = io.spec.fsm.priority, version = ?io.spec.fsm.version,
            advert_int = ?io.spec.fsm.advert_interval, source = ?io.sock.source(),
            unicast_peers = ?io.spec.fsm.unicast_peers, "starting"
        );
    }
    // The latest time fed to the router: a kernel arrival time never goes back before it.
    let mut last_now = Instant::now();
    router.startup(last_now);
    perform(&mut router, &mut ios, &vip_mgr).await;
    set_wake_ups(&router, &ios);

    loop {
        // The Master_Down_Timer decides a failover: finish that wait precisely.
        let next = router.poll_timeout();
        let precise = next.is_some()
            && router
                .instances()
                .any(|(_, i)| i.master_down_deadline() == next);
        timer
            .set(next, precise)
            .map_err(|e| DriverError::Other(format!("timerfd: {e}")))?;
        // Adverts are read in this task (no channel hop) and fed to the router straight from
        // the socket's receive buffer (no owned copy): the down timer starts as early as
        // possible and an advert costs one wake-up.
        let any_advert = std::future::poll_fn(|cx| {
            for (i, io) in ios.iter().enumerate() {
                let router = &mut router;
                let last_now = &mut last_now;
                let mut feed =
                    Some(|rx: &ReceivedAdvertRef<'_>| feed_advert(router, io, last_now, rx));
                if let Poll::Ready(r) = io.sock.poll_recv_with(cx, &mut feed) {
                    return Poll::Ready((i, r));
                }
            }
            Poll::Pending
        });
        tokio::select! {
            biased;
            r = timer.wait() => {
                let fired = r.map_err(|e| DriverError::Other(format!("timerfd: {e}")))?;
                // Adverts a Backup slept through count first, each at its arrival time: a
                // live Master moves the deadline on and the timer is simply re-armed.
                drain_adverts(&mut router, &ios, &mut last_now);
                if fired == Fired::Due {
                    last_now = Instant::now().max(last_now);
                    router.handle_timeout(last_now);
                }
            }
            (i, got) = any_advert => {
                match got {
                    Ok(()) => {}
                    Err(vip_netlink::Error::Closed) => return Err(DriverError::Other("advert socket closed".into())),
                    Err(e) => warn!(instance = %ios[i].spec.name, "advert receive: {e}"),
                }
                // A Backup woken by its Master's advert (set_advert_wakes) reads all it slept
                // through now, in one turn.
                drain_adverts(&mut router, &ios, &mut last_now);
            }
            ev = rx.recv() => {
                drain_adverts(&mut router, &ios, &mut last_now);
                let now = Instant::now().max(last_now);
                last_now = now;
                match ev {
                    Some(Event::Shutdown(which)) => {
                        info!("{which}: shutting down");
                        break;
                    }
                    Some(Event::Link(iface, up)) => {
                        info!(%iface, up, "link change");
                        apply_link(&mut router, &ios, now, &iface, up);
                    }
                    Some(Event::Tracker(i, tracker, up)) => {
                        info!(instance = %ios[i].spec.name, tracker = tracker.0, up, "track script change");
                        let st = if up { TrackerState::Up } else { TrackerState::Down };
                        if let Err(e) = router.set_tracker(now, ios[i].id, tracker, st) {
                            warn!("tracker update refused: {e}");
                        }
                    }
                    Some(Event::Fatal(m)) => return Err(DriverError::Other(m)),
                    None => return Err(DriverError::Other("event channel closed".into())),
                }
            }
        }
        if perform(&mut router, &mut ios, &vip_mgr).await {
            set_wake_ups(&router, &ios);
        }
        set_advert_wakes(&router, &mut ios);
    }

    router.shutdown(Instant::now());
    perform(&mut router, &mut ios, &vip_mgr).await;
    drop(monitor);
    Ok(())
}

/// Feeds one received advert to the router at the kernel's arrival time: the down timer
/// restarts from when the advert arrived, not from when this task got to read it (never
/// before the last time fed: the router's clock only moves forward).
fn feed_advert(
    router: &mut Router,
    io: &InstanceIo,
    last_now: &mut Instant,
    rx: &ReceivedAdvertRef<'_>,
) {
    *last_now = rx.received_at.max(*last_now);
    if let Err(e) = router.handle_advert(*last_now, io.id, rx.source, &rx.advert) {
        debug!(instance = %io.spec.name, from = %rx.source, "advert ignored: {e}");
    }
}

/// Feeds the router every advert already received and not yet read (those a Backup sleeps
/// through), each with its kernel arrival time.
fn drain_adverts(router: &mut Router, ios: &[InstanceIo], last_now: &mut Instant) {
    for io in ios {
        loop {
            match io
                .sock
                .try_recv_with(|rx| feed_advert(router, io, last_now, rx))
            {
                Ok(Some(())) => {}
                Ok(None) => break,
                Err(e) => {
                    warn!(instance = %io.spec.name, "advert receive: {e}");
                    break;
                }
            }
        }
    }
}

/// A Backup sleeps through its Master's adverts (reading them when its timer is due); every
/// other state wakes for each advert. See [`WakeOn`].
fn set_wake_ups(router: &Router, ios: &[InstanceIo]) {
    for io in ios {
        let backup = router
            .instance(io.id)
            .is_some_and(|i| i.state() == State::Backup);
        let want = if backup {
            WakeOn::PriorityZero
        } else {
            WakeOn::EveryAdvert
        };
        if let Err(e) = io.sock.set_wake_on(want) {
            warn!(instance = %io.spec.name, "advert wake-up filter: {e}");
        }
    }
}

/// A Backup is woken by the Master's advert due last before its down timer's kernel wake-up,
/// rather than by the timer (see [`AdvertSocket::set_wake_after`]): same number of wake-ups,
/// each right behind a packet instead of cold. The timer stays armed for a silent Master.
fn set_advert_wakes(router: &Router, ios: &mut [InstanceIo]) {
    for io in ios {
        let at = router
            .instance(io.id)
            .and_then(|i| i.advert_wake_time(PRECISE_MARGIN));
        if at != io.wake_after {
            io.wake_after = at;
            io.sock.set_wake_after(at);
        }
    }
}

/// Reports a link change to every instance on `iface` and every tracker of `iface`.
fn apply_link(router: &mut Router, ios: &[InstanceIo], now: Instant, iface: &str, up: bool) {
    for io in ios {
        if io.spec.iface == iface {
            let _ = router.set_link(now, io.id, up);
        }
        for (k, t) in io.spec.track_ifaces.iter().enumerate() {
            if t.iface == iface {
                let st = if up {
                    TrackerState::Up
                } else {
                    TrackerState::Down
                };
                let _ = router.set_tracker(now, io.id, iface_tracker(k), st);
            }
        }
    }
}

/// Performs every queued action in order; notifications (transition lines, logs) are emitted
/// after the network actions of the batch, so they never delay a takeover. Returns whether
/// an instance changed state.
async fn perform(router: &mut Router, ios: &mut [InstanceIo], vip_mgr: &VipManager) -> bool {
    let mut notes = Vec::new();
    while let Some((id, action)) = router.poll_action() {
        if matches!(
            action,
            Action::StateChanged { .. }
                | Action::PriorityChanged { .. }
                | Action::MasterRxLowerPriority { .. }
        ) {
            notes.push((id, action));
            continue;
        }
        let io = &mut ios[id.index()];
        match action {
            Action::SendAdvert { priority } => {
                io.advert.priority = priority;
                if let Err(e) = io.sock.send_advert(&io.advert).await {
                    warn!(instance = %io.spec.name, "sending advert: {e}");
                }
            }
            Action::AddVips => {
                for v in &io.vips {
                    if let Err(e) = vip_mgr.add(v).await {
                        warn!(instance = %io.spec.name, vip = %v.address(), "adding VIP: {e}");
                    }
                }
            }
            Action::RemoveVips => {
                for v in &io.vips {
                    if let Err(e) = vip_mgr.remove(v).await {
                        warn!(instance = %io.spec.name, vip = %v.address(), "removing VIP: {e}");
                    }
                }
            }
            Action::SendGarp { count, reason } => {
                debug!(instance = %io.spec.name, count, ?reason, "GARP/NA burst");
                // One round over all VIPs first, so every VIP is announced as early as possible.
                for _ in 0..count {
                    for v in &io.vips {
                        if let Err(e) = io.announcer.announce(v.address()).await {
                            warn!(instance = %io.spec.name, vip = %v.address(), "GARP/NA: {e}");
                        }
                    }
                }
            }
            Action::SendSourceGarp => {
                let Some(src) = io.sock.source() else {
                    continue;
                };
                if let Err(e) = io.announcer.announce(src).await {
                    warn!(instance = %io.spec.name, "GARP/NA for the source address: {e}");
                }
            }
            other => debug!(instance = %io.spec.name, ?other, "action"),
        }
    }
    let changed = notes
        .iter()
        .any(|(_, n)| matches!(n, Action::StateChanged { .. }));
    for (id, note) in notes {
        let io = &ios[id.index()];
        match note {
            Action::StateChanged { from, to, reason } => {
                print_transition(&io.spec.iface, io.spec.fsm.vrid, from, to, reason);
                info!(
                    instance = %io.spec.name, from = state_name(from), to = state_name(to), ?reason,
                    "state change"
                );
            }
            Action::PriorityChanged { from, to } => {
                info!(instance = %io.spec.name, from, to, "effective priority changed");
            }
            Action::MasterRxLowerPriority { from, priority } => {
                info!(instance = %io.spec.name, %from, priority, "Master heard a lower priority");
            }
            other => debug!(instance = %io.spec.name, ?other, "action"),
        }
    }
    changed
}
