//! # hakit
//!
//! Build your own high-availability daemons from composable crates: everything keepalived does
//! (VRRP failover of virtual IPs, health checks, IPVS programming), as libraries.
//!
//! The runtime ([`Daemon`], feature `runtime`, on by default) is keepalived's VRRP daemon as a
//! library: start it from a [`Config`] (built in code, or read from TOML), read its
//! [`Event`]s, feed it your own health, reload and shut it down. Under it, the family:
//!
//! | module | crate | what |
//! | --- | --- | --- |
//! | [`proto`] | `vrrp-proto` | VRRPv2/v3 advert codec (`no_std`, zero-copy) |
//! | [`fsm`] | `vrrp-fsm` | the Sans-IO VRRP state machine |
//! | `vip` | `vip-netlink` | Linux drivers: advert socket, VIPs, GARP/NA, link watch (`runtime`) |
//! | `ipvs` | `ipvs-netlink` | IPVS over generic netlink (`ipvs`) |
//! | `health` | `healthcheck` | async health checkers with fall/rise (`health`) |
//!
//! With `default-features = false` only the codec and the state machine are built: no tokio,
//! no TLS, no netlink.
//!
//! ```
//! use hakit::proto::Version;
//! assert_ne!(Version::V2, Version::V3);
//! ```
//!
//! A whole HA service (one VRRPv3 instance, one VIP, a TCP check that lowers the priority by
//! 50 while it fails) with the runtime:
//!
//! ```no_run
//! # #[cfg(feature = "runtime")]
//! # async fn service() -> Result<(), Box<dyn std::error::Error>> {
//! use hakit::{Config, Daemon, VrrpInstance};
//! let web = VrrpInstance::new("web", "eth0", 51, 150)
//!     .vrrp_version(3)
//!     .vip("10.0.0.100/24")
//!     .track_tcp("127.0.0.1:8080", -50);
//! let mut daemon = Daemon::start(Config::new().instance(web)).await?;
//! let mut events = daemon.events();
//! while let Some(event) = events.recv().await {
//!     println!("{event}");
//! }
//! daemon.shutdown().await?;
//! # Ok(()) }
//! ```
#![cfg_attr(not(feature = "runtime"), forbid(unsafe_code))]
#![cfg_attr(feature = "runtime", deny(unsafe_code))]

#[cfg(feature = "health")]
pub use healthcheck as health;
#[cfg(feature = "ipvs")]
pub use ipvs_netlink as ipvs;
#[cfg(feature = "runtime")]
pub use vip_netlink as vip;
pub use vrrp_fsm as fsm;
pub use vrrp_proto as proto;

#[cfg(feature = "cli")]
pub mod cli;
#[cfg(feature = "runtime")]
#[doc(hidden)]
pub mod fuzzing;
#[cfg(feature = "runtime")]
pub mod keepalived_conf;
#[cfg(feature = "runtime")]
pub mod runtime;

#[cfg(feature = "runtime")]
pub use runtime::{
    AuthHmacConfig, Config, ConfigError, Daemon, DaemonError, Event, Events, InstanceStatus,
    SyncGroup, VrrpInstance,
};

/// The README's code blocks (the library quick start), compiled as doctests.
#[cfg(all(doctest, feature = "runtime"))]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
