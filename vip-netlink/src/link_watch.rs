//! A stream of link and address events for one interface (rtnetlink multicast groups).
use std::net::IpAddr;

use async_trait::async_trait;

use crate::error::Result;
use crate::interface::Interface;

/// A change seen on the watched interface.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum LinkEvent {
    /// The link became usable: administratively up and carrier on (`IFF_UP|IFF_RUNNING`,
    /// keepalived's test).
    Up,
    /// The link is no longer usable (admin down or no carrier).
    Down,
    /// The interface was deleted.
    Removed,
    /// An address was added.
    AddressAdded {
        /// The address.
        address: IpAddr,
        /// Its prefix length.
        prefix_len: u8,
    },
    /// An address was removed.
    AddressRemoved {
        /// The address.
        address: IpAddr,
        /// Its prefix length.
        prefix_len: u8,
    },
}

/// Something that yields link events, so a daemon can plug another backend.
#[async_trait]
pub trait LinkEvents: Send {
    /// Wait for the next event.
    async fn next_event(&mut self) -> Result<LinkEvent>;
}

/// Watches one interface through `RTNLGRP_LINK`, `RTNLGRP_IPV4_IFADDR` and
/// `RTNLGRP_IPV6_IFADDR`. Link up/down are reported only on transitions.
#[derive(Debug)]
pub struct LinkWatch {
    interface: Interface,
    up: bool,
}

impl LinkWatch {
    /// Start watching `interface` (needs a tokio runtime).
    pub fn new(interface: &str) -> Result<Self> {
        let interface = Interface::by_name(interface)?;
        todo!("being implemented {interface:?}")
    }

    /// The interface watched.
    pub fn interface(&self) -> &Interface {
        &self.interface
    }

    /// Whether the link was up at the last event (or at start).
    pub fn is_up(&self) -> bool {
        self.up
    }
}

#[async_trait]
impl LinkEvents for LinkWatch {
    async fn next_event(&mut self) -> Result<LinkEvent> {
        todo!("being implemented")
    }
}
