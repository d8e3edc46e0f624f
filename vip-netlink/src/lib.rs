//! Linux drivers of a VRRP instance: everything a keepalived-style instance does to the
//! network, as small async drivers on tokio, each behind an `async-trait` trait so other
//! runtimes or test doubles can plug in.
//!
//! | Driver | Trait | What it does |
//! |---|---|---|
//! | [`AdvertSocket`] | [`AdvertTransport`] | raw IP protocol 112 socket: multicast or unicast adverts, validated by `vrrp-proto`, drops counted per RFC 6527 |
//! | [`VipManager`] | [`VipOps`] | idempotent add/remove/list of IPv4/IPv6 VIPs over rtnetlink (prefix, label, scope, nodad, preferred lifetime), and of keepalived's `virtual_routes` ([`VirtualRoute`]) and `virtual_rules` ([`VirtualRule`]) |
//! | [`Announcer`] | [`Announce`] | gratuitous ARP and unsolicited NA over `AF_PACKET`, from the interface MAC or the VMAC |
//! | [`LinkWatch`] | [`LinkEvents`] | link up/down and address events of one interface |
//! | [`LinkMonitor`] | | link up/down, removal and reappearance of any number of interfaces, from one socket |
//! | [`VmacManager`] | [`VmacOps`] | keepalived's `use_vmac`: a private macvlan `vrrp.<vrid>` with 00-00-5e-00-0{1,2}-{vrid} |
//!
//! All drivers need root (`CAP_NET_RAW`, `CAP_NET_ADMIN`) and a tokio runtime (except in
//! *polled mode*: [`AdvertSocket::open_polled`], [`Announcer::new_polled`],
//! [`VipManager::add_now`], for a caller's own event loop), and act in
//! the network namespace of the thread that creates them.
//!
//! ```no_run
//! # async fn f() -> vip_netlink::Result<()> {
//! use vip_netlink::{AdvertSocket, AdvertSocketConfig, AdvertTransport, AddressFamily};
//! use vrrp_proto::Version;
//!
//! let sock = AdvertSocket::open(AdvertSocketConfig::multicast("eth0", AddressFamily::Ipv4, Version::V3))?;
//! let got = sock.recv().await?;
//! println!("VRID {} priority {} from {}", got.advert.vrid, got.advert.priority, got.source);
//! # Ok(()) }
//! ```
#![warn(missing_docs)]

mod advert_socket;
mod advert_stats;
mod ancillary_io;
mod announce;
mod announce_frame;
mod announce_socket;
mod auth_hmac;
mod error;
#[doc(hidden)]
pub mod fuzzing;
mod interface;
mod interface_query;
mod ip_words;
mod link_monitor;
mod link_state;
mod link_table;
mod link_watch;
mod net_sysctl;
mod netlink_request;
pub mod receive_buffer;
mod socket_readiness;
mod vip;
mod vip_manager;
mod virtual_route;
mod virtual_rule;
mod vmac;
mod vmac_parent_arp;
mod vmac_rp_filter;
mod wake_filter;
mod wake_program;
mod wake_time_slot;

pub use advert_socket::{
    AdvertSocket, AdvertSocketConfig, AdvertTransport, InboundAdvert, InboundAdvertRef,
    IPPROTO_VRRP, VRRP_GROUP_V4, VRRP_GROUP_V6,
};
pub use advert_stats::AdvertStats;
pub use announce::{Announce, Announcer, GarpForm};
pub use announce_socket::AnnounceSocket;
pub use auth_hmac::{
    AntiReplay, AuthHmac, AuthHmacConfigError, AuthHmacKey, AuthHmacMode, AuthHmacRefusal,
    AuthHmacStats, AUTH_HMAC_KEY_MAX, AUTH_HMAC_KEY_MIN, AUTH_HMAC_WINDOW_MAX,
    AUTH_HMAC_WINDOW_MIN,
};
pub use error::{Error, Result};
pub use interface::Interface;
pub use link_monitor::{link_status, LinkMonitor, LinkWatcher};
pub use link_table::{LinkChange, LinkStatus};
pub use link_watch::{LinkEvent, LinkEvents, LinkWatch};
pub use vip::{AddressScope, Change, InterfaceAddress, PreferredLifetime, Vip};
pub use vip_manager::{VipManager, VipOps};
pub use virtual_route::{NextHop, RouteKind, RouteScopeKind, VirtualRoute};
pub use virtual_rule::{RuleTarget, VirtualRule};
pub use vmac::{virtual_mac, Vmac, VmacConfig, VmacManager, VmacOps, VMACS_PER_BATCH};
pub use vrrp_proto::{AddressFamily, VirtualAddress};
pub use wake_filter::WakeOn;

/// The README's example, compiled as a doc test.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
