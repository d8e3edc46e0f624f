//! VRRPv2 (RFC 3768) and VRRPv3 (RFC 5798 / RFC 9568) advertisement codec.
//!
//! `no_std`, `forbid(unsafe_code)`, zero-copy, no allocation to parse or emit. The shape is
//! smoltcp's: a view over a buffer ([`VrrpPacket`]) and an owned representation ([`Advert`]).
//!
//! * Receive: [`decode_ipv4`] takes a whole IPv4 packet (raw socket); [`decode_ipv6`] takes a
//!   bare VRRP payload with source, destination and hop limit. Both validate per RFC 5798 §7.1 /
//!   RFC 3768 §7.1 and return a [`ReceivedAdvert`] borrowing the buffer, which says which
//!   [`ChecksumMode`] matched. Each failure is its own [`DecodeError`] variant, mapped onto the
//!   RFC 6527 counters of [`Counters`].
//! * Send: [`Advert::encode_ipv4`] (with an `IP_HDRINCL` header) and [`Advert::encode_payload`].
//! * Checksum modes for VRRPv3 over IPv4 (RFC 5798, RFC 9568 / `v3_checksum_as_v2`, keepalived's
//!   old unicast form), incremental update on a priority change ([`VrrpPacket::update_priority`]).
//! * keepalived's `auth_hmac` trailer ([`AuthTrailer`]): parse, emit, sign and verify.
//! * VRRPv2 auth type 2, keepalived's `auth_type AH`: [`Advert::encode_ipv4_ah`],
//!   [`decode_ipv4_ah`] and the anti-replay counter [`IpAhSequence`].
//!
//! ```
//! use vrrp_proto::{decode_ipv4, AddressList, Advert, ChecksumMode, DecodeOptions, Ipv4Params};
//!
//! let advert = Advert::v3(51, 200, 100, AddressList::from_v4(&[[192, 0, 2, 10].into()]).unwrap());
//! let mut buf = [0u8; 64];
//! let ip = Ipv4Params::multicast([192, 0, 2, 1].into());
//! let n = advert.encode_ipv4(&mut buf, &ip, ChecksumMode::Rfc5798PseudoHeader, None).unwrap();
//!
//! let rx = decode_ipv4(&buf[..n], &DecodeOptions::default()).unwrap();
//! assert_eq!(rx.to_advert(), advert);
//! assert_eq!(rx.checksum_mode(), ChecksumMode::Rfc5798PseudoHeader);
//! ```
#![no_std]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

#[cfg(feature = "alloc")]
extern crate alloc;

mod address_list;
mod advert;
mod advert_fields;
mod auth_trailer;
mod checksum;
mod counters;
mod decode;
mod encode;
mod error;
#[doc(hidden)]
pub mod fuzzing;
mod ip_ah;
mod ipv4;
mod packet;
mod virtual_address;

pub use address_list::{AddressFamily, AddressList, INLINE_ADDRESS_OCTETS, MAX_ADDRESSES};
pub use advert::{Advert, Auth, Version};
pub use advert_fields::AdvertFields;
pub use auth_trailer::{
    AuthSequence, AuthTrailer, AuthTrailerSigner, AUTH_EXT_HMAC_SHA256, AUTH_HMAC_LEN,
    AUTH_TRAILER_LEN,
};
pub use checksum::{
    checksum, checksum_update_u16, ChecksumMode, ChecksumModes, PseudoHeader, IPPROTO_VRRP,
    VRRP_MCAST_V4, VRRP_MCAST_V6,
};
pub use counters::{Counter, Counters, NewMasterReason, ProtoErrReason};
pub use decode::{
    decode_ipv4, decode_ipv4_ah, decode_ipv4_payload, decode_ipv6, decode_payload, DecodeOptions,
    ReceivedAdvert,
};
pub use error::{AddressListError, DecodeError, EncodeError};
pub use ip_ah::{IpAh, IpAhSequence, IP_AH_ICV_LEN, IP_AH_LEN};
pub use ipv4::{Ipv4Params, IPPROTO_AH, IPV4_HEADER_LEN, TOS_INTERNETWORK_CONTROL, VRRP_TTL};
pub use packet::{field, VrrpPacket, V3_MAX_ADVER_INT_MAX};
pub use virtual_address::VirtualAddress;

/// The README's examples, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
