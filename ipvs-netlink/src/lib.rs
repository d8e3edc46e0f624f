//! # ipvs-netlink
//!
//! Typed control of the Linux IP Virtual Server (IPVS, the LVS load balancer) over generic
//! netlink — what `ipvsadm` and keepalived's IPVS wrapper do, as a library.
//!
//! * [`IpvsHandle`]: a blocking handle that resolves the "IPVS" family and offers services
//!   (add / edit / delete / get / list), destinations (add / edit / delete / list), stats,
//!   timeouts, flush, zero and sync daemons.
//! * [`IpvsHandle::execute`]: many [`Operation`]s pipelined over one socket, without a round
//!   trip per operation.
//! * [`AsyncIpvsHandle`] (feature `tokio`, on by default): the same from async code.
//! * [`plan`] and [`IpvsHandle::apply`]: desired-state reconciliation with keepalived's
//!   `inhibit_on_failure` choice ([`FailureAction`]), reporting what changed.
//! * [`message`] and [`nla`]: the wire types, in the rust-netlink style (`Emitable`,
//!   `Parseable`, `Other(DefaultNla)` for unknown attributes), usable with
//!   `netlink-packet-generic` directly.
//!
//! Kernel errors come back typed ([`Error::AlreadyExists`], [`Error::ServiceNotFound`],
//! [`Error::UnknownScheduler`], ...), with the operation that failed.
//!
//! ```no_run
//! use ipvs_netlink::*;
//! let mut ipvs = IpvsHandle::new()?; // Error::FamilyNotFound without ip_vs
//! let svc = Service::tcp("192.0.2.1:80".parse().unwrap()).scheduler(Scheduler::Wrr);
//! let want = DesiredTable {
//!     services: vec![DesiredService::new(svc)
//!         .destination(Destination::new("198.51.100.2:80".parse().unwrap()).weight(2), true)
//!         .destination(Destination::new("198.51.100.3:80".parse().unwrap()), false)
//!         .on_failure(FailureAction::Quiesce)],
//!     remove_unlisted: false,
//! };
//! let report = ipvs.apply(&want)?;
//! println!("{}", report.counts());
//! # Ok::<(), ipvs_netlink::Error>(())
//! ```
#![warn(missing_docs)]

#[cfg(feature = "tokio")]
mod async_handle;
pub mod constants;
mod desired;
mod destination;
mod error;
#[doc(hidden)]
pub mod fuzzing;
mod handle;
mod info;
pub mod message;
pub mod nla;
mod operation;
pub mod reply;
mod scheduler;
mod service;
mod stats;
mod sync_daemon;
mod timeouts;

#[cfg(feature = "tokio")]
pub use async_handle::AsyncIpvsHandle;
pub use desired::{
    plan, ApplyReport, ChangeCounts, DesiredDestination, DesiredService, DesiredTable,
    FailureAction,
};
pub use destination::{
    Destination, DestinationKey, ForwardMethod, Tunnel, TunnelFlags, TunnelType,
};
pub use error::{Error, Result};
pub use handle::{BatchReport, HandleCounters, IpvsHandle};
pub use info::Info;
pub use message::{IpvsAttr, IpvsCmd, IpvsMessage};
pub use operation::Operation;
pub use scheduler::Scheduler;
pub use service::{Family, Netmask, Protocol, Service, ServiceFlags, ServiceKey};
pub use stats::Stats;
pub use sync_daemon::{SyncDaemon, SyncState};
pub use timeouts::Timeouts;
