//! The daemon engine: keepalived's VRRP daemon as a library, as `quinn` is to `quinn-proto`.
//!
//! [`Daemon::start`] takes a [`Config`] (one or many [`VrrpInstance`]s and [`SyncGroup`]s, in
//! keepalived's vocabulary), opens every driver and runs the instances until
//! [`Daemon::shutdown`]: the Sans-IO [`vrrp_fsm::Router`] on a thread of its own, waiting in one
//! `epoll` set with a precise Master_Down_Timer (`vrrp_loop`), the link watches and tracker
//! checks on tokio (`watchers`), notify scripts and keepalived's notify FIFO ([`notify`]).
//! Without anything from the caller it removes stale VIPs, routes and rules left by an earlier
//! run, goes to FAULT when a link goes down and recovers when it comes back, and on shutdown
//! sends priority 0 and removes what it installed.
//!
//! | file | what |
//! | --- | --- |
//! | [`config`] | the configuration as written (`Config`, `VrrpInstance`, ...), TOML or code |
//! | [`spec`] | the validated configuration the engine runs (`DaemonSpec`, `InstanceSpec`) |
//! | [`daemon`] | the public handle: start, events, status, trackers, reload, shutdown |
//! | [`events`] | what the daemon tells its user (`Event`, `Events`) |
//! | [`status`] | an instance's state, priorities and counters (`InstanceStatus`) |
//! | `vrrp_loop` | the I/O around the state machine, on its own thread |
//! | `instance_io` | each instance's advert socket, GARP/NA socket and VIPs, by slot |
//! | [`instance_lock`] | one daemon per instance: a second copy is refused before it acts |
//! | [`precise_timer`], `epoll`, `event_queue` | how the loop waits and is woken |
//! | `watchers` | link watches and tracker checks (tokio side) |
//! | [`reload`] | how a new configuration maps onto the running one |
//! | `routing` | `virtual_routes` and `virtual_rules` with the VIPs |
//! | [`static_config`] | `static_ipaddress`, `static_routes` and `static_rules`, at start-up |
//! | [`smtp_alert`] | keepalived's alert mails on transitions, a small SMTP client |
//! | [`announce_config`], [`route_announcer`], `announce_reload` | `[[announce]]`: service prefixes handed to FRR (BGP) while checks pass or an instance is Master; how a reload maps them |
//! | [`lvs_sync`] | `lvs_sync_daemon`: the IPVS sync daemon, master while an instance is Master (feature `ipvs`) |
//! | [`virtual_server_config`], [`lvs`] | `[[virtual_server]]`: keepalived's IPVS services and real servers (feature `ipvs`) |
//! | `vmac` | `use_vmac` macvlans |
//! | [`notify`], `notify_fifo` | keepalived's notify scripts and FIFO |
//! | [`reaper`] | the daemon as child subreaper: scripts' orphans reaped, ended at shutdown |
//! | [`dump`] | keepalived's data, stats and JSON dumps |
//! | `metrics` | the Prometheus endpoint (feature `metrics`) |
//! | `transitions` | transitions counted from the event stream (metrics, dumps) |
//! | [`systemd`] | `sd_notify` readiness, stopping and watchdog |

pub mod announce_config;
mod announce_reload;
mod auth_hmac_spec;
pub mod config;
pub mod daemon;
pub mod dump;
mod epoll;
mod event_queue;
pub mod events;
mod heap_trim;
mod instance_io;
pub mod instance_lock;
mod log_limit;
#[cfg(feature = "ipvs")]
pub mod lvs;
#[cfg(feature = "ipvs")]
pub mod lvs_sync;
#[cfg(feature = "metrics")]
mod metrics;
pub mod notify;
mod notify_fifo;
pub mod precise_timer;
pub mod privileges;
pub mod reaper;
mod receive_overflow;
pub mod reload;
pub mod route_announcer;
mod routing;
pub mod script_security;
pub mod smtp_alert;
pub mod spec;
mod state_board;
pub mod static_config;
pub mod status;
pub mod systemd;
mod transitions;
#[cfg(feature = "ipvs")]
pub mod virtual_server_config;
#[cfg(feature = "ipvs")]
pub mod virtual_server_group;
mod vmac;
mod vrrp_loop;
mod watchers;

pub use announce_config::AnnounceConfig;
pub use config::{
    AuthHmacConfig, Config, ConfigError, LogFormat, SyncGroup, TrackFileConfig, TrackHttpConfig,
    TrackProcessConfig, TrackScriptConfig, TrackTcpConfig, Tuning, UseVmac, VrrpInstance,
};
pub use daemon::{Daemon, DaemonError};
pub use events::{Event, Events};
pub use notify::NotifyScripts;
pub use spec::{DaemonSpec, InstanceSpec, SyncGroupSpec};
pub use status::InstanceStatus;
