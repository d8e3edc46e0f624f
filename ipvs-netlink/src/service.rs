//! Virtual services: key, flags, persistence and the service itself.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::ops::{BitOr, BitOrAssign};

use crate::constants::*;
use crate::error::{Error, Result};
use crate::nla::{InetAddr, ServiceAttr, ServiceFlagsAttr};
use crate::{Scheduler, Stats};

/// Address family of a service or destination.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Family {
    /// IPv4 (`AF_INET`).
    Inet,
    /// IPv6 (`AF_INET6`).
    Inet6,
}

impl Family {
    /// The `AF_*` number.
    pub fn af(self) -> u16 {
        match self {
            Family::Inet => libc::AF_INET as u16,
            Family::Inet6 => libc::AF_INET6 as u16,
        }
    }

    /// From an `AF_*` number.
    pub fn from_af(af: u16) -> Option<Family> {
        match i32::from(af) {
            libc::AF_INET => Some(Family::Inet),
            libc::AF_INET6 => Some(Family::Inet6),
            _ => None,
        }
    }

    /// The family of an address.
    pub fn of(ip: IpAddr) -> Family {
        if ip.is_ipv4() {
            Family::Inet
        } else {
            Family::Inet6
        }
    }
}

/// Transport protocol of an address:port service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Protocol {
    /// TCP (6).
    Tcp,
    /// UDP (17).
    Udp,
    /// SCTP (132).
    Sctp,
    /// Another IP protocol number.
    Other(u16),
}

impl Protocol {
    /// IP protocol number.
    pub fn number(self) -> u16 {
        match self {
            Protocol::Tcp => libc::IPPROTO_TCP as u16,
            Protocol::Udp => libc::IPPROTO_UDP as u16,
            Protocol::Sctp => libc::IPPROTO_SCTP as u16,
            Protocol::Other(n) => n,
        }
    }

    /// From an IP protocol number.
    pub fn from_number(n: u16) -> Protocol {
        match i32::from(n) {
            libc::IPPROTO_TCP => Protocol::Tcp,
            libc::IPPROTO_UDP => Protocol::Udp,
            libc::IPPROTO_SCTP => Protocol::Sctp,
            _ => Protocol::Other(n),
        }
    }
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Protocol::Tcp => f.write_str("TCP"),
            Protocol::Udp => f.write_str("UDP"),
            Protocol::Sctp => f.write_str("SCTP"),
            Protocol::Other(n) => write!(f, "proto {n}"),
        }
    }
}

/// What identifies a virtual service in the kernel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ServiceKey {
    /// protocol + virtual address + port.
    Inet {
        /// Transport protocol.
        protocol: Protocol,
        /// Virtual address and port.
        addr: SocketAddr,
    },
    /// Firewall-mark service.
    Fwmark {
        /// Address family of the destinations.
        family: Family,
        /// The mark.
        mark: u32,
    },
}

impl ServiceKey {
    /// TCP service key.
    pub fn tcp(addr: SocketAddr) -> Self {
        ServiceKey::Inet {
            protocol: Protocol::Tcp,
            addr,
        }
    }

    /// UDP service key.
    pub fn udp(addr: SocketAddr) -> Self {
        ServiceKey::Inet {
            protocol: Protocol::Udp,
            addr,
        }
    }

    /// SCTP service key.
    pub fn sctp(addr: SocketAddr) -> Self {
        ServiceKey::Inet {
            protocol: Protocol::Sctp,
            addr,
        }
    }

    /// Firewall-mark service key.
    pub fn fwmark(family: Family, mark: u32) -> Self {
        ServiceKey::Fwmark { family, mark }
    }

    /// Address family.
    pub fn family(&self) -> Family {
        match self {
            ServiceKey::Inet { addr, .. } => Family::of(addr.ip()),
            ServiceKey::Fwmark { family, .. } => *family,
        }
    }

    /// The attributes that identify the service.
    pub fn to_attrs(&self) -> Vec<ServiceAttr> {
        let mut v = vec![ServiceAttr::AddressFamily(self.family().af())];
        match self {
            ServiceKey::Inet { protocol, addr } => {
                v.push(ServiceAttr::Protocol(protocol.number()));
                v.push(ServiceAttr::Address(InetAddr::from(addr.ip())));
                v.push(ServiceAttr::Port(addr.port()));
            }
            ServiceKey::Fwmark { mark, .. } => v.push(ServiceAttr::Fwmark(*mark)),
        }
        v
    }
}

impl fmt::Display for ServiceKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ServiceKey::Inet { protocol, addr } => write!(f, "{protocol} {addr}"),
            ServiceKey::Fwmark {
                family: Family::Inet,
                mark,
            } => write!(f, "FWM {mark}"),
            ServiceKey::Fwmark {
                family: Family::Inet6,
                mark,
            } => write!(f, "FWM {mark} IPv6"),
        }
    }
}

/// Service flags (`IP_VS_SVC_F_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct ServiceFlags(pub u32);

impl ServiceFlags {
    /// No flags.
    pub const NONE: ServiceFlags = ServiceFlags(0);
    /// Persistent service (set by [`Service::persistent`]).
    pub const PERSISTENT: ServiceFlags = ServiceFlags(IP_VS_SVC_F_PERSISTENT);
    /// Set by the kernel on every hashed service; ignored when comparing.
    pub const HASHED: ServiceFlags = ServiceFlags(IP_VS_SVC_F_HASHED);
    /// One-packet scheduling (UDP; ipvsadm `-o`, keepalived `ops`).
    pub const ONE_PACKET: ServiceFlags = ServiceFlags(IP_VS_SVC_F_ONEPACKET);
    /// Scheduler flag 1 (`flag-1`).
    pub const SCHED_1: ServiceFlags = ServiceFlags(IP_VS_SVC_F_SCHED1);
    /// Scheduler flag 2 (`flag-2`).
    pub const SCHED_2: ServiceFlags = ServiceFlags(IP_VS_SVC_F_SCHED2);
    /// Scheduler flag 3 (`flag-3`).
    pub const SCHED_3: ServiceFlags = ServiceFlags(IP_VS_SVC_F_SCHED3);
    /// `sh`: fall back to another server when the hashed one is unavailable.
    pub const SH_FALLBACK: ServiceFlags = ServiceFlags(IP_VS_SVC_F_SCHED1);
    /// `sh`: hash the source port too.
    pub const SH_PORT: ServiceFlags = ServiceFlags(IP_VS_SVC_F_SCHED2);
    /// `mh`: fall back to another server when the hashed one is unavailable.
    pub const MH_FALLBACK: ServiceFlags = ServiceFlags(IP_VS_SVC_F_SCHED1);
    /// `mh`: hash the source port too.
    pub const MH_PORT: ServiceFlags = ServiceFlags(IP_VS_SVC_F_SCHED2);

    /// Raw bits.
    pub fn bits(self) -> u32 {
        self.0
    }

    /// True if every bit of `other` is set.
    pub fn contains(self, other: ServiceFlags) -> bool {
        self.0 & other.0 == other.0
    }

    /// Without the kernel-internal `HASHED` bit (what users configure).
    pub fn user_bits(self) -> ServiceFlags {
        ServiceFlags(self.0 & !IP_VS_SVC_F_HASHED)
    }
}

impl BitOr for ServiceFlags {
    type Output = ServiceFlags;
    fn bitor(self, rhs: ServiceFlags) -> ServiceFlags {
        ServiceFlags(self.0 | rhs.0)
    }
}

impl BitOrAssign for ServiceFlags {
    fn bitor_assign(&mut self, rhs: ServiceFlags) {
        self.0 |= rhs.0;
    }
}

/// Persistence granularity: clients in the same network share a real server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Netmask {
    /// IPv4 mask (ipvsadm `-M`, keepalived `persistence_granularity`).
    V4(Ipv4Addr),
    /// IPv6 prefix length 1..=128.
    V6(u8),
}

impl Netmask {
    /// The kernel default for a family: /32 or /128.
    pub fn host(family: Family) -> Netmask {
        match family {
            Family::Inet => Netmask::V4(Ipv4Addr::BROADCAST),
            Family::Inet6 => Netmask::V6(128),
        }
    }

    fn raw(self) -> u32 {
        match self {
            // __be32 on the wire: the mask's bytes in network order.
            Netmask::V4(m) => u32::from_ne_bytes(m.octets()),
            Netmask::V6(p) => u32::from(p),
        }
    }

    fn from_raw(raw: u32, family: Family) -> Netmask {
        match family {
            Family::Inet => Netmask::V4(Ipv4Addr::from(raw.to_ne_bytes())),
            Family::Inet6 => Netmask::V6(raw.min(255) as u8),
        }
    }
}

/// A virtual service.
///
/// ```
/// use ipvs_netlink::{Scheduler, Service, ServiceFlags};
/// let svc = Service::tcp("192.0.2.1:80".parse().unwrap())
///     .scheduler(Scheduler::Sh)
///     .flags(ServiceFlags::SH_FALLBACK | ServiceFlags::SH_PORT)
///     .persistent(300);
/// assert!(svc.flags.contains(ServiceFlags::PERSISTENT));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Service {
    /// What identifies the service.
    pub key: ServiceKey,
    /// Scheduler.
    pub scheduler: Scheduler,
    /// Flags (persistence, one-packet, scheduler flags).
    pub flags: ServiceFlags,
    /// Persistence timeout in seconds (used when [`ServiceFlags::PERSISTENT`] is set).
    pub timeout: u32,
    /// Persistence granularity.
    pub netmask: Netmask,
    /// Persistence engine (`sip`), if any.
    pub persistence_engine: Option<String>,
    /// Counters, when read from the kernel.
    pub stats: Option<Stats>,
}

impl Service {
    /// A service with the kernel's defaults (wlc, no persistence).
    pub fn new(key: ServiceKey) -> Self {
        Service {
            key,
            scheduler: Scheduler::default(),
            flags: ServiceFlags::NONE,
            timeout: 0,
            netmask: Netmask::host(key.family()),
            persistence_engine: None,
            stats: None,
        }
    }

    /// A TCP service.
    pub fn tcp(addr: SocketAddr) -> Self {
        Self::new(ServiceKey::tcp(addr))
    }

    /// A UDP service.
    pub fn udp(addr: SocketAddr) -> Self {
        Self::new(ServiceKey::udp(addr))
    }

    /// An SCTP service.
    pub fn sctp(addr: SocketAddr) -> Self {
        Self::new(ServiceKey::sctp(addr))
    }

    /// A firewall-mark service.
    pub fn fwmark(family: Family, mark: u32) -> Self {
        Self::new(ServiceKey::fwmark(family, mark))
    }

    /// Sets the scheduler.
    pub fn scheduler(mut self, s: Scheduler) -> Self {
        self.scheduler = s;
        self
    }

    /// Adds flags.
    pub fn flags(mut self, f: ServiceFlags) -> Self {
        self.flags |= f;
        self
    }

    /// Makes the service persistent for `timeout` seconds (keepalived `persistence_timeout`).
    pub fn persistent(mut self, timeout: u32) -> Self {
        self.flags |= ServiceFlags::PERSISTENT;
        self.timeout = timeout;
        self
    }

    /// Sets the persistence granularity.
    pub fn netmask(mut self, netmask: Netmask) -> Self {
        self.netmask = netmask;
        self
    }

    /// Sets the persistence engine (`sip`).
    pub fn persistence_engine(mut self, pe: impl Into<String>) -> Self {
        self.persistence_engine = Some(pe.into());
        self
    }

    /// True if the configurable parts (not stats, not the HASHED bit) are equal.
    pub fn same_config(&self, other: &Service) -> bool {
        self.key == other.key
            && self.scheduler == other.scheduler
            && self.flags.user_bits() == other.flags.user_bits()
            && self.timeout == other.timeout
            && self.netmask == other.netmask
            && self.persistence_engine.as_deref().unwrap_or("")
                == other.persistence_engine.as_deref().unwrap_or("")
    }

    /// The full attribute set for add / edit.
    pub fn to_attrs(&self) -> Result<Vec<ServiceAttr>> {
        if self.scheduler.as_str().len() >= IP_VS_SCHEDNAME_MAXLEN {
            return Err(Error::InvalidRequest(format!(
                "scheduler name {:?} longer than {} bytes",
                self.scheduler.as_str(),
                IP_VS_SCHEDNAME_MAXLEN - 1
            )));
        }
        let mut v = self.key.to_attrs();
        v.push(ServiceAttr::SchedulerName(
            self.scheduler.as_str().to_string(),
        ));
        v.push(ServiceAttr::Flags(ServiceFlagsAttr {
            flags: self.flags.user_bits().0,
            mask: !0,
        }));
        v.push(ServiceAttr::Timeout(self.timeout));
        v.push(ServiceAttr::Netmask(self.netmask.raw()));
        if let Some(pe) = &self.persistence_engine {
            if pe.len() >= IP_VS_PENAME_MAXLEN {
                return Err(Error::InvalidRequest(format!(
                    "persistence engine {pe:?} too long"
                )));
            }
            v.push(ServiceAttr::PersistenceEngine(pe.clone()));
        }
        Ok(v)
    }

    /// Builds a service from the kernel's attributes.
    pub fn from_attrs(attrs: &[ServiceAttr]) -> Result<Service> {
        let (mut af, mut proto, mut addr, mut port, mut mark) = (None, None, None, None, None);
        let (mut sched, mut flags, mut timeout, mut netmask, mut pe) = (None, 0, 0, None, None);
        let (mut stats, mut stats64) = (None, None);
        for a in attrs {
            match a {
                ServiceAttr::AddressFamily(v) => af = Some(*v),
                ServiceAttr::Protocol(v) => proto = Some(*v),
                ServiceAttr::Address(v) => addr = Some(*v),
                ServiceAttr::Port(v) => port = Some(*v),
                ServiceAttr::Fwmark(v) => mark = Some(*v),
                ServiceAttr::SchedulerName(v) => sched = Some(v.as_str()),
                ServiceAttr::Flags(f) => flags = f.flags,
                ServiceAttr::Timeout(v) => timeout = *v,
                ServiceAttr::Netmask(v) => netmask = Some(*v),
                ServiceAttr::PersistenceEngine(v) => pe = Some(v.clone()),
                ServiceAttr::Stats(v) => stats = Some(v),
                ServiceAttr::Stats64(v) => stats64 = Some(v),
                ServiceAttr::Other(_) => {}
            }
        }
        let af = af.ok_or_else(|| Error::Decode("service without IPVS_SVC_ATTR_AF".into()))?;
        let family = Family::from_af(af)
            .ok_or_else(|| Error::Decode(format!("service with unknown address family {af}")))?;
        let key = match (mark, proto, addr, port) {
            (Some(m), _, _, _) if m != 0 => ServiceKey::Fwmark { family, mark: m },
            (_, Some(p), Some(a), Some(port)) => ServiceKey::Inet {
                protocol: Protocol::from_number(p),
                addr: SocketAddr::new(
                    a.to_ip(af)
                        .ok_or_else(|| Error::Decode("bad service address".into()))?,
                    port,
                ),
            },
            _ => return Err(Error::Decode("service without fwmark or address".into())),
        };
        Ok(Service {
            key,
            scheduler: Scheduler::from(sched.unwrap_or("")),
            flags: ServiceFlags(flags),
            timeout,
            netmask: netmask
                .map(|n| Netmask::from_raw(n, family))
                .unwrap_or_else(|| Netmask::host(family)),
            persistence_engine: pe.filter(|s| !s.is_empty()),
            stats: stats64.or(stats).map(|s| Stats::from_attrs(s)),
        })
    }
}
