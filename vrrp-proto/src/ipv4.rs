//! The IPv4 header around a VRRP message: checked on receive, built for `IP_HDRINCL` on send.
use core::net::Ipv4Addr;

use crate::checksum::{self, VRRP_MCAST_V4};
use crate::error::DecodeError;

/// Length of an IPv4 header without options.
pub const IPV4_HEADER_LEN: usize = 20;

/// IP protocol number of the Authentication Header (RFC 4302), used by VRRPv2 auth type 2.
pub const IPPROTO_AH: u8 = 51;

/// DSCP CS6 (Internet control), the TOS keepalived and RFC 5798 use for adverts.
pub const TOS_INTERNETWORK_CONTROL: u8 = 0xc0;

/// The TTL / hop limit VRRP requires.
pub const VRRP_TTL: u8 = 255;

/// IPv4 header fields for sending an advert with `IP_HDRINCL`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ipv4Params {
    /// Source address (the interface's primary address).
    pub src: Ipv4Addr,
    /// Destination: 224.0.0.18, or a unicast peer.
    pub dst: Ipv4Addr,
    /// Identification field (keepalived counts it up per packet).
    pub identification: u16,
    /// TTL: 255 (RFC 5798 §5.1.1.3); keepalived's `unicast_ttl` may lower it for unicast.
    pub ttl: u8,
    /// TOS octet: 0xc0.
    pub tos: u8,
}

impl Ipv4Params {
    /// Source and destination with TTL 255, TOS 0xc0 and identification 0.
    pub const fn new(src: Ipv4Addr, dst: Ipv4Addr) -> Self {
        Ipv4Params {
            src,
            dst,
            identification: 0,
            ttl: VRRP_TTL,
            tos: TOS_INTERNETWORK_CONTROL,
        }
    }

    /// Multicast to 224.0.0.18 from `src`.
    pub const fn multicast(src: Ipv4Addr) -> Self {
        Self::new(src, VRRP_MCAST_V4)
    }
}

/// What the IPv4 header check learned.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Ipv4Info {
    pub header_len: usize,
    pub total_len: usize,
    pub protocol: u8,
    pub ttl: u8,
    pub src: Ipv4Addr,
    pub dst: Ipv4Addr,
}

/// Checks an IPv4 header as the kernel delivers it to a raw socket: version, IHL, total length
/// (octets past it are link padding and ignored), fragment bits and header checksum. The
/// protocol is returned, not checked.
#[inline(always)]
pub(crate) fn check_ipv4(packet: &[u8]) -> Result<Ipv4Info, DecodeError> {
    // A fixed-size view of the first 20 octets: no bounds check per field below.
    let Some(h) = packet.first_chunk::<IPV4_HEADER_LEN>() else {
        return Err(DecodeError::Ipv4Truncated);
    };
    let w = |i: usize| u32::from_be_bytes([h[i], h[i + 1], h[i + 2], h[i + 3]]);
    let (w0, w1, w2, src, dst) = (w(0), w(4), w(8), w(12), w(16));
    let total_len = (w0 & 0xffff) as usize;
    // The header every VRRP sender writes, in two tests: version 4 with IHL 5 (no options)
    // and not a fragment (MF clear, offset 0) in one masked compare, then a total length
    // within the packet. Anything else takes the field-by-field checks below, which name the
    // failure.
    if (u64::from(w0) << 32 | u64::from(w1)) & 0xff00_0000_0000_3fff == 0x4500_0000_0000_0000
        && (IPV4_HEADER_LEN..=packet.len()).contains(&total_len)
    {
        if !checksum::verifies(
            u64::from(w0) + u64::from(w1) + u64::from(w2) + u64::from(src) + u64::from(dst),
        ) {
            return Err(DecodeError::Ipv4HeaderChecksum);
        }
        return Ok(Ipv4Info {
            header_len: IPV4_HEADER_LEN,
            total_len,
            protocol: h[9],
            ttl: h[8],
            src: Ipv4Addr::from_bits(src),
            dst: Ipv4Addr::from_bits(dst),
        });
    }
    if h[0] >> 4 != 4 {
        return Err(DecodeError::Ipv4Version);
    }
    let header_len = usize::from(h[0] & 0x0f) * 4;
    if header_len < IPV4_HEADER_LEN {
        return Err(DecodeError::Ipv4HeaderLength);
    }
    if packet.len() < header_len {
        return Err(DecodeError::Ipv4Truncated);
    }
    if total_len < header_len || total_len > packet.len() {
        return Err(DecodeError::Ipv4TotalLength);
    }
    // More-fragments flag or a non-zero offset.
    if u16::from_be_bytes([h[6], h[7]]) & 0x3fff != 0 {
        return Err(DecodeError::Ipv4Fragment);
    }
    let hsum = checksum::sum(&packet[..header_len]);
    if !checksum::verifies(hsum) {
        return Err(DecodeError::Ipv4HeaderChecksum);
    }
    Ok(Ipv4Info {
        header_len,
        total_len,
        protocol: h[9],
        ttl: h[8],
        src: Ipv4Addr::from_bits(src),
        dst: Ipv4Addr::from_bits(dst),
    })
}

/// Writes a 20-octet IPv4 header for a `protocol` payload of `payload_len` octets into `buf[..20]`.
/// The caller checked that `buf` holds 20 octets and that the total fits in 16 bits. The
/// header checksum is summed from the field values, not read back from `buf`.
#[inline]
pub(crate) fn emit_ipv4_header(buf: &mut [u8], p: &Ipv4Params, protocol: u8, payload_len: usize) {
    let total = (IPV4_HEADER_LEN + payload_len) as u16;
    let w0 = u16::from_be_bytes([0x45, p.tos]);
    let w4 = u16::from_be_bytes([p.ttl, protocol]);
    let (src, dst) = (p.src.to_bits(), p.dst.to_bits());
    // keepalived does not set Don't Fragment; neither do we (flags and offset word is 0).
    let acc = u64::from(w0)
        + u64::from(total)
        + u64::from(p.identification)
        + u64::from(w4)
        + u64::from(src)
        + u64::from(dst);
    let c = !checksum::fold(acc);
    let h = &mut buf[..IPV4_HEADER_LEN];
    h[0..2].copy_from_slice(&w0.to_be_bytes());
    h[2..4].copy_from_slice(&total.to_be_bytes());
    h[4..6].copy_from_slice(&p.identification.to_be_bytes());
    h[6..8].copy_from_slice(&[0, 0]);
    h[8..10].copy_from_slice(&w4.to_be_bytes());
    h[10..12].copy_from_slice(&c.to_be_bytes());
    h[12..16].copy_from_slice(&src.to_be_bytes());
    h[16..20].copy_from_slice(&dst.to_be_bytes());
}
