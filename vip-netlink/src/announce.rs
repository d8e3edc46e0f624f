//! Gratuitous ARP and unsolicited Neighbour Advertisements over an `AF_PACKET` socket.
use std::net::IpAddr;

use async_trait::async_trait;

use crate::error::Result;
use crate::interface::Interface;

/// The ARP form of a gratuitous ARP.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum GarpForm {
    /// ARP request, sender IP = target IP = VIP, target MAC 00:00:00:00:00:00... as
    /// keepalived's `send_gratuitous_arp_immediate` sends (Ethernet destination broadcast).
    #[default]
    Request,
    /// ARP reply with sender IP = target IP = VIP, to broadcast (RFC 5227 §3 "ARP
    /// Announcement" alternative some switches want).
    Reply,
}

/// Announcing that this host now owns an address, so a daemon can plug another backend.
/// [`Announcer`] is the `AF_PACKET` implementation.
#[async_trait]
pub trait Announce: Send + Sync {
    /// One gratuitous ARP (IPv4) or unsolicited NA (IPv6) for `addr`.
    async fn announce(&self, addr: IpAddr) -> Result<()>;
}

/// Sends GARPs and unsolicited NAs on one interface from its MAC or a VMAC.
#[derive(Debug)]
pub struct Announcer {
    interface: Interface,
    mac: [u8; 6],
    garp_form: GarpForm,
}

impl Announcer {
    /// An announcer on `interface` using its own MAC address.
    pub fn new(interface: &str) -> Result<Self> {
        let interface = Interface::by_name(interface)?;
        let mac = interface.mac()?;
        Ok(Announcer {
            interface,
            mac,
            garp_form: GarpForm::Request,
        })
    }

    /// Use this source MAC (the VMAC) instead of the interface's.
    pub fn with_source_mac(mut self, mac: [u8; 6]) -> Self {
        self.mac = mac;
        self
    }

    /// Choose the GARP form (default [`GarpForm::Request`]).
    pub fn with_garp_form(mut self, form: GarpForm) -> Self {
        self.garp_form = form;
        self
    }

    /// The interface.
    pub fn interface(&self) -> &Interface {
        &self.interface
    }

    /// The source MAC used.
    pub fn source_mac(&self) -> [u8; 6] {
        self.mac
    }
}

#[async_trait]
impl Announce for Announcer {
    async fn announce(&self, addr: IpAddr) -> Result<()> {
        let _ = (addr, self.garp_form);
        todo!("being implemented")
    }
}
