//! Typed errors: configuration, received adverts and tracker updates.
use core::net::IpAddr;
use core::time::Duration;

use crate::config::{TrackerId, TrackerKind};
use crate::router::InstanceId;

/// A configuration that [`Instance::new`](crate::Instance::new) (or
/// [`Router::add_sync_group`](crate::Router::add_sync_group)) refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// VRID 0 is reserved; valid range 1..=255.
    #[error("virtual router id {0} out of range 1..=255")]
    VridOutOfRange(u8),
    /// Priority 0 is reserved for "Master leaving"; valid range 1..=255.
    #[error("priority {0} out of range 1..=255")]
    PriorityOutOfRange(u8),
    /// The advert interval is outside the version's range (v2: 1..=255 s, v3: 10 ms..=40.95 s).
    #[error("advert interval {0:?} out of range for this VRRP version")]
    AdvertIntervalOutOfRange(Duration),
    /// v2 intervals are whole seconds, v3 intervals whole centiseconds.
    #[error(
        "advert interval {0:?} is not a whole number of the version's unit (v2: 1 s, v3: 10 ms)"
    )]
    AdvertIntervalNotWholeUnit(Duration),
    /// VRRPv2 carries IPv4 only.
    #[error("VRRPv2 supports IPv4 only")]
    V2RequiresIpv4,
    /// At least one virtual address is required.
    #[error("no virtual address configured")]
    NoVirtualAddress,
    /// More than 255 virtual addresses (the advert's count field is 8 bits).
    #[error("{0} virtual addresses, at most 255 fit in an advert")]
    TooManyVirtualAddresses(usize),
    /// A virtual address of the other family than the instance.
    #[error("virtual address {0} is not of the instance's family")]
    VirtualAddressFamily(IpAddr),
    /// A prefix length longer than the address.
    #[error("prefix length {1} invalid for {0}")]
    PrefixLength(IpAddr, u8),
    /// The primary (source) address is not of the instance's family.
    #[error("primary address {0} is not of the instance's family")]
    PrimaryAddressFamily(IpAddr),
    /// A unicast peer of the other family.
    #[error("unicast peer {0} is not of the instance's family")]
    UnicastPeerFamily(IpAddr),
    /// down_timer_adverts outside 1..=100.
    #[error("down_timer_adverts {0} out of range 1..=100")]
    DownTimerAdvertsOutOfRange(u8),
    /// preempt_delay above 1000 s.
    #[error("preempt_delay {0:?} above 1000 s")]
    PreemptDelayOutOfRange(Duration),
    /// A tracker weight outside the range of its kind.
    #[error("tracker {id:?} ({kind:?}) weight {weight} outside {min}..={max}")]
    TrackerWeightOutOfRange {
        /// The tracker.
        id: TrackerId,
        /// Its kind.
        kind: TrackerKind,
        /// The configured weight.
        weight: i32,
        /// Smallest allowed weight for the kind.
        min: i32,
        /// Largest allowed weight for the kind.
        max: i32,
    },
    /// Two trackers with the same id.
    #[error("tracker {0:?} configured twice")]
    DuplicateTracker(TrackerId),
    /// vrrp_strict forbids unicast peers.
    #[error("vrrp_strict forbids unicast peers")]
    StrictUnicast,
    /// vrrp_strict forbids authentication.
    #[error("vrrp_strict forbids authentication")]
    StrictAuthentication,
    /// A sync group names an instance that does not exist.
    #[error("sync group member {0:?} does not exist")]
    UnknownInstance(InstanceId),
    /// An instance may belong to one sync group only.
    #[error("instance {0:?} is already a member of a sync group")]
    AlreadyInSyncGroup(InstanceId),
    /// No running sync group has this id.
    #[error("no such sync group")]
    UnknownSyncGroup,
    /// A sync group needs at least one member.
    #[error("sync group has no member")]
    EmptySyncGroup,
    /// A sync group's members must not have started yet: a group is declared before
    /// [`Router::startup`](crate::Router::startup) starts them.
    #[error("a sync group member is already running")]
    RouterRunning,
    /// [`Instance::reconfigure`](crate::Instance::reconfigure): this field identifies the
    /// virtual router (or its sockets) and cannot change while it runs; restart to apply it.
    #[error("{0} cannot change on a reload; restart to apply it")]
    NeedsRestart(&'static str),
}

/// Why a received advert was not processed (each also bumps a counter).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AdvertError {
    /// The instance is not running (before `startup`, after `shutdown`).
    #[error("instance not running")]
    NotRunning,
    /// The instance is in FAULT: adverts are ignored.
    #[error("instance in FAULT")]
    InFault,
    /// The advert is for another virtual router.
    #[error("advert for vrid {0}")]
    VridMismatch(u8),
    /// The advert has the other VRRP version.
    #[error("advert of the other VRRP version")]
    VersionMismatch,
    /// The source address is of the other family.
    #[error("source {0} of the other family")]
    FamilyMismatch(IpAddr),
    /// VRRPv2: the advert interval differs from ours (dropped, as keepalived and RFC 3768).
    #[error("v2 advert interval {0} s differs from ours")]
    IntervalMismatch(u16),
    /// VRRPv3: an advert interval of 0 (or above the 12-bit field) is invalid.
    #[error("invalid advert interval {0} cs")]
    InvalidInterval(u16),
    /// The advert comes from our own primary address (looped back).
    #[error("advert from our own address {0}")]
    OwnAddress(IpAddr),
    /// `check_unicast_src`: the source is not a configured unicast peer.
    #[error("source {0} is not a configured unicast peer")]
    UnknownPeer(IpAddr),
    /// VRRPv2: authentication differs from ours.
    #[error("authentication mismatch")]
    AuthMismatch,
}

/// Why a tracker update was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TrackerError {
    /// No tracker with this id is configured.
    #[error("unknown tracker {0:?}")]
    UnknownTracker(TrackerId),
    /// A file tracker takes [`TrackerState::Value`](crate::TrackerState::Value); other kinds take Up/Down.
    #[error("tracker {0:?}: state kind does not match the tracker kind")]
    StateKindMismatch(TrackerId),
}

/// Why a [`Router`](crate::Router) call was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RouterError {
    /// No instance with this id.
    #[error("unknown instance {0:?}")]
    UnknownInstance(InstanceId),
    /// The advert was refused by the instance.
    #[error(transparent)]
    Advert(#[from] AdvertError),
    /// The tracker update was refused by the instance.
    #[error(transparent)]
    Tracker(#[from] TrackerError),
}
