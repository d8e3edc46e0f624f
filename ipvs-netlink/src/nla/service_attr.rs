use netlink_packet_core::{DecodeError, DefaultNla, Nla, NlaBuffer, Parseable};

use super::{
    emit_cstr, emit_nested, nested_len, parse_be16, parse_nested, parse_u16_ne, parse_u32_ne,
    InetAddr, StatsAttr,
};
use crate::constants::*;

/// The kernel's `struct ip_vs_flags`: new flag bits and which bits to change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ServiceFlagsAttr {
    /// Flag values (`IP_VS_SVC_F_*`).
    pub flags: u32,
    /// Bits of `flags` the kernel should apply.
    pub mask: u32,
}

/// An attribute inside `IPVS_CMD_ATTR_SERVICE` (`IPVS_SVC_ATTR_*`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServiceAttr {
    /// `AF_INET` or `AF_INET6`.
    AddressFamily(u16),
    /// IP protocol number (TCP 6, UDP 17, SCTP 132).
    Protocol(u16),
    /// Virtual address.
    Address(InetAddr),
    /// Virtual port (host order here, network order on the wire).
    Port(u16),
    /// Firewall mark (fwmark services).
    Fwmark(u32),
    /// Scheduler name.
    SchedulerName(String),
    /// Service flags and mask.
    Flags(ServiceFlagsAttr),
    /// Persistence timeout in seconds.
    Timeout(u32),
    /// Persistence netmask (IPv4 mask as a big-endian word, or IPv6 prefix length).
    Netmask(u32),
    /// Legacy statistics.
    Stats(Vec<StatsAttr>),
    /// Persistence engine name (`sip`).
    PersistenceEngine(String),
    /// 64-bit statistics.
    Stats64(Vec<StatsAttr>),
    /// Unknown attribute, kept as is.
    Other(DefaultNla),
}

impl Nla for ServiceAttr {
    fn value_len(&self) -> usize {
        match self {
            Self::AddressFamily(_) | Self::Protocol(_) | Self::Port(_) => 2,
            Self::Address(_) => InetAddr::LEN,
            Self::Fwmark(_) | Self::Timeout(_) | Self::Netmask(_) => 4,
            Self::SchedulerName(s) | Self::PersistenceEngine(s) => s.len() + 1,
            Self::Flags(_) => 8,
            Self::Stats(n) | Self::Stats64(n) => nested_len(n),
            Self::Other(n) => n.value_len(),
        }
    }

    fn kind(&self) -> u16 {
        match self {
            Self::AddressFamily(_) => IPVS_SVC_ATTR_AF,
            Self::Protocol(_) => IPVS_SVC_ATTR_PROTOCOL,
            Self::Address(_) => IPVS_SVC_ATTR_ADDR,
            Self::Port(_) => IPVS_SVC_ATTR_PORT,
            Self::Fwmark(_) => IPVS_SVC_ATTR_FWMARK,
            Self::SchedulerName(_) => IPVS_SVC_ATTR_SCHED_NAME,
            Self::Flags(_) => IPVS_SVC_ATTR_FLAGS,
            Self::Timeout(_) => IPVS_SVC_ATTR_TIMEOUT,
            Self::Netmask(_) => IPVS_SVC_ATTR_NETMASK,
            Self::Stats(_) => IPVS_SVC_ATTR_STATS | netlink_packet_core::NLA_F_NESTED,
            Self::PersistenceEngine(_) => IPVS_SVC_ATTR_PE_NAME,
            Self::Stats64(_) => IPVS_SVC_ATTR_STATS64 | netlink_packet_core::NLA_F_NESTED,
            Self::Other(n) => n.kind(),
        }
    }

    fn emit_value(&self, buffer: &mut [u8]) {
        match self {
            Self::AddressFamily(v) | Self::Protocol(v) => buffer.copy_from_slice(&v.to_ne_bytes()),
            Self::Port(v) => buffer.copy_from_slice(&v.to_be_bytes()),
            Self::Address(a) => buffer.copy_from_slice(&a.0),
            Self::Fwmark(v) | Self::Timeout(v) => buffer.copy_from_slice(&v.to_ne_bytes()),
            // The netmask is an address-sized word in network order for IPv4 (ipvsadm sends it
            // that way); the kernel stores it without swapping, so it round-trips as raw bytes.
            Self::Netmask(v) => buffer.copy_from_slice(&v.to_ne_bytes()),
            Self::SchedulerName(s) | Self::PersistenceEngine(s) => emit_cstr(s, buffer),
            Self::Flags(f) => {
                buffer[..4].copy_from_slice(&f.flags.to_ne_bytes());
                buffer[4..8].copy_from_slice(&f.mask.to_ne_bytes());
            }
            Self::Stats(n) | Self::Stats64(n) => emit_nested(n, buffer),
            Self::Other(n) => n.emit_value(buffer),
        }
    }
}

impl<'a, T: AsRef<[u8]> + ?Sized> Parseable<NlaBuffer<&'a T>> for ServiceAttr {
    fn parse(buf: &NlaBuffer<&'a T>) -> Result<Self, DecodeError> {
        let v = buf.value();
        Ok(match buf.kind() {
            IPVS_SVC_ATTR_AF => Self::AddressFamily(parse_u16_ne(v)?),
            IPVS_SVC_ATTR_PROTOCOL => Self::Protocol(parse_u16_ne(v)?),
            IPVS_SVC_ATTR_ADDR => Self::Address(InetAddr::parse(v)?),
            IPVS_SVC_ATTR_PORT => Self::Port(parse_be16(v)?),
            IPVS_SVC_ATTR_FWMARK => Self::Fwmark(parse_u32_ne(v)?),
            IPVS_SVC_ATTR_SCHED_NAME => Self::SchedulerName(netlink_packet_core::parse_string(v)?),
            IPVS_SVC_ATTR_FLAGS => {
                if v.len() != 8 {
                    return Err(DecodeError::invalid_number(8, v.len()));
                }
                Self::Flags(ServiceFlagsAttr {
                    flags: parse_u32_ne(&v[..4])?,
                    mask: parse_u32_ne(&v[4..])?,
                })
            }
            IPVS_SVC_ATTR_TIMEOUT => Self::Timeout(parse_u32_ne(v)?),
            IPVS_SVC_ATTR_NETMASK => Self::Netmask(parse_u32_ne(v)?),
            IPVS_SVC_ATTR_STATS => Self::Stats(parse_nested(v)?),
            IPVS_SVC_ATTR_PE_NAME => Self::PersistenceEngine(netlink_packet_core::parse_string(v)?),
            IPVS_SVC_ATTR_STATS64 => Self::Stats64(parse_nested(v)?),
            _ => Self::Other(DefaultNla::parse(buf)?),
        })
    }
}
