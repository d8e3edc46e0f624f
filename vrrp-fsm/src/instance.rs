//! One VRRP instance: the RFC 5798 §6.4 state machine with keepalived's extensions.
use crate::lower_prio_replies::LowerPriorityReplies;
use core::cmp::Ordering;
use core::net::IpAddr;
use core::time::Duration;
use std::time::Instant;

use tracing::{debug, info, warn};
use vrrp_proto::{AddressFamily, AddressList, Advert, AdvertFields, Version};

use crate::action::{Action, GarpReason};
use crate::action_queue::{InlineQueue, DEFAULT_CAPACITY};
use crate::advert_phase::AdvertPhase;
use crate::config::{self, ConfigAdjustment, InstanceConfig, TrackerId};
use crate::counters::Counters;
use crate::error::{AdvertError, ConfigError, TrackerError};
use crate::state::{FaultFlags, State, StateChangeReason};
use crate::timers;
use crate::tracking::{self, Contribution, TrackerState};

/// The live state of one configured tracker.
#[derive(Debug, Clone, Copy)]
struct TrackerSlot {
    state: TrackerState,
    contribution: Contribution,
}

impl TrackerSlot {
    /// Tracker `cfg` in `state`, contributing its configured weight (the sync group rules
    /// refresh it).
    fn new(cfg: &crate::TrackerConfig, state: TrackerState) -> Self {
        let none = Contribution {
            delta: 0,
            fault: false,
        };
        TrackerSlot {
            state,
            contribution: tracking::contribution(cfg, cfg.weight, state).unwrap_or(none),
        }
    }
}

/// One VRRP instance (keepalived's `vrrp_instance`), Sans-IO.
///
/// Feed it inputs ([`startup`](Self::startup), [`handle_advert`](Self::handle_advert),
/// [`handle_timeout`](Self::handle_timeout), [`set_tracker`](Self::set_tracker),
/// [`set_link`](Self::set_link), [`shutdown`](Self::shutdown)), each with the current time; then
/// drain [`poll_action`](Self::poll_action) and sleep until [`poll_timeout`](Self::poll_timeout).
///
/// ```
/// use std::time::{Duration, Instant};
/// use vrrp_fsm::{Action, Instance, InstanceConfig, State, VirtualAddress};
///
/// let mut cfg = InstanceConfig::new(51, "192.0.2.1".parse().unwrap());
/// cfg.vips.push(VirtualAddress::host("192.0.2.100".parse().unwrap()));
/// let mut vr = Instance::new(cfg).unwrap();
/// let t0 = Instant::now();
/// vr.startup(t0);
/// assert_eq!(vr.state(), State::Backup);
/// // Nobody else advertises: the Master_Down_Timer (3 × 1 s + skew 0.609375 s) expires.
/// let deadline = vr.poll_timeout().unwrap();
/// assert_eq!(deadline - t0, Duration::from_micros(3_609_375));
/// while vr.poll_action().is_some() {}
/// vr.handle_timeout(deadline);
/// assert_eq!(vr.state(), State::Master);
/// assert_eq!(vr.poll_action(), Some(Action::SendAdvert { priority: 100 }));
/// assert_eq!(vr.poll_action(), Some(Action::AddVips));
/// ```
#[derive(Debug, Clone)]
pub struct Instance {
    cfg: InstanceConfig,
    adjustments: Vec<ConfigAdjustment>,
    state: State,
    running: bool,

    base_priority: u8,
    total_priority: i64,
    effective_priority: u8,
    trackers: Vec<TrackerSlot>,
    ignore_tracker_weights: bool,
    fault: FaultFlags,

    master_adver_int: Duration,
    /// Skew_Time and Master_Down_Interval, cached: they change only with the priority or the
    /// learned interval, and are needed on every received advert.
    skew: Duration,
    ms_down: Duration,
    adver_timer: Option<Instant>,
    /// How early a new Master's second advert comes (see [`AdvertPhase`]).
    advert_phase: AdvertPhase,
    master_down_timer: Option<Instant>,
    garp_delay_timer: Option<Instant>,
    garp_refresh_timer: Option<Instant>,
    lower_prio_garp_timer: Option<Instant>,
    /// How often this Master has answered lower-priority adverts lately.
    lower_prio_replies: LowerPriorityReplies,
    preempt_time: Option<Instant>,
    /// A Backup may restart its Master_Down_Timer once for adverts its driver lost unread
    /// (see [`Instance::handle_receive_loss`]); an accepted advert gives the restart back.
    loss_restart_available: bool,

    master_address: Option<IpAddr>,
    master_priority: u8,
    next_master_reason: StateChangeReason,
    vips_held: bool,

    sync_member: bool,
    want_master: bool,
    /// The VIP when exactly one is configured (checked on every advert).
    single_vip: Option<IpAddr>,

    actions: InlineQueue<Action, DEFAULT_CAPACITY>,
    counters: Counters,
}

impl Instance {
    /// Validate `config` and build a stopped instance (state [`State::Init`]).
    ///
    /// Besides the range checks listed in [`ConfigError`], keepalived's conflict rules are
    /// applied (see [`ConfigAdjustment`], listed by [`adjustments`](Self::adjustments)):
    /// `state MASTER` clears `nopreempt` and `preempt_delay`; priority 255 clears `nopreempt`;
    /// `nopreempt` clears `preempt_delay`. `strict` (keepalived `vrrp_strict`) refuses unicast
    /// peers and authentication, clears `preempt_delay`, the lower-priority GARP burst and
    /// `higher_prio_send_advert`, forces `lower_prio_no_advert`, and sets accept mode only for
    /// the address owner.
    pub fn new(mut config: InstanceConfig) -> Result<Self, ConfigError> {
        let adjustments = config::validate(&mut config)?;
        for adj in &adjustments {
            warn!(
                vrid = config.vrid,
                ?adj,
                "configuration adjusted as keepalived does"
            );
        }
        let trackers = config
            .trackers
            .iter()
            .map(|t| TrackerSlot::new(t, tracking::initial_state(t.kind)))
            .collect();
        let base = config.priority;
        let mut inst = Instance {
            master_adver_int: config.advert_interval,
            skew: Duration::ZERO,
            ms_down: Duration::ZERO,
            adjustments,
            state: State::Init,
            running: false,
            base_priority: base,
            total_priority: i64::from(base),
            effective_priority: base,
            trackers,
            ignore_tracker_weights: false,
            fault: FaultFlags::NONE,
            adver_timer: None,
            advert_phase: AdvertPhase::ZERO,
            master_down_timer: None,
            garp_delay_timer: None,
            garp_refresh_timer: None,
            lower_prio_garp_timer: None,
            lower_prio_replies: LowerPriorityReplies::default(),
            preempt_time: None,
            loss_restart_available: true,
            master_address: None,
            master_priority: 0,
            next_master_reason: StateChangeReason::MasterNoResponse,
            vips_held: false,
            sync_member: false,
            want_master: false,
            single_vip: single_vip(&config.vips),
            actions: InlineQueue::new(),
            counters: Counters::default(),
            cfg: config,
        };
        inst.recompute_priority_silently();
        Ok(inst)
    }

    /// Set by the [`Router`](crate::Router) that owns this instance: its adverts' place in
    /// the interval.
    pub(crate) fn set_advert_phase(&mut self, phase: AdvertPhase) {
        self.advert_phase = phase;
    }

    // ----- inputs -------------------------------------------------------------------------

    /// Start the instance (RFC 5798 "Startup" event). The address owner (priority 255) becomes
    /// Master at once; a `state MASTER` instance waits one advert interval plus the minimum skew;
    /// any other waits the full Master_Down_Interval as Backup. With a fault flag set (link down,
    /// weight-0 tracker down) it starts in FAULT. Calling it again while running does nothing.
    pub fn startup(&mut self, now: Instant) {
        if self.running {
            return;
        }
        self.running = true;
        self.set_master_adver_int(self.cfg.advert_interval);
        self.preempt_time = None;
        info!(
            vrid = self.cfg.vrid,
            priority = self.effective_priority,
            "startup"
        );
        if !self.fault.is_empty() {
            self.state = State::Fault;
            self.push_state(State::Init, StateChangeReason::Fault(self.fault));
        } else if self.base_priority == 255 {
            self.become_master(now, StateChangeReason::AddressOwner);
        } else {
            self.state = State::Backup;
            let wait = if self.cfg.initial_state_master {
                self.cfg.advert_interval
                    + timers::skew_time_min(self.cfg.version, self.master_adver_int)
            } else {
                self.master_down_interval()
            };
            self.master_down_timer = Some(now + wait);
            self.next_master_reason = StateChangeReason::MasterNoResponse;
            self.push_state(State::Init, StateChangeReason::Startup);
        }
    }

    /// Stop the instance (RFC 5798 "Shutdown" event). A Master sends a priority-0 advert and then
    /// releases its VIPs. The instance returns to [`State::Init`] and may be started again.
    pub fn shutdown(&mut self, now: Instant) {
        if !self.running {
            return;
        }
        info!(vrid = self.cfg.vrid, state = %self.state, "shutdown");
        match self.state {
            State::Master => self.leave_master(now, State::Init, StateChangeReason::Shutdown),
            from => {
                self.state = State::Init;
                self.push_state(from, StateChangeReason::Shutdown);
            }
        }
        self.clear_timers();
        self.want_master = false;
        self.running = false;
    }

    /// Process a received, already decoded and checksum-verified advert from `src` (the IP
    /// source address, i.e. the sender's primary address). `advert` is an owned
    /// [`Advert`] or, on a receive path, the zero-copy [`vrrp_proto::ReceivedAdvert`] view of
    /// the datagram (no owned copy needed).
    ///
    /// Refused adverts return an [`AdvertError`] and bump a counter; they never change state.
    /// An advert whose address list differs from our VIPs is processed and counted in
    /// [`Counters::address_list_errors`] (keepalived does the same).
    pub fn handle_advert(
        &mut self,
        now: Instant,
        src: IpAddr,
        advert: &impl AdvertFields,
    ) -> Result<(), AdvertError> {
        if let Err(e) = self.check_advert(src, advert) {
            self.count_rejected(e);
            debug!(vrid = self.cfg.vrid, %src, error = %e, "advert refused");
            return Err(e);
        }
        self.counters.adverts_received += 1;
        if advert.priority() == 0 {
            self.counters.priority_zero_received += 1;
        }
        let list_matches = match self.single_vip {
            // The common case, checked without touching the config's heap-allocated VIP list.
            Some(vip) => advert.address_count() == 1 && advert.address(0) == Some(vip),
            None => {
                advert.address_count() == self.cfg.vips.len()
                    && self
                        .cfg
                        .vips
                        .iter()
                        .all(|v| advert.contains_address(&v.addr))
            }
        };
        if !list_matches {
            self.counters.address_list_errors += 1;
        }
        match self.state {
            State::Backup => self.backup_rx(now, src, advert),
            State::Master => self.master_rx(now, src, advert),
            State::Init | State::Fault => {}
        }
        Ok(())
    }

    /// Fire every timer due at `now`: adverts as Master, the Master_Down_Timer as Backup, GARP
    /// bursts and refreshes. Calling it early or repeatedly is harmless.
    pub fn handle_timeout(&mut self, now: Instant) {
        if !self.running {
            return;
        }
        match self.state {
            State::Master => {
                if due(self.garp_delay_timer, now) {
                    self.garp_delay_timer = None;
                    self.push_garp(self.cfg.garp_master_repeat, GarpReason::MasterDelay);
                }
                if due(self.lower_prio_garp_timer, now) {
                    self.lower_prio_garp_timer = None;
                    self.push_garp(
                        self.cfg.garp_lower_prio_repeat,
                        GarpReason::LowerPriorityDelay,
                    );
                }
                if due(self.garp_refresh_timer, now) {
                    self.garp_refresh_timer = now.checked_add(self.cfg.garp_master_refresh);
                    self.push_garp(self.cfg.garp_master_refresh_repeat, GarpReason::Refresh);
                }
                if due(self.adver_timer, now) {
                    self.send_advert(self.effective_priority);
                    // The next advert is due one interval after this one was due, not after
                    // the driver got to it: wake-up latency does not stretch the interval
                    // (and a driver can use a periodic kernel timer). A timer more than an
                    // interval late restarts from now.
                    let interval = self.cfg.advert_interval;
                    self.adver_timer = Some(match self.adver_timer.map(|d| d + interval) {
                        Some(next) if next > now => next,
                        _ => now + interval,
                    });
                }
            }
            State::Backup => {
                if due(self.master_down_timer, now) {
                    if self.sync_member {
                        // keepalived vrrp_state_goto_master(): a sync group member only goes
                        // when the whole group wants to; the router decides. Keep timing out.
                        self.want_master = true;
                        self.master_down_timer = Some(now + self.master_down_interval());
                    } else {
                        self.become_master(now, self.next_master_reason);
                    }
                }
            }
            State::Init | State::Fault => {}
        }
    }

    /// The driver lost datagrams addressed to this instance before it could read them (its
    /// receive queue overflowed, e.g. under a flood of adverts it could not verify without
    /// reading them). A Backup cannot tell whether its Master's adverts were among them, so
    /// its Master_Down_Timer restarts from `now`, once: the next accepted advert gives that
    /// restart back, so a live Master heard again is never taken over by a flood, and a
    /// Master that really died is taken over at most one Master_Down_Interval later.
    /// Returns whether the timer restarted (counted in
    /// [`Counters::receive_loss_restarts`]); any other state ignores the report.
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    /// use vrrp_fsm::{Instance, InstanceConfig, State, VirtualAddress};
    /// let mut cfg = InstanceConfig::new(7, "192.0.2.1".parse().unwrap());
    /// cfg.vips.push(VirtualAddress::host("192.0.2.7".parse().unwrap()));
    /// let mut inst = Instance::new(cfg).unwrap();
    /// let t0 = Instant::now();
    /// inst.startup(t0);
    /// assert_eq!(inst.state(), State::Backup);
    /// let due = inst.master_down_deadline().unwrap();
    /// let later = due - Duration::from_millis(1);
    /// assert!(inst.handle_receive_loss(later));
    /// assert_eq!(inst.master_down_deadline(), Some(later + inst.master_down_interval()));
    /// assert!(!inst.handle_receive_loss(later), "once, until an advert is accepted");
    /// ```
    pub fn handle_receive_loss(&mut self, now: Instant) -> bool {
        let restart = self.running
            && self.state == State::Backup
            && self.master_down_timer.is_some()
            && self.loss_restart_available;
        if restart {
            self.loss_restart_available = false;
            self.master_down_timer = Some(now + self.master_down_interval());
            self.counters.receive_loss_restarts += 1;
            debug!(
                vrid = self.cfg.vrid,
                "receive queue overflowed: Master_Down_Timer restarted once"
            );
        }
        restart
    }

    /// Report a tracker's new state. Weighted trackers move the priority (a Backup's running
    /// Master_Down_Timer moves by the skew difference); a failed weight-0 tracker (or a
    /// `track_file` result ≤ −254) puts the instance in FAULT until it recovers.
    pub fn set_tracker(
        &mut self,
        now: Instant,
        id: TrackerId,
        state: TrackerState,
    ) -> Result<(), TrackerError> {
        let Some(idx) = self.cfg.trackers.iter().position(|t| t.id == id) else {
            self.counters.tracker_errors += 1;
            return Err(TrackerError::UnknownTracker(id));
        };
        let cfg = self.cfg.trackers[idx];
        let weight = if self.ignore_tracker_weights {
            0
        } else {
            cfg.weight
        };
        let Some(contribution) = tracking::contribution(&cfg, weight, state) else {
            self.counters.tracker_errors += 1;
            return Err(TrackerError::StateKindMismatch(id));
        };
        self.trackers[idx] = TrackerSlot {
            state,
            contribution,
        };
        self.update_priority(now);
        Ok(())
    }

    /// Report the instance interface's link state; down puts the instance in FAULT.
    pub fn set_link(&mut self, now: Instant, up: bool) {
        self.fault.set(FaultFlags::LINK_DOWN, !up);
        self.apply_fault(now);
    }

    /// Apply a changed configuration without restarting the instance, as keepalived's reload
    /// (SIGHUP) keeps a running instance's state: a Master stays Master, a Backup keeps its
    /// Master_Down_Timer.
    ///
    /// What may change, and what follows at once:
    /// * `priority`, tracker weights and the trackers themselves (one with the same id and
    ///   kind keeps its last reported state, a new one starts as at start-up, a dropped one
    ///   no longer counts): the effective priority is recomputed
    ///   ([`Action::PriorityChanged`]). A Backup's running Master_Down_Timer moves by the
    ///   difference in Master_Down_Interval (Skew_Time after a priority-0 advert); raised above
    ///   its Master's priority it takes over when that timer runs out, as it discards the
    ///   lower-priority adverts (RFC 5798 §6.4.2). A Backup raised to 255 (the address owner)
    ///   becomes Master at once.
    /// * `advert_interval`: a Master's adverts follow at once; a Backup's
    ///   Master_Down_Interval follows for VRRPv2, while a VRRPv3 Backup keeps the interval it
    ///   learned from its Master's adverts (RFC 5798 §6.4.2).
    /// * `vips`: a Master holding them gets [`Action::UpdateVips`] and a GARP/NA burst
    ///   ([`GarpReason::VipsChanged`], `garp_master_repeat` per VIP).
    /// * `unicast_peers`: adverts are sent to and accepted from the new peers (the driver
    ///   readdresses its socket); multicast and unicast may be switched.
    /// * `auth` (VRRPv2; a password rotation): adverts are sent and checked with the new one
    ///   from now on, so the peers need the same change (as with keepalived).
    /// * A Master whose advert changed (priority, interval, VIPs, auth) sends one at once and
    ///   restarts its Adver_Timer, so its Backups learn it without waiting.
    /// * Everything else that is not identity (`preempt`, `preempt_delay`,
    ///   `down_timer_adverts`, the GARP settings, `lower_prio_no_advert`,
    ///   `higher_prio_send_advert`, `accept_mode`, `initial_state_master`): from the next event.
    ///
    /// Refused with [`ConfigError::NeedsRestart`], nothing changed: `vrid`, `version`,
    /// `family`, `primary_address`, `check_unicast_src`, `strict`. Any error [`Instance::new`] would return is returned the
    /// same way, nothing changed.
    ///
    /// ```
    /// use std::time::Instant;
    /// use vrrp_fsm::{Action, Instance, InstanceConfig, State, VirtualAddress};
    ///
    /// let mut cfg = InstanceConfig::new(51, "192.0.2.1".parse().unwrap());
    /// cfg.vips.push(VirtualAddress::host("192.0.2.100".parse().unwrap()));
    /// cfg.priority = 255; // the address owner: Master at once
    /// let mut vr = Instance::new(cfg.clone()).unwrap();
    /// let t0 = Instant::now();
    /// vr.startup(t0);
    /// while vr.poll_action().is_some() {}
    ///
    /// // Reload with one more VIP and a lower priority: still Master, no transition.
    /// cfg.priority = 200;
    /// cfg.vips.push(VirtualAddress::host("192.0.2.101".parse().unwrap()));
    /// vr.reconfigure(t0, cfg.clone()).unwrap();
    /// assert_eq!(vr.state(), State::Master);
    /// let actions: Vec<Action> = std::iter::from_fn(|| vr.poll_action()).collect();
    /// assert!(actions.contains(&Action::PriorityChanged { from: 255, to: 200 }));
    /// assert!(actions.contains(&Action::UpdateVips));
    /// assert!(actions.contains(&Action::SendAdvert { priority: 200 }));
    ///
    /// // The VRID identifies the virtual router: that needs a restart.
    /// cfg.vrid = 52;
    /// assert!(vr.reconfigure(t0, cfg).is_err());
    /// assert_eq!(vr.config().vrid, 51);
    /// ```
    pub fn reconfigure(
        &mut self,
        now: Instant,
        mut config: InstanceConfig,
    ) -> Result<(), ConfigError> {
        let adjustments = config::validate(&mut config)?;
        let old = &self.cfg;
        let identity = [
            ("vrid", old.vrid != config.vrid),
            ("version", old.version != config.version),
            ("family", old.family != config.family),
            (
                "primary_address",
                old.primary_address != config.primary_address,
            ),
            (
                "check_unicast_src",
                old.check_unicast_src != config.check_unicast_src,
            ),
            ("strict", old.strict != config.strict),
        ];
        if let Some(&(field, _)) = identity.iter().find(|(_, changed)| *changed) {
            return Err(ConfigError::NeedsRestart(field));
        }
        let vips_changed = old.vips != config.vips;
        let interval_changed = old.advert_interval != config.advert_interval;
        let auth_changed = old.auth != config.auth;
        let refresh_changed = old.garp_master_refresh != config.garp_master_refresh;
        // An address-owner conflict may have lowered the base to 254: only a new configured
        // priority replaces it.
        if old.priority != config.priority {
            self.base_priority = config.priority;
        }
        for adj in &adjustments {
            warn!(
                vrid = config.vrid,
                ?adj,
                "configuration adjusted as keepalived does"
            );
        }
        info!(vrid = config.vrid, "reconfigured");
        // A tracker keeps its last reported state under the same id and kind; a new one
        // starts as at start-up; a dropped one no longer counts.
        self.trackers = config
            .trackers
            .iter()
            .map(|t| {
                let kept = old
                    .trackers
                    .iter()
                    .position(|o| o.id == t.id && o.kind == t.kind)
                    .map(|i| self.trackers[i].state);
                TrackerSlot::new(t, kept.unwrap_or_else(|| tracking::initial_state(t.kind)))
            })
            .collect();
        self.cfg = config;
        self.adjustments = adjustments;
        self.single_vip = single_vip(&self.cfg.vips);
        self.refresh_contributions();
        if !self.running {
            self.master_adver_int = self.cfg.advert_interval;
            self.recompute_priority_silently();
            return Ok(());
        }
        if !self.cfg.preempt || self.cfg.preempt_delay.is_zero() {
            self.preempt_time = None;
        }

        let (old_skew, old_down) = (self.skew, self.ms_down);
        if self.state != State::Backup || self.cfg.version == Version::V2 {
            self.master_adver_int = self.cfg.advert_interval;
        }
        let (total, fault) = self.sum_trackers();
        self.total_priority = total;
        let old_eff = self.effective_priority;
        self.effective_priority = tracking::effective_priority(self.base_priority, total);
        self.refresh_down_interval();
        if let (State::Backup, Some(deadline)) = (self.state, self.master_down_timer) {
            // The running timer was set with the old figures: move it by the difference.
            let (was, is) = if self.next_master_reason == StateChangeReason::MasterLeft {
                (old_skew, self.skew)
            } else {
                (old_down, self.ms_down)
            };
            self.master_down_timer = Some(moved_by(deadline, was, is));
        }
        let eff = self.effective_priority;
        if eff != old_eff {
            self.announce_priority(old_eff, eff, total);
        }
        if self.state == State::Master {
            if eff != old_eff || interval_changed || vips_changed || auth_changed {
                self.send_advert(eff);
                self.adver_timer = Some(now + self.cfg.advert_interval);
            }
            if vips_changed && self.vips_held {
                self.push(Action::UpdateVips);
                self.push_garp(self.cfg.garp_master_repeat, GarpReason::VipsChanged);
            }
            if self.cfg.garp_master_refresh.is_zero() {
                self.garp_refresh_timer = None;
            } else if refresh_changed || self.garp_refresh_timer.is_none() {
                self.garp_refresh_timer = now.checked_add(self.cfg.garp_master_refresh);
            }
        }
        self.fault.set(FaultFlags::TRACKER, fault);
        self.apply_fault(now);
        if self.state == State::Backup && self.base_priority == 255 {
            self.become_master(now, StateChangeReason::AddressOwner);
        }
        Ok(())
    }

    // ----- outputs ------------------------------------------------------------------------

    /// The next action for the driver, in order; `None` when the queue is empty.
    #[inline]
    pub fn poll_action(&mut self) -> Option<Action> {
        self.actions.pop()
    }

    /// The earliest pending deadline: call [`handle_timeout`](Self::handle_timeout) then.
    #[inline]
    pub fn poll_timeout(&self) -> Option<Instant> {
        [
            self.adver_timer,
            self.master_down_timer,
            self.garp_delay_timer,
            self.garp_refresh_timer,
            self.lower_prio_garp_timer,
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// The advert this instance sends with `priority` (the driver encodes it): our VRID, version,
    /// configured interval, authentication and VIPs.
    pub fn advert(&self, priority: u8) -> Advert {
        let mut addrs = match self.cfg.family {
            AddressFamily::Ipv4 => AddressList::new_v4(),
            AddressFamily::Ipv6 => AddressList::new_v6(),
        };
        for vip in &self.cfg.vips {
            // Validation guarantees ≤ 255 addresses of the right family.
            let _ = addrs.push(vip.addr);
        }
        match self.cfg.version {
            Version::V3 => Advert::v3(self.cfg.vrid, priority, self.adver_int_field(), addrs),
            Version::V2 => Advert::v2(
                self.cfg.vrid,
                priority,
                self.adver_int_field() as u8,
                self.cfg.auth,
                addrs,
            ),
        }
    }

    // ----- accessors ----------------------------------------------------------------------

    /// Current state.
    pub fn state(&self) -> State {
        self.state
    }
    /// The validated (and adjusted) configuration.
    pub fn config(&self) -> &InstanceConfig {
        &self.cfg
    }
    /// The keepalived conflict rules that changed the configuration.
    pub fn adjustments(&self) -> &[ConfigAdjustment] {
        &self.adjustments
    }
    /// Configured priority (lowered to 254 if another address owner was heard).
    pub fn base_priority(&self) -> u8 {
        self.base_priority
    }
    /// keepalived's `total_priority`: base plus tracker weights, unclamped.
    pub fn total_priority(&self) -> i64 {
        self.total_priority
    }
    /// The priority in force: total clamped to 1..=254, or 255 for the address owner.
    pub fn effective_priority(&self) -> u8 {
        self.effective_priority
    }
    /// Master_Adver_Interval: as Backup, the interval learned from the Master (v3); otherwise
    /// our own.
    pub fn master_adver_interval(&self) -> Duration {
        self.master_adver_int
    }
    /// Skew_Time for the current priority and Master_Adver_Interval.
    pub fn skew_time(&self) -> Duration {
        self.skew
    }
    /// Master_Down_Interval for the current priority and Master_Adver_Interval.
    pub fn master_down_interval(&self) -> Duration {
        self.ms_down
    }
    /// When the running Master_Down_Timer fires (Backup only).
    pub fn master_down_deadline(&self) -> Option<Instant> {
        self.master_down_timer
    }
    /// As Backup, when its Master's next advert should wake a Backup that sleeps through
    /// them (see [`advert_wake_offset`](crate::advert_wake_offset)), for a timer woken
    /// `margin` before [`master_down_deadline`](Self::master_down_deadline); `None` in
    /// other states.
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    /// use vrrp_fsm::{Instance, InstanceConfig, VirtualAddress};
    /// let mut cfg = InstanceConfig::new(7, "192.0.2.1".parse().unwrap());
    /// cfg.vips.push(VirtualAddress::host("192.0.2.7".parse().unwrap()));
    /// let mut vr = Instance::new(cfg).unwrap();
    /// let t0 = Instant::now();
    /// vr.startup(t0);
    /// // The down timer runs from t0 (3.609375 s): the advert due at t0 + 3 s may wake us from
    /// // t0 + 2.5 s on.
    /// let wake = vr.advert_wake_time(Duration::from_micros(1500));
    /// assert_eq!(wake, Some(t0 + Duration::from_millis(2500)));
    /// ```
    pub fn advert_wake_time(&self, margin: Duration) -> Option<Instant> {
        if self.state != State::Backup {
            return None;
        }
        let deadline = self.master_down_timer?;
        let started = deadline.checked_sub(self.ms_down)?;
        Some(
            started
                + crate::timers::advert_wake_offset(self.ms_down, self.master_adver_int, margin)?,
        )
    }
    /// When a running preempt delay ends (keepalived `preempt_time`).
    pub fn preempt_deadline(&self) -> Option<Instant> {
        self.preempt_time
    }
    /// The active fault flags.
    pub fn fault_flags(&self) -> FaultFlags {
        self.fault
    }
    /// Whether the VIPs are installed (we asked for `AddVips` and not yet `RemoveVips`).
    pub fn vips_held(&self) -> bool {
        self.vips_held
    }
    /// RFC 5798 Accept_Mode for the driver's firewall rules (`strict`: owner only).
    pub fn accept_mode(&self) -> bool {
        self.cfg.accept_mode
    }
    /// Source of the last advert processed as Backup (the current Master as far as we know).
    pub fn master_address(&self) -> Option<IpAddr> {
        self.master_address
    }
    /// Priority of the last accepted Master advert.
    pub fn master_priority(&self) -> u8 {
        self.master_priority
    }
    /// The state of a tracker, as last reported.
    pub fn tracker_state(&self, id: TrackerId) -> Option<TrackerState> {
        let idx = self.cfg.trackers.iter().position(|t| t.id == id)?;
        Some(self.trackers[idx].state)
    }
    /// Statistics.
    pub fn counters(&self) -> &Counters {
        &self.counters
    }
    /// True between `startup` and `shutdown`.
    pub fn is_running(&self) -> bool {
        self.running
    }

    /// Whether a [`Router`](crate::Router)'s sync group holds this instance: its inputs then
    /// move the other members too, so a driver feeds them in the group's time order.
    pub fn is_sync_member(&self) -> bool {
        self.sync_member
    }

    // ----- hooks for the router's sync groups -------------------------------------------------

    pub(crate) fn set_sync_member(&mut self, member: bool, ignore_weights: bool) {
        self.sync_member = member;
        self.ignore_tracker_weights = ignore_weights;
        self.refresh_contributions();
        self.recompute_priority_silently();
    }

    /// Fault flags of the instance itself (not the group's).
    pub(crate) fn own_fault(&self) -> FaultFlags {
        let mut f = self.fault;
        f.set(FaultFlags::SYNC_GROUP, false);
        f
    }

    pub(crate) fn set_sync_fault(&mut self, now: Instant, on: bool) {
        if self.fault.contains(FaultFlags::SYNC_GROUP) != on {
            self.fault.set(FaultFlags::SYNC_GROUP, on);
            self.apply_fault(now);
        }
    }

    pub(crate) fn next_master_reason(&self) -> StateChangeReason {
        self.next_master_reason
    }

    pub(crate) fn wants_master(&self) -> bool {
        self.want_master
    }

    pub(crate) fn sync_goto_master(&mut self, now: Instant, reason: StateChangeReason) {
        if self.running && self.state == State::Backup {
            self.become_master(now, reason);
        }
    }

    pub(crate) fn sync_goto_backup(&mut self, now: Instant) {
        if self.running && self.state == State::Master {
            self.leave_master(now, State::Backup, StateChangeReason::SyncGroup);
        }
    }

    /// Another member of our sync group heard a lower priority: send our lower-priority burst.
    pub(crate) fn sync_lower_prio_garp(&mut self, now: Instant) {
        if self.state == State::Master && self.cfg.garp_lower_prio_repeat > 0 {
            self.push_garp(self.cfg.garp_lower_prio_repeat, GarpReason::LowerPriority);
            if !self.cfg.garp_lower_prio_delay.is_zero() {
                self.lower_prio_garp_timer = now.checked_add(self.cfg.garp_lower_prio_delay);
            }
        }
    }

    // ----- receive paths -----------------------------------------------------------------

    fn check_advert(&self, src: IpAddr, adv: &impl AdvertFields) -> Result<(), AdvertError> {
        if !self.running {
            return Err(AdvertError::NotRunning);
        }
        if self.state == State::Fault {
            return Err(AdvertError::InFault);
        }
        if adv.vrid() != self.cfg.vrid {
            return Err(AdvertError::VridMismatch(adv.vrid()));
        }
        if adv.version() != self.cfg.version {
            return Err(AdvertError::VersionMismatch);
        }
        if AddressFamily::of(&src) != self.cfg.family {
            return Err(AdvertError::FamilyMismatch(src));
        }
        match adv.version() {
            Version::V2 => {
                if u64::from(adv.max_adver_int()) != self.cfg.advert_interval.as_secs() {
                    return Err(AdvertError::IntervalMismatch(adv.max_adver_int()));
                }
                if adv.auth() != self.cfg.auth {
                    return Err(AdvertError::AuthMismatch);
                }
            }
            Version::V3 => {
                if adv.max_adver_int() == 0 || adv.max_adver_int() > 4095 {
                    return Err(AdvertError::InvalidInterval(adv.max_adver_int()));
                }
            }
        }
        if src == self.cfg.primary_address {
            return Err(AdvertError::OwnAddress(src));
        }
        if self.cfg.check_unicast_src
            && !self.cfg.unicast_peers.is_empty()
            && !self.cfg.unicast_peers.contains(&src)
        {
            return Err(AdvertError::UnknownPeer(src));
        }
        Ok(())
    }

    fn count_rejected(&mut self, e: AdvertError) {
        let c = &mut self.counters;
        c.adverts_rejected += 1;
        match e {
            AdvertError::NotRunning | AdvertError::InFault => c.state_errors += 1,
            AdvertError::VridMismatch(_) => c.vrid_errors += 1,
            AdvertError::VersionMismatch => c.version_errors += 1,
            AdvertError::IntervalMismatch(_) | AdvertError::InvalidInterval(_) => {
                c.interval_errors += 1
            }
            AdvertError::AuthMismatch => c.auth_errors += 1,
            AdvertError::FamilyMismatch(_)
            | AdvertError::OwnAddress(_)
            | AdvertError::UnknownPeer(_) => c.source_errors += 1,
        }
    }

    /// keepalived `vrrp_state_backup()` / RFC 5798 §6.4.2.
    fn backup_rx(&mut self, now: Instant, src: IpAddr, adv: &impl AdvertFields) {
        let prio = adv.priority();
        let eff = self.effective_priority;
        if prio == 0 {
            // The Master is leaving: take over after Skew_Time only.
            self.master_down_timer = Some(now + self.skew_time());
            self.next_master_reason = StateChangeReason::MasterLeft;
            return;
        }
        let delay = self.cfg.preempt_delay;
        let delay_holds = !delay.is_zero() && self.preempt_time.is_none_or(|t| t > now);
        if !self.cfg.preempt || prio >= eff || delay_holds {
            if self.cfg.version == Version::V3 {
                self.set_master_adver_int(adv.adver_interval());
            }
            self.master_down_timer = Some(now + self.master_down_interval());
            self.loss_restart_available = true;
            self.master_address = Some(src);
            self.master_priority = prio;
            self.next_master_reason = StateChangeReason::MasterNoResponse;
            if !delay.is_zero() {
                if prio >= eff {
                    if self.preempt_time.take().is_some() {
                        debug!(vrid = self.cfg.vrid, "stop preempt delay");
                    }
                } else if self.preempt_time.is_none() {
                    debug!(vrid = self.cfg.vrid, ?delay, "start preempt delay");
                    self.preempt_time = Some(now + delay);
                }
            }
            // Held back by a sync group? A live Master was heard: we no longer want to go.
            self.want_master = false;
        } else {
            // Lower priority and we may preempt: discard, keep the running timer.
            debug!(vrid = self.cfg.vrid, %src, prio, "received lower priority advert, discarding");
            self.master_address = Some(src);
            self.next_master_reason = StateChangeReason::Preempted;
        }
    }

    /// keepalived `vrrp_state_master_rx()` / RFC 5798 §6.4.3.
    fn master_rx(&mut self, now: Instant, src: IpAddr, adv: &impl AdvertFields) {
        let prio = adv.priority();
        let addr_cmp = src.cmp(&self.cfg.primary_address);
        let higher = |eff: u8| prio > eff || (prio == eff && addr_cmp == Ordering::Greater);
        if prio == 0 || (self.cfg.higher_prio_send_advert && higher(self.effective_priority)) {
            self.send_advert(self.effective_priority);
            if prio == 0 {
                // RFC 5798: send an advert at once and restart the Adver_Timer.
                self.adver_timer = Some(now + self.cfg.advert_interval);
                return;
            }
        }
        if prio == 255 && self.effective_priority == 255 {
            // Two address owners: a configuration error. Like keepalived, drop ourselves to 254
            // so the pair converges on one Master (the other one).
            warn!(vrid = self.cfg.vrid, %src, "another address owner is advertising; lowering our priority to 254");
            self.counters.address_owner_conflicts += 1;
            self.base_priority = 254;
            self.update_priority(now);
            if self.state != State::Master {
                return;
            }
        }
        let eff = self.effective_priority;
        if prio < eff || (prio == eff && addr_cmp == Ordering::Less) {
            let answer = self.lower_prio_replies.answer(
                now,
                src,
                self.cfg.advert_interval,
                self.cfg.garp_lower_prio_delay,
            );
            if !answer.advert {
                // Answered lately: a flood gets no more frames, logs or scripts.
                self.counters.lower_priority_unanswered += 1;
                return;
            }
            debug!(vrid = self.cfg.vrid, %src, prio, ours = eff, "master received lower priority advert");
            if !self.cfg.lower_prio_no_advert {
                self.send_advert(eff);
            }
            if answer.garp && self.cfg.garp_lower_prio_repeat > 0 {
                self.push_garp(self.cfg.garp_lower_prio_repeat, GarpReason::LowerPriority);
                if !self.cfg.garp_lower_prio_delay.is_zero() {
                    self.lower_prio_garp_timer = now.checked_add(self.cfg.garp_lower_prio_delay);
                }
            }
            self.push(Action::MasterRxLowerPriority {
                from: src,
                priority: prio,
            });
        } else if higher(eff) {
            info!(vrid = self.cfg.vrid, %src, prio, ours = eff, "master received higher priority advert");
            if self.cfg.version == Version::V3 {
                self.set_master_adver_int(adv.adver_interval());
            }
            self.master_address = Some(src);
            self.master_priority = prio;
            self.leave_master(
                now,
                State::Backup,
                StateChangeReason::HigherPriority { priority: prio },
            );
        }
    }

    // ----- transitions -------------------------------------------------------------------

    /// keepalived `vrrp_state_become_master()`: advert first, then VIPs, then GARPs.
    fn become_master(&mut self, now: Instant, reason: StateChangeReason) {
        let from = self.state;
        self.state = State::Master;
        self.master_down_timer = None;
        self.want_master = false;
        self.lower_prio_replies.reset();
        self.set_master_adver_int(self.cfg.advert_interval);
        self.send_advert(self.effective_priority);
        self.adver_timer = Some(now + self.advert_phase.first_interval(self.cfg.advert_interval));
        self.push(Action::AddVips);
        self.vips_held = true;
        if self.cfg.garp_master_repeat > 0 {
            self.push_garp(self.cfg.garp_master_repeat, GarpReason::BecameMaster);
            if !self.cfg.garp_master_delay.is_zero() {
                self.garp_delay_timer = now.checked_add(self.cfg.garp_master_delay);
            }
        }
        if !self.cfg.garp_master_refresh.is_zero() {
            self.garp_refresh_timer = now.checked_add(self.cfg.garp_master_refresh);
        }
        self.master_address = Some(self.cfg.primary_address);
        self.master_priority = self.effective_priority;
        self.counters.become_master += 1;
        info!(vrid = self.cfg.vrid, ?reason, "entering MASTER state");
        self.push_state(from, reason);
    }

    /// keepalived `vrrp_state_leave_master()`: to Backup (timer restarted), FAULT or Init (both
    /// with a priority-0 advert first); VIPs released.
    fn leave_master(&mut self, now: Instant, to: State, reason: StateChangeReason) {
        self.adver_timer = None;
        self.garp_delay_timer = None;
        self.garp_refresh_timer = None;
        self.lower_prio_garp_timer = None;
        if to != State::Backup {
            self.send_advert(0);
        }
        self.push(Action::RemoveVips);
        self.vips_held = false;
        self.counters.release_master += 1;
        self.preempt_time = None;
        self.state = to;
        if to == State::Backup {
            self.master_down_timer = Some(now + self.master_down_interval());
            self.next_master_reason = StateChangeReason::MasterNoResponse;
        }
        info!(vrid = self.cfg.vrid, to = %to, ?reason, "leaving MASTER state");
        self.push_state(State::Master, reason);
    }

    fn apply_fault(&mut self, now: Instant) {
        if !self.running {
            return;
        }
        let flags = self.fault;
        match (flags.is_empty(), self.state) {
            (false, State::Master) => {
                self.leave_master(now, State::Fault, StateChangeReason::Fault(flags));
                self.clear_timers();
            }
            (false, State::Backup) => {
                self.clear_timers();
                self.want_master = false;
                self.state = State::Fault;
                info!(vrid = self.cfg.vrid, ?flags, "entering FAULT state");
                self.push_state(State::Backup, StateChangeReason::Fault(flags));
            }
            (true, State::Fault) => self.leave_fault(now),
            _ => {}
        }
    }

    /// keepalived `vrrp_state_leave_fault()` / `try_up_instance()`.
    fn leave_fault(&mut self, now: Instant) {
        self.set_master_adver_int(self.cfg.advert_interval);
        self.preempt_time = None;
        if !self.cfg.unicast_peers.is_empty() {
            self.push(Action::SendSourceGarp);
        }
        if self.base_priority == 255 {
            self.become_master(now, StateChangeReason::AddressOwner);
            return;
        }
        self.state = State::Backup;
        self.master_down_timer = Some(now + self.master_down_interval());
        self.next_master_reason = StateChangeReason::MasterNoResponse;
        info!(vrid = self.cfg.vrid, "leaving FAULT state");
        self.push_state(State::Fault, StateChangeReason::FaultCleared);
    }

    // ----- priority ----------------------------------------------------------------------

    /// Every tracker's contribution from its last state and its configured weight (0 while a
    /// sync group ignores weights).
    fn refresh_contributions(&mut self) {
        for (slot, cfg) in self.trackers.iter_mut().zip(&self.cfg.trackers) {
            let weight = if self.ignore_tracker_weights {
                0
            } else {
                cfg.weight
            };
            if let Some(c) = tracking::contribution(cfg, weight, slot.state) {
                slot.contribution = c;
            }
        }
    }

    fn sum_trackers(&self) -> (i64, bool) {
        let mut total = i64::from(self.base_priority);
        let mut fault = false;
        for t in &self.trackers {
            total = total.saturating_add(t.contribution.delta);
            fault |= t.contribution.fault;
        }
        (total, fault)
    }

    fn recompute_priority_silently(&mut self) {
        let (total, fault) = self.sum_trackers();
        self.total_priority = total;
        self.effective_priority = tracking::effective_priority(self.base_priority, total);
        self.fault.set(FaultFlags::TRACKER, fault);
        self.refresh_down_interval();
    }

    fn set_master_adver_int(&mut self, interval: Duration) {
        if self.master_adver_int != interval {
            self.master_adver_int = interval;
            self.refresh_down_interval();
        }
    }

    fn refresh_down_interval(&mut self) {
        let v = self.cfg.version;
        self.skew = timers::skew_time(v, self.effective_priority, self.master_adver_int);
        self.ms_down = timers::master_down_interval(
            v,
            self.effective_priority,
            self.master_adver_int,
            self.cfg.down_timer_adverts,
        );
    }

    /// keepalived `vrrp_set_effective_priority()`.
    fn update_priority(&mut self, now: Instant) {
        let (total, fault) = self.sum_trackers();
        self.total_priority = total;
        let old = self.effective_priority;
        let new = tracking::effective_priority(self.base_priority, total);
        if new != old {
            let old_skew = self.skew;
            self.effective_priority = new;
            self.refresh_down_interval();
            let new_skew = self.skew;
            if self.state == State::Backup {
                // The skew depends on priority: move the running deadline by the difference.
                if let Some(deadline) = self.master_down_timer {
                    self.master_down_timer = Some(moved_by(deadline, old_skew, new_skew));
                }
            }
            self.announce_priority(old, new, total);
        }
        self.fault.set(FaultFlags::TRACKER, fault);
        self.apply_fault(now);
    }

    fn announce_priority(&mut self, old: u8, new: u8, total: i64) {
        info!(
            vrid = self.cfg.vrid,
            old, new, total, "effective priority changed"
        );
        self.push(Action::PriorityChanged { from: old, to: new });
    }

    // ----- helpers -----------------------------------------------------------------------

    fn adver_int_field(&self) -> u16 {
        match self.cfg.version {
            Version::V2 => self.cfg.advert_interval.as_secs() as u16,
            Version::V3 => (self.cfg.advert_interval.as_millis() / 10) as u16,
        }
    }

    fn clear_timers(&mut self) {
        self.adver_timer = None;
        self.master_down_timer = None;
        self.garp_delay_timer = None;
        self.garp_refresh_timer = None;
        self.lower_prio_garp_timer = None;
        self.preempt_time = None;
    }

    fn send_advert(&mut self, priority: u8) {
        self.counters.adverts_sent += 1;
        if priority == 0 {
            self.counters.priority_zero_sent += 1;
        }
        self.push(Action::SendAdvert { priority });
    }

    fn push_garp(&mut self, count: u32, reason: GarpReason) {
        if count > 0 {
            self.push(Action::SendGarp { count, reason });
        }
    }

    fn push_state(&mut self, from: State, reason: StateChangeReason) {
        let to = self.state;
        self.push(Action::StateChanged { from, to, reason });
    }

    fn push(&mut self, action: Action) {
        if !self.actions.push(action) {
            self.counters.actions_dropped += 1;
        }
    }
}

/// The VIP when exactly one is configured (checked on every advert without the list).
fn single_vip(vips: &[vrrp_proto::VirtualAddress]) -> Option<IpAddr> {
    match vips {
        [only] => Some(only.addr),
        _ => None,
    }
}

/// `deadline` moved by the change of a duration it was computed with, from `was` to `is`.
fn moved_by(deadline: Instant, was: Duration, is: Duration) -> Instant {
    if is >= was {
        deadline + (is - was)
    } else {
        deadline.checked_sub(was - is).unwrap_or(deadline)
    }
}

fn due(timer: Option<Instant>, now: Instant) -> bool {
    timer.is_some_and(|t| t <= now)
}
