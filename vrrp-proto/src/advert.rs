//! The owned representation of one VRRP advertisement (smoltcp's `Repr`).
use core::time::Duration;

use crate::address_list::AddressList;

/// VRRP protocol version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Version {
    /// VRRPv2, RFC 3768: IPv4 only, advert interval in whole seconds, auth field.
    V2,
    /// VRRPv3, RFC 5798 / RFC 9568: IPv4 and IPv6, 12-bit interval in centiseconds.
    V3,
}

/// VRRPv2 authentication (RFC 3768 §5.3.6). Always [`Auth::None`] for VRRPv3.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Auth {
    /// Auth type 0.
    None,
    /// Auth type 1: simple text password, 8 octets, zero padded.
    SimplePassword([u8; 8]),
    /// Auth type 2: the message travels under an IP Authentication Header (HMAC-MD5-96, see
    /// [`Advert::encode_ipv4_ah`] and [`decode_ipv4_ah`](crate::decode_ipv4_ah)); its own 8
    /// auth octets are zero. The key is the AH layer's, not part of the message.
    IpAh,
}

/// One VRRP advertisement, decoded and validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Advert {
    /// Protocol version.
    pub version: Version,
    /// Virtual router identifier, 1..=255.
    pub vrid: u8,
    /// Sender's priority; 0 = the Master is leaving, 255 = address owner.
    pub priority: u8,
    /// The wire interval field: whole seconds for v2 (8 bits), centiseconds for v3 (12 bits).
    pub max_adver_int: u16,
    /// v2 authentication; [`Auth::None`] for v3.
    pub auth: Auth,
    /// The virtual addresses carried.
    pub addresses: AddressList,
}

impl Advert {
    /// The advert interval as a duration (seconds for v2, centiseconds for v3).
    pub fn adver_interval(&self) -> Duration {
        match self.version {
            Version::V2 => Duration::from_secs(u64::from(self.max_adver_int)),
            Version::V3 => Duration::from_millis(u64::from(self.max_adver_int) * 10),
        }
    }

    /// A VRRPv3 advert; `max_adver_int` is in centiseconds (1..=4095 on the wire).
    ///
    /// ```
    /// use core::net::Ipv4Addr;
    /// use vrrp_proto::{AddressList, Advert, Version};
    ///
    /// let vips = AddressList::from_v4(&[Ipv4Addr::new(192, 0, 2, 10)]).unwrap();
    /// let advert = Advert::v3(51, 200, 100, vips);
    /// assert_eq!(advert.version, Version::V3);
    /// assert_eq!(advert.adver_interval(), core::time::Duration::from_secs(1));
    /// ```
    pub fn v3(vrid: u8, priority: u8, max_adver_int: u16, addresses: AddressList) -> Self {
        Advert {
            version: Version::V3,
            vrid,
            priority,
            max_adver_int,
            auth: Auth::None,
            addresses,
        }
    }

    /// A VRRPv2 advert; `adver_int` is in whole seconds (1..=255 on the wire).
    pub fn v2(vrid: u8, priority: u8, adver_int: u8, auth: Auth, addresses: AddressList) -> Self {
        Advert {
            version: Version::V2,
            vrid,
            priority,
            max_adver_int: u16::from(adver_int),
            auth,
            addresses,
        }
    }
}
