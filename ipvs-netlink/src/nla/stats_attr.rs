use netlink_packet_core::{DecodeError, DefaultNla, Nla, NlaBuffer, Parseable};

use crate::constants::*;

/// Which counter or rate a statistics attribute carries (`IPVS_STATS_ATTR_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StatsField {
    /// Connections scheduled.
    Conns,
    /// Incoming packets.
    InPkts,
    /// Outgoing packets.
    OutPkts,
    /// Incoming bytes.
    InBytes,
    /// Outgoing bytes.
    OutBytes,
    /// Connection rate (per second).
    Cps,
    /// Incoming packet rate.
    InPps,
    /// Outgoing packet rate.
    OutPps,
    /// Incoming byte rate.
    InBps,
    /// Outgoing byte rate.
    OutBps,
}

impl StatsField {
    fn from_kind(kind: u16) -> Option<Self> {
        Some(match kind {
            IPVS_STATS_ATTR_CONNS => Self::Conns,
            IPVS_STATS_ATTR_INPKTS => Self::InPkts,
            IPVS_STATS_ATTR_OUTPKTS => Self::OutPkts,
            IPVS_STATS_ATTR_INBYTES => Self::InBytes,
            IPVS_STATS_ATTR_OUTBYTES => Self::OutBytes,
            IPVS_STATS_ATTR_CPS => Self::Cps,
            IPVS_STATS_ATTR_INPPS => Self::InPps,
            IPVS_STATS_ATTR_OUTPPS => Self::OutPps,
            IPVS_STATS_ATTR_INBPS => Self::InBps,
            IPVS_STATS_ATTR_OUTBPS => Self::OutBps,
            _ => return None,
        })
    }

    fn kind(self) -> u16 {
        match self {
            Self::Conns => IPVS_STATS_ATTR_CONNS,
            Self::InPkts => IPVS_STATS_ATTR_INPKTS,
            Self::OutPkts => IPVS_STATS_ATTR_OUTPKTS,
            Self::InBytes => IPVS_STATS_ATTR_INBYTES,
            Self::OutBytes => IPVS_STATS_ATTR_OUTBYTES,
            Self::Cps => IPVS_STATS_ATTR_CPS,
            Self::InPps => IPVS_STATS_ATTR_INPPS,
            Self::OutPps => IPVS_STATS_ATTR_OUTPPS,
            Self::InBps => IPVS_STATS_ATTR_INBPS,
            Self::OutBps => IPVS_STATS_ATTR_OUTBPS,
        }
    }
}

/// One attribute inside `IPVS_SVC_ATTR_STATS[64]` / `IPVS_DEST_ATTR_STATS[64]`.
///
/// The legacy `STATS` nest mixes 32-bit counters and 64-bit byte counts; `STATS64` is all 64-bit.
/// The width is kept so that parse and emit round-trip exactly.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StatsAttr {
    /// A 32-bit value.
    U32(StatsField, u32),
    /// A 64-bit value.
    U64(StatsField, u64),
    /// `IPVS_STATS_ATTR_PAD` or an attribute this crate does not know.
    Other(DefaultNla),
}

impl Nla for StatsAttr {
    fn value_len(&self) -> usize {
        match self {
            Self::U32(..) => 4,
            Self::U64(..) => 8,
            Self::Other(n) => n.value_len(),
        }
    }

    fn kind(&self) -> u16 {
        match self {
            Self::U32(f, _) | Self::U64(f, _) => f.kind(),
            Self::Other(n) => n.kind(),
        }
    }

    fn emit_value(&self, buffer: &mut [u8]) {
        match self {
            Self::U32(_, v) => buffer.copy_from_slice(&v.to_ne_bytes()),
            Self::U64(_, v) => buffer.copy_from_slice(&v.to_ne_bytes()),
            Self::Other(n) => n.emit_value(buffer),
        }
    }
}

impl<'a, T: AsRef<[u8]> + ?Sized> Parseable<NlaBuffer<&'a T>> for StatsAttr {
    fn parse(buf: &NlaBuffer<&'a T>) -> Result<Self, DecodeError> {
        let v = buf.value();
        Ok(match (StatsField::from_kind(buf.kind()), v.len()) {
            (Some(f), 4) => Self::U32(f, netlink_packet_core::parse_u32(v)?),
            (Some(f), 8) => Self::U64(f, netlink_packet_core::parse_u64(v)?),
            (Some(_), n) => {
                return Err(DecodeError::invalid_number(8, n));
            }
            (None, _) => Self::Other(DefaultNla::parse(buf)?),
        })
    }
}
