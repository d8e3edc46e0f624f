//! Gratuitous ARP and unsolicited Neighbour Advertisements over an `AF_PACKET` socket.
use std::net::IpAddr;

use std::os::fd::AsRawFd;

use async_trait::async_trait;
use socket2::{Domain, Protocol, Socket, Type};
use tokio::io::unix::AsyncFd;
use tracing::trace;

use crate::announce_frame::{gratuitous_arp, unsolicited_na, ALL_NODES_MAC, BROADCAST_MAC};
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

/// Sends GARPs and unsolicited NAs on one interface from its MAC or a VMAC, through an
/// `AF_PACKET` socket bound to the interface (needs `CAP_NET_RAW` and a tokio runtime).
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
    io: AsyncFd<Socket>,
}

impl Announcer {
    /// An announcer on `interface` using its own MAC address.
    pub fn new(interface: &str) -> Result<Self> {
        let interface = Interface::by_name(interface)?;
        let mac = interface.mac()?;
        // Protocol 0: a send-only packet socket, the kernel queues nothing for us.
        let sock = Socket::new(Domain::PACKET, Type::RAW, Some(Protocol::from(0)))
            .map_err(|e| Error::io("AF_PACKET socket", e))?;
        sock.set_nonblocking(true)
            .map_err(|e| Error::io("AF_PACKET nonblocking", e))?;
        // SAFETY: the `Socket` owns its fd and `AsyncFd` keeps it until drop; nothing else
        // closes or replaces it.
        let io = unsafe { AsyncFd::register(sock) }
            .map_err(|e| Error::io("register AF_PACKET socket", e.into()))?;
        Ok(Announcer {
            interface,
            mac,
            garp_form: GarpForm::Request,
            io,
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

    /// Whether IPv6 forwarding is on for the interface: keepalived sets the NA Router
    /// flag from it.
    fn ipv6_forwarding(&self) -> bool {
        let p = format!(
            "/proc/sys/net/ipv6/conf/{}/forwarding",
            self.interface.name()
        );
        std::fs::read_to_string(p).is_ok_and(|s| s.trim() != "0")
    }

    async fn send_frame(&self, frame: &[u8], dst_mac: [u8; 6], ethertype: u16) -> Result<()> {
        // SAFETY: sockaddr_ll is plain old data; zeroed is a valid value.
        let mut sll: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
        sll.sll_family = libc::AF_PACKET as u16;
        sll.sll_protocol = ethertype.to_be();
        sll.sll_ifindex = self.interface.index() as i32;
        sll.sll_halen = 6;
        sll.sll_addr[..6].copy_from_slice(&dst_mac);
        loop {
            let mut guard = self
                .io
                .writable()
                .await
                .map_err(|e| Error::io("AF_PACKET writable", e))?;
            let res = guard.try_io(|fd| {
                // SAFETY: `frame` is a valid buffer and `sll` a valid sockaddr_ll whose
                // size is passed; the fd is an open AF_PACKET socket.
                let n = unsafe {
                    libc::sendto(
                        fd.as_raw_fd(),
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
                    Ok(n as usize)
                }
            });
            match res {
                Ok(Ok(_)) => return Ok(()),
                Ok(Err(e)) if e.raw_os_error() == Some(libc::ENXIO) => {
                    return Err(Error::NoSuchInterface(self.interface.name().to_string()))
                }
                Ok(Err(e)) => return Err(Error::io("send announcement", e)),
                Err(_would_block) => continue,
            }
        }
    }
}

#[async_trait]
impl Announce for Announcer {
    async fn announce(&self, addr: IpAddr) -> Result<()> {
        match addr {
            IpAddr::V4(v4) => {
                let frame = gratuitous_arp(self.mac, v4, self.garp_form);
                self.send_frame(&frame, BROADCAST_MAC, 0x0806).await?;
                trace!(vip = %v4, interface = %self.interface.name(), "gratuitous ARP sent");
            }
            IpAddr::V6(v6) => {
                // keepalived sends the NA from the VIP itself (checked byte for byte against
                // keepalived 2.2.7 in tests/keepalived_interop.rs).
                let frame = unsolicited_na(self.mac, v6, v6, self.ipv6_forwarding());
                self.send_frame(&frame, ALL_NODES_MAC, 0x86dd).await?;
                trace!(vip = %v6, interface = %self.interface.name(), "unsolicited NA sent");
            }
        }
        Ok(())
    }
}
