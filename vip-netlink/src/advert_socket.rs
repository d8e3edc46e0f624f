//! The raw IP socket (protocol 112) that sends and receives VRRP adverts on one interface.
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use async_trait::async_trait;
use vrrp_proto::{Advert, Version};

use crate::advert_stats::{AdvertCounters, AdvertStats};
use crate::error::{Error, Result};
use crate::interface::{Interface, IpFamily};

/// IP protocol number of VRRP.
pub const IPPROTO_VRRP: i32 = 112;
/// The IPv4 VRRP multicast group, 224.0.0.18.
pub const VRRP_GROUP_V4: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 18);
/// The IPv6 VRRP multicast group, ff02::12.
pub const VRRP_GROUP_V6: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 0x12);

/// How to open an [`AdvertSocket`]. Built with [`AdvertSocketConfig::multicast`] and
/// refined with the `with_*` methods so new options never break callers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdvertSocketConfig {
    pub(crate) interface: String,
    pub(crate) family: IpFamily,
    pub(crate) version: Version,
    pub(crate) source: Option<IpAddr>,
    pub(crate) peers: Vec<IpAddr>,
    pub(crate) ttl: u8,
    pub(crate) vrid: Option<u8>,
}

impl AdvertSocketConfig {
    /// Multicast adverts (224.0.0.18 / ff02::12) of `version` and `family` on `interface`,
    /// TTL / hop limit 255.
    ///
    /// ```
    /// use vip_netlink::{AdvertSocketConfig, IpFamily};
    /// use vrrp_proto::Version;
    /// let cfg = AdvertSocketConfig::multicast("eth0", IpFamily::V4, Version::V3).with_vrid(51);
    /// assert!(!cfg.is_unicast());
    /// ```
    pub fn multicast(interface: impl Into<String>, family: IpFamily, version: Version) -> Self {
        AdvertSocketConfig {
            interface: interface.into(),
            family,
            version,
            source: None,
            peers: Vec::new(),
            ttl: 255,
            vrid: None,
        }
    }

    /// Unicast mode (keepalived's `unicast_peer`): every advert is sent to each peer and
    /// adverts are accepted only from them. The TTL check is skipped as keepalived does.
    /// An empty list means multicast.
    pub fn with_unicast_peers(mut self, peers: impl IntoIterator<Item = IpAddr>) -> Self {
        self.peers = peers.into_iter().collect();
        self
    }

    /// Source address of sent adverts (keepalived's `unicast_src_ip`). Default: the
    /// interface's primary IPv4 address, or its IPv6 link-local address.
    pub fn with_source(mut self, source: IpAddr) -> Self {
        self.source = Some(source);
        self
    }

    /// TTL / hop limit of sent adverts (keepalived's `unicast_ttl`); 255 by default and
    /// always 255 for multicast, which RFC 5798 §5.1.1.3 requires.
    pub fn with_ttl(mut self, ttl: u8) -> Self {
        self.ttl = ttl;
        self
    }

    /// Only hand adverts of this VRID to the caller; others are counted in
    /// [`AdvertStats::vrid_errors`]. Default: all VRIDs (the caller dispatches).
    pub fn with_vrid(mut self, vrid: u8) -> Self {
        self.vrid = Some(vrid);
        self
    }

    /// True when unicast peers are configured.
    pub fn is_unicast(&self) -> bool {
        !self.peers.is_empty()
    }

    /// The interface name.
    pub fn interface(&self) -> &str {
        &self.interface
    }

    /// The address family.
    pub fn family(&self) -> IpFamily {
        self.family
    }

    /// The VRRP version expected on receive and used on send.
    pub fn version(&self) -> Version {
        self.version
    }
}

/// One validated advert with where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceivedAdvert {
    /// The decoded advert.
    pub advert: Advert,
    /// IP source of the packet (the sender's primary or link-local address).
    pub source: IpAddr,
    /// IP destination (the multicast group, or our address in unicast mode).
    pub destination: IpAddr,
    /// Interface index it arrived on.
    pub ifindex: u32,
    /// TTL (IPv4) or hop limit (IPv6) as received.
    pub hop_limit: u8,
}

/// Sending and receiving adverts, so a daemon can run on another runtime or a simulated
/// network. [`AdvertSocket`] is the tokio implementation.
#[async_trait]
pub trait AdvertTransport: Send + Sync {
    /// Send one advert: to the multicast group, or one copy to each unicast peer.
    /// Returns the number of datagrams sent.
    async fn send(&self, advert: &Advert) -> Result<usize>;
    /// Wait for the next valid advert. Malformed or unwanted packets are counted in
    /// [`AdvertStats`] and skipped, never returned.
    async fn recv(&self) -> Result<ReceivedAdvert>;
    /// The receive counters so far.
    fn stats(&self) -> AdvertStats;
}

/// A raw IPv4 or IPv6 socket for protocol 112 bound to one interface (tokio).
///
/// See the crate documentation for the socket options it sets and why.
#[derive(Debug)]
pub struct AdvertSocket {
    config: AdvertSocketConfig,
    interface: Interface,
    source: std::sync::RwLock<IpAddr>,
    counters: AdvertCounters,
    io: tokio::io::unix::AsyncFd<socket2::Socket>,
}

impl AdvertSocket {
    /// Open the socket: needs `CAP_NET_RAW` and a tokio runtime.
    pub fn open(config: AdvertSocketConfig) -> Result<Self> {
        let _ = (&config, Error::Closed);
        todo!("being implemented")
    }

    /// The configuration it was opened with.
    pub fn config(&self) -> &AdvertSocketConfig {
        &self.config
    }

    /// The interface it is bound to.
    pub fn interface(&self) -> &Interface {
        &self.interface
    }

    /// The source address used for sending.
    pub fn source(&self) -> IpAddr {
        *self.source.read().unwrap_or_else(|e| e.into_inner())
    }

    /// Re-resolve the source address from the interface (after an address change), unless
    /// one was configured. Returns the new source.
    pub fn refresh_source(&self) -> Result<IpAddr> {
        if let Some(s) = self.config.source {
            return Ok(s);
        }
        let s = self.interface.source_address(self.config.family)?;
        *self.source.write().unwrap_or_else(|e| e.into_inner()) = s;
        Ok(s)
    }
}

#[async_trait]
impl AdvertTransport for AdvertSocket {
    async fn send(&self, advert: &Advert) -> Result<usize> {
        let _ = (advert, &self.io);
        todo!("being implemented")
    }

    async fn recv(&self) -> Result<ReceivedAdvert> {
        todo!("being implemented")
    }

    fn stats(&self) -> AdvertStats {
        self.counters.snapshot()
    }
}
