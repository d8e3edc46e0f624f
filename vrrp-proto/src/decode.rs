//! Receiving: validate a packet as RFC 5798 §7.1 / RFC 3768 §7.1 require, without copying.
use core::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::address_list::{AddressFamily, AddressList};
use crate::advert::{Advert, Auth, Version};
use crate::auth_trailer::{ct_eq, AuthTrailer, AUTH_EXT_HMAC_SHA256, AUTH_TRAILER_LEN};
use crate::checksum::{
    self, add_c, octet, ChecksumMode, ChecksumModes, PseudoHeader, PseudoSums, IPPROTO_VRRP,
};
use crate::error::DecodeError;
use crate::ip_ah::{check_ip_ah, IpAh};
use crate::ipv4::{check_ipv4, IPPROTO_AH, VRRP_TTL};
use crate::packet::{field, VrrpPacket};

/// What the receiver accepts. `Default` accepts every checksum mode, checks the TTL, accepts
/// both versions, does not check v2 auth and does not require an `auth_hmac` trailer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DecodeOptions {
    /// Checksum modes accepted for VRRPv3; the result says which one matched.
    pub checksum_modes: ChecksumModes,
    /// Require TTL / hop limit 255. Turn off for unicast peers (keepalived skips the check
    /// in unicast mode).
    pub check_ttl: bool,
    /// Accept only this version (RFC 5798 §7.1: the version the router runs).
    pub version: Option<Version>,
    /// VRRPv2: the configured auth. `Some` checks the type and, for a password, the password
    /// (in constant time). `None` reports what the packet carries without checking.
    pub v2_auth: Option<Auth>,
    /// Reject adverts with no address (RFC 5798 says at least one; keepalived sends none when
    /// no VIP is configured).
    pub require_addresses: bool,
    /// Reject packets without an `auth_hmac` trailer (keepalived's `enforce` mode).
    pub require_auth_trailer: bool,
}

impl Default for DecodeOptions {
    fn default() -> Self {
        DecodeOptions {
            checksum_modes: ChecksumModes::ALL,
            check_ttl: true,
            version: None,
            v2_auth: None,
            require_addresses: false,
            require_auth_trailer: false,
        }
    }
}

impl DecodeOptions {
    /// Options for a unicast peer: as `Default`, but the TTL is not checked.
    #[inline]
    pub fn unicast() -> Self {
        DecodeOptions {
            check_ttl: false,
            ..Self::default()
        }
    }
}

/// A received advert that passed validation, still borrowing the packet.
///
/// This is the codec's zero-copy view of the advert alone; `vip_netlink::InboundAdvertRef`
/// pairs it with what the kernel said about the datagram (interface, arrival time, ...), and
/// `vip_netlink::InboundAdvert` is the owned form of that pair.
///
/// ```
/// use vrrp_proto::{decode_ipv4, ChecksumMode, DecodeOptions};
/// let pkt = [
///     0x45, 0xc0, 0x00, 0x20, 0x00, 0x03, 0x00, 0x00, 0xff, 0x70, 0xd0, 0x34, 10, 99, 0, 1,
///     224, 0, 0, 18, 0x31, 0x33, 0xc8, 0x01, 0x00, 0x32, 0x10, 0xdf, 10, 99, 0, 100,
/// ];
/// let rx = decode_ipv4(&pkt, &DecodeOptions::default()).unwrap();
/// assert_eq!((rx.vrid(), rx.priority(), rx.max_adver_int()), (51, 200, 50));
/// assert_eq!(rx.checksum_mode(), ChecksumMode::Rfc5798PseudoHeader);
/// let advert = rx.to_advert();
/// assert_eq!(advert.addresses.len(), 1);
/// ```
#[derive(Debug, Clone, Copy)]
pub struct ReceivedAdvert<'a> {
    // Kept small and derived on demand: the whole struct is returned by value on every
    // packet, and fewer stores to copy makes decoding measurably cheaper.
    packet: VrrpPacket<&'a [u8]>,
    endpoints: Endpoints<'a>,
    ttl: u8,
    checksum_mode: ChecksumMode,
}

/// Where the IP source and destination are: still in the IPv4 header of the buffer (read on
/// demand), or given by the caller.
#[derive(Debug, Clone, Copy)]
enum Endpoints<'a> {
    /// Octets 12..20 of the IPv4 header.
    Ipv4Header(&'a [u8]),
    V4(Ipv4Addr, Ipv4Addr),
    V6(V6Words, V6Words),
}

/// An IPv6 address as two native 64-bit words: word-aligned in [`Endpoints`] (as octets at
/// offset 1 of the enum, the compiler split each address into loads of 1, 8, 4, 2 and 1
/// octets), and the words the pseudo-header sum adds.
#[derive(Debug, Clone, Copy)]
struct V6Words([u64; 2]);

impl V6Words {
    #[inline(always)]
    fn new(a: Ipv6Addr) -> Self {
        let w = u128::from_ne_bytes(a.octets());
        V6Words([w as u64, (w >> 64) as u64])
    }

    #[inline(always)]
    fn addr(self) -> Ipv6Addr {
        let w = u128::from(self.0[0]) | u128::from(self.0[1]) << 64;
        Ipv6Addr::from(w.to_ne_bytes())
    }

    /// The native-word sum (see `checksum::sum`).
    #[inline(always)]
    fn sum(self) -> u64 {
        add_c(self.0[0], self.0[1])
    }
}

impl From<&PseudoHeader> for Endpoints<'_> {
    #[inline]
    fn from(p: &PseudoHeader) -> Self {
        match (p.src, p.dst) {
            (IpAddr::V4(s), IpAddr::V4(d)) => Endpoints::V4(s, d),
            (IpAddr::V6(s), IpAddr::V6(d)) => Endpoints::V6(V6Words::new(s), V6Words::new(d)),
            // Mixed families cannot pass validation (the checksum covers both); keep the
            // source family and an unspecified destination.
            (IpAddr::V4(s), IpAddr::V6(_)) => Endpoints::V4(s, Ipv4Addr::UNSPECIFIED),
            (IpAddr::V6(s), IpAddr::V4(_)) => {
                Endpoints::V6(V6Words::new(s), V6Words::new(Ipv6Addr::UNSPECIFIED))
            }
        }
    }
}

impl Endpoints<'_> {
    #[inline]
    fn src(&self) -> IpAddr {
        match self {
            Endpoints::Ipv4Header(h) => IpAddr::V4(Ipv4Addr::new(h[0], h[1], h[2], h[3])),
            Endpoints::V4(s, _) => IpAddr::V4(*s),
            Endpoints::V6(s, _) => IpAddr::V6(s.addr()),
        }
    }
    #[inline]
    fn dst(&self) -> IpAddr {
        match self {
            Endpoints::Ipv4Header(h) => IpAddr::V4(Ipv4Addr::new(h[4], h[5], h[6], h[7])),
            Endpoints::V4(_, d) => IpAddr::V4(*d),
            Endpoints::V6(_, d) => IpAddr::V6(d.addr()),
        }
    }
}

impl<'a> ReceivedAdvert<'a> {
    /// The view over the VRRP payload (message and any trailer).
    #[inline]
    pub fn packet(&self) -> &VrrpPacket<&'a [u8]> {
        &self.packet
    }
    /// Version.
    #[inline]
    pub fn version(&self) -> Version {
        if self.packet.version() == 2 {
            Version::V2
        } else {
            Version::V3
        }
    }
    /// VRID.
    #[inline]
    pub fn vrid(&self) -> u8 {
        self.packet.vrid()
    }
    /// Priority.
    #[inline]
    pub fn priority(&self) -> u8 {
        self.packet.priority()
    }
    /// Interval field: seconds (v2) or centiseconds (v3).
    #[inline]
    pub fn max_adver_int(&self) -> u16 {
        self.packet.adver_int()
    }
    /// Address family.
    #[inline]
    pub fn family(&self) -> AddressFamily {
        self.packet.family()
    }
    /// The addresses, read from the packet.
    #[inline]
    pub fn addresses(&self) -> impl Iterator<Item = IpAddr> + 'a {
        let p = self.packet;
        let family = p.family();
        let bytes: &'a [u8] = &p.into_inner()[field::ADDRESSES..];
        (0..usize::from(p.count())).map(move |i| crate::address_list::addr_at(family, bytes, i))
    }
    /// The addresses as wire octets.
    #[inline]
    pub fn address_bytes(&self) -> &'a [u8] {
        let n = usize::from(self.packet.count()) * self.family().addr_len();
        &self.packet.into_inner()[field::ADDRESSES..field::ADDRESSES + n]
    }
    /// v2 auth as received ([`Auth::None`] for v3).
    #[inline]
    pub fn auth(&self) -> Auth {
        if self.packet.version() != 2 {
            return Auth::None;
        }
        match self.packet.v2_auth_type() {
            1 => Auth::SimplePassword(self.packet.v2_auth_data()),
            2 => Auth::IpAh,
            _ => Auth::None,
        }
    }
    /// IP source.
    #[inline]
    pub fn src(&self) -> IpAddr {
        self.endpoints.src()
    }
    /// IP destination.
    #[inline]
    pub fn dst(&self) -> IpAddr {
        self.endpoints.dst()
    }
    /// TTL / hop limit received.
    #[inline]
    pub fn ttl(&self) -> u8 {
        self.ttl
    }
    /// The checksum mode that verified; lets a driver detect a peer's mode.
    #[inline]
    pub fn checksum_mode(&self) -> ChecksumMode {
        self.checksum_mode
    }
    /// The keepalived `auth_hmac` trailer, if the packet has one. Its anti-replay sequence is
    /// for the caller to check (per sender, with [`AuthSequence::is_after`](crate::AuthSequence::is_after)).
    #[inline]
    pub fn auth_trailer(&self) -> Option<AuthTrailer> {
        AuthTrailer::parse(self.packet.trailing())
    }

    /// Verifies the `auth_hmac` trailer with the key that `key_for_id` returns for its key id.
    /// Errors: [`DecodeError::AuthTrailerMissing`], [`DecodeError::AuthTrailerUnknownKey`],
    /// [`DecodeError::AuthTrailerBadHmac`].
    pub fn verify_auth_trailer<'k>(
        &self,
        key_for_id: impl FnOnce(u8) -> Option<&'k [u8]>,
    ) -> Result<AuthTrailer, DecodeError> {
        let t = self.auth_trailer().ok_or(DecodeError::AuthTrailerMissing)?;
        let key = key_for_id(t.key_id).ok_or(DecodeError::AuthTrailerUnknownKey)?;
        if t.verify(key, self.endpoints.src(), self.packet.message()) {
            Ok(t)
        } else {
            Err(DecodeError::AuthTrailerBadHmac)
        }
    }

    /// Copies into the owned [`Advert`]. The addresses are held inline up to
    /// [`INLINE_ADDRESS_OCTETS`](crate::INLINE_ADDRESS_OCTETS), so this allocates nothing for
    /// 64 IPv4 or 16 IPv6 addresses (and, without the `alloc` feature, for any advert).
    #[inline]
    pub fn to_advert(&self) -> Advert {
        // Built in place and filled through `&mut`: one local returned, so no copy of the
        // list's inline room on the way out.
        let mut advert = Advert {
            version: self.version(),
            vrid: 0,
            priority: 0,
            max_adver_int: 0,
            auth: Auth::None,
            addresses: AddressList::new(self.family()),
        };
        self.fill(&mut advert);
        advert
    }

    /// Overwrites `advert` with this advert, reusing its storage (a heap-held address list
    /// keeps its allocation).
    #[inline]
    pub fn copy_into(&self, advert: &mut Advert) {
        self.fill(advert);
    }

    #[inline(always)]
    fn fill(&self, advert: &mut Advert) {
        advert.version = self.version();
        advert.vrid = self.vrid();
        advert.priority = self.priority();
        advert.max_adver_int = self.max_adver_int();
        advert.auth = self.auth();
        advert
            .addresses
            .set_wire(self.family(), self.address_bytes());
    }
}

/// Decodes a whole IPv4 packet, as a raw `IPPROTO_VRRP` socket delivers it: the IPv4 header is
/// checked (version, IHL, total length, no fragment, protocol 112, header checksum, TTL 255
/// unless `opts.check_ttl` is off), then the VRRP message.
#[inline(always)]
pub fn decode_ipv4<'a>(
    packet: &'a [u8],
    opts: &DecodeOptions,
) -> Result<ReceivedAdvert<'a>, DecodeError> {
    let ip = check_ipv4(packet)?;
    match ip.protocol {
        IPPROTO_VRRP => {}
        // keepalived: "Received AH header but auth type not AH".
        IPPROTO_AH => return Err(DecodeError::AuthTypeMismatch),
        _ => return Err(DecodeError::Ipv4Protocol),
    }
    let sums = PseudoSums::v4(&ip.src, &ip.dst);
    let (packet_view, checksum_mode) =
        validate(ip.payload, AddressFamily::Ipv4, &sums, ip.ttl, opts, false)?;
    Ok(ReceivedAdvert {
        packet: packet_view,
        endpoints: Endpoints::Ipv4Header(&packet[12..20]),
        ttl: ip.ttl,
        checksum_mode,
    })
}

/// Decodes a whole IPv4 packet carrying VRRPv2 under an IP Authentication Header (auth type
/// 2, keepalived's `auth_type AH`), as a raw `IPPROTO_AH` socket delivers it: the IPv4
/// header as in [`decode_ipv4`] but protocol 51, then the AH (next header 112, SPI equal to
/// the source address, HMAC-MD5-96 ICV keyed with `key`, see [`crate::IP_AH_LEN`]), then the
/// VRRP message, which must say auth type 2. With `opts.check_ttl` off (unicast) the TTL is
/// left out of the ICV, as keepalived does with unicast peers. The sequence number is
/// returned for the caller's [`IpAhSequence`](crate::IpAhSequence): replay is per instance
/// state, not a property of one packet.
///
/// ```
/// use vrrp_proto::{decode_ipv4_ah, AddressList, Advert, Auth, DecodeOptions, Ipv4Params};
/// let key = *b"secret\0\0";
/// let advert = Advert::v2(51, 200, 1, Auth::IpAh, AddressList::from_v4(&[[10, 0, 0, 100].into()]).unwrap());
/// let mut ip = Ipv4Params::multicast([10, 0, 0, 1].into());
/// ip.identification = 1;
/// let mut buf = [0u8; 128];
/// let n = advert.encode_ipv4_ah(&mut buf, &ip, &key, 7, false).unwrap();
/// let (rx, ah) = decode_ipv4_ah(&buf[..n], &key, &DecodeOptions::default()).unwrap();
/// assert_eq!((rx.to_advert(), ah.sequence), (advert, 7));
/// assert!(decode_ipv4_ah(&buf[..n], b"Secret\0\0", &DecodeOptions::default()).is_err());
/// ```
pub fn decode_ipv4_ah<'a>(
    packet: &'a [u8],
    key: &[u8; 8],
    opts: &DecodeOptions,
) -> Result<(ReceivedAdvert<'a>, IpAh), DecodeError> {
    let ip = check_ipv4(packet)?;
    match ip.protocol {
        IPPROTO_AH => {}
        // keepalived: "No AH header but auth type is AH".
        IPPROTO_VRRP => return Err(DecodeError::AuthTypeMismatch),
        _ => return Err(DecodeError::Ipv4Protocol),
    }
    let (ah, message) = check_ip_ah(ip.header, ip.payload, key, !opts.check_ttl)?;
    let sums = PseudoSums::v4(&ip.src, &ip.dst);
    let opts = DecodeOptions {
        version: Some(Version::V2),
        v2_auth: Some(Auth::IpAh),
        ..*opts
    };
    let (packet_view, checksum_mode) =
        validate(message, AddressFamily::Ipv4, &sums, ip.ttl, &opts, true)?;
    Ok((
        ReceivedAdvert {
            packet: packet_view,
            endpoints: Endpoints::Ipv4Header(&packet[12..20]),
            ttl: ip.ttl,
            checksum_mode,
        },
        ah,
    ))
}

/// Decodes a VRRP payload received on a raw IPv6 socket, with the source, destination and hop
/// limit from the ancillary data (`IPV6_RECVPKTINFO`, `IPV6_RECVHOPLIMIT`).
#[inline(always)]
pub fn decode_ipv6<'a>(
    payload: &'a [u8],
    src: Ipv6Addr,
    dst: Ipv6Addr,
    hop_limit: u8,
    opts: &DecodeOptions,
) -> Result<ReceivedAdvert<'a>, DecodeError> {
    let (src, dst) = (V6Words::new(src), V6Words::new(dst));
    let sums = PseudoSums::v6_sums(src.sum(), dst.sum());
    let (packet, checksum_mode) =
        validate(payload, AddressFamily::Ipv6, &sums, hop_limit, opts, false)?;
    Ok(ReceivedAdvert {
        packet,
        endpoints: Endpoints::V6(src, dst),
        ttl: hop_limit,
        checksum_mode,
    })
}

/// Decodes an IPv4 VRRP payload whose IP header was already taken off (e.g. by the kernel).
#[inline]
pub fn decode_ipv4_payload<'a>(
    payload: &'a [u8],
    src: Ipv4Addr,
    dst: Ipv4Addr,
    ttl: u8,
    opts: &DecodeOptions,
) -> Result<ReceivedAdvert<'a>, DecodeError> {
    decode_payload(payload, &PseudoHeader::v4(src, dst), ttl, opts)
}

/// Decodes a VRRP payload (message plus optional 28-octet `auth_hmac` trailer) of the family
/// of `pseudo`. The checks run in this order, each with its own error: TTL, length of the fixed
/// header, version, type, length against count, checksum, VRID, interval, address count, v2
/// auth, trailer.
#[inline(always)]
pub fn decode_payload<'a>(
    payload: &'a [u8],
    pseudo: &PseudoHeader,
    ttl: u8,
    opts: &DecodeOptions,
) -> Result<ReceivedAdvert<'a>, DecodeError> {
    let family = AddressFamily::of(&pseudo.src);
    let (packet, checksum_mode) =
        validate(payload, family, &PseudoSums::of(pseudo), ttl, opts, false)?;
    Ok(ReceivedAdvert {
        packet,
        endpoints: Endpoints::from(pseudo),
        ttl,
        checksum_mode,
    })
}

/// The checks shared by every entry point. `ip_ah`: the message came under an AH that
/// verified (only then is v2 auth type 2 acceptable).
#[inline(always)]
fn validate<'a>(
    payload: &'a [u8],
    family: AddressFamily,
    sums: &PseudoSums,
    ttl: u8,
    opts: &DecodeOptions,
    ip_ah: bool,
) -> Result<(VrrpPacket<&'a [u8]>, ChecksumMode), DecodeError> {
    if opts.check_ttl && ttl != VRRP_TTL {
        return Err(DecodeError::IpTtl { ttl });
    }
    let Some(hdr) = payload.first_chunk::<{ field::HEADER_LEN }>() else {
        return Err(DecodeError::Truncated);
    };
    // The fixed header read once, as one native word for the checksum; the fields are taken
    // from that word.
    let h = u64::from_ne_bytes(*hdr);
    // Version and type in one compare of the octet; anything else is named below. Each
    // version then runs its own straight-line copy of the checks.
    match octet(h, 0) {
        0x31 => validate_version::<true>(payload, h, family, sums, opts, ip_ah),
        0x21 if family == AddressFamily::Ipv4 => {
            validate_version::<false>(payload, h, family, sums, opts, ip_ah)
        }
        ver_type => Err(version_type_error(ver_type, family, opts)),
    }
}

/// [`validate`] after the version/type octet: `V3` for 0x31, else 0x21 (VRRPv2).
#[inline(always)]
fn validate_version<'a, const V3: bool>(
    payload: &'a [u8],
    h: u64,
    family: AddressFamily,
    sums: &PseudoSums,
    opts: &DecodeOptions,
    ip_ah: bool,
) -> Result<(VrrpPacket<&'a [u8]>, ChecksumMode), DecodeError> {
    let version = if V3 { Version::V3 } else { Version::V2 };
    if opts.version.is_some_and(|v| v != version) {
        return Err(DecodeError::Version {
            version: octet(h, 0) >> 4,
        });
    }
    let count = octet(h, 3);
    let auth_len = if V3 { 0 } else { field::V2_AUTH_DATA_LEN };
    let msg_len = field::HEADER_LEN + usize::from(count) * family.addr_len() + auth_len;
    let Some(trailing) = payload.len().checked_sub(msg_len) else {
        return Err(DecodeError::Truncated);
    };
    if trailing != 0 && trailing != AUTH_TRAILER_LEN {
        return Err(DecodeError::TrailingBytes);
    }
    // IPv4: the message; IPv6: the whole payload (see `VrrpPacket::checksum_span`).
    let span_len = match family {
        AddressFamily::Ipv4 => msg_len,
        AddressFamily::Ipv6 => payload.len(),
    };
    let rest = &payload[field::HEADER_LEN..span_len];
    // Native-word sums (see `checksum::sum`): no byte swap per word.
    let msg = add_c(h, checksum::sum_short(rest));
    let checksum_mode = if V3 {
        // Straight-line tries in ChecksumMode::ALL order; the pseudo-header base is shared.
        let modes = opts.checksum_modes;
        let base = add_c(add_c(msg, sums.src), checksum::pseudo_len_proto(span_len));
        if modes.contains(ChecksumMode::Rfc5798PseudoHeader)
            && checksum::verifies(add_c(base, sums.dst))
        {
            Some(ChecksumMode::Rfc5798PseudoHeader)
        } else if modes.contains(ChecksumMode::NoPseudoHeader) && checksum::verifies(msg) {
            Some(ChecksumMode::NoPseudoHeader)
        } else if modes.contains(ChecksumMode::LegacyUnicastMcastDst)
            && checksum::verifies(add_c(base, sums.mcast))
        {
            Some(ChecksumMode::LegacyUnicastMcastDst)
        } else {
            None
        }
    } else {
        checksum::verifies(msg).then_some(ChecksumMode::NoPseudoHeader)
    }
    .ok_or(DecodeError::Checksum)?;
    if octet(h, 1) == 0 {
        return Err(DecodeError::InvalidVrid);
    }
    // v2: octet 5; v3: the low 12 bits of octets 4-5. Masked in the native word.
    let interval_mask = if V3 {
        u64::from_ne_bytes([0, 0, 0, 0, 0x0f, 0xff, 0, 0])
    } else {
        u64::from_ne_bytes([0, 0, 0, 0, 0, 0xff, 0, 0])
    };
    if h & interval_mask == 0 {
        return Err(DecodeError::InvalidInterval);
    }
    if opts.require_addresses && count == 0 {
        return Err(DecodeError::EmptyAddressList);
    }
    if !V3 {
        // The 8 auth octets end the message (in bounds: checked against msg_len above).
        let data = payload
            .get(msg_len - field::V2_AUTH_DATA_LEN..)
            .and_then(|d| d.first_chunk::<{ field::V2_AUTH_DATA_LEN }>())
            .ok_or(DecodeError::Truncated)?;
        check_v2_auth(octet(h, 4), data, opts.v2_auth, ip_ah)?;
    }
    if trailing == AUTH_TRAILER_LEN {
        // Ext type known and reserved octets zero (keepalived's "malformed" test).
        let t = &payload[msg_len..];
        if t[0] != AUTH_EXT_HMAC_SHA256 || t[2] != 0 || t[3] != 0 {
            return Err(DecodeError::AuthTrailerMalformed);
        }
    } else if opts.require_auth_trailer {
        return Err(DecodeError::AuthTrailerMissing);
    }
    Ok((VrrpPacket::new_unchecked(payload, family), checksum_mode))
}

/// The error for a version/type octet other than 0x31 (v3 advert) or 0x21 (v2 advert over
/// IPv4), in the order of the checks: version, v2 over IPv6, the version asked for, type.
#[cold]
fn version_type_error(ver_type: u8, family: AddressFamily, opts: &DecodeOptions) -> DecodeError {
    let version = match ver_type >> 4 {
        2 if family == AddressFamily::Ipv6 => return DecodeError::V2OverIpv6,
        2 => Version::V2,
        3 => Version::V3,
        v => return DecodeError::Version { version: v },
    };
    if opts.version.is_some_and(|v| v != version) {
        return DecodeError::Version {
            version: ver_type >> 4,
        };
    }
    DecodeError::InvalidType {
        msg_type: ver_type & 0x0f,
    }
}

/// VRRPv2 auth: `auth_type` is octet 4, `data` the 8 auth octets after the addresses (read
/// only to compare a password).
#[inline]
fn check_v2_auth(
    auth_type: u8,
    data: &[u8; 8],
    expected: Option<Auth>,
    ip_ah: bool,
) -> Result<(), DecodeError> {
    let is_ah = match auth_type {
        0 | 1 => false,
        2 => true,
        t => return Err(DecodeError::InvalidAuthType { auth_type: t }),
    };
    // Type 2 means nothing without the AH that carried it, and an AH carries type 2 only.
    if is_ah != ip_ah {
        return Err(DecodeError::AuthTypeMismatch);
    }
    match (expected, auth_type) {
        (None, _) | (Some(Auth::IpAh), 2) | (Some(Auth::None), 0) => Ok(()),
        (Some(Auth::SimplePassword(want)), 1) => {
            if ct_eq(&want, data) {
                Ok(())
            } else {
                Err(DecodeError::AuthFailure)
            }
        }
        (Some(_), _) => Err(DecodeError::AuthTypeMismatch),
    }
}

impl Advert {
    /// Validates the message in `packet` (sent from `pseudo.src` to `pseudo.dst` with TTL
    /// `ttl`) and copies it out, with the checksum mode that matched. The address family is
    /// the family of `pseudo`.
    #[inline]
    pub fn parse<T: AsRef<[u8]>>(
        packet: &VrrpPacket<T>,
        pseudo: &PseudoHeader,
        ttl: u8,
        opts: &DecodeOptions,
    ) -> Result<(Advert, ChecksumMode), DecodeError> {
        let rx = decode_payload(packet.as_bytes(), pseudo, ttl, opts)?;
        Ok((rx.to_advert(), rx.checksum_mode()))
    }
}
