//! The Internet checksum (RFC 1071), VRRP's checksum modes and the incremental update (RFC 1624).
use core::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// The VRRP protocol number, used in the IPv4 header and in the pseudo-header.
pub const IPPROTO_VRRP: u8 = 112;

/// The VRRP IPv4 multicast group, 224.0.0.18.
pub const VRRP_MCAST_V4: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 18);

/// The VRRP IPv6 multicast group, ff02::12.
pub const VRRP_MCAST_V6: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 0x12);

/// How a VRRPv3 checksum is computed. VRRPv2 always uses the message alone (RFC 3768 §5.3.8),
/// whatever mode is asked for, and reports [`ChecksumMode::NoPseudoHeader`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ChecksumMode {
    /// RFC 5798 §5.2.8: pseudo-header (source, destination, protocol 112, VRRP length) plus
    /// the message. keepalived's and FRR's default (`checksum-with-ipv4-pseudoheader true`).
    Rfc5798PseudoHeader,
    /// The message alone, like VRRPv2. RFC 9568 for IPv4, Cisco and Juniper; keepalived's
    /// `v3_checksum_as_v2`, FRR's `no checksum-with-ipv4-pseudoheader`.
    NoPseudoHeader,
    /// keepalived ≤ 1.3.6 unicast: the pseudo-header carries the VRRP multicast group
    /// (224.0.0.18 or ff02::12) as destination whatever the real destination
    /// (`old_unicast_checksum`).
    LegacyUnicastMcastDst,
}

impl ChecksumMode {
    /// Every mode, in the order the decoder tries them.
    pub const ALL: [ChecksumMode; 3] = [
        ChecksumMode::Rfc5798PseudoHeader,
        ChecksumMode::NoPseudoHeader,
        ChecksumMode::LegacyUnicastMcastDst,
    ];

    const fn bit(self) -> u8 {
        match self {
            ChecksumMode::Rfc5798PseudoHeader => 1,
            ChecksumMode::NoPseudoHeader => 2,
            ChecksumMode::LegacyUnicastMcastDst => 4,
        }
    }

    /// A short snake_case name (`rfc5798_pseudo_header`, ...), for logs and JSON.
    pub const fn name(self) -> &'static str {
        match self {
            ChecksumMode::Rfc5798PseudoHeader => "rfc5798_pseudo_header",
            ChecksumMode::NoPseudoHeader => "no_pseudo_header",
            ChecksumMode::LegacyUnicastMcastDst => "legacy_unicast_mcast_dst",
        }
    }
}

/// A set of [`ChecksumMode`]s the decoder accepts.
///
/// ```
/// use vrrp_proto::{ChecksumMode, ChecksumModes};
/// let strict = ChecksumModes::only(ChecksumMode::Rfc5798PseudoHeader);
/// assert!(strict.contains(ChecksumMode::Rfc5798PseudoHeader));
/// assert!(!strict.contains(ChecksumMode::NoPseudoHeader));
/// assert!(ChecksumModes::ALL.contains(ChecksumMode::LegacyUnicastMcastDst));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ChecksumModes(u8);

impl ChecksumModes {
    /// No mode: every VRRPv3 packet fails its checksum check.
    pub const NONE: ChecksumModes = ChecksumModes(0);
    /// All three modes (auto-detection of the peer's mode).
    pub const ALL: ChecksumModes = ChecksumModes(7);

    /// The set holding only `mode`.
    pub const fn only(mode: ChecksumMode) -> Self {
        ChecksumModes(mode.bit())
    }

    /// This set plus `mode`.
    pub const fn with(self, mode: ChecksumMode) -> Self {
        ChecksumModes(self.0 | mode.bit())
    }

    /// This set without `mode`.
    pub const fn without(self, mode: ChecksumMode) -> Self {
        ChecksumModes(self.0 & !mode.bit())
    }

    /// True if `mode` is accepted.
    pub const fn contains(self, mode: ChecksumMode) -> bool {
        self.0 & mode.bit() != 0
    }
}

impl Default for ChecksumModes {
    /// [`ChecksumModes::ALL`].
    fn default() -> Self {
        ChecksumModes::ALL
    }
}

impl From<ChecksumMode> for ChecksumModes {
    fn from(mode: ChecksumMode) -> Self {
        ChecksumModes::only(mode)
    }
}

/// The IP source and destination a VRRP message travels with; the VRRPv3 checksum covers them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PseudoHeader {
    /// IP source address.
    pub src: IpAddr,
    /// IP destination address (224.0.0.18 / ff02::12, or a unicast peer).
    pub dst: IpAddr,
}

impl PseudoHeader {
    /// IPv4 source and destination.
    pub const fn v4(src: Ipv4Addr, dst: Ipv4Addr) -> Self {
        PseudoHeader {
            src: IpAddr::V4(src),
            dst: IpAddr::V4(dst),
        }
    }

    /// IPv6 source and destination.
    pub const fn v6(src: Ipv6Addr, dst: Ipv6Addr) -> Self {
        PseudoHeader {
            src: IpAddr::V6(src),
            dst: IpAddr::V6(dst),
        }
    }

    /// The unfolded sum, in the native-word domain of [`sum`], of the pseudo-header for a VRRP
    /// payload of `len` octets under `mode` (0 for [`ChecksumMode::NoPseudoHeader`]).
    #[inline]
    pub(crate) fn sum(&self, len: usize, mode: ChecksumMode) -> u64 {
        PseudoSums::of(self).sum(len, mode)
    }
}

// The sums below are kept in the *native-word domain*: the data is read as native-endian
// 64-, 32- and 16-bit words (no byte swap per word) and added with end-around carry. RFC 1071
// §2(B): the one's-complement sum is independent of byte order; on a little-endian machine
// the native sum is congruent to 256 × the big-endian sum modulo 0xffff (a byte at an even
// offset weighs 1, at an odd offset 256; big-endian the other way round), and 256 is a unit
// modulo 0xffff. So "the sum verifies" (a non-zero multiple of 0xffff) reads the same in
// both domains, and a checksum computed natively and stored with `to_ne_bytes` is the very
// same octets as one computed big-endian and stored with `to_be_bytes`. Every word must start
// at an even offset of the covered data (they all do: the data is read from its start).

/// One's-complement addition of 64-bit words: add, then add the carry back in (`adc 0`).
/// Congruent to the plain sum modulo 2^64 - 1 (so modulo 0xffff), and never 0 unless both
/// are 0.
#[inline(always)]
pub(crate) const fn add_c(a: u64, b: u64) -> u64 {
    let (s, c) = a.overflowing_add(b);
    s + c as u64
}

/// A 16-bit one's-complement sum folded in the native-word domain, as the big-endian value
/// that goes on the wire (`to_be_bytes`).
#[inline(always)]
pub(crate) const fn ne_to_be16(x: u16) -> u16 {
    u16::from_be_bytes(x.to_ne_bytes())
}

/// Octet `i` (0..8, in memory order) of a native word read with `u64::from_ne_bytes`. Fields
/// are taken from a word with shifts rather than by splitting it into an array: split, the
/// compiler rebuilds the word from narrow loads.
#[inline(always)]
pub(crate) const fn octet(w: u64, i: u32) -> u8 {
    if cfg!(target_endian = "little") {
        (w >> (8 * i)) as u8
    } else {
        (w >> (56 - 8 * i)) as u8
    }
}

/// The native-word sum of 16 octets (an IPv6 address).
#[inline(always)]
pub(crate) const fn sum16(b: &[u8; 16]) -> u64 {
    let w = u128::from_ne_bytes(*b);
    add_c(w as u64, (w >> 64) as u64)
}

/// The native-word sum of 4 octets (an IPv4 address).
#[inline(always)]
pub(crate) const fn sum4(b: &[u8; 4]) -> u64 {
    u32::from_ne_bytes(*b) as u64
}

#[inline(always)]
fn addr_sum(a: &IpAddr) -> u64 {
    match a {
        IpAddr::V4(a) => sum4(&a.octets()),
        IpAddr::V6(a) => sum16(&a.octets()),
    }
}

const MCAST_V4_SUM: u64 = sum4(&VRRP_MCAST_V4.octets());
const MCAST_V6_SUM: u64 = sum16(&VRRP_MCAST_V6.octets());

/// Pre-summed pseudo-header addresses (native-word domain), so verification never builds
/// `IpAddr`s on the hot path.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PseudoSums {
    pub src: u64,
    pub dst: u64,
    /// The VRRP multicast group of the family (for [`ChecksumMode::LegacyUnicastMcastDst`]).
    pub mcast: u64,
}

impl PseudoSums {
    #[inline]
    pub(crate) fn of(ph: &PseudoHeader) -> Self {
        let mcast = match ph.src {
            IpAddr::V4(_) => MCAST_V4_SUM,
            IpAddr::V6(_) => MCAST_V6_SUM,
        };
        PseudoSums {
            src: addr_sum(&ph.src),
            dst: addr_sum(&ph.dst),
            mcast,
        }
    }

    /// From the octets of IPv4 source and destination.
    #[inline(always)]
    pub(crate) fn v4(src: &[u8; 4], dst: &[u8; 4]) -> Self {
        PseudoSums {
            src: sum4(src),
            dst: sum4(dst),
            mcast: MCAST_V4_SUM,
        }
    }

    /// From the native-word sums of IPv6 source and destination.
    #[inline(always)]
    pub(crate) fn v6_sums(src: u64, dst: u64) -> Self {
        PseudoSums {
            src,
            dst,
            mcast: MCAST_V6_SUM,
        }
    }

    /// The pseudo-header sum for `len` octets under `mode`.
    #[inline]
    pub(crate) fn sum(&self, len: usize, mode: ChecksumMode) -> u64 {
        let dst = match mode {
            ChecksumMode::NoPseudoHeader => return 0,
            ChecksumMode::Rfc5798PseudoHeader => self.dst,
            ChecksumMode::LegacyUnicastMcastDst => self.mcast,
        };
        add_c(add_c(self.src, dst), pseudo_len_proto(len))
    }
}

/// Protocol 112 and the VRRP length of the pseudo-header, in the native-word domain. (On a
/// little-endian machine × 256 as a rotate: exact modulo 2^64 - 1 whatever the length.)
#[inline(always)]
pub(crate) fn pseudo_len_proto(len: usize) -> u64 {
    let x = u64::from(IPPROTO_VRRP).wrapping_add(len as u64);
    if cfg!(target_endian = "little") {
        x.rotate_left(8)
    } else {
        x
    }
}

/// The unfolded one's-complement sum of `data` in the native-word domain (see above): 64-bit
/// native words added with end-around carry, in two 128-bit accumulators (one `add` and one
/// `adc` per word, two independent chains), then a 4-, 2- and 1-octet tail (an odd last octet
/// is padded with zero).
#[inline]
pub(crate) fn sum(data: &[u8]) -> u64 {
    let (mut a, mut b) = (0u128, 0u128);
    let mut chunks = data.chunks_exact(16);
    for c in &mut chunks {
        let w = u128::from_ne_bytes(c.try_into().unwrap_or([0; 16]));
        a += u128::from(w as u64);
        b += u128::from((w >> 64) as u64);
    }
    let mut rest = chunks.remainder();
    if let Some((c, r)) = rest.split_first_chunk::<8>() {
        a += u128::from(u64::from_ne_bytes(*c));
        rest = r;
    }
    if let Some((c, r)) = rest.split_first_chunk::<4>() {
        b += u128::from(u32::from_ne_bytes(*c));
        rest = r;
    }
    if let Some((c, r)) = rest.split_first_chunk::<2>() {
        a += u128::from(u16::from_ne_bytes(*c));
        rest = r;
    }
    if let Some(&last) = rest.first() {
        b += u128::from(u16::from_ne_bytes([last, 0]));
    }
    let s = a + b;
    add_c(s as u64, (s >> 64) as u64)
}

/// Folds a 64-bit sum to 16 bits with end-around carry. Adding a word to itself rotated by
/// half its width leaves in the upper half the one's-complement sum of the two halves (the
/// carry out of the lower half is the end-around carry): two rotate-and-add steps.
#[inline]
pub(crate) fn fold(acc: u64) -> u16 {
    let x = (acc.wrapping_add(acc.rotate_right(32)) >> 32) as u32;
    (x.wrapping_add(x.rotate_right(16)) >> 16) as u16
}

/// The inverse of 0xffff modulo 2^64, by Newton's iteration from 0xffff (its own inverse
/// modulo 2^16; each step doubles the bits that are right).
const INV_FFFF: u64 = {
    let mut x: u64 = 0xffff;
    let mut i = 0;
    while i < 6 {
        x = x.wrapping_mul(2u64.wrapping_sub(0xffff_u64.wrapping_mul(x)));
        i += 1;
    }
    x
};
const _: () = assert!(INV_FFFF.wrapping_mul(0xffff) == 1);

/// True when an unfolded sum over data that holds its own checksum verifies, i.e. when
/// `fold(acc) == 0xffff`. Folding keeps the value modulo 0xffff and never turns a non-zero
/// sum into 0, so this is `acc ≡ 0 (mod 0xffff)` with `acc != 0`. Multiplying by the inverse
/// of 0xffff maps the multiples of 0xffff, 0·0xffff..=(2^64-1)/0xffff·0xffff, one to one
/// onto 0..=(2^64-1)/0xffff and everything else above: so one multiply, a decrement and a
/// compare (no fold, no division).
#[inline(always)]
pub(crate) fn verifies(acc: u64) -> bool {
    acc.wrapping_mul(INV_FFFF).wrapping_sub(1) < u64::MAX / 0xffff
}

/// Copies the last 0..=3 octets of a run (`dst.len() == src.len()`) and returns their sum.
#[cold]
#[inline(never)]
fn copy_sum_tail3(dst: &mut [u8], src: &[u8]) -> u64 {
    for (d, s) in dst.iter_mut().zip(src) {
        *d = *s;
    }
    sum_tail3(src)
}

/// The native-word sum of the last 0..=3 octets of a run that started at an even offset.
#[cold]
#[inline(never)]
fn sum_tail3(rest: &[u8]) -> u64 {
    match *rest {
        [a, b, c, ..] => {
            u64::from(u16::from_ne_bytes([a, b])) + u64::from(u16::from_ne_bytes([c, 0]))
        }
        [a, b] => u64::from(u16::from_ne_bytes([a, b])),
        [a] => u64::from(u16::from_ne_bytes([a, 0])),
        [] => 0,
    }
}

/// Copies `src` into `dst` (same length, a multiple of 4: address lists) and returns the
/// native-word sum of the octets, in one pass over 16-octet words: each word is loaded once,
/// stored and added. (Summing after a `memcpy` reads octets behind a run of stores, which can
/// stall on buffers 4 KiB apart; summing before it reads everything twice.)
#[inline(always)]
pub(crate) fn copy_sum_x4(dst: &mut [u8], src: &[u8]) -> u64 {
    let n = src.len().min(dst.len());
    let (dst, src) = (&mut dst[..n], &src[..n]);
    let (mut a, mut b) = (0u128, 0u128);
    let mut d_chunks = dst.chunks_exact_mut(16);
    let mut s_chunks = src.chunks_exact(16);
    for (d, s) in (&mut d_chunks).zip(&mut s_chunks) {
        let w = u128::from_ne_bytes(s.try_into().unwrap_or([0; 16]));
        d.copy_from_slice(&w.to_ne_bytes());
        a += u128::from(w as u64);
        b += u128::from((w >> 64) as u64);
    }
    // The last 0..=15 octets: 8 and 4 by the bits of their length (the same for both).
    let (d, s) = (d_chunks.into_remainder(), s_chunks.remainder());
    let (d8, d) = d.split_at_mut(d.len() & 8);
    let (s8, s) = s.split_at(s.len() & 8);
    if let (Ok(dc), Ok(sc)) = (<&mut [u8; 8]>::try_from(d8), <&[u8; 8]>::try_from(s8)) {
        *dc = *sc;
        a += u128::from(u64::from_ne_bytes(*sc));
    }
    let (d4, d) = d.split_at_mut(d.len() & 4);
    let (s4, s) = s.split_at(s.len() & 4);
    if let (Ok(dc), Ok(sc)) = (<&mut [u8; 4]>::try_from(d4), <&[u8; 4]>::try_from(s4)) {
        *dc = *sc;
        b += u128::from(u32::from_ne_bytes(*sc));
    }
    let sum = a + b;
    let sum = add_c(sum as u64, (sum >> 64) as u64);
    if n % 4 == 0 {
        return sum;
    }
    add_c(sum, copy_sum_tail3(d, s))
}

/// The native-word sum of a short run of octets: one IPv4 address (4), one IPv4 address and
/// VRRPv2's auth data (12) or one IPv6 address (16) as fixed words, anything else through
/// [`sum`].
#[inline(always)]
pub(crate) fn sum_short(data: &[u8]) -> u64 {
    if let Ok(c) = <&[u8; 16]>::try_from(data) {
        sum16(c)
    } else if let Ok(c) = <&[u8; 4]>::try_from(data) {
        sum4(c)
    } else if let Ok(&[a0, a1, a2, a3, ref w @ ..]) = <&[u8; 12]>::try_from(data) {
        add_c(sum4(&[a0, a1, a2, a3]), u64::from_ne_bytes(*w))
    } else {
        sum(data)
    }
}

/// The Internet checksum (RFC 1071) of `data`: the one's complement of the one's-complement
/// sum. Over data that already holds a correct checksum field it returns 0.
///
/// ```
/// // The IPv4 header of a keepalived VRRPv3 advert (checksum field included) checks to 0.
/// let hdr = [0x45, 0xc0, 0x00, 0x20, 0x00, 0x03, 0x00, 0x00, 0xff, 0x70, 0xd0, 0x34,
///            0x0a, 0x63, 0x00, 0x01, 0xe0, 0x00, 0x00, 0x12];
/// assert_eq!(vrrp_proto::checksum(&hdr), 0);
/// ```
#[inline]
pub fn checksum(data: &[u8]) -> u16 {
    !ne_to_be16(fold(sum(data)))
}

/// RFC 1624 eqn. 3: the new checksum after one 16-bit word of the covered data changes from
/// `old_word` to `new_word`: `HC' = ~(~HC + ~m + m')`.
///
/// ```
/// let mut data = [0x31, 0x33, 0x64, 0x01, 0x00, 0x64, 0x00, 0x00];
/// let c = vrrp_proto::checksum(&data);
/// data[2] = 0xfe; // priority 100 -> 254
/// let updated = vrrp_proto::checksum_update_u16(c, 0x6401, 0xfe01);
/// assert_eq!(updated, vrrp_proto::checksum(&data));
/// ```
pub fn checksum_update_u16(checksum: u16, old_word: u16, new_word: u16) -> u16 {
    let acc = u64::from(!checksum) + u64::from(!old_word) + u64::from(new_word);
    !fold(acc)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reference(data: &[u8]) -> u16 {
        let mut acc = 0u32;
        for c in data.chunks(2) {
            let w = if c.len() == 2 {
                u16::from_be_bytes([c[0], c[1]])
            } else {
                u16::from(c[0]) << 8
            };
            acc += u32::from(w);
            acc = (acc & 0xffff) + (acc >> 16);
        }
        !(acc as u16)
    }

    #[test]
    fn wide_sum_matches_word_by_word_reference() {
        let mut data = [0u8; 67];
        for (i, b) in data.iter_mut().enumerate() {
            *b = (i as u8).wrapping_mul(151).wrapping_add(7);
        }
        for len in 0..data.len() {
            assert_eq!(checksum(&data[..len]), reference(&data[..len]), "len {len}");
            assert_eq!(fold(sum_short(&data[..len])), fold(sum(&data[..len])));
            let mut copy = [0u8; 67];
            let s = copy_sum_x4(&mut copy[..len], &data[..len]);
            assert_eq!(fold(s), fold(sum(&data[..len])), "len {len}");
            assert_eq!(copy[..len], data[..len]);
        }
        let ones = [0xffu8; 64];
        assert_eq!(checksum(&ones), reference(&ones));
    }

    fn fold_reference(mut acc: u64) -> u16 {
        acc = (acc & 0xffff_ffff) + (acc >> 32);
        acc = (acc & 0xffff_ffff) + (acc >> 32);
        acc = (acc & 0xffff) + (acc >> 16);
        acc = (acc & 0xffff) + (acc >> 16);
        acc as u16
    }

    #[test]
    fn fold_matches_step_by_step_reference() {
        let mut x = 0x2545_f491_4f6c_dd1du64;
        let edges = [
            0,
            1,
            0xffff,
            0x1_0000,
            0xffff_ffff,
            0x1_0000_0000,
            0xffff_0001,
            0x8000_8000_8000_8000,
            u64::MAX,
            u64::MAX - 1,
        ];
        for acc in edges.into_iter().chain((0..100_000).map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x >> (x % 64)
        })) {
            assert_eq!(fold(acc), fold_reference(acc), "{acc:#x}");
        }
    }

    #[test]
    fn verifies_is_fold_to_all_ones() {
        let samples = [
            0u64,
            1,
            0xfffe,
            0xffff,
            0x1_fffe,
            0x2_fffe,
            0xffff_ffff,
            u64::MAX,
        ];
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        for acc in samples.into_iter().chain((0..10_000).map(|_| {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            x >> (x % 48)
        })) {
            assert_eq!(verifies(acc), fold(acc) == 0xffff, "{acc:#x}");
        }
        for k in 1..5000u64 {
            assert!(verifies(k * 0xffff));
            assert!(!verifies(k * 0xffff + 1));
        }
    }

    #[test]
    fn pseudo_header_sum_matches_explicit_bytes() {
        let ph = PseudoHeader::v6(
            "fe80::99:ff:fe00:1".parse().unwrap(),
            "ff02::12".parse().unwrap(),
        );
        let mut bytes = [0u8; 40];
        if let (IpAddr::V6(s), IpAddr::V6(d)) = (ph.src, ph.dst) {
            bytes[..16].copy_from_slice(&s.octets());
            bytes[16..32].copy_from_slice(&d.octets());
        }
        bytes[32..36].copy_from_slice(&24u32.to_be_bytes());
        bytes[39] = 112;
        assert_eq!(
            fold(ph.sum(24, ChecksumMode::Rfc5798PseudoHeader)),
            fold(sum(&bytes))
        );
        let legacy = PseudoHeader::v4(Ipv4Addr::new(10, 0, 0, 1), Ipv4Addr::new(10, 0, 0, 2));
        assert_eq!(
            legacy.sum(12, ChecksumMode::LegacyUnicastMcastDst),
            PseudoHeader::v4(Ipv4Addr::new(10, 0, 0, 1), VRRP_MCAST_V4)
                .sum(12, ChecksumMode::Rfc5798PseudoHeader)
        );
        assert_eq!(legacy.sum(12, ChecksumMode::NoPseudoHeader), 0);
    }
}
