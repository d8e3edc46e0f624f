//! Traffic counters and rates of a service or destination.

use crate::nla::{StatsAttr, StatsField};

/// Counters (since creation or the last zeroing) and rates (per second, estimated by the kernel
/// every 2 s) of a service or destination, widened to 64 bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub struct Stats {
    /// Connections scheduled.
    pub connections: u64,
    /// Incoming packets.
    pub packets_in: u64,
    /// Outgoing packets.
    pub packets_out: u64,
    /// Incoming bytes.
    pub bytes_in: u64,
    /// Outgoing bytes.
    pub bytes_out: u64,
    /// Connections per second.
    pub cps: u64,
    /// Incoming packets per second.
    pub pps_in: u64,
    /// Outgoing packets per second.
    pub pps_out: u64,
    /// Incoming bytes per second.
    pub bps_in: u64,
    /// Outgoing bytes per second.
    pub bps_out: u64,
}

impl Stats {
    /// Builds stats from a `STATS64` (preferred) or `STATS` nest.
    pub fn from_attrs(attrs: &[StatsAttr]) -> Stats {
        let mut s = Stats::default();
        for a in attrs {
            let (field, value) = match a {
                StatsAttr::U32(f, v) => (*f, u64::from(*v)),
                StatsAttr::U64(f, v) => (*f, *v),
                StatsAttr::Other(_) => continue,
            };
            let slot = match field {
                StatsField::Conns => &mut s.connections,
                StatsField::InPkts => &mut s.packets_in,
                StatsField::OutPkts => &mut s.packets_out,
                StatsField::InBytes => &mut s.bytes_in,
                StatsField::OutBytes => &mut s.bytes_out,
                StatsField::Cps => &mut s.cps,
                StatsField::InPps => &mut s.pps_in,
                StatsField::OutPps => &mut s.pps_out,
                StatsField::InBps => &mut s.bps_in,
                StatsField::OutBps => &mut s.bps_out,
            };
            *slot = value;
        }
        s
    }
}
