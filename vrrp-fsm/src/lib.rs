//! # vrrp-fsm
//!
//! The Sans-IO VRRP state machine of hakit: RFC 5798 §6 exactly (timers, skew, Master_Adver_Interval
//! learning, priority 0, address tie-break, preempt and accept mode) plus keepalived's extensions
//! (tracked priorities, FAULT, `preempt_delay`, `nopreempt`, `state MASTER`,
//! `down_timer_adverts`, GARP bursts and refresh, lower-priority re-advertisement,
//! `higher_prio_send_advert`, `vrrp_strict`, sync groups).
//!
//! No sockets, no clock, no tasks: the caller passes `now` into every input and performs the
//! [`Action`]s it gets back, in the shape of quinn-proto's `Connection`:
//!
//! ```
//! use std::time::{Duration, Instant};
//! use vrrp_fsm::{Action, Instance, InstanceConfig, VirtualAddress};
//!
//! let mut cfg = InstanceConfig::new(51, "192.0.2.1".parse().unwrap());
//! cfg.priority = 150;
//! cfg.vips.push(VirtualAddress::new("192.0.2.100".parse().unwrap(), 24));
//! let mut vr = Instance::new(cfg).unwrap();
//!
//! let mut now = Instant::now();
//! vr.startup(now);
//! for _ in 0..10 {
//!     // A real driver waits here for a packet, a link / tracker event or the deadline.
//!     now = vr.poll_timeout().unwrap_or(now + Duration::from_secs(1));
//!     vr.handle_timeout(now);
//!     while let Some(action) = vr.poll_action() {
//!         match action {
//!             Action::SendAdvert { priority } => { let _packet = vr.advert(priority); }
//!             Action::AddVips | Action::RemoveVips => {}
//!             Action::SendGarp { .. } => {}
//!             other => println!("{other:?}"),
//!         }
//!     }
//! }
//! ```
//!
//! [`Router`] drives many instances with one timer heap and applies keepalived's sync group
//! rules. [`Instance::reconfigure`] applies a reloaded configuration without a state
//! transition, as keepalived's SIGHUP does.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod action;
mod action_queue;
mod advert_phase;
mod config;
mod counters;
mod error;
mod instance;
mod lower_prio_replies;
mod router;
mod state;
mod timer_queue;
mod timers;
mod tracking;

#[doc(hidden)]
pub mod fuzzing;

pub use action::{Action, GarpReason};
pub use config::{ConfigAdjustment, InstanceConfig, TrackerConfig, TrackerId, TrackerKind};
pub use counters::Counters;
pub use error::{AdvertError, ConfigError, RouterError, TrackerError};
pub use instance::Instance;
pub use lower_prio_replies::MAX_ANSWERS_PER_INTERVAL;
pub use router::{InstanceId, Router, SyncGroupConfig, SyncGroupId};
pub use state::{FaultFlags, State, StateChangeReason};
pub use timers::{advert_wake_offset, master_down_interval, skew_time, skew_time_min};
pub use tracking::TrackerState;
pub use vrrp_proto::{AddressFamily, Advert, Version, VirtualAddress};
