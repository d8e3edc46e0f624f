//! The fields of an advert, read the same way from the owned [`Advert`] and from the
//! zero-copy [`ReceivedAdvert`] view.
//!
//! A state machine only reads a handful of fields. Taking `&impl AdvertFields` lets a receive
//! path hand it the view over the datagram it just decoded, instead of first building an owned
//! [`Advert`] (a copy of the fields and addresses, about 20-40 ns per packet).
use core::net::IpAddr;
use core::time::Duration;

use crate::address_list::{addr_at, AddressFamily};
use crate::advert::{Advert, Auth, Version};
use crate::decode::ReceivedAdvert;

/// Read access to one advert's fields, owned or borrowed.
///
/// ```
/// use core::net::{IpAddr, Ipv4Addr};
/// use vrrp_proto::{decode_ipv4, AddressList, Advert, AdvertFields, DecodeOptions};
///
/// // A state machine written once against the trait...
/// fn summary(a: &impl AdvertFields) -> (u8, u8, usize) {
///     (a.vrid(), a.priority(), a.address_count())
/// }
///
/// // ...reads an owned advert...
/// let vip = Ipv4Addr::new(10, 99, 0, 100);
/// let owned = Advert::v3(51, 200, 50, AddressList::from_v4(&[vip]).unwrap());
/// assert_eq!(summary(&owned), (51, 200, 1));
///
/// // ...and the zero-copy view of a received packet alike.
/// let pkt = [
///     0x45, 0xc0, 0x00, 0x20, 0x00, 0x03, 0x00, 0x00, 0xff, 0x70, 0xd0, 0x34, 10, 99, 0, 1,
///     224, 0, 0, 18, 0x31, 0x33, 0xc8, 0x01, 0x00, 0x32, 0x10, 0xdf, 10, 99, 0, 100,
/// ];
/// let view = decode_ipv4(&pkt, &DecodeOptions::default()).unwrap();
/// assert_eq!(summary(&view), (51, 200, 1));
/// assert!(view.contains_address(&IpAddr::V4(vip)));
/// assert_eq!(AdvertFields::adver_interval(&view), owned.adver_interval());
/// ```
pub trait AdvertFields {
    /// Protocol version.
    fn version(&self) -> Version;
    /// Virtual router identifier.
    fn vrid(&self) -> u8;
    /// Sender's priority (0: the Master is leaving; 255: address owner).
    fn priority(&self) -> u8;
    /// The wire interval field: seconds (v2) or centiseconds (v3).
    fn max_adver_int(&self) -> u16;
    /// v2 authentication ([`Auth::None`] for v3).
    fn auth(&self) -> Auth;
    /// Address family of the carried addresses.
    fn family(&self) -> AddressFamily;
    /// The carried addresses as wire octets (4 or 16 per address, back to back).
    fn address_bytes(&self) -> &[u8];

    /// Number of carried addresses.
    #[inline]
    fn address_count(&self) -> usize {
        self.address_bytes().len() / self.family().addr_len()
    }
    /// The address at `index`, in wire order.
    #[inline]
    fn address(&self, index: usize) -> Option<IpAddr> {
        (index < self.address_count()).then(|| addr_at(self.family(), self.address_bytes(), index))
    }
    /// True if `addr` is among the carried addresses (compared as wire octets).
    #[inline]
    fn contains_address(&self, addr: &IpAddr) -> bool {
        let bytes = self.address_bytes();
        match addr {
            IpAddr::V4(a) if self.family() == AddressFamily::Ipv4 => {
                bytes.chunks_exact(4).any(|c| c == a.octets())
            }
            IpAddr::V6(a) if self.family() == AddressFamily::Ipv6 => {
                bytes.chunks_exact(16).any(|c| c == a.octets())
            }
            _ => false,
        }
    }
    /// The advert interval as a duration (seconds for v2, centiseconds for v3).
    #[inline]
    fn adver_interval(&self) -> Duration {
        match self.version() {
            Version::V2 => Duration::from_secs(u64::from(self.max_adver_int())),
            Version::V3 => Duration::from_millis(u64::from(self.max_adver_int()) * 10),
        }
    }
}

impl AdvertFields for Advert {
    #[inline]
    fn version(&self) -> Version {
        self.version
    }
    #[inline]
    fn vrid(&self) -> u8 {
        self.vrid
    }
    #[inline]
    fn priority(&self) -> u8 {
        self.priority
    }
    #[inline]
    fn max_adver_int(&self) -> u16 {
        self.max_adver_int
    }
    #[inline]
    fn auth(&self) -> Auth {
        self.auth
    }
    #[inline]
    fn family(&self) -> AddressFamily {
        self.addresses.family()
    }
    #[inline]
    fn address_bytes(&self) -> &[u8] {
        self.addresses.as_wire_bytes()
    }
    #[inline]
    fn address_count(&self) -> usize {
        self.addresses.len()
    }
}

impl AdvertFields for ReceivedAdvert<'_> {
    #[inline]
    fn version(&self) -> Version {
        ReceivedAdvert::version(self)
    }
    #[inline]
    fn vrid(&self) -> u8 {
        ReceivedAdvert::vrid(self)
    }
    #[inline]
    fn priority(&self) -> u8 {
        ReceivedAdvert::priority(self)
    }
    #[inline]
    fn max_adver_int(&self) -> u16 {
        ReceivedAdvert::max_adver_int(self)
    }
    #[inline]
    fn auth(&self) -> Auth {
        ReceivedAdvert::auth(self)
    }
    #[inline]
    fn family(&self) -> AddressFamily {
        ReceivedAdvert::family(self)
    }
    #[inline]
    fn address_bytes(&self) -> &[u8] {
        ReceivedAdvert::address_bytes(self)
    }
    #[inline]
    fn address_count(&self) -> usize {
        usize::from(self.packet().count())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::address_list::AddressList;
    use core::net::{Ipv4Addr, Ipv6Addr};

    #[test]
    fn owned_lookups_match_the_address_list() {
        let v4 = [Ipv4Addr::new(192, 0, 2, 1), Ipv4Addr::new(192, 0, 2, 2)];
        let a = Advert::v3(7, 100, 100, AddressList::from_v4(&v4).unwrap());
        assert_eq!(AdvertFields::address_count(&a), 2);
        assert_eq!(a.address(1), Some(IpAddr::V4(v4[1])));
        assert_eq!(a.address(2), None);
        assert!(a.contains_address(&IpAddr::V4(v4[0])));
        assert!(!a.contains_address(&IpAddr::V4(Ipv4Addr::new(192, 0, 2, 3))));
        // The other family is never contained, even with matching leading octets.
        assert!(!a.contains_address(&IpAddr::V6(Ipv6Addr::LOCALHOST)));
        let v6 = [Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1)];
        let b = Advert::v3(7, 100, 100, AddressList::from_v6(&v6).unwrap());
        assert!(b.contains_address(&IpAddr::V6(v6[0])));
        assert!(!b.contains_address(&IpAddr::V4(Ipv4Addr::new(32, 1, 13, 184))));
        assert_eq!(AdvertFields::adver_interval(&b), Duration::from_secs(1));
    }
}
