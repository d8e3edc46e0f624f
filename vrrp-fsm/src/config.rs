//! Instance configuration (keepalived's `vrrp_instance` block) and its validation.
use core::net::IpAddr;
use core::time::Duration;

use vrrp_proto::{AddressFamily, Auth, Version, VirtualAddress};

use crate::error::ConfigError;

/// Identifies a tracker of an instance (chosen by the caller).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TrackerId(pub u32);

/// What a tracker watches; fixes its weight range (keepalived.conf(5)).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TrackerKind {
    /// `track_script`: weight −253..=253.
    Script,
    /// `track_interface`: weight −253..=253.
    Interface,
    /// `track_bfd`: weight −253..=253.
    Bfd,
    /// `track_process`: weight −254..=254.
    Process,
    /// `track_file`: the file's value × weight; weight −254..=254.
    File,
}

impl TrackerKind {
    /// The allowed weight range of the kind, as keepalived.conf(5) gives it.
    pub fn weight_range(self) -> (i32, i32) {
        match self {
            TrackerKind::Script | TrackerKind::Interface | TrackerKind::Bfd => (-253, 253),
            TrackerKind::Process | TrackerKind::File => (-254, 254),
        }
    }
}

/// One tracker attached to an instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TrackerConfig {
    /// Caller-chosen id, unique within the instance.
    pub id: TrackerId,
    /// What it watches (fixes the weight range and the state type).
    pub kind: TrackerKind,
    /// Weight: positive adds while up, negative subtracts while down, 0 = FAULT while down.
    pub weight: i32,
    /// keepalived `reverse`: multiply the weight by −1 (weight 0: FAULT while *up*).
    pub reverse: bool,
}

impl TrackerConfig {
    /// A tracker with the given id, kind and weight, not reversed.
    pub fn new(id: TrackerId, kind: TrackerKind, weight: i32) -> Self {
        TrackerConfig {
            id,
            kind,
            weight,
            reverse: false,
        }
    }
}

/// Configuration of one VRRP instance. Build with [`InstanceConfig::new`] (keepalived's
/// defaults), set fields, then pass to [`Instance::new`](crate::Instance::new), which validates.
///
/// ```
/// use std::net::IpAddr;
/// use vrrp_fsm::{Instance, InstanceConfig, VirtualAddress};
/// let mut cfg = InstanceConfig::new(51, "192.0.2.1".parse::<IpAddr>().unwrap());
/// cfg.priority = 150;
/// cfg.vips.push(VirtualAddress::host("192.0.2.100".parse().unwrap()));
/// let instance = Instance::new(cfg).unwrap();
/// assert_eq!(instance.effective_priority(), 150);
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct InstanceConfig {
    /// Virtual router id, 1..=255.
    pub vrid: u8,
    /// VRRP version (default v3; v2 is IPv4 only).
    pub version: Version,
    /// Address family (taken from `primary_address` by [`InstanceConfig::new`]).
    pub family: AddressFamily,
    /// Base priority 1..=255 (255 = address owner). Default 100.
    pub priority: u8,
    /// Advert interval (v2: whole seconds 1..=255; v3: centiseconds 1..=4095). Default 1 s.
    pub advert_interval: Duration,
    /// The virtual addresses, all of the instance's family, 1..=255 of them.
    pub vips: Vec<VirtualAddress>,
    /// Our primary / source address (keepalived `unicast_src_ip` or the interface address):
    /// the tie-break between equal priorities.
    pub primary_address: IpAddr,
    /// Unicast peers; empty = multicast.
    pub unicast_peers: Vec<IpAddr>,
    /// keepalived `check_unicast_src`: drop adverts whose source is not a configured peer.
    pub check_unicast_src: bool,
    /// Preempt mode (RFC 5798 `Preempt_Mode`); `false` = keepalived `nopreempt`. Default true.
    pub preempt: bool,
    /// keepalived `preempt_delay` (0..=1000 s); zero = none.
    pub preempt_delay: Duration,
    /// RFC 5798 `Accept_Mode`; exposed for the driver (firewall rules), not used by the FSM.
    pub accept_mode: bool,
    /// keepalived `down_timer_adverts` (1..=100, default 3 as in the RFC).
    pub down_timer_adverts: u8,
    /// keepalived `state MASTER`: start with a short down timer (one advert interval plus the
    /// minimum skew) instead of the full Master_Down_Interval.
    pub initial_state_master: bool,
    /// Gratuitous ARP / NA per VIP on becoming Master (default 5).
    pub garp_master_repeat: u32,
    /// Delay of the second GARP burst after becoming Master (default 5 s; zero = none; a delay
    /// too long for the clock means never).
    pub garp_master_delay: Duration,
    /// Period of GARP refresh while Master (zero = off, the default).
    pub garp_master_refresh: Duration,
    /// GARPs per VIP in each refresh (default 1).
    pub garp_master_refresh_repeat: u32,
    /// GARP burst when a Master hears a lower priority (default = `garp_master_repeat`).
    pub garp_lower_prio_repeat: u32,
    /// Delay of the second lower-priority burst (default = `garp_master_delay`; zero = none).
    pub garp_lower_prio_delay: Duration,
    /// A Master does not answer a lower-priority advert with its own (RFC 3768 behaviour).
    pub lower_prio_no_advert: bool,
    /// A Master sends one advert before yielding to a higher priority.
    pub higher_prio_send_advert: bool,
    /// keepalived `vrrp_strict`: see [`Instance::new`](crate::Instance::new) for what it implies.
    pub strict: bool,
    /// VRRPv2 authentication to send and require (v3: always [`Auth::None`]).
    pub auth: Auth,
    /// Trackers with their weights.
    pub trackers: Vec<TrackerConfig>,
}

impl InstanceConfig {
    /// keepalived's defaults for VRID `vrid` sourcing from `primary_address`, except the version:
    /// VRRPv3 (keepalived's `vrrp_version` defaults to 2; set `version` for that), the family
    /// of `primary_address`, priority 100, advert 1 s, preempt on, no VIP yet (add at least one).
    pub fn new(vrid: u8, primary_address: IpAddr) -> Self {
        InstanceConfig {
            vrid,
            version: Version::V3,
            family: AddressFamily::of(&primary_address),
            priority: 100,
            advert_interval: Duration::from_secs(1),
            vips: Vec::new(),
            primary_address,
            unicast_peers: Vec::new(),
            check_unicast_src: false,
            preempt: true,
            preempt_delay: Duration::ZERO,
            accept_mode: false,
            down_timer_adverts: 3,
            initial_state_master: false,
            garp_master_repeat: 5,
            garp_master_delay: Duration::from_secs(5),
            garp_master_refresh: Duration::ZERO,
            garp_master_refresh_repeat: 1,
            garp_lower_prio_repeat: 5,
            garp_lower_prio_delay: Duration::from_secs(5),
            lower_prio_no_advert: false,
            higher_prio_send_advert: false,
            strict: false,
            auth: Auth::None,
            trackers: Vec::new(),
        }
    }
}

/// A setting keepalived silently changes when options conflict (`vrrp_complete_instance`);
/// [`Instance::new`](crate::Instance::new) applies the same and records each here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConfigAdjustment {
    /// `state MASTER` clears `nopreempt`.
    InitialMasterClearsNopreempt,
    /// `state MASTER` clears `preempt_delay`.
    InitialMasterClearsPreemptDelay,
    /// Priority 255 (address owner) clears `nopreempt`.
    OwnerClearsNopreempt,
    /// `vrrp_strict` clears `preempt_delay`.
    StrictClearsPreemptDelay,
    /// `nopreempt` clears `preempt_delay`.
    NopreemptClearsPreemptDelay,
    /// `vrrp_strict` forces `lower_prio_no_advert`.
    StrictForcesLowerPrioNoAdvert,
    /// `vrrp_strict` sets accept mode only for the address owner.
    StrictSetsAcceptMode(bool),
    /// `vrrp_strict` disables the lower-priority GARP burst and its repeat (no GARP repeats).
    StrictDisablesLowerPrioGarp,
    /// `vrrp_strict` clears `higher_prio_send_advert`.
    StrictClearsHigherPrioSendAdvert,
}

/// Validate `cfg` and apply keepalived's conflict rules; returns the adjustments made.
pub(crate) fn validate(cfg: &mut InstanceConfig) -> Result<Vec<ConfigAdjustment>, ConfigError> {
    if cfg.vrid == 0 {
        return Err(ConfigError::VridOutOfRange(cfg.vrid));
    }
    if cfg.priority == 0 {
        return Err(ConfigError::PriorityOutOfRange(cfg.priority));
    }
    let iv = cfg.advert_interval;
    match cfg.version {
        Version::V2 => {
            if iv.subsec_nanos() != 0 {
                return Err(ConfigError::AdvertIntervalNotWholeUnit(iv));
            }
            if !(1..=255).contains(&iv.as_secs()) {
                return Err(ConfigError::AdvertIntervalOutOfRange(iv));
            }
            if cfg.family != AddressFamily::Ipv4 {
                return Err(ConfigError::V2RequiresIpv4);
            }
        }
        Version::V3 => {
            if iv.as_nanos() % 10_000_000 != 0 {
                return Err(ConfigError::AdvertIntervalNotWholeUnit(iv));
            }
            let cs = iv.as_nanos() / 10_000_000;
            if !(1..=4095).contains(&cs) {
                return Err(ConfigError::AdvertIntervalOutOfRange(iv));
            }
        }
    }
    if cfg.vips.is_empty() {
        return Err(ConfigError::NoVirtualAddress);
    }
    if cfg.vips.len() > 255 {
        return Err(ConfigError::TooManyVirtualAddresses(cfg.vips.len()));
    }
    for vip in &cfg.vips {
        if AddressFamily::of(&vip.addr) != cfg.family {
            return Err(ConfigError::VirtualAddressFamily(vip.addr));
        }
        if vip.prefix_len > cfg.family.max_prefix_len() {
            return Err(ConfigError::PrefixLength(vip.addr, vip.prefix_len));
        }
    }
    if AddressFamily::of(&cfg.primary_address) != cfg.family {
        return Err(ConfigError::PrimaryAddressFamily(cfg.primary_address));
    }
    for peer in &cfg.unicast_peers {
        if AddressFamily::of(peer) != cfg.family {
            return Err(ConfigError::UnicastPeerFamily(*peer));
        }
    }
    if !(1..=100).contains(&cfg.down_timer_adverts) {
        return Err(ConfigError::DownTimerAdvertsOutOfRange(
            cfg.down_timer_adverts,
        ));
    }
    if cfg.preempt_delay > Duration::from_secs(1000) {
        return Err(ConfigError::PreemptDelayOutOfRange(cfg.preempt_delay));
    }
    for (i, t) in cfg.trackers.iter().enumerate() {
        let (min, max) = t.kind.weight_range();
        if t.weight < min || t.weight > max {
            return Err(ConfigError::TrackerWeightOutOfRange {
                id: t.id,
                kind: t.kind,
                weight: t.weight,
                min,
                max,
            });
        }
        if cfg.trackers[..i].iter().any(|o| o.id == t.id) {
            return Err(ConfigError::DuplicateTracker(t.id));
        }
    }
    if cfg.strict {
        if !cfg.unicast_peers.is_empty() {
            return Err(ConfigError::StrictUnicast);
        }
        if cfg.auth != Auth::None {
            return Err(ConfigError::StrictAuthentication);
        }
    }
    if cfg.version == Version::V3 {
        cfg.auth = Auth::None;
    }

    // keepalived's vrrp_complete_instance() conflict rules, in its order.
    let mut adj = Vec::new();
    if cfg.initial_state_master {
        if !cfg.preempt {
            cfg.preempt = true;
            adj.push(ConfigAdjustment::InitialMasterClearsNopreempt);
        }
        if !cfg.preempt_delay.is_zero() {
            cfg.preempt_delay = Duration::ZERO;
            adj.push(ConfigAdjustment::InitialMasterClearsPreemptDelay);
        }
    }
    if cfg.priority == 255 && !cfg.preempt {
        cfg.preempt = true;
        adj.push(ConfigAdjustment::OwnerClearsNopreempt);
    }
    if cfg.strict && !cfg.preempt_delay.is_zero() {
        cfg.preempt_delay = Duration::ZERO;
        adj.push(ConfigAdjustment::StrictClearsPreemptDelay);
    }
    if !cfg.preempt && !cfg.preempt_delay.is_zero() {
        cfg.preempt_delay = Duration::ZERO;
        adj.push(ConfigAdjustment::NopreemptClearsPreemptDelay);
    }
    if cfg.strict {
        if !cfg.lower_prio_no_advert {
            cfg.lower_prio_no_advert = true;
            adj.push(ConfigAdjustment::StrictForcesLowerPrioNoAdvert);
        }
        let accept = cfg.priority == 255;
        if cfg.accept_mode != accept {
            cfg.accept_mode = accept;
            adj.push(ConfigAdjustment::StrictSetsAcceptMode(accept));
        }
        if cfg.garp_lower_prio_repeat != 0 || !cfg.garp_lower_prio_delay.is_zero() {
            cfg.garp_lower_prio_repeat = 0;
            cfg.garp_lower_prio_delay = Duration::ZERO;
            adj.push(ConfigAdjustment::StrictDisablesLowerPrioGarp);
        }
        if cfg.higher_prio_send_advert {
            cfg.higher_prio_send_advert = false;
            adj.push(ConfigAdjustment::StrictClearsHigherPrioSendAdvert);
        }
    }
    Ok(adj)
}
