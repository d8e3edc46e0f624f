//! Netlink attribute (NLA) types of the IPVS family, one enum per attribute space.
//!
//! Every enum implements [`Nla`](netlink_packet_core::Nla) (and so
//! [`Emitable`]) and
//! [`Parseable`], and keeps attributes it does not know in an
//! `Other(DefaultNla)` variant, so a newer kernel never makes parsing fail.

mod daemon_attr;
mod destination_attr;
mod inet_addr;
mod service_attr;
mod stats_attr;

pub use daemon_attr::DaemonAttr;
pub use destination_attr::DestinationAttr;
pub use inet_addr::InetAddr;
pub use service_attr::{ServiceAttr, ServiceFlagsAttr};
pub use stats_attr::{StatsAttr, StatsField};

use netlink_packet_core::{DecodeError, Emitable, NlaBuffer, NlasIterator, Parseable};

/// Parses a nested attribute list.
pub(crate) fn parse_nested<T>(value: &[u8]) -> Result<Vec<T>, DecodeError>
where
    T: for<'a> Parseable<NlaBuffer<&'a [u8]>>,
{
    let mut out = Vec::new();
    for nla in NlasIterator::new(value) {
        out.push(T::parse(&nla?)?);
    }
    Ok(out)
}

/// Total emitted length of a nested list.
pub(crate) fn nested_len<T: Emitable>(nlas: &[T]) -> usize {
    nlas.iter().map(|n| n.buffer_len()).sum()
}

/// Emits a nested list into `buffer` (which is exactly `nested_len` long).
pub(crate) fn emit_nested<T: netlink_packet_core::Nla>(nlas: &[T], buffer: &mut [u8]) {
    let mut at = 0;
    for nla in nlas {
        let len = nla.buffer_len();
        nla.emit(&mut buffer[at..at + len]);
        // netlink-packet-core 0.9 drops NLA_F_NET_BYTEORDER when NLA_F_NESTED is also set
        // (`set_nested_flag` rewrites the type from the masked kind); write the type field
        // whole so unknown attributes keep both flags (found by the ipvs_reply fuzz target).
        buffer[at + 2..at + 4].copy_from_slice(&nla.kind().to_ne_bytes());
        at += len;
    }
}

pub(crate) fn parse_u16_ne(v: &[u8]) -> Result<u16, DecodeError> {
    netlink_packet_core::parse_u16(v)
}

pub(crate) fn parse_u32_ne(v: &[u8]) -> Result<u32, DecodeError> {
    netlink_packet_core::parse_u32(v)
}

pub(crate) fn parse_be16(v: &[u8]) -> Result<u16, DecodeError> {
    netlink_packet_core::parse_u16_be(v)
}

/// Emits a string with its terminating NUL, as the kernel's `NLA_NUL_STRING` policy wants.
pub(crate) fn emit_cstr(s: &str, buffer: &mut [u8]) {
    buffer[..s.len()].copy_from_slice(s.as_bytes());
    buffer[s.len()] = 0;
}
