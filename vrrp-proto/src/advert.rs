//! The owned representation of one VRRP advertisement (smoltcp's `Repr`).
use core::net::IpAddr;
use core::time::Duration;

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
    /// Auth type 2: IP Authentication Header (recognised, not supported).
    IpAh,
}

/// The addresses of an advert: all IPv4 or all IPv6, at most 255, held without allocation.
#[derive(Clone, PartialEq, Eq)]
pub struct AddressList {
    // internal representation: owned by the vrrp-proto implementation
}

impl AddressList {
    /// Number of addresses.
    pub fn len(&self) -> usize {
        todo!()
    }
    /// True when there are no addresses.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// The addresses in wire order.
    pub fn iter(&self) -> impl Iterator<Item = IpAddr> + '_ {
        core::iter::empty()
    }
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
}

impl core::fmt::Debug for AddressList {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}
