//! The VRRP loop: the I/O around the Sans-IO `vrrp_fsm::Router`, on a thread of its own.
//!
//! It waits in one plain `epoll` set for the first of: a received advert, an event from the
//! tokio side (link, tracker, signal), or the router's next deadline (on a [`PreciseTimer`]);
//! feeds the router; then performs every action the router queued, in order (send advert,
//! add/remove VIPs, GARP/NA bursts, print the state transition). Every driver call here is
//! non-blocking and needs no runtime, so a wake-up costs one `epoll_wait` and the work
//! itself: a Master at 10 ms adverts pays for no reactor, task or waker per advert.
//!
//! A Backup sleeps through its Master's adverts ([`WakeOn::PriorityZero`]): it wakes for the
//! Master's advert due last before its Master_Down_Timer (where the kernel takes the eBPF
//! filter of [`AdvertSocket::set_wake_after`]), for its Master_Down_Timer (a silent Master),
//! or for a priority-0 advert, and first feeds the router every advert that arrived
//! meanwhile, each at its kernel arrival time, so a live Master just moves the deadline. A
//! Backup whose queue overflowed while it slept restarts its timer once and reads every
//! advert for a while (`receive_overflow.rs`): a flood never pushes its Master's adverts out.

use std::os::fd::AsRawFd;
use std::time::Instant;

use std::collections::BTreeMap;
use tracing::{debug, info, warn};

use vip_netlink::{InboundAdvertRef, Vip, VipManager, WakeOn};
use vrrp_fsm::{Action, InstanceId, Router, State, SyncGroupConfig, SyncGroupId, TrackerState};

use crate::runtime::daemon::{open_advert_socket, vip_list, DaemonError};
use crate::runtime::epoll::Epoll;
use crate::runtime::event_queue::{Event, EventReceiver};
use crate::runtime::events::Event as Published;
use crate::runtime::instance_io::{InstanceIo, InstanceSlots};
use crate::runtime::log_limit::LogLimit;
use crate::runtime::notify::{
    group_state, notify_state, priority_event, NotifyJob, NotifySender, NotifySubject,
    MASTER_RX_LOWER_PRI,
};
use crate::runtime::precise_timer::{Fired, PreciseTimer, PRECISE_MARGIN};
use crate::runtime::reload::ReloadRequest;
use crate::runtime::routing;
use crate::runtime::spec::{InstanceSpec, SyncGroupSpec};
use crate::runtime::state_board::StateBoard;
use crate::runtime::status::InstanceStatus;

/// A Master_Down_Timer that fired: its deadline and when the loop woke for it.
#[derive(Debug, Clone, Copy)]
pub struct DownTimerFired {
    due: Instant,
    woke: Instant,
}

/// `epoll` token of the event queue; instance sockets use their index.
const EVENTS: u64 = u64::MAX;

/// Everything the loop owns.
pub struct VrrpLoop {
    pub router: Router,
    pub ios: InstanceSlots,
    pub vip_mgr: VipManager,
    pub events: EventReceiver,
    /// The last known link state of each watched interface (at start: its state then).
    pub links: BTreeMap<String, bool>,
    /// The sync groups, members as slots (a reload keeps a group's members, may change its
    /// scripts, may add groups of new instances).
    pub sync_groups: Vec<SyncGroupSpec>,
    /// The router's id of each of `sync_groups`.
    pub group_ids: Vec<SyncGroupId>,
    /// The state last announced to each sync group's notify scripts.
    pub group_states: Vec<Option<&'static str>>,
    /// Where transitions go for the notify scripts (run on the tokio side).
    pub notify: NotifySender,
    /// The `notify_fifo` started with (a reload must keep it); when set, every transition is
    /// announced, scripts or not.
    pub notify_fifo: Option<std::path::PathBuf>,
    /// Instances a reload is taking out, with their last priority: their shutdown is
    /// announced as FAULT, as keepalived does.
    pub removing: Vec<(InstanceId, u8)>,
    /// Where the program's events go.
    pub published: tokio::sync::broadcast::Sender<Published>,
    /// Each instance's state, written before its transition is published.
    pub states: StateBoard,
    /// The rate limit of each instance's "Master heard a lower priority" line, by slot.
    pub rx_lower_logs: BTreeMap<usize, LogLimit>,
    /// The one GARP/NA socket every instance's announcers share (see `AnnounceSocket`).
    pub garp_socket: vip_netlink::AnnounceSocket,
}

fn other(what: &str, e: std::io::Error) -> DaemonError {
    DaemonError::Other(format!("{what}: {e}"))
}

impl VrrpLoop {
    /// Runs until a shutdown event (then shuts down gracefully and returns `Ok`) or a fatal
    /// one.
    pub fn run(&mut self) -> Result<(), DaemonError> {
        let mut epoll = Epoll::new().map_err(|e| other("epoll", e))?;
        let mut timer = PreciseTimer::new();
        epoll
            .add(self.events.as_raw_fd(), EVENTS)
            .map_err(|e| other("epoll", e))?;
        for io in self.ios.iter() {
            epoll
                .add(io.sock.as_raw_fd(), io.id.index() as u64)
                .map_err(|e| other("epoll", e))?;
        }

        // The latest time fed to the router: a kernel arrival time never goes back before it.
        let mut last_now = Instant::now();
        for (iface, &up) in &self.links {
            apply_link(&mut self.router, self.ios.iter(), last_now, iface, up);
        }
        self.router.startup(last_now);
        while self.perform(None) {
            self.set_wake_ups(last_now);
        }

        let mut ready = Vec::with_capacity(16);
        // The clock is read once per wake-up (a cold read costs more than the rest of a
        // Master's turn in user space): the sleep is computed from when this turn began, so
        // it ends late by at most the turn's own few microseconds, which a deadline-based
        // advert cadence absorbs and a precise deadline's polling finish makes up.
        let mut woke = Instant::now();
        loop {
            // The Master_Down_Timer decides a failover: finish that wait precisely.
            // One instance's timers looked at, not every instance's: with a thousand Masters
            // whose adverts are spread over the interval, the loop wakes for each of them.
            let next_timeout = self.router.next_timeout();
            let next = next_timeout.map(|(t, _)| t);
            let precise = next_timeout.is_some_and(|(t, id)| {
                self.router
                    .instance(id)
                    .is_some_and(|i| i.master_down_deadline() == Some(t))
            });
            timer.set(next, precise);
            let wait = timer.timeout(woke);
            ready.clear();
            ready.extend(epoll.wait(wait).map_err(|e| other("epoll_wait", e))?);
            woke = Instant::now();

            // Adverts first: each counts at its kernel arrival time, before any deadline. A
            // Backup woken by its Master's advert (set_advert_wakes) reads what it slept
            // through first, in the same call.
            for &token in &ready {
                if let Some(io) = self.ios.get(token as usize) {
                    drain_ready(&mut self.router, io, &mut last_now);
                }
            }
            if ready.contains(&EVENTS) {
                drain_slept_through(&mut self.router, &self.ios, &mut last_now, None);
                last_now = woke.max(last_now);
                let evs: Vec<Event> = self.events.drain().collect();
                for ev in evs {
                    match ev {
                        Event::Shutdown(which) => {
                            info!("{which}: shutting down");
                            self.router.shutdown(Instant::now().max(last_now));
                            self.perform(None);
                            return Ok(());
                        }
                        Event::Link(iface, up) => {
                            info!(%iface, up, "link change");
                            apply_link(&mut self.router, self.ios.iter(), last_now, &iface, up);
                            self.links.insert(iface, up);
                        }
                        Event::LinkIndex(iface, index) => {
                            self.reopen_on(&iface, index, &epoll);
                        }
                        Event::Tracker(i, tracker, st) => {
                            let Some(io) = self.ios.get(i) else { continue };
                            info!(instance = %io.spec.name, tracker = tracker.0, state = ?st, "tracker change");
                            if let Err(e) = self.router.set_tracker(last_now, io.id, tracker, st) {
                                warn!("tracker update refused: {e}");
                            }
                        }
                        Event::Reload(req) => {
                            let ReloadRequest { spec, plan, reply } = *req;
                            let done = self.reload(spec, plan, &epoll, &mut last_now);
                            match &done {
                                Ok(_) => info!("reload applied"),
                                Err(e) => {
                                    warn!("reload refused: {e}; the running configuration stays")
                                }
                            }
                            let _ = reply.send(done);
                        }
                        Event::InjectPanic => panic!("injected by a test"),
                        Event::Status(reply) => {
                            let _ = reply.send(self.status());
                        }
                        Event::Fatal(m) => {
                            // A fault is never an exit that leaves VIPs behind.
                            warn!("{m}: shutting down");
                            self.router.shutdown(Instant::now().max(last_now));
                            self.perform(None);
                            return Err(DaemonError::Other(m));
                        }
                    }
                }
            }
            // A Master_Down_Timer that fired this turn: the takeover's timing is logged.
            let mut precise_due = None;
            if let Some(fired) = timer.check(woke) {
                // Adverts a Backup slept through count first, each at its arrival time: a
                // live Master moves the deadline on and the wait simply starts again. Only the
                // Backups whose timer is about due read theirs: the others' wait goes on.
                let due_by = woke + PRECISE_MARGIN;
                drain_slept_through(&mut self.router, &self.ios, &mut last_now, Some(due_by));
                if fired == Fired::Due {
                    last_now = woke.max(last_now);
                    if precise {
                        precise_due = next.map(|due| DownTimerFired { due, woke });
                    }
                    self.router.handle_timeout(last_now);
                }
            }
            while self.perform(precise_due.take()) {
                self.set_wake_ups(woke);
                // A former Backup reads what it slept through until the switch, now.
                drain_all_queued(&mut self.router, &self.ios, &mut last_now);
            }
            self.set_advert_wakes(woke);
        }
    }

    /// Applies a reloaded file (SIGHUP) as `plan` maps it (see `reload.rs`), all or nothing:
    /// every change is made on a copy of the router, and every new socket opened, before
    /// anything is committed. Kept instances get `Router::reconfigure` (a new advert socket
    /// when their unicast peers changed, under the same `epoll` token; VIPs dropped from the
    /// file are removed here from a Master that held them); new ones are added and started;
    /// removed ones shut down (priority 0 from a Master, VIPs removed, notify FAULT) and
    /// their slots empty. The queued actions run before this returns. Returns each file
    /// instance's slot.
    fn reload(
        &mut self,
        new: crate::runtime::spec::DaemonSpec,
        plan: crate::runtime::reload::ReloadPlan,
        epoll: &Epoll,
        last_now: &mut Instant,
    ) -> Result<Vec<usize>, String> {
        let now = *last_now;
        let mut router = self.router.clone();
        let mut ids = Vec::with_capacity(new.instances.len());
        let mut kept = Vec::new();
        let mut added = Vec::new();
        for (spec, slot) in new.instances.iter().zip(&plan.slots) {
            let named = |e: &dyn std::fmt::Display| format!("instance {:?}: {e}", spec.name);
            let Some(slot) = slot else {
                let id = router
                    .add_instance(spec.fsm.clone())
                    .map_err(|e| named(&e))?;
                let io = InstanceIo::open(spec, id, &router, &self.garp_socket)
                    .map_err(|e| named(&e))?;
                for (iface, &up) in &self.links {
                    apply_link(&mut router, [&io], now, iface, up);
                }
                ids.push(id);
                added.push(io);
                continue;
            };
            let io = self
                .ios
                .get(*slot)
                .ok_or_else(|| named(&"no longer running"))?;
            router
                .reconfigure(now, io.id, spec.fsm.clone())
                .map_err(|e| named(&e))?;
            let sock = if spec.fsm.unicast_peers == io.spec.fsm.unicast_peers {
                None
            } else {
                let sock = open_advert_socket(spec)
                    .map_err(|e| named(&format!("opening the advert socket: {e}")))?;
                Some(sock)
            };
            let list = vip_list(spec).map_err(|e| named(&e))?;
            ids.push(io.id);
            kept.push((*slot, spec.clone(), list, sock));
        }
        // Groups the file dropped first: their members may be removed below.
        for (g, &gid) in self.sync_groups.iter().zip(&self.group_ids) {
            if !new.sync_groups.iter().any(|n| n.name == g.name) {
                router
                    .remove_sync_group(now, gid)
                    .map_err(|e| format!("sync group {:?}: {e}", g.name))?;
                info!(group = %g.name, "sync group dissolved by the reload");
            }
        }
        let mut groups = Vec::with_capacity(new.sync_groups.len());
        let mut group_ids = Vec::with_capacity(new.sync_groups.len());
        let mut group_states = Vec::with_capacity(new.sync_groups.len());
        for g in &new.sync_groups {
            let members: Vec<InstanceId> = g.members.iter().map(|&m| ids[m]).collect();
            let gid = match self.sync_groups.iter().position(|r| r.name == g.name) {
                Some(k) => {
                    group_states.push(self.group_states[k]);
                    self.group_ids[k]
                }
                None => {
                    group_states.push(None);
                    router
                        .add_sync_group(SyncGroupConfig::new(members.clone()))
                        .map_err(|e| format!("sync group {:?}: {e}", g.name))?
                }
            };
            group_ids.push(gid);
            groups.push(SyncGroupSpec {
                members: members.iter().map(|id| id.index()).collect(),
                ..g.clone()
            });
        }
        let mut removing = Vec::with_capacity(plan.removed.len());
        for &slot in &plan.removed {
            let Some(io) = self.ios.get(slot) else {
                continue;
            };
            let priority = router.instance(io.id).map_or(0, |i| i.effective_priority());
            router
                .remove_instance(now, io.id)
                .map_err(|e| format!("instance {:?}: {e}", io.spec.name))?;
            removing.push((io.id, priority));
        }
        router.startup(now);

        // Committed from here on.
        for (slot, spec, list, sock) in kept {
            let Some(io) = self.ios.get_mut(slot) else {
                continue;
            };
            if let Some(sock) = sock {
                // The old socket leaves the epoll set as it closes.
                io.replace_socket(sock);
                if let Err(e) = epoll.add(io.sock.as_raw_fd(), slot as u64) {
                    warn!(instance = %spec.name, "watching the new advert socket: {e}");
                }
                info!(instance = %spec.name, peers = ?spec.fsm.unicast_peers, "new unicast peers");
            } else if spec.auth_hmac != io.spec.auth_hmac {
                // Keys, active_key, mode, window: from the next advert, with the send
                // sequence and the peers' replay marks kept, so a rotation has no gap.
                io.sock.set_auth_hmac(spec.auth_hmac.clone());
                info!(instance = %spec.name,
                      active_key = spec.auth_hmac.as_ref().map(|a| a.active_key()),
                      mode = spec.auth_hmac.as_ref().map(|a| a.mode().as_str()),
                      "auth_hmac changed");
            }
            if self.router.instance(io.id).is_some_and(|i| i.vips_held()) {
                update_held_vips(io, &self.vip_mgr, &spec, &list);
            }
            io.vips = list;
            if let Some(inst) = router.instance(io.id) {
                *io.advert = inst.advert(0);
            }
            io.spec = spec;
        }
        for io in added {
            if let Err(e) = io.remove_stale_vips(&self.vip_mgr) {
                warn!(instance = %io.spec.name, "{e}");
            }
            if let Err(e) = epoll.add(io.sock.as_raw_fd(), io.id.index() as u64) {
                warn!(instance = %io.spec.name, "watching the advert socket: {e}");
            }
            info!(
                instance = %io.spec.name, iface = %io.spec.iface, vrid = io.spec.fsm.vrid,
                priority = io.spec.fsm.priority, "starting (added by the reload)"
            );
            self.ios.insert(io);
        }
        self.router = router;
        // A tracked interface new to a kept instance starts Up: give it the link's state
        // (the same state again changes nothing for the others).
        for (iface, &up) in &self.links {
            apply_link(&mut self.router, self.ios.iter(), now, iface, up);
        }
        self.sync_groups = groups;
        self.group_ids = group_ids;
        self.group_states = group_states;
        self.removing = removing;
        // The removed instances' goodbyes go out before their sockets close.
        while self.perform(None) {
            self.set_wake_ups(*last_now);
            drain_all_queued(&mut self.router, &self.ios, last_now);
        }
        for (id, _) in std::mem::take(&mut self.removing) {
            if let Some(io) = self.ios.take(id.index()) {
                info!(instance = %io.spec.name, "removed by the reload");
            }
        }
        // A new socket starts waking for every advert: give it the Backup's filter now.
        self.set_wake_ups(*last_now);
        Ok(ids.iter().map(|id| id.index()).collect())
    }

    /// A Backup is woken by the Master's advert due last before its down timer's kernel
    /// wake-up, rather than by the timer (see [`AdvertSocket::set_wake_after`]): same number
    /// of wake-ups, each right behind a packet instead of cold. The timer stays armed for a
    /// silent Master.
    fn set_advert_wakes(&mut self, now: Instant) {
        for io in self.ios.iter_mut() {
            let inst = self.router.instance(io.id);
            // A Backup whose queue overflowed reads every advert for a while; then sleeps again.
            if inst.is_some_and(|i| i.state() == State::Backup) {
                set_wake_on(io, true, now);
            }
            let at = inst.and_then(|i| i.advert_wake_time(PRECISE_MARGIN));
            if at != io.wake_after {
                io.wake_after = at;
                io.sock.set_wake_after(at);
            }
            // What the Backup heard this turn may move its queue's floor (it keeps its own copy).
            let floor = self
                .router
                .instance(io.id)
                .map_or((0, None), priority_floor);
            if let Err(e) = io.set_priority_floor(floor) {
                warn!(instance = %io.spec.name, "advert queue filter: {e}");
            }
        }
    }

    /// A Backup sleeps through its Master's adverts (reading them when its timer is due);
    /// every other state wakes for each advert. See [`WakeOn`].
    fn set_wake_ups(&mut self, now: Instant) {
        for io in self.ios.iter_mut() {
            let inst = self.router.instance(io.id);
            let backup = inst.is_some_and(|i| i.state() == State::Backup);
            let floor = inst.map_or((0, None), priority_floor);
            if let Err(e) = io.set_priority_floor(floor) {
                warn!(instance = %io.spec.name, "advert queue filter: {e}");
            }
            set_wake_on(io, backup, now);
        }
    }

    /// Performs every queued action: first every advert of the batch, then the other network
    /// actions in order, then the notifications (transition lines, logs), so that neither
    /// delays a takeover. An instance's own order holds (advert, VIPs, GARPs, as keepalived's
    /// `vrrp_state_become_master`); only other instances' VIPs and GARPs wait for its advert.
    /// When hundreds of instances take over in one batch, their peers hear every new Master
    /// within microseconds, not after hundreds of address changes through the kernel.
    /// `fired`: this batch answers a Master_Down_Timer; its state-change log then says how
    /// late the loop woke for it and when the network actions (advert, VIPs, GARP/NA) were
    /// done, both from the deadline. Returns whether an instance changed state.
    fn perform(&mut self, fired: Option<DownTimerFired>) -> bool {
        let mut changed = false;
        let mut notes = Vec::new();
        let mut after_adverts = Vec::new();
        while let Some((id, action)) = self.router.poll_action() {
            if matches!(
                action,
                Action::StateChanged { .. }
                    | Action::PriorityChanged { .. }
                    | Action::MasterRxLowerPriority { .. }
            ) {
                changed |= matches!(action, Action::StateChanged { .. });
                notes.push((id, action));
                continue;
            }
            if !matches!(action, Action::SendAdvert { .. }) {
                after_adverts.push((id, action));
                continue;
            }
            if let Some(io) = self.ios.get_mut(id.index()) {
                perform_network(io, &self.vip_mgr, action);
            }
        }
        for (id, action) in after_adverts {
            if let Some(io) = self.ios.get_mut(id.index()) {
                perform_network(io, &self.vip_mgr, action);
            }
        }
        // Read only when the deadline decided a takeover: one clock read per failover.
        let timing = fired.filter(|_| !notes.is_empty()).map(|f| {
            let us = |t: Instant| t.saturating_duration_since(f.due).as_micros() as u64;
            (us(f.woke), us(Instant::now()))
        });
        for (id, note) in notes {
            let Some(io) = self.ios.get(id.index()) else {
                continue;
            };
            match note {
                Action::StateChanged { from, to, reason } => {
                    self.states.set(&io.spec.name, to);
                    let _ = self.published.send(Published::StateChanged {
                        instance: io.spec.name.clone(),
                        iface: io.spec.iface.clone(),
                        vrid: io.spec.fsm.vrid,
                        family: io.spec.fsm.family,
                        from,
                        to,
                        reason,
                        at: std::time::SystemTime::now(),
                    });
                    // keepalived announces an instance a reload removed as FAULT.
                    let removed = self.removing.iter().find(|(r, _)| *r == id);
                    let state = match removed {
                        Some(_) => Some("FAULT"),
                        None => notify_state(to, reason),
                    };
                    if let Some(state) = state {
                        if self.notify_fifo.is_some() || !io.spec.notify.is_empty() {
                            let priority = match removed {
                                Some(&(_, priority)) => priority,
                                None => self
                                    .router
                                    .instance(id)
                                    .map_or(0, |i| i.effective_priority()),
                            };
                            let _ = self.notify.send(NotifyJob {
                                subject: NotifySubject::Instance,
                                name: io.spec.name.clone(),
                                state,
                                priority,
                                scripts: io.spec.notify.clone(),
                            });
                        }
                    }
                    // `None` fields are left out of the line.
                    info!(
                        instance = %io.spec.name, from = %from, to = %to, ?reason,
                        late_us = timing.map(|t| t.0), actions_done_us = timing.map(|t| t.1),
                        "state change"
                    );
                }
                Action::PriorityChanged { from, to } => {
                    // A Backup's queue filter follows its priority (see set_wake_ups).
                    changed = true;
                    info!(instance = %io.spec.name, from, to, "effective priority changed");
                    let _ = self.published.send(Published::PriorityChanged {
                        instance: io.spec.name.clone(),
                        from,
                        to,
                    });
                    let state = self.router.instance(id).map(|i| i.state());
                    let event = state.and_then(priority_event);
                    if let (Some(event), true, true) = (
                        event,
                        io.spec.notify_priority_changes,
                        self.notify_fifo.is_some(),
                    ) {
                        let _ = self.notify.send(NotifyJob {
                            subject: NotifySubject::Instance,
                            name: io.spec.name.clone(),
                            state: event,
                            priority: to,
                            scripts: Default::default(),
                        });
                    }
                }
                Action::MasterRxLowerPriority { from, priority } => {
                    let limit = self.rx_lower_logs.entry(id.index()).or_default();
                    if let Some(suppressed) = limit.allow(Instant::now()) {
                        info!(instance = %io.spec.name, %from, priority, suppressed, "Master heard a lower priority");
                    }
                    let _ = self.published.send(Published::MasterRxLowerPriority {
                        instance: io.spec.name.clone(),
                        from,
                        priority,
                    });
                    if self.notify_fifo.is_some() || io.spec.notify.master_rx_lower_pri.is_some() {
                        let own = self
                            .router
                            .instance(id)
                            .map_or(0, |i| i.effective_priority());
                        let _ = self.notify.send(NotifyJob {
                            subject: NotifySubject::Instance,
                            name: io.spec.name.clone(),
                            state: MASTER_RX_LOWER_PRI,
                            priority: own,
                            scripts: io.spec.notify.clone(),
                        });
                    }
                }
                other => debug!(instance = %io.spec.name, ?other, "action"),
            }
        }
        if changed {
            self.announce_groups();
        }
        changed
    }

    /// After a panic on this thread: whatever state the router is in, no VIP, route or rule
    /// stays behind, and a Master's peers hear priority 0 at once (best effort, each step on
    /// its own). Never panics itself.
    pub fn release_all(&mut self) {
        for io in self.ios.iter_mut() {
            let held = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                self.router.instance(io.id).is_some_and(|i| i.vips_held())
            }))
            .unwrap_or(true);
            if held {
                io.advert.priority = 0;
                if let Err(e) = io.sock.try_send_advert(&io.advert) {
                    warn!(instance = %io.spec.name, "priority 0 after a panic: {e}");
                }
            }
            routing::uninstall(&io.spec, &self.vip_mgr);
            for v in &io.vips {
                if let Err(e) = self.vip_mgr.remove_now(v) {
                    warn!(instance = %io.spec.name, vip = %v.address(), "removing a VIP after a panic: {e}");
                }
            }
        }
    }

    /// Interface `iface` came back as index `index`: the instances on it reopen their
    /// advert and GARP/NA sockets (bound to the old index, they would send nowhere). Their
    /// state follows the link events as usual.
    fn reopen_on(&mut self, iface: &str, index: u32, epoll: &Epoll) {
        for io in self.ios.iter_mut() {
            // A VIP's other interface: its GARP/NA socket reopens at its next use.
            io.other_announcers.retain(|(i, _)| i != iface);
            let on_it = io.spec.advert_iface() == iface || io.spec.vip_iface() == iface;
            if !on_it || io.sock.interface().index() == index {
                continue;
            }
            match (
                open_advert_socket(&io.spec),
                vip_netlink::Announcer::with_socket(io.spec.vip_iface(), &self.garp_socket),
            ) {
                (Ok(sock), Ok(announcer)) => {
                    io.replace_socket(sock);
                    io.announcer = announcer;
                    if let Err(e) = epoll.add(io.sock.as_raw_fd(), io.id.index() as u64) {
                        warn!(instance = %io.spec.name, "watching the new advert socket: {e}");
                    }
                    info!(instance = %io.spec.name, %iface, index, "sockets reopened on the re-created interface");
                }
                (Err(e), _) | (_, Err(e)) => {
                    warn!(instance = %io.spec.name, %iface, "reopening the sockets: {e}; the instance stays down");
                }
            }
        }
        self.set_wake_ups(Instant::now());
    }

    /// Every running instance's status.
    fn status(&self) -> Vec<InstanceStatus> {
        self.ios
            .iter()
            .filter_map(|io| {
                let i = self.router.instance(io.id)?;
                let trackers = io
                    .spec
                    .tracker_names()
                    .map(|(id, name)| (name, i.tracker_state(id)))
                    .collect();
                Some(InstanceStatus {
                    name: io.spec.name.clone(),
                    iface: io.spec.iface.clone(),
                    vrid: io.spec.fsm.vrid,
                    family: io.spec.fsm.family,
                    state: i.state(),
                    base_priority: i.base_priority(),
                    effective_priority: i.effective_priority(),
                    fault: i.fault_flags(),
                    vips_held: i.vips_held(),
                    master_address: i.master_address(),
                    trackers,
                    counters: *i.counters(),
                    auth_hmac: io.sock.auth_hmac_stats(),
                })
            })
            .collect()
    }

    /// Runs a sync group's notify scripts when its state (see [`group_state`]) changed.
    fn announce_groups(&mut self) {
        for (group, announced) in self.sync_groups.iter().zip(&mut self.group_states) {
            let states = group.members.iter().filter_map(|&m| {
                let io = self.ios.get(m)?;
                Some(self.router.instance(io.id)?.state())
            });
            let now = group_state(states, *announced);
            if now.is_none() || now == *announced {
                continue;
            }
            *announced = now;
            info!(group = %group.name, state = now, "sync group state");
            if let Some(state) = now {
                let _ = self.published.send(Published::GroupStateChanged {
                    group: group.name.clone(),
                    state,
                });
            }
            if let (Some(state), true) =
                (now, self.notify_fifo.is_some() || !group.notify.is_empty())
            {
                let _ = self.notify.send(NotifyJob {
                    subject: NotifySubject::Group,
                    name: group.name.clone(),
                    state,
                    priority: 0,
                    scripts: group.notify.clone(),
                });
            }
        }
    }
}

/// A reload changed the VIPs or routes of a Master that holds them: those dropped from the
/// file go now (routes first), new ones come in (routes last).
fn update_held_vips(io: &mut InstanceIo, vip_mgr: &VipManager, spec: &InstanceSpec, list: &[Vip]) {
    routing::drop_removed(&io.spec, spec, vip_mgr);
    for gone in io.vips.iter().filter(|v| !list.contains(v)) {
        if let Err(e) = vip_mgr.remove_now(gone) {
            warn!(instance = %io.spec.name, vip = %gone.address(), "removing a VIP dropped by the reload: {e}");
        }
    }
    // New addresses go in now, before the new routes that may use one as their source; the
    // advertised ones get their GARP/NA burst from UpdateVips, the excluded ones here.
    let advertised = |v: &Vip| spec.fsm.vips.iter().any(|a| a.addr == v.address());
    let added: Vec<&Vip> = list.iter().filter(|v| !io.vips.contains(v)).collect();
    for new in added {
        if let Err(e) = vip_mgr.add_now(new) {
            warn!(instance = %io.spec.name, vip = %new.address(), "adding a VIP: {e}");
        } else if !advertised(new) {
            if let Err(e) = io.announce(new) {
                warn!(instance = %io.spec.name, vip = %new.address(), "GARP/NA: {e}");
            }
        }
    }
    routing::add_new(&io.spec, spec, vip_mgr);
}

/// One network action of one instance; failures are logged (the next advert or burst
/// follows on its own schedule, as keepalived's do).
fn perform_network(io: &mut InstanceIo, vip_mgr: &VipManager, action: Action) {
    match action {
        Action::SendAdvert { priority } => {
            io.advert.priority = priority;
            if let Err(e) = io.sock.try_send_advert(&io.advert) {
                warn!(instance = %io.spec.name, "sending advert: {e}");
            }
        }
        // The routes and rules follow the VIPs in and leave first (see routing.rs).
        // UpdateVips: a reload changed the list (the dropped ones are already gone); adding
        // is idempotent.
        Action::AddVips | Action::UpdateVips => {
            for v in &io.vips {
                if let Err(e) = vip_mgr.add_now(v) {
                    warn!(instance = %io.spec.name, vip = %v.address(), "adding VIP: {e}");
                }
            }
            routing::install(&io.spec, vip_mgr);
        }
        Action::RemoveVips => {
            routing::uninstall(&io.spec, vip_mgr);
            for v in &io.vips {
                if let Err(e) = vip_mgr.remove_now(v) {
                    warn!(instance = %io.spec.name, vip = %v.address(), "removing VIP: {e}");
                }
            }
        }
        Action::SendGarp { count, reason } => {
            debug!(instance = %io.spec.name, count, ?reason, "GARP/NA burst");
            // One round over all VIPs first, so every VIP is announced as early as possible.
            let vips = io.vips.clone();
            for _ in 0..count {
                for v in &vips {
                    if let Err(e) = io.announce(v) {
                        warn!(instance = %io.spec.name, vip = %v.address(), "GARP/NA: {e}");
                    }
                }
            }
        }
        Action::SendSourceGarp => {
            let Some(src) = io.sock.source() else {
                return;
            };
            if let Err(e) = io.announcer.try_announce(src) {
                warn!(instance = %io.spec.name, "GARP/NA for the source address: {e}");
            }
        }
        other => debug!(instance = %io.spec.name, ?other, "action"),
    }
}

/// Feeds one received advert to the router at the kernel's arrival time: the down timer
/// restarts from when the advert arrived, not from when this loop got to read it. Each
/// instance's adverts go in order (never before the one fed last), but not clamped to the
/// loop's latest time: a Backup that slept through its Master's adverts reads them only when
/// its own timer is due, and feeding them at the time they were read would stretch its
/// Master_Down_Timer by the delay (up to an advert interval when Masters' phases differ).
/// A sync group's member keeps the loop's clock (its inputs move the other members too).
fn feed_advert(
    router: &mut Router,
    io: &InstanceIo,
    last_now: &mut Instant,
    rx: &InboundAdvertRef<'_>,
) {
    let grouped = router.instance(io.id).is_some_and(|i| i.is_sync_member());
    let floor = if grouped {
        *last_now
    } else {
        io.last_fed.get()
    };
    let at = rx.received_at.max(floor);
    io.last_fed.set(at);
    *last_now = at.max(*last_now);
    if let Err(e) = router.handle_advert(at, io.id, rx.source, &rx.advert) {
        debug!(instance = %io.spec.name, from = %rx.source, "advert ignored: {e}");
    }
}

/// Feeds the router every advert of a socket that polled readable.
fn drain_ready(router: &mut Router, io: &InstanceIo, last_now: &mut Instant) {
    drain(router, io, last_now, true);
}

/// Feeds the router every advert a sleeping Backup's socket holds (those it slept
/// through), each with its kernel arrival time: every sleeping Backup's, or with `due_by`
/// only those whose Master_Down_Timer expires by then (a read per due Backup, not one per
/// Backup each time any timer fires).
fn drain_slept_through(
    router: &mut Router,
    ios: &InstanceSlots,
    last_now: &mut Instant,
    due_by: Option<Instant>,
) {
    for io in ios.iter() {
        if io.sock.wake_on() != WakeOn::PriorityZero {
            continue;
        }
        if let Some(by) = due_by {
            let due = router
                .instance(io.id)
                .and_then(|i| i.master_down_deadline())
                .is_some_and(|d| d <= by);
            if !due {
                continue;
            }
        }
        drain(router, io, last_now, false);
    }
}

/// Feeds the router every advert already received that did not wake the loop, on every
/// socket (after a wake-up switch: the adverts queued before it).
fn drain_all_queued(router: &mut Router, ios: &InstanceSlots, last_now: &mut Instant) {
    for io in ios.iter() {
        drain(router, io, last_now, false);
    }
}

/// Adverts read from a socket that polled readable in one turn of the loop: a flood never
/// starves the timers, the sends and a shutdown (the socket stays readable, so the next turn
/// reads on).
const READ_BUDGET: usize = 256;

/// Adverts a sleeping Backup reads before its timer decides: all it can hold, so a live
/// Master's adverts queued behind a flood still count.
const QUEUED_BUDGET: usize = 4096;

/// Reads one socket until it has nothing more or its budget is spent: everything (`ready`,
/// after it polled readable) or only what it holds without waking the loop.
fn drain(router: &mut Router, io: &InstanceIo, last_now: &mut Instant, ready: bool) {
    let sleeping = io.sock.wake_on() == WakeOn::PriorityZero;
    let budget = if ready { READ_BUDGET } else { QUEUED_BUDGET };
    let mut read = 0;
    for _ in 0..budget {
        let feed = |rx: &InboundAdvertRef<'_>| feed_advert(router, io, last_now, rx);
        let got = if ready {
            io.sock.try_recv_ready_with(feed)
        } else {
            io.sock.try_recv_with(feed)
        };
        match got {
            Ok(Some(())) => read += 1,
            Ok(None) => break,
            Err(e) => {
                warn!(instance = %io.spec.name, "advert receive: {e}");
                break;
            }
        }
    }
    // Adverts the kernel dropped while the Backup slept may have been its Master's (a queue
    // that overflowed is never empty, so an empty one costs no system call).
    if sleeping && read > 0 && io.overflow.rose(&io.sock, *last_now) {
        *last_now = Instant::now().max(*last_now);
        io.last_fed.set(*last_now);
        if let Ok(true) = router.handle_receive_loss(*last_now, io.id) {
            warn!(instance = %io.spec.name, "advert queue overflowed while asleep: Master_Down_Timer restarted, reading every advert for {:?}", crate::runtime::receive_overflow::AWAKE_AFTER_OVERFLOW);
        }
    }
}

/// The kernel floor of a Backup's advert queue ([`AdvertSocket::set_priority_floor`]): a
/// preempting Backup discards lower priorities (RFC 5798 6.4.2), so its queue drops them and
/// a flood of them cannot push out its Master's adverts. Not before it has heard anything:
/// the first lower advert is read, so a Backup that then takes over knows it preempted a
/// live Master (reason `preempted`, not `master_down_timer`). The exception is a known
/// Master at or above us, whose own priority may yet fall below ours.
fn priority_floor(i: &vrrp_fsm::Instance) -> (u8, Option<std::net::IpAddr>) {
    let cfg = i.config();
    let preempting = i.state() == State::Backup && cfg.preempt && cfg.preempt_delay.is_zero();
    match i.master_address() {
        Some(master) if preempting => {
            let eff = i.effective_priority();
            (eff, (i.master_priority() >= eff).then_some(master))
        }
        _ => (0, None),
    }
}

/// A Backup sleeps through its Master's adverts unless its queue overflowed lately (see
/// `receive_overflow.rs`); every other state wakes for each advert. A switch that is not a
/// change costs nothing.
fn set_wake_on(io: &InstanceIo, backup: bool, now: Instant) {
    let want = if backup && !io.overflow.keeps_awake(now) {
        WakeOn::PriorityZero
    } else {
        WakeOn::EveryAdvert
    };
    if io.sock.wake_on() == want {
        return;
    }
    if let Err(e) = io.sock.set_wake_on(want) {
        warn!(instance = %io.spec.name, "advert wake-up filter: {e}");
    }
}

/// Reports a link change to every instance on `iface` and every tracker of `iface`.
fn apply_link<'a>(
    router: &mut Router,
    ios: impl IntoIterator<Item = &'a InstanceIo>,
    now: Instant,
    iface: &str,
    up: bool,
) {
    for io in ios {
        if io.spec.iface == iface {
            let _ = router.set_link(now, io.id, up);
        }
        for t in &io.spec.track_ifaces {
            if t.iface == iface {
                let st = if up {
                    TrackerState::Up
                } else {
                    TrackerState::Down
                };
                let _ = router.set_tracker(now, io.id, t.id, st);
            }
        }
    }
}
