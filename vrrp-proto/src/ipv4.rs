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
pub(crate) struct Ipv4Info<'a> {
    /// The header, options included.
    pub header: &'a [u8],
    /// What follows the header up to the total length (link padding cut off).
    pub payload: &'a [u8],
    pub protocol: u8,
    pub ttl: u8,
    /// Source address octets.
    pub src: [u8; 4],
    /// Destination address octets.
    pub dst: [u8; 4],
}

/// Octet 0 (version and IHL) and octets 6-7 (flags and fragment offset) of the first 8.
const VER_IHL_FRAG_MASK: u64 = u64::from_ne_bytes([0xff, 0, 0, 0, 0, 0, 0x3f, 0xff]);
/// Version 4, IHL 5; MF clear, offset 0.
const VER_IHL_FRAG_USUAL: u64 = u64::from_ne_bytes([0x45, 0, 0, 0, 0, 0, 0, 0]);

/// Checks an IPv4 header as the kernel delivers it to a raw socket: version, IHL, total length
/// (octets past it are link padding and ignored), fragment bits and header checksum. The
/// protocol is returned, not checked.
#[inline(always)]
pub(crate) fn check_ipv4(packet: &[u8]) -> Result<Ipv4Info<'_>, DecodeError> {
    // A fixed-size view of the first 20 octets: no bounds check per field below.
    let Some(h) = packet.first_chunk::<IPV4_HEADER_LEN>() else {
        return Err(DecodeError::Ipv4Truncated);
    };
    let src = [h[12], h[13], h[14], h[15]];
    let dst = [h[16], h[17], h[18], h[19]];
    let total_len = usize::from(u16::from_be_bytes([h[2], h[3]]));
    // The header every VRRP sender writes, in two tests: version 4 with IHL 5 (no options)
    // and not a fragment (MF clear, offset 0) in one masked compare of the first 8 octets,
    // then a total length within the packet. Anything else takes the field-by-field checks
    // below, which name the failure. The checksum is summed as two native 64-bit words and
    // one 32-bit word (see `checksum::sum`).
    // (Words are read as whole sub-arrays: built from single octets, the compiler assembles
    // them octet by octet.)
    let w0 = u64::from_ne_bytes(h[0..8].try_into().unwrap_or_default());
    if w0 & VER_IHL_FRAG_MASK == VER_IHL_FRAG_USUAL
        // IPV4_HEADER_LEN <= total_len <= packet.len() in one compare (packet.len() >= 20).
        && total_len.wrapping_sub(IPV4_HEADER_LEN) <= packet.len() - IPV4_HEADER_LEN
    {
        let w1 = u64::from_ne_bytes(h[8..16].try_into().unwrap_or_default());
        let w2 = u32::from_ne_bytes(h[16..20].try_into().unwrap_or_default());
        if !checksum::verifies(checksum::add_c(checksum::add_c(w0, w1), u64::from(w2))) {
            return Err(DecodeError::Ipv4HeaderChecksum);
        }
        // In bounds by the test above; sliced here, where the compiler knows it.
        let (header, rest) = packet.split_at(IPV4_HEADER_LEN);
        let payload = rest.get(..total_len - IPV4_HEADER_LEN).unwrap_or_default();
        return Ok(Ipv4Info {
            header,
            payload,
            protocol: h[9],
            ttl: h[8],
            src,
            dst,
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
        header: &packet[..header_len],
        payload: &packet[header_len..total_len],
        protocol: h[9],
        ttl: h[8],
        src,
        dst,
    })
}

/// Writes a 20-octet IPv4 header for a `protocol` payload of `payload_len` octets into `buf[..20]`.
/// The caller checked that `buf` holds 20 octets and that the total fits in 16 bits. The
/// header is built as two native 64-bit words and one 32-bit word in registers, summed from
/// them and stored as three words (as an octet array, the compiler stored it field by field):
/// the checksum is never read back from `buf`.
#[inline]
pub(crate) fn emit_ipv4_header(buf: &mut [u8], p: &Ipv4Params, protocol: u8, payload_len: usize) {
    let [t0, t1] = ((IPV4_HEADER_LEN + payload_len) as u16).to_be_bytes();
    let [i0, i1] = p.identification.to_be_bytes();
    let [s0, s1, s2, s3] = p.src.octets();
    let d = u32::from_ne_bytes(p.dst.octets());
    // keepalived does not set Don't Fragment; neither do we (flags and offset word is 0).
    let w0 = u64::from_ne_bytes([0x45, p.tos, t0, t1, i0, i1, 0, 0]);
    let w1 = u64::from_ne_bytes([p.ttl, protocol, 0, 0, s0, s1, s2, s3]);
    let acc = checksum::add_c(checksum::add_c(w0, w1), u64::from(d));
    let [c0, c1] = (!checksum::fold(acc)).to_ne_bytes();
    let w1 = w1 | u64::from_ne_bytes([0, 0, c0, c1, 0, 0, 0, 0]);
    let h = &mut buf[..IPV4_HEADER_LEN];
    h[0..8].copy_from_slice(&w0.to_ne_bytes());
    h[8..16].copy_from_slice(&w1.to_ne_bytes());
    h[16..20].copy_from_slice(&d.to_ne_bytes());
}
