use std::net::{Ipv4Addr, Ipv6Addr};

use netlink_packet_core::{DecodeError, DefaultNla, Nla, NlaBuffer, Parseable};

use super::{emit_cstr, parse_u16_ne, parse_u32_ne};
use crate::constants::*;

/// An attribute inside `IPVS_CMD_ATTR_DAEMON` (`IPVS_DAEMON_ATTR_*`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DaemonAttr {
    /// `IP_VS_STATE_MASTER` or `IP_VS_STATE_BACKUP`.
    State(u32),
    /// Multicast interface name.
    MulticastInterface(String),
    /// Sync id (0–255).
    SyncId(u32),
    /// Maximum sync message length (Linux ≥ 4.3).
    SyncMaxLen(u16),
    /// IPv4 multicast group.
    MulticastGroup(Ipv4Addr),
    /// IPv6 multicast group.
    MulticastGroup6(Ipv6Addr),
    /// UDP port (host byte order, also on the wire: the kernel uses `nla_get_u16`).
    MulticastPort(u16),
    /// Multicast TTL.
    MulticastTtl(u8),
    /// Unknown attribute, kept as is.
    Other(DefaultNla),
}

impl Nla for DaemonAttr {
    fn value_len(&self) -> usize {
        match self {
            Self::State(_) | Self::SyncId(_) | Self::MulticastGroup(_) => 4,
            Self::MulticastInterface(s) => s.len() + 1,
            Self::SyncMaxLen(_) | Self::MulticastPort(_) => 2,
            Self::MulticastGroup6(_) => 16,
            Self::MulticastTtl(_) => 1,
            Self::Other(n) => n.value_len(),
        }
    }

    fn kind(&self) -> u16 {
        match self {
            Self::State(_) => IPVS_DAEMON_ATTR_STATE,
            Self::MulticastInterface(_) => IPVS_DAEMON_ATTR_MCAST_IFN,
            Self::SyncId(_) => IPVS_DAEMON_ATTR_SYNC_ID,
            Self::SyncMaxLen(_) => IPVS_DAEMON_ATTR_SYNC_MAXLEN,
            Self::MulticastGroup(_) => IPVS_DAEMON_ATTR_MCAST_GROUP,
            Self::MulticastGroup6(_) => IPVS_DAEMON_ATTR_MCAST_GROUP6,
            Self::MulticastPort(_) => IPVS_DAEMON_ATTR_MCAST_PORT,
            Self::MulticastTtl(_) => IPVS_DAEMON_ATTR_MCAST_TTL,
            Self::Other(n) => n.kind(),
        }
    }

    fn emit_value(&self, buffer: &mut [u8]) {
        match self {
            Self::State(v) | Self::SyncId(v) => buffer.copy_from_slice(&v.to_ne_bytes()),
            Self::MulticastInterface(s) => emit_cstr(s, buffer),
            Self::SyncMaxLen(v) => buffer.copy_from_slice(&v.to_ne_bytes()),
            Self::MulticastGroup(a) => buffer.copy_from_slice(&a.octets()),
            Self::MulticastGroup6(a) => buffer.copy_from_slice(&a.octets()),
            Self::MulticastPort(v) => buffer.copy_from_slice(&v.to_ne_bytes()),
            Self::MulticastTtl(v) => buffer[0] = *v,
            Self::Other(n) => n.emit_value(buffer),
        }
    }
}

impl<'a, T: AsRef<[u8]> + ?Sized> Parseable<NlaBuffer<&'a T>> for DaemonAttr {
    fn parse(buf: &NlaBuffer<&'a T>) -> Result<Self, DecodeError> {
        let v = buf.value();
        Ok(match buf.kind() {
            IPVS_DAEMON_ATTR_STATE => Self::State(parse_u32_ne(v)?),
            IPVS_DAEMON_ATTR_MCAST_IFN => {
                Self::MulticastInterface(netlink_packet_core::parse_string(v)?)
            }
            IPVS_DAEMON_ATTR_SYNC_ID => Self::SyncId(parse_u32_ne(v)?),
            IPVS_DAEMON_ATTR_SYNC_MAXLEN => Self::SyncMaxLen(parse_u16_ne(v)?),
            IPVS_DAEMON_ATTR_MCAST_GROUP => {
                let b: [u8; 4] = v
                    .try_into()
                    .map_err(|_| DecodeError::invalid_ip_address(v.len()))?;
                Self::MulticastGroup(Ipv4Addr::from(b))
            }
            IPVS_DAEMON_ATTR_MCAST_GROUP6 => {
                Self::MulticastGroup6(Ipv6Addr::from(netlink_packet_core::parse_ipv6(v)?))
            }
            IPVS_DAEMON_ATTR_MCAST_PORT => Self::MulticastPort(parse_u16_ne(v)?),
            IPVS_DAEMON_ATTR_MCAST_TTL => Self::MulticastTtl(netlink_packet_core::parse_u8(v)?),
            _ => Self::Other(DefaultNla::parse(buf)?),
        })
    }
}
