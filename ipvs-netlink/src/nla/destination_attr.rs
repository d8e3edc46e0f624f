use netlink_packet_core::{DecodeError, DefaultNla, Nla, NlaBuffer, Parseable};

use super::{
    emit_nested, nested_len, parse_be16, parse_nested, parse_u16_ne, parse_u32_ne, InetAddr,
    StatsAttr,
};
use crate::constants::*;

/// An attribute inside `IPVS_CMD_ATTR_DEST` (`IPVS_DEST_ATTR_*`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DestinationAttr {
    /// Real server address.
    Address(InetAddr),
    /// Real server port (host order here, network order on the wire).
    Port(u16),
    /// Connection flags; the low 3 bits are the forwarding method (`IP_VS_CONN_F_*`).
    ForwardMethod(u32),
    /// Weight (the kernel rejects negative values).
    Weight(u32),
    /// Upper connection threshold (0 = none).
    UpperThreshold(u32),
    /// Lower connection threshold (0 = none).
    LowerThreshold(u32),
    /// Active connections (read only).
    ActiveConns(u32),
    /// Inactive connections (read only).
    InactiveConns(u32),
    /// Persistent connection templates (read only).
    PersistConns(u32),
    /// Legacy statistics.
    Stats(Vec<StatsAttr>),
    /// Destination address family (may differ from the service's for tunnels, Linux ≥ 4.3).
    AddressFamily(u16),
    /// 64-bit statistics.
    Stats64(Vec<StatsAttr>),
    /// Tunnel type (`IP_VS_CONN_F_TUNNEL_TYPE_*`, Linux ≥ 5.2).
    TunnelType(u8),
    /// Tunnel destination port for GUE (host order here).
    TunnelPort(u16),
    /// Tunnel encapsulation flags (`IP_VS_TUNNEL_ENCAP_FLAG_*`).
    TunnelFlags(u16),
    /// Unknown attribute, kept as is.
    Other(DefaultNla),
}

impl Nla for DestinationAttr {
    fn value_len(&self) -> usize {
        match self {
            Self::Address(_) => InetAddr::LEN,
            Self::Port(_) | Self::AddressFamily(_) | Self::TunnelPort(_) | Self::TunnelFlags(_) => {
                2
            }
            Self::TunnelType(_) => 1,
            Self::ForwardMethod(_)
            | Self::Weight(_)
            | Self::UpperThreshold(_)
            | Self::LowerThreshold(_)
            | Self::ActiveConns(_)
            | Self::InactiveConns(_)
            | Self::PersistConns(_) => 4,
            Self::Stats(n) | Self::Stats64(n) => nested_len(n),
            Self::Other(n) => n.value_len(),
        }
    }

    fn kind(&self) -> u16 {
        use netlink_packet_core::NLA_F_NESTED;
        match self {
            Self::Address(_) => IPVS_DEST_ATTR_ADDR,
            Self::Port(_) => IPVS_DEST_ATTR_PORT,
            Self::ForwardMethod(_) => IPVS_DEST_ATTR_FWD_METHOD,
            Self::Weight(_) => IPVS_DEST_ATTR_WEIGHT,
            Self::UpperThreshold(_) => IPVS_DEST_ATTR_U_THRESH,
            Self::LowerThreshold(_) => IPVS_DEST_ATTR_L_THRESH,
            Self::ActiveConns(_) => IPVS_DEST_ATTR_ACTIVE_CONNS,
            Self::InactiveConns(_) => IPVS_DEST_ATTR_INACT_CONNS,
            Self::PersistConns(_) => IPVS_DEST_ATTR_PERSIST_CONNS,
            Self::Stats(_) => IPVS_DEST_ATTR_STATS | NLA_F_NESTED,
            Self::AddressFamily(_) => IPVS_DEST_ATTR_ADDR_FAMILY,
            Self::Stats64(_) => IPVS_DEST_ATTR_STATS64 | NLA_F_NESTED,
            Self::TunnelType(_) => IPVS_DEST_ATTR_TUN_TYPE,
            Self::TunnelPort(_) => IPVS_DEST_ATTR_TUN_PORT,
            Self::TunnelFlags(_) => IPVS_DEST_ATTR_TUN_FLAGS,
            Self::Other(n) => n.kind(),
        }
    }

    fn emit_value(&self, buffer: &mut [u8]) {
        match self {
            Self::Address(a) => buffer.copy_from_slice(&a.0),
            Self::Port(v) | Self::TunnelPort(v) => buffer.copy_from_slice(&v.to_be_bytes()),
            Self::AddressFamily(v) | Self::TunnelFlags(v) => {
                buffer.copy_from_slice(&v.to_ne_bytes())
            }
            Self::TunnelType(v) => buffer[0] = *v,
            Self::ForwardMethod(v)
            | Self::Weight(v)
            | Self::UpperThreshold(v)
            | Self::LowerThreshold(v)
            | Self::ActiveConns(v)
            | Self::InactiveConns(v)
            | Self::PersistConns(v) => buffer.copy_from_slice(&v.to_ne_bytes()),
            Self::Stats(n) | Self::Stats64(n) => emit_nested(n, buffer),
            Self::Other(n) => n.emit_value(buffer),
        }
    }
}

impl<'a, T: AsRef<[u8]> + ?Sized> Parseable<NlaBuffer<&'a T>> for DestinationAttr {
    fn parse(buf: &NlaBuffer<&'a T>) -> Result<Self, DecodeError> {
        let v = buf.value();
        Ok(match buf.kind() {
            IPVS_DEST_ATTR_ADDR => Self::Address(InetAddr::parse(v)?),
            IPVS_DEST_ATTR_PORT => Self::Port(parse_be16(v)?),
            IPVS_DEST_ATTR_FWD_METHOD => Self::ForwardMethod(parse_u32_ne(v)?),
            IPVS_DEST_ATTR_WEIGHT => Self::Weight(parse_u32_ne(v)?),
            IPVS_DEST_ATTR_U_THRESH => Self::UpperThreshold(parse_u32_ne(v)?),
            IPVS_DEST_ATTR_L_THRESH => Self::LowerThreshold(parse_u32_ne(v)?),
            IPVS_DEST_ATTR_ACTIVE_CONNS => Self::ActiveConns(parse_u32_ne(v)?),
            IPVS_DEST_ATTR_INACT_CONNS => Self::InactiveConns(parse_u32_ne(v)?),
            IPVS_DEST_ATTR_PERSIST_CONNS => Self::PersistConns(parse_u32_ne(v)?),
            IPVS_DEST_ATTR_STATS => Self::Stats(parse_nested(v)?),
            IPVS_DEST_ATTR_ADDR_FAMILY => Self::AddressFamily(parse_u16_ne(v)?),
            IPVS_DEST_ATTR_STATS64 => Self::Stats64(parse_nested(v)?),
            IPVS_DEST_ATTR_TUN_TYPE => Self::TunnelType(netlink_packet_core::parse_u8(v)?),
            IPVS_DEST_ATTR_TUN_PORT => Self::TunnelPort(parse_be16(v)?),
            IPVS_DEST_ATTR_TUN_FLAGS => Self::TunnelFlags(parse_u16_ne(v)?),
            _ => Self::Other(DefaultNla::parse(buf)?),
        })
    }
}
