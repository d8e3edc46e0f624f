//! The fixed-capacity list of virtual addresses carried by an advert.
use core::hash::{Hash, Hasher};
use core::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::error::AddressListError;

/// Address family of a VRRP virtual router (and of every address in its adverts).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AddressFamily {
    /// IPv4: 4-octet addresses.
    Ipv4,
    /// IPv6: 16-octet addresses (VRRPv3 only).
    Ipv6,
}

impl AddressFamily {
    /// Octets per address: 4 or 16.
    pub const fn addr_len(self) -> usize {
        match self {
            AddressFamily::Ipv4 => 4,
            AddressFamily::Ipv6 => 16,
        }
    }

    /// The family of `addr`.
    pub const fn of(addr: &IpAddr) -> Self {
        match addr {
            IpAddr::V4(_) => AddressFamily::Ipv4,
            IpAddr::V6(_) => AddressFamily::Ipv6,
        }
    }

    /// The longest prefix of the family, that of a host address: 32 or 128.
    ///
    /// ```
    /// use vrrp_proto::AddressFamily;
    /// assert_eq!(AddressFamily::Ipv4.max_prefix_len(), 32);
    /// assert_eq!(AddressFamily::Ipv6.max_prefix_len(), 128);
    /// ```
    pub const fn max_prefix_len(self) -> u8 {
        match self {
            AddressFamily::Ipv4 => 32,
            AddressFamily::Ipv6 => 128,
        }
    }
}

/// Largest number of addresses one advert can carry (the count field is one octet).
pub const MAX_ADDRESSES: usize = 255;

const STORAGE: usize = MAX_ADDRESSES * 16;

/// The addresses of an advert: all IPv4 or all IPv6, at most 255, held without allocation.
///
/// The addresses are stored in wire format (network byte order), so encoding is a copy.
///
/// ```
/// use core::net::IpAddr;
/// use vrrp_proto::{AddressFamily, AddressList};
///
/// let mut list = AddressList::new_v4();
/// list.push("192.0.2.10".parse::<IpAddr>().unwrap()).unwrap();
/// assert_eq!(list.len(), 1);
/// assert_eq!(list.family(), AddressFamily::Ipv4);
/// // Mixing families is refused, not silently accepted.
/// assert!(list.push("2001:db8::1".parse::<IpAddr>().unwrap()).is_err());
/// ```
#[derive(Clone)]
pub struct AddressList {
    family: AddressFamily,
    len: u8,
    // Wire-format octets; only the first `len * family.addr_len()` are meaningful.
    octets: [u8; STORAGE],
}

impl AddressList {
    /// An empty list for `family`.
    pub const fn new(family: AddressFamily) -> Self {
        AddressList {
            family,
            len: 0,
            octets: [0; STORAGE],
        }
    }

    /// An empty IPv4 list.
    pub const fn new_v4() -> Self {
        Self::new(AddressFamily::Ipv4)
    }

    /// An empty IPv6 list.
    pub const fn new_v6() -> Self {
        Self::new(AddressFamily::Ipv6)
    }

    /// A list holding `addrs` in order. The family is taken from the first address; an empty
    /// slice gives an empty IPv4 list.
    pub fn from_slice(addrs: &[IpAddr]) -> Result<Self, AddressListError> {
        let family = addrs
            .first()
            .map(AddressFamily::of)
            .unwrap_or(AddressFamily::Ipv4);
        let mut list = Self::new(family);
        for a in addrs {
            list.push(*a)?;
        }
        Ok(list)
    }

    /// A list of IPv4 addresses.
    pub fn from_v4(addrs: &[Ipv4Addr]) -> Result<Self, AddressListError> {
        let mut list = Self::new_v4();
        for a in addrs {
            list.push(IpAddr::V4(*a))?;
        }
        Ok(list)
    }

    /// A list of IPv6 addresses.
    pub fn from_v6(addrs: &[Ipv6Addr]) -> Result<Self, AddressListError> {
        let mut list = Self::new_v6();
        for a in addrs {
            list.push(IpAddr::V6(*a))?;
        }
        Ok(list)
    }

    /// A list from wire-format octets (`count` addresses of `family`, back to back).
    ///
    /// Fails with [`AddressListError::Full`] if `count` is above 255 and with
    /// [`AddressListError::WrongLength`] if `octets` is not exactly `count` addresses long.
    pub fn from_wire(
        family: AddressFamily,
        count: usize,
        octets: &[u8],
    ) -> Result<Self, AddressListError> {
        if count > MAX_ADDRESSES {
            return Err(AddressListError::Full);
        }
        if octets.len() != count * family.addr_len() {
            return Err(AddressListError::WrongLength);
        }
        let mut list = Self::new(family);
        list.set_wire(family, octets);
        Ok(list)
    }

    /// Replaces the contents with `octets` (whole addresses of `family`, at most 255; the
    /// caller checked). Octets past the new length keep stale data: nothing reads them.
    #[inline]
    pub(crate) fn set_wire(&mut self, family: AddressFamily, octets: &[u8]) {
        let n = octets.len().min(STORAGE);
        self.family = family;
        self.octets[..n].copy_from_slice(&octets[..n]);
        self.len = (n / family.addr_len()) as u8;
    }

    /// Appends `addr`. Fails if the list is full (255) or `addr` is of the other family.
    pub fn push(&mut self, addr: IpAddr) -> Result<(), AddressListError> {
        if AddressFamily::of(&addr) != self.family {
            return Err(AddressListError::FamilyMismatch);
        }
        if usize::from(self.len) >= MAX_ADDRESSES {
            return Err(AddressListError::Full);
        }
        let w = self.family.addr_len();
        let at = usize::from(self.len) * w;
        match addr {
            IpAddr::V4(a) => self.octets[at..at + w].copy_from_slice(&a.octets()),
            IpAddr::V6(a) => self.octets[at..at + w].copy_from_slice(&a.octets()),
        }
        self.len += 1;
        Ok(())
    }

    /// Removes every address (the family is kept).
    pub fn clear(&mut self) {
        self.len = 0;
    }

    /// The address family.
    #[inline]
    pub const fn family(&self) -> AddressFamily {
        self.family
    }

    /// Number of addresses.
    #[inline]
    pub fn len(&self) -> usize {
        usize::from(self.len)
    }

    /// True when there are no addresses.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The address at `index`, in wire order.
    #[inline]
    pub fn get(&self, index: usize) -> Option<IpAddr> {
        if index >= self.len() {
            return None;
        }
        Some(addr_at(self.family, &self.octets, index))
    }

    /// True if `addr` is in the list.
    pub fn contains(&self, addr: &IpAddr) -> bool {
        self.iter().any(|a| a == *addr)
    }

    /// The addresses in wire order.
    #[inline]
    pub fn iter(&self) -> impl Iterator<Item = IpAddr> + '_ {
        (0..self.len()).map(move |i| addr_at(self.family, &self.octets, i))
    }

    /// Octets the addresses take on the wire (`len * 4` or `len * 16`).
    #[inline]
    pub fn wire_len(&self) -> usize {
        self.len() * self.family.addr_len()
    }

    /// The addresses as wire-format octets.
    #[inline]
    pub fn as_wire_bytes(&self) -> &[u8] {
        &self.octets[..self.wire_len()]
    }
}

/// Reads address `index` of `family` from wire octets (caller checked the bounds).
pub(crate) fn addr_at(family: AddressFamily, octets: &[u8], index: usize) -> IpAddr {
    match family {
        AddressFamily::Ipv4 => {
            let mut a = [0u8; 4];
            a.copy_from_slice(&octets[index * 4..index * 4 + 4]);
            IpAddr::V4(Ipv4Addr::from(a))
        }
        AddressFamily::Ipv6 => {
            let mut a = [0u8; 16];
            a.copy_from_slice(&octets[index * 16..index * 16 + 16]);
            IpAddr::V6(Ipv6Addr::from(a))
        }
    }
}

impl Default for AddressList {
    /// An empty IPv4 list.
    fn default() -> Self {
        Self::new_v4()
    }
}

impl PartialEq for AddressList {
    fn eq(&self, other: &Self) -> bool {
        self.family == other.family && self.as_wire_bytes() == other.as_wire_bytes()
    }
}

impl Eq for AddressList {}

impl Hash for AddressList {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.family.hash(state);
        self.as_wire_bytes().hash(state);
    }
}

impl core::fmt::Debug for AddressList {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl TryFrom<&[IpAddr]> for AddressList {
    type Error = AddressListError;
    fn try_from(addrs: &[IpAddr]) -> Result<Self, Self::Error> {
        Self::from_slice(addrs)
    }
}

impl<const N: usize> TryFrom<[IpAddr; N]> for AddressList {
    type Error = AddressListError;
    fn try_from(addrs: [IpAddr; N]) -> Result<Self, Self::Error> {
        Self::from_slice(&addrs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn push_get_iter_and_limits() {
        let mut l = AddressList::new_v6();
        assert!(l.is_empty());
        for i in 0..255u16 {
            l.push(IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, i)))
                .unwrap();
        }
        assert_eq!(l.len(), 255);
        assert_eq!(
            l.push(IpAddr::V6(Ipv6Addr::LOCALHOST)),
            Err(AddressListError::Full)
        );
        assert_eq!(
            l.get(7),
            Some(IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 7)))
        );
        assert_eq!(l.get(255), None);
        assert_eq!(l.iter().count(), 255);
        assert_eq!(l.wire_len(), 255 * 16);
        l.clear();
        assert!(l.is_empty());
        assert_eq!(l, AddressList::new_v6());
    }

    #[test]
    fn family_mismatch_and_equality() {
        let a = AddressList::from_slice(&[IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1))]).unwrap();
        let b = AddressList::from_v4(&[Ipv4Addr::new(10, 0, 0, 1)]).unwrap();
        assert_eq!(a, b);
        let mut c = a.clone();
        assert_eq!(
            c.push(IpAddr::V6(Ipv6Addr::LOCALHOST)),
            Err(AddressListError::FamilyMismatch)
        );
        assert_ne!(AddressList::new_v4(), AddressList::new_v6());
        assert!(a.contains(&IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1))));
        assert_eq!(
            AddressList::from_wire(AddressFamily::Ipv4, 2, &[1, 2, 3, 4]),
            Err(AddressListError::WrongLength)
        );
    }
}
