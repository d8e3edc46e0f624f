//! # hakit
//!
//! Build your own high-availability daemons from composable crates: everything keepalived does
//! (VRRP failover of virtual IPs, health checks, IPVS programming), as libraries.
//!
//! This facade re-exports the family:
//!
//! | module | crate | what |
//! | --- | --- | --- |
//! | [`proto`] | `vrrp-proto` | VRRPv2/v3 advert codec (`no_std`, zero-copy) |
//! | [`fsm`] | `vrrp-fsm` | the Sans-IO VRRP state machine |
//! | [`vip`] | `vip-netlink` | Linux drivers: advert socket, VIPs, GARP/NA, link watch |
//! | [`ipvs`] | `ipvs-netlink` | IPVS over generic netlink |
//! | [`health`] | `healthcheck` | async health checkers with fall/rise |
//!
//! ```
//! use hakit::proto::Version;
//! assert_ne!(Version::V2, Version::V3);
//! ```
#![forbid(unsafe_code)]

pub mod keepalived_conf;
pub use healthcheck as health;
pub use ipvs_netlink as ipvs;
pub use vip_netlink as vip;
pub use vrrp_fsm as fsm;
pub use vrrp_proto as proto;
