//! An instance as the daemon sees it now: [`Daemon::status`](crate::Daemon::status) and
//! [`Daemon::instance`](crate::Daemon::instance) read it from the VRRP thread.

use std::net::IpAddr;

use vrrp_fsm::{Counters, FaultFlags, State, TrackerState};
use vrrp_proto::AddressFamily;

/// One instance's state, priorities, trackers and counters at one moment.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct InstanceStatus {
    /// Its name.
    pub name: String,
    /// Its interface.
    pub iface: String,
    /// Its VRID.
    pub vrid: u8,
    /// Its address family.
    pub family: AddressFamily,
    /// Its state.
    pub state: State,
    /// The configured priority.
    pub base_priority: u8,
    /// The priority after tracker weights (1..=254, or 255 for an address owner).
    pub effective_priority: u8,
    /// Why it is in FAULT (empty otherwise).
    pub fault: FaultFlags,
    /// Whether it holds its VIPs.
    pub vips_held: bool,
    /// The Master it last heard (as a Backup).
    pub master_address: Option<IpAddr>,
    /// Each tracker's name (as configured: a script's command, an interface, a path, an
    /// address, an external tracker's name) and last state (`None` before its first result).
    pub trackers: Vec<(String, Option<TrackerState>)>,
    /// keepalived's `vrrp_stats` / RFC 6527 counters.
    pub counters: Counters,
    /// keepalived's `auth_ext_*` counters: adverts its `auth_hmac` refused, by reason (all
    /// zero without `auth_hmac`).
    pub auth_hmac: vip_netlink::AuthHmacStats,
}
