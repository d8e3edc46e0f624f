//! VRRPv2 auth type 2: the IP Authentication Header of RFC 2338 §5.3.6.3 / RFC 2402, as
//! keepalived (`auth_type AH`) puts it between the IPv4 header and the VRRP message.
//!
//! Layout (24 octets): next header (112), payload length (4: the AH is 6 words, minus 2),
//! 2 reserved octets, SPI (the sender's IPv4 source address, keepalived's choice for a
//! multicast group), sequence number (u32), ICV (12 octets). The ICV is HMAC-MD5 truncated to
//! 96 bits (RFC 2403), keyed with the 8-octet zero-padded password, over: the IPv4 header with
//! its mutable fields zeroed (TOS, flags/fragment offset, header checksum, and the TTL in
//! unicast mode, where keepalived lets a peer's TTL vary), the AH with a zero ICV, and the VRRP
//! message (auth type 2, its 8 auth octets zero). The identification field is covered, so the
//! sender must set it (a raw socket's kernel fills a zero one in after the ICV was computed).
//!
//! Anti-replay: keepalived keeps one sequence counter per instance for sending and receiving.
//! A received AH is accepted only with a sequence number above the counter, which then takes
//! it; a sender counts on from it. So a new Master continues above the numbers its Backups
//! have seen, whichever daemon sent them. [`IpAhSequence`] is that counter.
use hmac::{Hmac, Mac};
use md5::Md5;

use crate::auth_trailer::ct_eq;
use crate::checksum::IPPROTO_VRRP;
use crate::error::DecodeError;
use crate::ipv4::IPV4_HEADER_LEN;

/// Length of the AH keepalived sends (12 fixed octets and a 12-octet ICV).
pub const IP_AH_LEN: usize = 24;

/// Length of the truncated HMAC-MD5 (HMAC-MD5-96).
pub const IP_AH_ICV_LEN: usize = 12;

/// The AH payload-length field: the header's length in 32-bit words, minus 2.
const PAYLOAD_LEN_FIELD: u8 = (IP_AH_LEN / 4 - 2) as u8;

/// The AH fields a receiver acts on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpAh {
    /// Security parameters index: the sender's IPv4 address (checked).
    pub spi: u32,
    /// Sequence number, for [`IpAhSequence::accept`].
    pub sequence: u32,
}

/// keepalived's per-instance AH sequence counter, shared by sending and receiving (see the
/// module documentation).
///
/// ```
/// use vrrp_proto::IpAhSequence;
/// let mut seq = IpAhSequence::default();
/// assert!(seq.accept(7).is_ok()); // a Master's advert
/// assert!(seq.accept(7).is_err()); // replayed
/// assert_eq!(seq.next_to_send(), 8); // after a takeover we count on from it
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct IpAhSequence {
    last: u32,
}

impl IpAhSequence {
    /// The last sequence number sent or accepted.
    pub const fn last(&self) -> u32 {
        self.last
    }

    /// Accepts `sequence` if it is above every number sent or accepted so far.
    pub fn accept(&mut self, sequence: u32) -> Result<(), DecodeError> {
        if sequence <= self.last {
            return Err(DecodeError::IpAhReplay);
        }
        self.last = sequence;
        Ok(())
    }

    /// The number for the next advert sent. It stops at `u32::MAX` (136 years of 1 s
    /// adverts; keepalived stops sending there).
    pub fn next_to_send(&mut self) -> u32 {
        self.last = self.last.saturating_add(1);
        self.last
    }
}

/// HMAC-MD5-96 over the three parts, `ip_header` already with its mutable fields zeroed and
/// `ah` with a zero ICV.
fn icv(key: &[u8; 8], ip_header: &[u8], ah: &[u8], message: &[u8]) -> [u8; IP_AH_ICV_LEN] {
    // An 8-octet key is always accepted by HMAC.
    let mut mac = match <Hmac<Md5> as Mac>::new_from_slice(key) {
        Ok(m) => m,
        Err(_) => return [0; IP_AH_ICV_LEN],
    };
    mac.update(ip_header);
    mac.update(ah);
    mac.update(message);
    let full = mac.finalize().into_bytes();
    let mut out = [0u8; IP_AH_ICV_LEN];
    out.copy_from_slice(&full[..IP_AH_ICV_LEN]);
    out
}

/// Copies an IPv4 header (up to 60 octets) with the fields AH treats as mutable zeroed.
fn immutable_header(header: &[u8], zero_ttl: bool) -> ([u8; 60], usize) {
    let mut h = [0u8; 60];
    let n = header.len().min(60);
    h[..n].copy_from_slice(&header[..n]);
    h[1] = 0; // TOS
    h[6] = 0; // flags, fragment offset
    h[7] = 0;
    if zero_ttl {
        h[8] = 0;
    }
    h[10] = 0; // header checksum
    h[11] = 0;
    (h, n)
}

/// Writes the AH into `buf[..24]` and its ICV, for a packet whose IPv4 header is `header`
/// (20 octets, protocol 51, identification set) and whose VRRP message is `message`.
pub(crate) fn emit_ip_ah(
    buf: &mut [u8],
    header: &[u8],
    message: &[u8],
    key: &[u8; 8],
    sequence: u32,
    zero_ttl: bool,
) {
    let ah = &mut buf[..IP_AH_LEN];
    ah[0] = IPPROTO_VRRP;
    ah[1] = PAYLOAD_LEN_FIELD;
    ah[2] = 0;
    ah[3] = 0;
    ah[4..8].copy_from_slice(&header[12..16]); // SPI: the source address
    ah[8..12].copy_from_slice(&sequence.to_be_bytes());
    ah[12..].fill(0);
    let (h, n) = immutable_header(header, zero_ttl);
    let sum = icv(key, &h[..n], ah, message);
    ah[12..].copy_from_slice(&sum);
}

/// Checks the AH at the start of `payload` (what follows the IPv4 `header`): its length,
/// next header, payload length, SPI (the source address) and ICV, in constant time.
/// Returns the AH fields and the VRRP message after it.
pub(crate) fn check_ip_ah<'a>(
    header: &[u8],
    payload: &'a [u8],
    key: &[u8; 8],
    zero_ttl: bool,
) -> Result<(IpAh, &'a [u8]), DecodeError> {
    if header.len() < IPV4_HEADER_LEN || payload.len() < IP_AH_LEN {
        return Err(DecodeError::IpAhMalformed);
    }
    let (ah, message) = payload.split_at(IP_AH_LEN);
    if ah[0] != IPPROTO_VRRP || ah[1] != PAYLOAD_LEN_FIELD {
        return Err(DecodeError::IpAhMalformed);
    }
    let mut zeroed = [0u8; IP_AH_LEN];
    zeroed[..12].copy_from_slice(&ah[..12]);
    let (h, n) = immutable_header(header, zero_ttl);
    let want = icv(key, &h[..n], &zeroed, message);
    let mut got = [0u8; IP_AH_ICV_LEN];
    got.copy_from_slice(&ah[12..]);
    if !ct_eq(&want, &got) {
        return Err(DecodeError::IpAhIcv);
    }
    let spi = u32::from_be_bytes([ah[4], ah[5], ah[6], ah[7]]);
    if spi.to_be_bytes() != header[12..16] {
        return Err(DecodeError::IpAhSpi);
    }
    let sequence = u32::from_be_bytes([ah[8], ah[9], ah[10], ah[11]]);
    Ok((IpAh { spi, sequence }, message))
}
