//! keepalived's health checkers as async Rust: TCP connect, HTTP/HTTPS GET (rustls),
//! exec (`MISC_CHECK` / `vrrp_script`), UDP, DNS, ICMP echo, `track_file` and
//! `track_process`, scheduled with keepalived's two filtering models (checker
//! retry/up-on-first-success and vrrp_script rise/fall) and reported as a stream of state
//! changes carrying keepalived's tracker weight semantics.
//!
//! * [`Checker`]: one probe; implemented by [`TcpCheck`], [`HttpCheck`], [`ExecCheck`],
//!   [`UdpCheck`], [`DnsCheck`], [`IcmpCheck`], [`SmtpCheck`], [`FileCheck`], [`ProcessCheck`].
//! * [`Monitor`]: runs thousands of [`CheckSpec`]s with bounded concurrency and emits
//!   [`StateChange`]s.
//! * [`RiseFallCounter`], [`RetryCounter`]: the two filtering models, Sans-IO.
//! * [`CheckStatus`]: health + weight → priority delta / FAULT, for VRRP trackers.
//! * [`Pool`]: real-server liveness, quorum, hysteresis, sorry server, for IPVS.
//!
//! Features: `tls` (default) brings HTTPS checks (`HttpCheck::tls`, `TlsOptions`) over rustls
//! with the ring provider; without it no TLS stack is built. `vrrp-fsm` (default) brings the
//! bridge to vrrp-fsm's trackers (`CheckStatus::to_vrrp_fsm`, `CheckId` ⇄ `TrackerId`).
#![warn(missing_docs)]

mod change_watch;
mod check_spec;
mod check_status;
mod checker;
pub mod checkers;
mod error;
#[doc(hidden)]
pub mod fuzzing;
mod monitor;
mod policy;
mod pool;
mod retry_counter;
mod rise_fall;
#[cfg(feature = "vrrp-fsm")]
mod vrrp_fsm_bridge;

pub use change_watch::ChangeWatch;
pub use check_spec::{CheckId, CheckSpec};
pub use check_status::{CheckStatus, Health, TrackWeight, TRACK_FILE_FAULT_AT};
pub use checker::{Checker, Probe};
pub use checkers::dns::{rtype as dns_rtype, DnsCheck};
pub use checkers::exec::{become_subreaper, ExecCheck, DEFAULT_KILL_GRACE};
pub use checkers::file::FileCheck;
pub use checkers::http::{HttpCheck, HttpUrl, StatusCodes};
pub use checkers::http_body_regex::BodyRegex;
pub use checkers::icmp::{IcmpCheck, IcmpSocketKind};
pub use checkers::process::{ProcessCheck, ProcessMatch};
pub use checkers::smtp::SmtpCheck;
pub use checkers::socket_options::SocketOptions;
pub use checkers::tcp::TcpCheck;
#[cfg(feature = "tls")]
pub use checkers::tls::{TlsOptions, TlsVerify};
pub use checkers::udp::{ReplyPattern, UdpCheck};
pub use error::{CheckError, ConfigError};
pub use monitor::{Monitor, MonitorConfig, MonitorStats, StateChange};
pub use policy::Policy;
pub use pool::{DesiredDest, Pool, PoolPolicy, QuorumChange, RealServer};
pub use retry_counter::{NextProbe, RetryCounter};
pub use rise_fall::RiseFallCounter;

/// Re-exported so users can build [`TlsVerify::Roots`] without naming rustls.
#[cfg(feature = "tls")]
pub use rustls::RootCertStore;

/// The README's code blocks, compiled as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
