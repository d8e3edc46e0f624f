//! Receiving: validate a packet as RFC 5798 §7.1 / RFC 3768 §7.1 require, without copying.
use core::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::address_list::{AddressFamily, AddressList};
use crate::advert::{Advert, Auth, Version};
use crate::auth_trailer::{ct_eq, AuthTrailer, AUTH_TRAILER_LEN};
use crate::checksum::{ChecksumMode, ChecksumModes, PseudoHeader, IPPROTO_VRRP};
use crate::error::DecodeError;
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
    pub fn unicast() -> Self {
        DecodeOptions {
            check_ttl: false,
            ..Self::default()
        }
    }
}

/// A received advert that passed validation, still borrowing the packet.
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
    packet: VrrpPacket<&'a [u8]>,
    version: Version,
    auth: Auth,
    pseudo: PseudoHeader,
    ttl: u8,
    checksum_mode: ChecksumMode,
    trailer: Option<AuthTrailer>,
}

impl<'a> ReceivedAdvert<'a> {
    /// The view over the VRRP payload (message and any trailer).
    pub fn packet(&self) -> &VrrpPacket<&'a [u8]> {
        &self.packet
    }
    /// Version.
    pub fn version(&self) -> Version {
        self.version
    }
    /// VRID.
    pub fn vrid(&self) -> u8 {
        self.packet.vrid()
    }
    /// Priority.
    pub fn priority(&self) -> u8 {
        self.packet.priority()
    }
    /// Interval field: seconds (v2) or centiseconds (v3).
    pub fn max_adver_int(&self) -> u16 {
        self.packet.adver_int()
    }
    /// Address family.
    pub fn family(&self) -> AddressFamily {
        self.packet.family()
    }
    /// The addresses, read from the packet.
    pub fn addresses(&self) -> impl Iterator<Item = IpAddr> + 'a {
        let p = self.packet;
        let family = p.family();
        let bytes: &'a [u8] = &p.into_inner()[field::ADDRESSES..];
        (0..usize::from(p.count())).map(move |i| crate::address_list::addr_at(family, bytes, i))
    }
    /// The addresses as wire octets.
    pub fn address_bytes(&self) -> &'a [u8] {
        let n = usize::from(self.packet.count()) * self.family().addr_len();
        &self.packet.into_inner()[field::ADDRESSES..field::ADDRESSES + n]
    }
    /// v2 auth as received ([`Auth::None`] for v3).
    pub fn auth(&self) -> Auth {
        self.auth
    }
    /// IP source.
    pub fn src(&self) -> IpAddr {
        self.pseudo.src
    }
    /// IP destination.
    pub fn dst(&self) -> IpAddr {
        self.pseudo.dst
    }
    /// TTL / hop limit received.
    pub fn ttl(&self) -> u8 {
        self.ttl
    }
    /// The checksum mode that verified; lets a driver detect a peer's mode.
    pub fn checksum_mode(&self) -> ChecksumMode {
        self.checksum_mode
    }
    /// The keepalived `auth_hmac` trailer, if the packet has one. Its anti-replay sequence is
    /// for the caller to check (per sender, with [`AuthSequence::is_after`](crate::AuthSequence::is_after)).
    pub fn auth_trailer(&self) -> Option<AuthTrailer> {
        self.trailer
    }

    /// Verifies the `auth_hmac` trailer with the key that `key_for_id` returns for its key id.
    /// Errors: [`DecodeError::AuthTrailerMissing`], [`DecodeError::AuthTrailerUnknownKey`],
    /// [`DecodeError::AuthTrailerBadHmac`].
    pub fn verify_auth_trailer<'k>(
        &self,
        key_for_id: impl FnOnce(u8) -> Option<&'k [u8]>,
    ) -> Result<AuthTrailer, DecodeError> {
        let t = self.trailer.ok_or(DecodeError::AuthTrailerMissing)?;
        let key = key_for_id(t.key_id).ok_or(DecodeError::AuthTrailerUnknownKey)?;
        if t.verify(key, self.pseudo.src, self.packet.message()) {
            Ok(t)
        } else {
            Err(DecodeError::AuthTrailerBadHmac)
        }
    }

    /// Copies into the owned [`Advert`].
    pub fn to_advert(&self) -> Advert {
        let family = self.family();
        let count = usize::from(self.packet.count());
        // The length check already passed, so the octets are exactly `count` addresses.
        let addresses = AddressList::from_wire(family, count, self.address_bytes())
            .unwrap_or_else(|_| AddressList::new(family));
        Advert {
            version: self.version,
            vrid: self.vrid(),
            priority: self.priority(),
            max_adver_int: self.max_adver_int(),
            auth: self.auth,
            addresses,
        }
    }
}

/// Decodes a whole IPv4 packet, as a raw `IPPROTO_VRRP` socket delivers it: the IPv4 header is
/// checked (version, IHL, total length, no fragment, protocol 112, header checksum, TTL 255
/// unless `opts.check_ttl` is off), then the VRRP message.
pub fn decode_ipv4<'a>(
    packet: &'a [u8],
    opts: &DecodeOptions,
) -> Result<ReceivedAdvert<'a>, DecodeError> {
    let ip = check_ipv4(packet)?;
    match ip.protocol {
        IPPROTO_VRRP => {}
        IPPROTO_AH => return Err(DecodeError::AuthIpAhUnsupported),
        _ => return Err(DecodeError::Ipv4Protocol),
    }
    let payload = &packet[ip.header_len..ip.total_len];
    decode_payload(payload, &PseudoHeader::v4(ip.src, ip.dst), ip.ttl, opts)
}

/// Decodes a VRRP payload received on a raw IPv6 socket, with the source, destination and hop
/// limit from the ancillary data (`IPV6_RECVPKTINFO`, `IPV6_RECVHOPLIMIT`).
pub fn decode_ipv6<'a>(
    payload: &'a [u8],
    src: Ipv6Addr,
    dst: Ipv6Addr,
    hop_limit: u8,
    opts: &DecodeOptions,
) -> Result<ReceivedAdvert<'a>, DecodeError> {
    decode_payload(payload, &PseudoHeader::v6(src, dst), hop_limit, opts)
}

/// Decodes an IPv4 VRRP payload whose IP header was already taken off (e.g. by the kernel).
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
pub fn decode_payload<'a>(
    payload: &'a [u8],
    pseudo: &PseudoHeader,
    ttl: u8,
    opts: &DecodeOptions,
) -> Result<ReceivedAdvert<'a>, DecodeError> {
    if opts.check_ttl && ttl != VRRP_TTL {
        return Err(DecodeError::IpTtl { ttl });
    }
    if payload.len() < field::HEADER_LEN {
        return Err(DecodeError::Truncated);
    }
    let family = AddressFamily::of(&pseudo.src);
    let packet = VrrpPacket::new_unchecked(payload, family);
    let version = match packet.version() {
        2 if family == AddressFamily::Ipv6 => return Err(DecodeError::V2OverIpv6),
        2 => Version::V2,
        3 => Version::V3,
        v => return Err(DecodeError::Version { version: v }),
    };
    if opts.version.is_some_and(|v| v != version) {
        return Err(DecodeError::Version {
            version: packet.version(),
        });
    }
    if packet.msg_type() != 1 {
        return Err(DecodeError::InvalidType {
            msg_type: packet.msg_type(),
        });
    }
    let msg_len = packet.message_len();
    if payload.len() < msg_len {
        return Err(DecodeError::Truncated);
    }
    let trailing = payload.len() - msg_len;
    if trailing != 0 && trailing != AUTH_TRAILER_LEN {
        return Err(DecodeError::TrailingBytes);
    }
    let checksum_mode = packet
        .verify_checksum(pseudo, opts.checksum_modes)
        .ok_or(DecodeError::Checksum)?;
    if packet.vrid() == 0 {
        return Err(DecodeError::InvalidVrid);
    }
    if packet.adver_int() == 0 {
        return Err(DecodeError::InvalidInterval);
    }
    if opts.require_addresses && packet.count() == 0 {
        return Err(DecodeError::EmptyAddressList);
    }
    let auth = match version {
        Version::V3 => Auth::None,
        Version::V2 => check_v2_auth(&packet, opts.v2_auth)?,
    };
    let trailer = if trailing == AUTH_TRAILER_LEN {
        let t = AuthTrailer::parse(&payload[msg_len..]).ok_or(DecodeError::TrailingBytes)?;
        if !t.is_well_formed() {
            return Err(DecodeError::AuthTrailerMalformed);
        }
        Some(t)
    } else {
        if opts.require_auth_trailer {
            return Err(DecodeError::AuthTrailerMissing);
        }
        None
    };
    Ok(ReceivedAdvert {
        packet,
        version,
        auth,
        pseudo: *pseudo,
        ttl,
        checksum_mode,
        trailer,
    })
}

fn check_v2_auth(packet: &VrrpPacket<&[u8]>, expected: Option<Auth>) -> Result<Auth, DecodeError> {
    let auth = match packet.v2_auth_type() {
        0 => Auth::None,
        1 => Auth::SimplePassword(packet.v2_auth_data()),
        2 => Auth::IpAh,
        t => return Err(DecodeError::InvalidAuthType { auth_type: t }),
    };
    match (expected, auth) {
        (_, Auth::IpAh) => Err(DecodeError::AuthIpAhUnsupported),
        (None, a) => Ok(a),
        (Some(Auth::None), Auth::None) => Ok(auth),
        (Some(Auth::SimplePassword(want)), Auth::SimplePassword(got)) => {
            if ct_eq(&want, &got) {
                Ok(auth)
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
