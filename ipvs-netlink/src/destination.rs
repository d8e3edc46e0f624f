//! Destinations (real servers) and how packets are forwarded to them.

use std::fmt;
use std::net::{IpAddr, SocketAddr};

use crate::constants::*;
use crate::error::{Error, Result};
use crate::nla::{DestinationAttr, InetAddr};
use crate::{Family, Stats};

/// Tunnel encapsulation (ipvsadm `--tun-type`, keepalived `TUN type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum TunnelType {
    /// IP-in-IP (the default).
    #[default]
    Ipip,
    /// Generic UDP encapsulation (Linux ≥ 5.2), needs a port.
    Gue,
    /// GRE (Linux ≥ 5.3).
    Gre,
    /// Unknown type number.
    Other(u8),
}

impl TunnelType {
    fn number(self) -> u8 {
        match self {
            TunnelType::Ipip => IP_VS_CONN_F_TUNNEL_TYPE_IPIP,
            TunnelType::Gue => IP_VS_CONN_F_TUNNEL_TYPE_GUE,
            TunnelType::Gre => IP_VS_CONN_F_TUNNEL_TYPE_GRE,
            TunnelType::Other(n) => n,
        }
    }

    fn from_number(n: u8) -> TunnelType {
        match n {
            IP_VS_CONN_F_TUNNEL_TYPE_IPIP => TunnelType::Ipip,
            IP_VS_CONN_F_TUNNEL_TYPE_GUE => TunnelType::Gue,
            IP_VS_CONN_F_TUNNEL_TYPE_GRE => TunnelType::Gre,
            n => TunnelType::Other(n),
        }
    }
}

/// Tunnel checksum flags (`IP_VS_TUNNEL_ENCAP_FLAG_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct TunnelFlags(pub u16);

impl TunnelFlags {
    /// No checksum (`nocsum`, the default).
    pub const NOCSUM: TunnelFlags = TunnelFlags(IP_VS_TUNNEL_ENCAP_FLAG_NOCSUM);
    /// Outer checksum (`csum`).
    pub const CSUM: TunnelFlags = TunnelFlags(IP_VS_TUNNEL_ENCAP_FLAG_CSUM);
    /// Remote checksum offload (`remcsum`).
    pub const REMCSUM: TunnelFlags = TunnelFlags(IP_VS_TUNNEL_ENCAP_FLAG_REMCSUM);
}

/// Tunnel parameters of a tunnelled destination.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Tunnel {
    /// Encapsulation.
    pub kind: TunnelType,
    /// UDP destination port for GUE (0 otherwise).
    pub port: u16,
    /// Checksum flags.
    pub flags: TunnelFlags,
}

/// How IPVS forwards packets to a destination.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum ForwardMethod {
    /// NAT (masquerading; ipvsadm `-m`, keepalived `NAT`, the keepalived default).
    #[default]
    Masquerade,
    /// Local node (the kernel picks this itself for local addresses).
    Local,
    /// Tunnelling (ipvsadm `-i`, keepalived `TUN`).
    Tunnel(Tunnel),
    /// Direct routing (ipvsadm `-g`, keepalived `DR`).
    DirectRoute,
    /// Bypass.
    Bypass,
}

impl ForwardMethod {
    fn conn_flags(self) -> u32 {
        match self {
            ForwardMethod::Masquerade => IP_VS_CONN_F_MASQ,
            ForwardMethod::Local => IP_VS_CONN_F_LOCALNODE,
            ForwardMethod::Tunnel(_) => IP_VS_CONN_F_TUNNEL,
            ForwardMethod::DirectRoute => IP_VS_CONN_F_DROUTE,
            ForwardMethod::Bypass => IP_VS_CONN_F_BYPASS,
        }
    }
}

/// What identifies a destination inside a service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DestinationKey {
    /// Real server address.
    pub addr: IpAddr,
    /// Real server port.
    pub port: u16,
}

impl fmt::Display for DestinationKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        SocketAddr::new(self.addr, self.port).fmt(f)
    }
}

/// A destination (real server) of a service.
///
/// ```
/// use ipvs_netlink::{Destination, ForwardMethod};
/// let rs = Destination::new("198.51.100.2:80".parse().unwrap())
///     .forward(ForwardMethod::DirectRoute)
///     .weight(3);
/// assert_eq!(rs.weight, 3);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Destination {
    /// Address (its family is sent as `IPVS_DEST_ATTR_ADDR_FAMILY`).
    pub addr: IpAddr,
    /// Port.
    pub port: u16,
    /// Forwarding method.
    pub forward: ForwardMethod,
    /// Weight; 0 quiesces the server (no new connections).
    pub weight: u32,
    /// Upper connection threshold (0 = none).
    pub upper_threshold: u32,
    /// Lower connection threshold (0 = none).
    pub lower_threshold: u32,
    /// Active connections (read from the kernel; ignored when writing).
    pub active_conns: u32,
    /// Inactive connections (read only).
    pub inactive_conns: u32,
    /// Persistence templates (read only).
    pub persist_conns: u32,
    /// Counters, when read from the kernel.
    pub stats: Option<Stats>,
}

impl Destination {
    /// A NAT destination with weight 1.
    pub fn new(addr: SocketAddr) -> Self {
        Destination {
            addr: addr.ip(),
            port: addr.port(),
            forward: ForwardMethod::Masquerade,
            weight: 1,
            upper_threshold: 0,
            lower_threshold: 0,
            active_conns: 0,
            inactive_conns: 0,
            persist_conns: 0,
            stats: None,
        }
    }

    /// Sets the forwarding method.
    pub fn forward(mut self, f: ForwardMethod) -> Self {
        self.forward = f;
        self
    }

    /// Sets the weight.
    pub fn weight(mut self, w: u32) -> Self {
        self.weight = w;
        self
    }

    /// Sets the upper and lower connection thresholds.
    pub fn thresholds(mut self, upper: u32, lower: u32) -> Self {
        self.upper_threshold = upper;
        self.lower_threshold = lower;
        self
    }

    /// Address family.
    pub fn family(&self) -> Family {
        Family::of(self.addr)
    }

    /// The key.
    pub fn key(&self) -> DestinationKey {
        DestinationKey {
            addr: self.addr,
            port: self.port,
        }
    }

    /// True if the configurable parts are equal (not counters).
    pub fn same_config(&self, other: &Destination) -> bool {
        self.key() == other.key()
            && self.forward == other.forward
            && self.weight == other.weight
            && self.upper_threshold == other.upper_threshold
            && self.lower_threshold == other.lower_threshold
    }

    /// The full attribute set for add / edit.
    pub fn to_attrs(&self) -> Result<Vec<DestinationAttr>> {
        if self.weight > i32::MAX as u32 {
            return Err(Error::InvalidRequest(format!(
                "weight {} above INT_MAX",
                self.weight
            )));
        }
        let mut v = key_attrs(&self.key());
        v.push(DestinationAttr::ForwardMethod(self.forward.conn_flags()));
        v.push(DestinationAttr::Weight(self.weight));
        v.push(DestinationAttr::UpperThreshold(self.upper_threshold));
        v.push(DestinationAttr::LowerThreshold(self.lower_threshold));
        if let ForwardMethod::Tunnel(t) = self.forward {
            v.push(DestinationAttr::TunnelType(t.kind.number()));
            v.push(DestinationAttr::TunnelPort(t.port));
            v.push(DestinationAttr::TunnelFlags(t.flags.0));
        }
        Ok(v)
    }

    /// Builds a destination from the kernel's attributes; `service_family` is used when the
    /// kernel does not send `IPVS_DEST_ATTR_ADDR_FAMILY` (before Linux 4.3).
    pub fn from_attrs(attrs: &[DestinationAttr], service_family: Family) -> Result<Destination> {
        let (mut addr, mut port, mut af) = (None, None, None);
        let mut d = Destination::new(SocketAddr::from(([0, 0, 0, 0], 0)));
        let (mut fwd, mut tun) = (0u32, Tunnel::default());
        let (mut stats, mut stats64) = (None, None);
        for a in attrs {
            match a {
                DestinationAttr::Address(v) => addr = Some(*v),
                DestinationAttr::Port(v) => port = Some(*v),
                DestinationAttr::ForwardMethod(v) => fwd = *v,
                DestinationAttr::Weight(v) => d.weight = *v,
                DestinationAttr::UpperThreshold(v) => d.upper_threshold = *v,
                DestinationAttr::LowerThreshold(v) => d.lower_threshold = *v,
                DestinationAttr::ActiveConns(v) => d.active_conns = *v,
                DestinationAttr::InactiveConns(v) => d.inactive_conns = *v,
                DestinationAttr::PersistConns(v) => d.persist_conns = *v,
                DestinationAttr::Stats(v) => stats = Some(v),
                DestinationAttr::Stats64(v) => stats64 = Some(v),
                DestinationAttr::AddressFamily(v) => af = Some(*v),
                DestinationAttr::TunnelType(v) => tun.kind = TunnelType::from_number(*v),
                DestinationAttr::TunnelPort(v) => tun.port = *v,
                DestinationAttr::TunnelFlags(v) => tun.flags = TunnelFlags(*v),
                DestinationAttr::Other(_) => {}
            }
        }
        let af = af.unwrap_or(service_family.af());
        let addr = addr.ok_or_else(|| Error::Decode("destination without address".into()))?;
        d.addr = addr
            .to_ip(af)
            .ok_or_else(|| Error::Decode(format!("destination with unknown family {af}")))?;
        d.port = port.ok_or_else(|| Error::Decode("destination without port".into()))?;
        d.forward = match fwd & IP_VS_CONN_F_FWD_MASK {
            IP_VS_CONN_F_MASQ => ForwardMethod::Masquerade,
            IP_VS_CONN_F_LOCALNODE => ForwardMethod::Local,
            IP_VS_CONN_F_TUNNEL => ForwardMethod::Tunnel(tun),
            IP_VS_CONN_F_DROUTE => ForwardMethod::DirectRoute,
            _ => ForwardMethod::Bypass,
        };
        d.stats = stats64.or(stats).map(|s| Stats::from_attrs(s));
        Ok(d)
    }
}

/// The attributes that identify a destination.
pub(crate) fn key_attrs(key: &DestinationKey) -> Vec<DestinationAttr> {
    vec![
        DestinationAttr::AddressFamily(Family::of(key.addr).af()),
        DestinationAttr::Address(InetAddr::from(key.addr)),
        DestinationAttr::Port(key.port),
    ]
}
