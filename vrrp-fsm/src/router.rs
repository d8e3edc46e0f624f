//! Several instances driven together, with keepalived's `vrrp_sync_group` rules.
use core::net::IpAddr;
use std::time::Instant;

use tracing::info;
use vrrp_proto::AdvertFields;

use crate::action::Action;
use crate::action_queue::ActionQueue;
use crate::advert_phase::AdvertPhase;
use crate::config::{InstanceConfig, TrackerId};
use crate::error::{ConfigError, RouterError};
use crate::instance::Instance;
use crate::state::{State, StateChangeReason};
use crate::timer_queue::TimerQueue;
use crate::tracking::TrackerState;

/// Identifies an instance inside a [`Router`] (its insertion index).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct InstanceId(usize);

impl InstanceId {
    /// The insertion index.
    pub fn index(self) -> usize {
        self.0
    }
}

/// Identifies a sync group inside a [`Router`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SyncGroupId(usize);

/// keepalived's `vrrp_sync_group`: instances that change state together.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SyncGroupConfig {
    /// The members (each instance in at most one group).
    pub members: Vec<InstanceId>,
    /// keepalived `sync_group_tracking_weight`: keep the members' tracker weights. Without it
    /// (the default) weights are ignored, so a failed tracker puts the member, and so the whole
    /// group, in FAULT. Forced off when a member is an address owner.
    pub tracking_weight: bool,
}

impl SyncGroupConfig {
    /// A group of `members` with keepalived's defaults.
    pub fn new(members: Vec<InstanceId>) -> Self {
        SyncGroupConfig {
            members,
            tracking_weight: false,
        }
    }
}

#[derive(Debug, Clone)]
struct SyncGroup {
    members: Vec<usize>,
}

/// A set of instances (typically all of a daemon's) behind one driver loop, with one timer heap
/// and keepalived's sync group rules:
///
/// - a member may become Master only when every member wants to (or the group is already
///   Master); when one becomes Master the others follow (`vrrp_sync_master`);
/// - when one leaves Master for Backup, the others do too (`vrrp_sync_backup`);
/// - one member in FAULT puts every member in FAULT, and the group leaves FAULT when no member
///   has a fault of its own (`vrrp_sync_fault`);
/// - a Master member hearing a lower priority makes every member send its lower-priority GARPs.
///
/// ```
/// use std::time::Instant;
/// use vrrp_fsm::{InstanceConfig, Router, State, SyncGroupConfig, VirtualAddress};
///
/// let mut router = Router::new();
/// let mut ids = Vec::new();
/// for (vrid, vip) in [(1, "192.0.2.100"), (2, "198.51.100.100")] {
///     let mut cfg = InstanceConfig::new(vrid, "192.0.2.1".parse().unwrap());
///     cfg.vips.push(VirtualAddress::host(vip.parse().unwrap()));
///     ids.push(router.add_instance(cfg).unwrap());
/// }
/// router.add_sync_group(SyncGroupConfig::new(ids.clone())).unwrap();
/// let t0 = Instant::now();
/// router.startup(t0);
/// router.set_link(t0, ids[0], false).unwrap();
/// assert_eq!(router.instance(ids[1]).unwrap().state(), State::Fault);
/// ```
#[derive(Debug, Clone, Default)]
pub struct Router {
    instances: Vec<Instance>,
    group_of: Vec<Option<usize>>,
    /// Slots of instances taken out by [`Router::remove_instance`]: ids are never reused.
    removed: Vec<bool>,
    groups: Vec<SyncGroup>,
    timers: TimerQueue,
    actions: Option<ActionQueue<(InstanceId, Action)>>,
}

impl Router {
    /// An empty router.
    pub fn new() -> Self {
        Self::default()
    }

    /// Makes room for `additional` more instances at once, so that adding a thousand does
    /// not grow the instance table by doubling (each growth moves every instance and can
    /// leave up to half of the table's room unused).
    ///
    /// ```
    /// use vrrp_fsm::{InstanceConfig, Router, VirtualAddress};
    ///
    /// let mut router = Router::new();
    /// router.reserve(2);
    /// for vrid in [1, 2] {
    ///     let mut cfg = InstanceConfig::new(vrid, "192.0.2.1".parse().unwrap());
    ///     cfg.vips.push(VirtualAddress::host("192.0.2.100".parse().unwrap()));
    ///     router.add_instance(cfg).unwrap();
    /// }
    /// assert_eq!(router.len(), 2);
    /// ```
    pub fn reserve(&mut self, additional: usize) {
        self.instances.reserve_exact(additional);
        self.group_of.reserve_exact(additional);
        self.removed.reserve_exact(additional);
        self.timers.reserve(self.instances.len() + additional);
        self.set_action_limit(self.instances.len() + additional);
    }

    /// Sizes the action queue for a burst from each of `instances` at once; dropped only if
    /// the driver never drains.
    fn set_action_limit(&mut self, instances: usize) {
        let limit = 64 + 16 * instances;
        match self.actions.as_mut() {
            Some(q) => q.set_limit(limit),
            None => self.actions = Some(ActionQueue::with_limit(limit)),
        }
    }

    /// Validate `config` and add the instance (before or after `startup`; a later one is
    /// started by the next [`startup`](Self::startup) call).
    pub fn add_instance(&mut self, config: InstanceConfig) -> Result<InstanceId, ConfigError> {
        let mut instance = Instance::new(config)?;
        let id = self.instances.len();
        instance.set_advert_phase(AdvertPhase::of_slot(id));
        self.instances.push(instance);
        self.group_of.push(None);
        self.removed.push(false);
        self.timers.grow(self.instances.len());
        self.set_action_limit(self.instances.len());
        Ok(InstanceId(id))
    }

    /// Take instance `id` out while the router runs (keepalived's reload of a file without
    /// it): it shuts down as at [`shutdown`](Self::shutdown) (a Master sends priority 0 and
    /// releases its VIPs, queued as actions tagged with `id`), then every call naming `id`
    /// answers `UnknownInstance`, and [`instances`](Self::instances) skips it. Its id is not
    /// reused. A sync group's member cannot be removed on its own.
    ///
    /// ```
    /// use std::time::Instant;
    /// use vrrp_fsm::{InstanceConfig, Router, VirtualAddress};
    ///
    /// let mut router = Router::new();
    /// let mut cfg = InstanceConfig::new(7, "192.0.2.1".parse().unwrap());
    /// cfg.vips.push(VirtualAddress::host("192.0.2.100".parse().unwrap()));
    /// let id = router.add_instance(cfg).unwrap();
    /// router.startup(Instant::now());
    /// router.remove_instance(Instant::now(), id).unwrap();
    /// assert!(router.instance(id).is_none());
    /// assert_eq!(router.instances().count(), 0);
    /// ```
    pub fn remove_instance(&mut self, now: Instant, id: InstanceId) -> Result<(), ConfigError> {
        if self.instance(id).is_none() {
            return Err(ConfigError::UnknownInstance(id));
        }
        if self.group_of[id.0].is_some() {
            return Err(ConfigError::AlreadyInSyncGroup(id));
        }
        self.instances[id.0].shutdown(now);
        self.drain(id.0);
        self.timers.set(id.0, None);
        self.removed[id.0] = true;
        Ok(())
    }

    /// Declare a sync group: before [`startup`](Self::startup), or later for members added
    /// since and not started yet (the next `startup` starts them under the group's rules).
    pub fn add_sync_group(&mut self, config: SyncGroupConfig) -> Result<SyncGroupId, ConfigError> {
        if config.members.is_empty() {
            return Err(ConfigError::EmptySyncGroup);
        }
        for (i, m) in config.members.iter().enumerate() {
            if self.instance(*m).is_none() {
                return Err(ConfigError::UnknownInstance(*m));
            }
            if self.instances[m.0].is_running() {
                return Err(ConfigError::RouterRunning);
            }
            if self.group_of[m.0].is_some() || config.members[..i].contains(m) {
                return Err(ConfigError::AlreadyInSyncGroup(*m));
            }
        }
        let has_owner = config
            .members
            .iter()
            .any(|m| self.instances[m.0].base_priority() == 255);
        let keep_weights = config.tracking_weight && !has_owner;
        let gid = self.groups.len();
        for m in &config.members {
            self.group_of[m.0] = Some(gid);
            self.instances[m.0].set_sync_member(true, !keep_weights);
        }
        self.groups.push(SyncGroup {
            members: config.members.iter().map(|m| m.0).collect(),
        });
        Ok(SyncGroupId(gid))
    }

    /// Dissolve sync group `id` while the router runs (keepalived's reload of a file without
    /// it): its members stay, each on its own from now on (its tracker weights count again, a
    /// FAULT the group spread is lifted), and each may then be removed or joined to no other
    /// running group. The id is not reused.
    ///
    /// ```
    /// use std::time::Instant;
    /// use vrrp_fsm::{InstanceConfig, Router, State, SyncGroupConfig, VirtualAddress};
    ///
    /// let mut router = Router::new();
    /// let mut ids = Vec::new();
    /// for vrid in [1, 2] {
    ///     let mut cfg = InstanceConfig::new(vrid, "192.0.2.1".parse().unwrap());
    ///     cfg.vips.push(VirtualAddress::host("192.0.2.100".parse().unwrap()));
    ///     ids.push(router.add_instance(cfg).unwrap());
    /// }
    /// let group = router.add_sync_group(SyncGroupConfig::new(ids.clone())).unwrap();
    /// let t0 = Instant::now();
    /// router.startup(t0);
    /// router.set_link(t0, ids[0], false).unwrap();
    /// assert_eq!(router.instance(ids[1]).unwrap().state(), State::Fault);
    /// router.remove_sync_group(t0, group).unwrap();
    /// assert_eq!(router.instance(ids[1]).unwrap().state(), State::Backup);
    /// router.remove_instance(t0, ids[0]).unwrap();
    /// ```
    pub fn remove_sync_group(&mut self, now: Instant, id: SyncGroupId) -> Result<(), ConfigError> {
        let members = match self.groups.get_mut(id.0) {
            Some(g) if !g.members.is_empty() => std::mem::take(&mut g.members),
            _ => return Err(ConfigError::UnknownSyncGroup),
        };
        for m in members {
            self.group_of[m] = None;
            self.instances[m].set_sync_member(false, false);
            self.instances[m].set_sync_fault(now, false);
            self.after_event(now, m);
        }
        Ok(())
    }

    /// Start every instance not yet running.
    pub fn startup(&mut self, now: Instant) {
        for i in 0..self.instances.len() {
            if !self.instances[i].is_running() && !self.removed[i] {
                self.instances[i].startup(now);
                self.after_event(now, i);
            }
        }
    }

    /// Shut every instance down (Masters send priority 0 and release their VIPs).
    pub fn shutdown(&mut self, now: Instant) {
        for i in 0..self.instances.len() {
            self.instances[i].shutdown(now);
            self.drain(i);
            self.timers.set(i, None);
        }
    }

    /// Feed an advert received for instance `id` (the driver maps interface + VRID to it).
    pub fn handle_advert(
        &mut self,
        now: Instant,
        id: InstanceId,
        src: IpAddr,
        advert: &impl AdvertFields,
    ) -> Result<(), RouterError> {
        let inst = self
            .instances
            .get_mut(id.0)
            .filter(|_| !self.removed[id.0])
            .ok_or(RouterError::UnknownInstance(id))?;
        let r = inst.handle_advert(now, src, advert);
        self.after_event(now, id.0);
        r.map_err(RouterError::from)
    }

    /// Fire every instance timer due at `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
        // Each instance re-arms into the future, so this terminates; the bound is a safety net.
        let mut budget = 4 * self.instances.len() + 16;
        while let Some((deadline, idx)) = self.timers.peek() {
            if deadline > now || budget == 0 {
                break;
            }
            budget -= 1;
            self.instances[idx].handle_timeout(now);
            self.after_event(now, idx);
        }
    }

    /// Report a tracker's state to instance `id`.
    pub fn set_tracker(
        &mut self,
        now: Instant,
        id: InstanceId,
        tracker: TrackerId,
        state: TrackerState,
    ) -> Result<(), RouterError> {
        let inst = self
            .instances
            .get_mut(id.0)
            .filter(|_| !self.removed[id.0])
            .ok_or(RouterError::UnknownInstance(id))?;
        let r = inst.set_tracker(now, tracker, state);
        self.after_event(now, id.0);
        r.map_err(RouterError::from)
    }

    /// Report that the driver lost datagrams for instance `id` unread (its receive queue
    /// overflowed): see [`Instance::handle_receive_loss`]. Returns whether a Backup's
    /// Master_Down_Timer restarted.
    pub fn handle_receive_loss(
        &mut self,
        now: Instant,
        id: InstanceId,
    ) -> Result<bool, RouterError> {
        let inst = self
            .instances
            .get_mut(id.0)
            .filter(|_| !self.removed[id.0])
            .ok_or(RouterError::UnknownInstance(id))?;
        let restarted = inst.handle_receive_loss(now);
        self.after_event(now, id.0);
        Ok(restarted)
    }

    /// Report the link state of instance `id`'s interface.
    pub fn set_link(&mut self, now: Instant, id: InstanceId, up: bool) -> Result<(), RouterError> {
        let inst = self
            .instances
            .get_mut(id.0)
            .filter(|_| !self.removed[id.0])
            .ok_or(RouterError::UnknownInstance(id))?;
        inst.set_link(now, up);
        self.after_event(now, id.0);
        Ok(())
    }

    /// Apply a changed configuration to instance `id` while it runs (keepalived's reload):
    /// see [`Instance::reconfigure`] for what may change and what follows. On an error
    /// nothing changed.
    pub fn reconfigure(
        &mut self,
        now: Instant,
        id: InstanceId,
        config: InstanceConfig,
    ) -> Result<(), ConfigError> {
        let inst = self
            .instances
            .get_mut(id.0)
            .filter(|_| !self.removed[id.0])
            .ok_or(ConfigError::UnknownInstance(id))?;
        let r = inst.reconfigure(now, config);
        self.after_event(now, id.0);
        r
    }

    /// The next action of any instance, tagged with its instance, in order.
    pub fn poll_action(&mut self) -> Option<(InstanceId, Action)> {
        self.actions.as_mut()?.pop()
    }

    /// The earliest deadline of all instances.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.timers.peek().map(|(t, _)| t)
    }

    /// [`poll_timeout`](Self::poll_timeout) with the instance whose timer it is (one of them
    /// when several are due at that instant), so a driver can tell a Master_Down_Timer from
    /// an advert without looking at every instance.
    ///
    /// ```
    /// use std::time::Instant;
    /// use vrrp_fsm::{InstanceConfig, Router, VirtualAddress};
    ///
    /// let mut router = Router::new();
    /// let mut cfg = InstanceConfig::new(7, "192.0.2.1".parse().unwrap());
    /// cfg.vips.push(VirtualAddress::host("192.0.2.100".parse().unwrap()));
    /// let id = router.add_instance(cfg).unwrap();
    /// router.startup(Instant::now());
    /// let (deadline, whose) = router.next_timeout().unwrap();
    /// assert_eq!(whose, id);
    /// assert_eq!(router.instance(id).unwrap().master_down_deadline(), Some(deadline));
    /// ```
    pub fn next_timeout(&self) -> Option<(Instant, InstanceId)> {
        self.timers.peek().map(|(t, i)| (t, InstanceId(i)))
    }

    /// An instance.
    pub fn instance(&self, id: InstanceId) -> Option<&Instance> {
        self.instances.get(id.0).filter(|_| !self.removed[id.0])
    }

    /// All instances with their ids.
    pub fn instances(&self) -> impl Iterator<Item = (InstanceId, &Instance)> + '_ {
        self.instances
            .iter()
            .enumerate()
            .filter(|&(i, _)| !self.removed[i])
            .map(|(i, x)| (InstanceId(i), x))
    }

    /// The first instance with this VRID and family, for drivers that key on them.
    pub fn find(&self, family: crate::AddressFamily, vrid: u8) -> Option<InstanceId> {
        self.instances()
            .find(|(_, x)| x.config().vrid == vrid && x.config().family == family)
            .map(|(id, _)| id)
    }

    /// Number of instances (removed ones not counted).
    pub fn len(&self) -> usize {
        self.removed.iter().filter(|r| !**r).count()
    }

    /// True with no instance.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    // ----- internals ---------------------------------------------------------------------

    /// Move instance `idx`'s actions to the router queue; report what happened.
    fn drain(&mut self, idx: usize) -> Drained {
        let mut d = Drained::default();
        let queue = self
            .actions
            .get_or_insert_with(|| ActionQueue::with_limit(64));
        while let Some(a) = self.instances[idx].poll_action() {
            match a {
                Action::StateChanged { from, to, reason }
                    if reason != StateChangeReason::SyncGroup =>
                {
                    if to == State::Master {
                        d.became_master = true;
                    }
                    if from == State::Master && to == State::Backup {
                        d.left_master = true;
                    }
                }
                Action::MasterRxLowerPriority { .. } => d.rx_lower = true,
                _ => {}
            }
            let _ = queue.push((InstanceId(idx), a));
        }
        d
    }

    fn after_event(&mut self, now: Instant, idx: usize) {
        let d = self.drain(idx);
        // Without sync groups (the common case) skip the lookup, and its cache miss.
        if !self.groups.is_empty() {
            if let Some(g) = self.group_of[idx] {
                self.apply_sync_rules(now, g, idx, d);
            }
        }
        self.timers.set(idx, self.instances[idx].poll_timeout());
    }

    fn apply_sync_rules(&mut self, now: Instant, g: usize, idx: usize, d: Drained) {
        let n = self.groups[g].members.len();
        // vrrp_sync_fault: FAULT spreads; cleared when no member has a fault of its own.
        let group_fault = (0..n).any(|k| {
            let m = self.groups[g].members[k];
            !self.instances[m].own_fault().is_empty()
        });
        let mut became_master = d.became_master;
        let mut left_master = d.left_master;
        for k in 0..n {
            let m = self.groups[g].members[k];
            self.instances[m].set_sync_fault(now, group_fault);
            let dm = self.drain(m);
            became_master |= dm.became_master;
            left_master |= dm.left_master;
        }
        if group_fault {
            self.rearm_group(g);
            return;
        }
        // vrrp_sync_can_goto_master: a member whose down timer expired goes only when every
        // other member wants to (or one is already Master).
        if !became_master {
            let candidate = (0..n).map(|k| self.groups[g].members[k]).find(|&m| {
                self.instances[m].wants_master() && self.instances[m].state() == State::Backup
            });
            if let Some(c) = candidate {
                let all_want = (0..n).map(|k| self.groups[g].members[k]).all(|m| {
                    m == c
                        || self.instances[m].wants_master()
                        || self.instances[m].state() == State::Master
                });
                if all_want {
                    info!(group = g, "sync group: every member wants MASTER");
                    let reason = self.instances[c].next_master_reason();
                    self.instances[c].sync_goto_master(now, reason);
                    self.drain(c);
                    became_master = true;
                }
            }
        }
        if became_master {
            // vrrp_sync_master
            for k in 0..n {
                let m = self.groups[g].members[k];
                self.instances[m].sync_goto_master(now, StateChangeReason::SyncGroup);
                self.drain(m);
            }
        } else if left_master {
            // vrrp_sync_backup
            for k in 0..n {
                let m = self.groups[g].members[k];
                self.instances[m].sync_goto_backup(now);
                self.drain(m);
            }
        }
        if d.rx_lower {
            for k in 0..n {
                let m = self.groups[g].members[k];
                if m != idx {
                    self.instances[m].sync_lower_prio_garp(now);
                    self.drain(m);
                }
            }
        }
        self.rearm_group(g);
    }

    fn rearm_group(&mut self, g: usize) {
        for k in 0..self.groups[g].members.len() {
            let m = self.groups[g].members[k];
            self.timers.set(m, self.instances[m].poll_timeout());
        }
    }
}

#[derive(Debug, Default, Clone, Copy)]
struct Drained {
    became_master: bool,
    left_master: bool,
    rx_lower: bool,
}
