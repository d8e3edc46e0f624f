//! Gratuitous ARP and unsolicited Neighbour Advertisements over an `AF_PACKET` socket.
use std::net::IpAddr;

use std::os::fd::{AsRawFd, RawFd};

use async_trait::async_trait;
use tracing::trace;

use crate::announce_frame::{gratuitous_arp, unsolicited_na, ALL_NODES_MAC, BROADCAST_MAC};
use crate::announce_socket::AnnounceSocket;
use crate::error::{Error, Result};
use crate::interface::Interface;

/// The ARP form of a gratuitous ARP.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum GarpForm {
    /// ARP request, sender IP = target IP = VIP, target MAC and Ethernet destination
    /// broadcast: what keepalived's `send_gratuitous_arp_immediate` sends.
    #[default]
    Request,
    /// ARP reply with sender IP = target IP = VIP, to broadcast: the form some older
    /// switches and hosts need to update their caches.
    Reply,
}

/// Announcing that this host now owns an address, so a daemon can plug another backend.
/// [`Announcer`] is the `AF_PACKET` implementation.
#[async_trait]
pub trait Announce: Send + Sync {
    /// One gratuitous ARP (IPv4) or unsolicited NA (IPv6) for `addr`.
    async fn announce(&self, addr: IpAddr) -> Result<()>;
}

/// Sends GARPs and unsolicited NAs on one interface from its MAC or a VMAC, through a
/// send-only `AF_PACKET` socket that names the interface in each `sendto` (needs
/// `CAP_NET_RAW`; [`new`](Self::new) needs a tokio runtime). Announcers on many interfaces
/// can share one socket ([`with_socket`](Self::with_socket)).
///
/// ```no_run
/// # async fn f() -> vip_netlink::Result<()> {
/// use vip_netlink::{Announce, Announcer};
/// let a = Announcer::new("eth0")?;
/// for _ in 0..5 {
///     // keepalived's garp_master_repeat 5
///     a.announce("192.0.2.10".parse().unwrap()).await?;
/// }
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct Announcer {
    interface: Interface,
    mac: [u8; 6],
    garp_form: GarpForm,
    io: AnnounceSocket,
}

impl Announcer {
    /// An announcer on `interface` using its own MAC address, with a socket of its own
    /// registered with the current tokio runtime.
    pub fn new(interface: &str) -> Result<Self> {
        Self::with_socket(interface, &AnnounceSocket::new()?)
    }

    /// An announcer for the caller's own event loop, without a runtime: never registered
    /// with tokio's reactor; send with [`try_announce`](Self::try_announce).
    ///
    /// ```no_run
    /// # fn f() -> vip_netlink::Result<()> {
    /// let a = vip_netlink::Announcer::new_polled("eth0")?;
    /// a.try_announce("192.0.2.10".parse().unwrap())?;
    /// # Ok(()) }
    /// ```
    pub fn new_polled(interface: &str) -> Result<Self> {
        Self::with_socket(interface, &AnnounceSocket::new_polled()?)
    }

    /// An announcer on `interface` (its own MAC address) that sends through `socket`, which
    /// other announcers may share: a daemon with many instances needs one socket, not one per
    /// instance (see [`AnnounceSocket`]).
    pub fn with_socket(interface: &str, socket: &AnnounceSocket) -> Result<Self> {
        let interface = Interface::by_name(interface)?;
        let mac = interface.mac()?;
        Ok(Announcer {
            interface,
            mac,
            garp_form: GarpForm::Request,
            io: socket.clone(),
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

    /// The socket it sends through, to share with announcers on other interfaces.
    pub fn socket(&self) -> &AnnounceSocket {
        &self.io
    }

    /// Whether IPv6 forwarding is on for the interface: keepalived sets the NA Router
    /// flag from it.
    fn ipv6_forwarding(&self) -> bool {
        let p = format!(
            "/proc/sys/net/ipv6/conf/{}/forwarding",
            self.interface.name()
        );
        std::fs::read_to_string(p).is_ok_and(|s| s.trim() != "0")
    }

    /// One GARP (IPv4) or unsolicited NA (IPv6) for `addr`, sent now without waiting: the
    /// send of an event loop that polls for itself ([`new_polled`](Self::new_polled)). A
    /// full send buffer fails with an `Io` error (`WouldBlock`).
    pub fn try_announce(&self, addr: IpAddr) -> Result<()> {
        self.try_send_announcement(addr)
            .map_err(|e| self.send_error(e))
    }

    fn send_error(&self, e: std::io::Error) -> Error {
        if e.raw_os_error() == Some(libc::ENXIO) {
            Error::NoSuchInterface(self.interface.name().to_string())
        } else {
            Error::io("send announcement", e)
        }
    }

    /// Builds the frame for `addr` and sends it once.
    fn try_send_announcement(&self, addr: IpAddr) -> std::io::Result<()> {
        match addr {
            IpAddr::V4(v4) => {
                let frame = gratuitous_arp(self.mac, v4, self.garp_form);
                self.try_send_frame(&frame, BROADCAST_MAC, 0x0806)?;
                trace!(vip = %v4, interface = %self.interface.name(), "gratuitous ARP sent");
            }
            IpAddr::V6(v6) => {
                // keepalived sends the NA from the VIP itself (checked byte for byte against
                // keepalived 2.2.7 in tests/keepalived_interop.rs).
                let frame = unsolicited_na(self.mac, v6, v6, self.ipv6_forwarding());
                self.try_send_frame(&frame, ALL_NODES_MAC, 0x86dd)?;
                trace!(vip = %v6, interface = %self.interface.name(), "unsolicited NA sent");
            }
        }
        Ok(())
    }

    fn try_send_frame(
        &self,
        frame: &[u8],
        dst_mac: [u8; 6],
        ethertype: u16,
    ) -> std::io::Result<()> {
        // SAFETY: sockaddr_ll is plain old data; zeroed is a valid value.
        let mut sll: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
        sll.sll_family = libc::AF_PACKET as u16;
        sll.sll_protocol = ethertype.to_be();
        sll.sll_ifindex = self.interface.index() as i32;
        sll.sll_halen = 6;
        sll.sll_addr[..6].copy_from_slice(&dst_mac);
        // SAFETY: `frame` is a valid buffer and `sll` a valid sockaddr_ll whose size is
        // passed; the fd is an open AF_PACKET socket.
        let n = unsafe {
            libc::sendto(
                self.io.as_raw_fd(),
                frame.as_ptr().cast(),
                frame.len(),
                0,
                (&sll as *const libc::sockaddr_ll).cast(),
                std::mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t,
            )
        };
        if n < 0 {
            Err(std::io::Error::last_os_error())
        } else {
            Ok(())
        }
    }
}

/// The `AF_PACKET` socket (send-only: it never polls readable).
impl AsRawFd for Announcer {
    fn as_raw_fd(&self) -> RawFd {
        self.io.as_raw_fd()
    }
}

#[async_trait]
impl Announce for Announcer {
    async fn announce(&self, addr: IpAddr) -> Result<()> {
        loop {
            match self.try_send_announcement(addr) {
                Ok(()) => return Ok(()),
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    // A full send buffer: wait for room (tokio mode), else fail.
                    let Some(reg) = self.io.readiness().registration() else {
                        return Err(self.send_error(e));
                    };
                    let mut g = reg
                        .writable()
                        .await
                        .map_err(|e| Error::io("AF_PACKET writable", e))?;
                    g.clear_ready();
                }
                Err(e) => return Err(self.send_error(e)),
            }
        }
    }
}
