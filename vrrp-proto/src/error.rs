//! Error types of the codec.
use core::fmt;

/// Why an address could not be added to an [`AddressList`](crate::AddressList).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AddressListError {
    /// The list already holds 255 addresses (the advert's count field is one octet).
    Full,
    /// The address is IPv4 and the list IPv6, or the other way round.
    FamilyMismatch,
    /// Wire octets were not a whole number of addresses matching the count.
    WrongLength,
}

impl fmt::Display for AddressListError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            AddressListError::Full => "address list full: at most 255 addresses per advert",
            AddressListError::FamilyMismatch => "address family differs from the list's family",
            AddressListError::WrongLength => "address octets do not match the address count",
        })
    }
}

impl core::error::Error for AddressListError {}

/// Why a received packet was rejected. One variant per failed check; each maps to exactly one
/// statistics counter ([`DecodeError::counter`]), which [`Counters::record`](crate::Counters::record)
/// increments.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DecodeError {
    /// Fewer octets than an IPv4 header, or than the header's IHL / total length say.
    Ipv4Truncated,
    /// IPv4 version field is not 4.
    Ipv4Version,
    /// IPv4 IHL below 5 (20 octets).
    Ipv4HeaderLength,
    /// IPv4 total length disagrees with the octets received (RFC 5798 §7.1 length check).
    Ipv4TotalLength,
    /// IPv4 protocol is neither 112 (VRRP) nor 51 (AH).
    Ipv4Protocol,
    /// IPv4 header checksum is wrong.
    Ipv4HeaderChecksum,
    /// The packet is an IPv4 fragment; VRRP adverts are never fragmented.
    Ipv4Fragment,
    /// TTL / hop limit is not 255 (RFC 5798 §7.1; skipped for unicast by option).
    IpTtl {
        /// The TTL or hop limit received.
        ttl: u8,
    },
    /// VRRP message shorter than its fixed header, or than its count of addresses requires.
    Truncated,
    /// Octets after the message that are neither nothing nor a 28-octet auth trailer.
    TrailingBytes,
    /// Version field is not 2 or 3, or not the version the receiver runs.
    Version {
        /// The version field received.
        version: u8,
    },
    /// A VRRPv2 message over IPv6 (VRRPv2 is IPv4 only).
    V2OverIpv6,
    /// Type field is not 1 (ADVERTISEMENT).
    InvalidType {
        /// The type field received.
        msg_type: u8,
    },
    /// VRRP checksum wrong under every accepted [`ChecksumMode`](crate::ChecksumMode).
    Checksum,
    /// VRID 0 (valid VRIDs are 1..=255).
    InvalidVrid,
    /// Advert interval 0 (v2: 1..=255 s; v3: 1..=4095 cs).
    InvalidInterval,
    /// Count of addresses is 0 and the receiver requires at least one (RFC 5798 minimum).
    EmptyAddressList,
    /// VRRPv2 auth type other than 0, 1 or 2.
    InvalidAuthType {
        /// The auth type received.
        auth_type: u8,
    },
    /// VRRPv2 auth type differs from the receiver's configured type.
    AuthTypeMismatch,
    /// VRRPv2 simple password differs from the configured one.
    AuthFailure,
    /// The receiver requires a keepalived `auth_hmac` trailer and there is none.
    AuthTrailerMissing,
    /// `auth_hmac` trailer with an unknown ext type or non-zero reserved field.
    AuthTrailerMalformed,
    /// `auth_hmac` trailer names a key id the receiver does not have.
    AuthTrailerUnknownKey,
    /// `auth_hmac` trailer HMAC does not verify.
    AuthTrailerBadHmac,
    /// IP AH (auth type 2) too short, or with a next header other than VRRP or a payload
    /// length other than keepalived's 24-octet AH.
    IpAhMalformed,
    /// IP AH whose HMAC-MD5-96 ICV does not verify: another key, or a changed packet.
    IpAhIcv,
    /// IP AH whose SPI is not the packet's source address.
    IpAhSpi,
    /// IP AH sequence number not above the last one seen (see `IpAhSequence`).
    IpAhReplay,
}

impl DecodeError {
    /// Every variant, for tables and tests.
    pub const ALL: [DecodeError; 28] = [
        DecodeError::Ipv4Truncated,
        DecodeError::Ipv4Version,
        DecodeError::Ipv4HeaderLength,
        DecodeError::Ipv4TotalLength,
        DecodeError::Ipv4Protocol,
        DecodeError::Ipv4HeaderChecksum,
        DecodeError::Ipv4Fragment,
        DecodeError::IpTtl { ttl: 0 },
        DecodeError::Truncated,
        DecodeError::TrailingBytes,
        DecodeError::Version { version: 0 },
        DecodeError::V2OverIpv6,
        DecodeError::InvalidType { msg_type: 0 },
        DecodeError::Checksum,
        DecodeError::InvalidVrid,
        DecodeError::InvalidInterval,
        DecodeError::EmptyAddressList,
        DecodeError::InvalidAuthType { auth_type: 0 },
        DecodeError::AuthTypeMismatch,
        DecodeError::AuthFailure,
        DecodeError::AuthTrailerMissing,
        DecodeError::AuthTrailerMalformed,
        DecodeError::AuthTrailerUnknownKey,
        DecodeError::AuthTrailerBadHmac,
        DecodeError::IpAhMalformed,
        DecodeError::IpAhIcv,
        DecodeError::IpAhSpi,
        DecodeError::IpAhReplay,
    ];

    /// The variant's name in snake_case (`ip_ttl`, `checksum`, ...), as the `decode` example prints it.
    pub const fn name(&self) -> &'static str {
        match self {
            DecodeError::Ipv4Truncated => "ipv4_truncated",
            DecodeError::Ipv4Version => "ipv4_version",
            DecodeError::Ipv4HeaderLength => "ipv4_header_length",
            DecodeError::Ipv4TotalLength => "ipv4_total_length",
            DecodeError::Ipv4Protocol => "ipv4_protocol",
            DecodeError::Ipv4HeaderChecksum => "ipv4_header_checksum",
            DecodeError::Ipv4Fragment => "ipv4_fragment",
            DecodeError::IpTtl { .. } => "ip_ttl",
            DecodeError::Truncated => "truncated",
            DecodeError::TrailingBytes => "trailing_bytes",
            DecodeError::Version { .. } => "version",
            DecodeError::V2OverIpv6 => "v2_over_ipv6",
            DecodeError::InvalidType { .. } => "invalid_type",
            DecodeError::Checksum => "checksum",
            DecodeError::InvalidVrid => "invalid_vrid",
            DecodeError::InvalidInterval => "invalid_interval",
            DecodeError::EmptyAddressList => "empty_address_list",
            DecodeError::InvalidAuthType { .. } => "invalid_auth_type",
            DecodeError::AuthTypeMismatch => "auth_type_mismatch",
            DecodeError::AuthFailure => "auth_failure",
            DecodeError::AuthTrailerMissing => "auth_trailer_missing",
            DecodeError::AuthTrailerMalformed => "auth_trailer_malformed",
            DecodeError::AuthTrailerUnknownKey => "auth_trailer_unknown_key",
            DecodeError::AuthTrailerBadHmac => "auth_trailer_bad_hmac",
            DecodeError::IpAhMalformed => "ip_ah_malformed",
            DecodeError::IpAhIcv => "ip_ah_icv",
            DecodeError::IpAhSpi => "ip_ah_spi",
            DecodeError::IpAhReplay => "ip_ah_replay",
        }
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecodeError::Ipv4Truncated => f.write_str("IPv4 packet truncated"),
            DecodeError::Ipv4Version => f.write_str("IPv4 header version is not 4"),
            DecodeError::Ipv4HeaderLength => f.write_str("IPv4 header length below 20 octets"),
            DecodeError::Ipv4TotalLength => {
                f.write_str("IPv4 total length disagrees with the received length")
            }
            DecodeError::Ipv4Protocol => f.write_str("IPv4 protocol is not VRRP (112)"),
            DecodeError::Ipv4HeaderChecksum => f.write_str("IPv4 header checksum is wrong"),
            DecodeError::Ipv4Fragment => {
                f.write_str("IPv4 fragment (adverts are never fragmented)")
            }
            DecodeError::IpTtl { ttl } => write!(f, "TTL/hop limit {ttl}, expected 255"),
            DecodeError::Truncated => {
                f.write_str("VRRP message shorter than its address count requires")
            }
            DecodeError::TrailingBytes => {
                f.write_str("unexpected octets after the VRRP message (not an auth trailer)")
            }
            DecodeError::Version { version } => write!(f, "VRRP version {version} not accepted"),
            DecodeError::V2OverIpv6 => f.write_str("VRRPv2 message over IPv6"),
            DecodeError::InvalidType { msg_type } => {
                write!(f, "VRRP type {msg_type}, expected 1 (advertisement)")
            }
            DecodeError::Checksum => f.write_str("VRRP checksum wrong under every accepted mode"),
            DecodeError::InvalidVrid => f.write_str("VRID 0 is not valid"),
            DecodeError::InvalidInterval => f.write_str("advert interval 0 is not valid"),
            DecodeError::EmptyAddressList => f.write_str("advert carries no address"),
            DecodeError::InvalidAuthType { auth_type } => {
                write!(f, "unknown VRRPv2 auth type {auth_type}")
            }
            DecodeError::AuthTypeMismatch => f.write_str("VRRPv2 auth type differs from ours"),
            DecodeError::AuthFailure => f.write_str("VRRPv2 password mismatch"),
            DecodeError::AuthTrailerMissing => f.write_str("auth_hmac trailer required but absent"),
            DecodeError::AuthTrailerMalformed => f.write_str("malformed auth_hmac trailer"),
            DecodeError::AuthTrailerUnknownKey => {
                f.write_str("auth_hmac trailer names an unknown key id")
            }
            DecodeError::AuthTrailerBadHmac => {
                f.write_str("auth_hmac trailer HMAC does not verify")
            }
            DecodeError::IpAhMalformed => f.write_str("malformed IP Authentication Header"),
            DecodeError::IpAhIcv => f.write_str("IP AH ICV (HMAC-MD5-96) does not verify"),
            DecodeError::IpAhSpi => f.write_str("IP AH SPI is not the source address"),
            DecodeError::IpAhReplay => f.write_str("IP AH sequence number already seen"),
        }
    }
}

impl core::error::Error for DecodeError {}

/// Why an [`Advert`](crate::Advert) could not be written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum EncodeError {
    /// The caller's buffer is too small; `needed` octets are required.
    BufferTooSmall {
        /// Octets needed.
        needed: usize,
    },
    /// VRID 0.
    InvalidVrid,
    /// Interval 0, or above 255 (v2, seconds) / 4095 (v3, centiseconds).
    IntervalOutOfRange,
    /// VRRPv2 with IPv6 addresses or an IPv6 pseudo-header.
    V2WithIpv6,
    /// VRRPv3 with an auth other than [`Auth::None`](crate::Auth::None).
    AuthOnV3,
    /// [`Auth::IpAh`](crate::Auth::IpAh) needs its AH: [`Advert::encode_ipv4_ah`](crate::Advert::encode_ipv4_ah)
    /// writes it, the other encoders refuse.
    IpAhNeedsHeader,
    /// An AH packet with IPv4 identification 0: the kernel would replace it after the ICV.
    IpAhNeedsIdentification,
    /// The addresses' family differs from the source/destination family.
    FamilyMismatch,
}

impl fmt::Display for EncodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EncodeError::BufferTooSmall { needed } => {
                write!(f, "buffer too small: {needed} octets needed")
            }
            EncodeError::InvalidVrid => f.write_str("VRID 0 is not valid"),
            EncodeError::IntervalOutOfRange => {
                f.write_str("advert interval out of range (v2 1..=255 s, v3 1..=4095 cs)")
            }
            EncodeError::V2WithIpv6 => f.write_str("VRRPv2 is IPv4 only"),
            EncodeError::AuthOnV3 => f.write_str("VRRPv3 has no authentication field"),
            EncodeError::IpAhNeedsIdentification => {
                f.write_str("an IP AH advert needs a non-zero IPv4 identification")
            }
            EncodeError::IpAhNeedsHeader => {
                f.write_str("auth type 2 (IP AH) adverts are written by encode_ipv4_ah")
            }
            EncodeError::FamilyMismatch => {
                f.write_str("address family differs from the IP source/destination family")
            }
        }
    }
}

impl core::error::Error for EncodeError {}
