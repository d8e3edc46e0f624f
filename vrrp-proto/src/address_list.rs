//! The list of virtual addresses carried by an advert.
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

/// Octets an [`AddressList`] holds without allocating: 256 (64 IPv4 or 16 IPv6 addresses)
/// with the `alloc` feature, which moves longer lists to the heap; without it, room for the
/// longest list (255 IPv6 addresses, 4080 octets), so the list never needs an allocator.
///
/// ```
/// use vrrp_proto::{AddressList, INLINE_ADDRESS_OCTETS};
/// // The common lists fit inline with or without the `alloc` feature.
/// assert!(INLINE_ADDRESS_OCTETS >= 16 * 16);
/// let one = AddressList::from_v4(&[[192, 0, 2, 10].into()]).unwrap();
/// assert!(one.wire_len() <= INLINE_ADDRESS_OCTETS);
/// ```
pub const INLINE_ADDRESS_OCTETS: usize = if cfg!(feature = "alloc") {
    256
} else {
    MAX_ADDRESSES * 16
};

/// Where the wire octets live. Kept small by default: an [`Advert`](crate::Advert) is built,
/// returned and cloned by value, and inline room for 255 IPv6 addresses would be 4 KiB to
/// zero and move on every copy.
// The inline variant is large on purpose: boxing it is the allocation this type avoids.
#[allow(clippy::large_enum_variant)]
#[derive(Clone)]
enum Octets {
    /// The first `wire_len` octets are the addresses; the rest is stale or zero.
    Inline(Inline),
    /// Longer lists (only with the `alloc` feature): exactly the wire octets.
    #[cfg(feature = "alloc")]
    Heap(alloc::vec::Vec<u8>),
}

/// The inline room, aligned so that zeroing and copying it are aligned vector moves.
#[derive(Clone)]
#[repr(align(16))]
struct Inline([u8; INLINE_ADDRESS_OCTETS]);

/// The addresses of an advert: all IPv4 or all IPv6, at most 255.
///
/// The addresses are stored in wire format (network byte order), so encoding is a copy. Up to
/// [`INLINE_ADDRESS_OCTETS`] octets are held inline (no allocation); with the `alloc` feature
/// (on by default) a longer list moves to the heap, and without it the inline room holds all
/// 255 IPv6 addresses.
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
    octets: Octets,
}

impl AddressList {
    /// An empty list for `family`.
    pub const fn new(family: AddressFamily) -> Self {
        AddressList {
            family,
            len: 0,
            octets: Octets::Inline(Inline([0; INLINE_ADDRESS_OCTETS])),
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
        Ok(Self::from_wire_unchecked(family, octets))
    }

    /// A list of the whole addresses in `octets` (at most 255; the caller checked). Builds the
    /// storage directly, so nothing larger than the inline room is zeroed or moved.
    #[inline]
    pub(crate) fn from_wire_unchecked(family: AddressFamily, octets: &[u8]) -> Self {
        let n = octets.len().min(MAX_ADDRESSES * family.addr_len());
        let octets = &octets[..n];
        let storage = if n <= INLINE_ADDRESS_OCTETS {
            let mut buf = Inline([0u8; INLINE_ADDRESS_OCTETS]);
            copy_wire(&mut buf.0[..n], octets);
            Octets::Inline(buf)
        } else {
            Self::spilled(octets)
        };
        AddressList {
            family,
            len: (n / family.addr_len()) as u8,
            octets: storage,
        }
    }

    /// The storage for a list longer than the inline room (only reachable with `alloc`:
    /// without it the inline room holds every list).
    #[cold]
    fn spilled(octets: &[u8]) -> Octets {
        #[cfg(feature = "alloc")]
        {
            Octets::Heap(octets.to_vec())
        }
        #[cfg(not(feature = "alloc"))]
        {
            let mut buf = Inline([0u8; INLINE_ADDRESS_OCTETS]);
            let n = octets.len().min(INLINE_ADDRESS_OCTETS);
            buf.0[..n].copy_from_slice(&octets[..n]);
            Octets::Inline(buf)
        }
    }

    /// Replaces the contents with `octets` (whole addresses of `family`, at most 255; the
    /// caller checked), reusing the storage: only the octets the addresses take are copied.
    #[inline]
    pub(crate) fn set_wire(&mut self, family: AddressFamily, octets: &[u8]) {
        let n = octets.len().min(MAX_ADDRESSES * family.addr_len());
        let octets = &octets[..n];
        self.family = family;
        self.len = (n / family.addr_len()) as u8;
        match &mut self.octets {
            Octets::Inline(buf) if n <= INLINE_ADDRESS_OCTETS => copy_wire(&mut buf.0[..n], octets),
            #[cfg(feature = "alloc")]
            Octets::Heap(v) => {
                v.clear();
                v.extend_from_slice(octets);
            }
            _ => self.octets = Self::spilled(octets),
        }
    }

    /// Appends `addr`. Fails if the list is full (255) or `addr` is of the other family.
    pub fn push(&mut self, addr: IpAddr) -> Result<(), AddressListError> {
        if AddressFamily::of(&addr) != self.family {
            return Err(AddressListError::FamilyMismatch);
        }
        if usize::from(self.len) >= MAX_ADDRESSES {
            return Err(AddressListError::Full);
        }
        let (v4, v6);
        let octets: &[u8] = match addr {
            IpAddr::V4(a) => {
                v4 = a.octets();
                &v4
            }
            IpAddr::V6(a) => {
                v6 = a.octets();
                &v6
            }
        };
        let at = self.wire_len();
        let end = at + octets.len();
        match &mut self.octets {
            Octets::Inline(buf) if end <= INLINE_ADDRESS_OCTETS => {
                buf.0[at..end].copy_from_slice(octets)
            }
            #[cfg(feature = "alloc")]
            Octets::Heap(v) => {
                v.truncate(at);
                v.extend_from_slice(octets);
            }
            #[cfg(feature = "alloc")]
            Octets::Inline(buf) => {
                let mut v = alloc::vec::Vec::with_capacity(MAX_ADDRESSES * self.family.addr_len());
                v.extend_from_slice(&buf.0[..at]);
                v.extend_from_slice(octets);
                self.octets = Octets::Heap(v);
            }
            // Without `alloc` the inline room holds 255 IPv6 addresses: checked above.
            #[cfg(not(feature = "alloc"))]
            Octets::Inline(_) => return Err(AddressListError::Full),
        }
        self.len += 1;
        Ok(())
    }

    /// Removes every address (the family and any heap storage are kept).
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
        Some(addr_at(self.family, self.as_wire_bytes(), index))
    }

    /// True if `addr` is in the list.
    pub fn contains(&self, addr: &IpAddr) -> bool {
        self.iter().any(|a| a == *addr)
    }

    /// The addresses in wire order.
    #[inline]
    pub fn iter(&self) -> impl Iterator<Item = IpAddr> + '_ {
        let bytes = self.as_wire_bytes();
        (0..self.len()).map(move |i| addr_at(self.family, bytes, i))
    }

    /// Octets the addresses take on the wire (`len * 4` or `len * 16`).
    #[inline]
    pub fn wire_len(&self) -> usize {
        self.len() * self.family.addr_len()
    }

    /// The addresses as wire-format octets.
    #[inline(always)]
    pub fn as_wire_bytes(&self) -> &[u8] {
        let n = self.wire_len();
        match &self.octets {
            Octets::Inline(buf) => &buf.0[..n],
            #[cfg(feature = "alloc")]
            Octets::Heap(v) => &v[..n],
        }
    }
}

/// Copies address octets, `dst.len() == src.len()`. One address is the common case: a
/// fixed-size copy is a single move, where a variable-length one is a call to `memcpy`.
#[inline(always)]
pub(crate) fn copy_wire(dst: &mut [u8], src: &[u8]) {
    match (dst.first_chunk_mut::<16>(), src.first_chunk::<16>()) {
        (Some(d), Some(s)) if src.len() == 16 => *d = *s,
        _ => match (dst.first_chunk_mut::<4>(), src.first_chunk::<4>()) {
            (Some(d), Some(s)) if src.len() == 4 => *d = *s,
            _ => dst.copy_from_slice(src),
        },
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
    extern crate std;
    use std::vec::Vec;

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
    fn long_lists_and_storage_reuse() {
        let v4 = |i: u8| Ipv4Addr::new(10, 0, i, 1);
        let v6 = |i: u16| Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, i);
        // Past the inline room (with `alloc`, onto the heap) and back again: the contents and
        // equality do not depend on where the octets live.
        let long: AddressList =
            AddressList::from_v4(&(0..=254).map(v4).collect::<Vec<_>>()).unwrap();
        assert_eq!(long.len(), 255);
        assert_eq!(long.get(200), Some(IpAddr::V4(v4(200))));
        let again = AddressList::from_wire(AddressFamily::Ipv4, 255, long.as_wire_bytes()).unwrap();
        assert_eq!(again, long);
        let mut reused = long.clone();
        let short = AddressList::from_v6(&[v6(1), v6(2)]).unwrap();
        reused.set_wire(AddressFamily::Ipv6, short.as_wire_bytes());
        assert_eq!(reused, short);
        reused.push(IpAddr::V6(v6(3))).unwrap();
        assert_eq!(reused.get(2), Some(IpAddr::V6(v6(3))));
        let mut grown = short.clone();
        let many: Vec<Ipv6Addr> = (0..255).map(v6).collect();
        grown.set_wire(
            AddressFamily::Ipv6,
            AddressList::from_v6(&many).unwrap().as_wire_bytes(),
        );
        assert_eq!(grown.iter().count(), 255);
        assert_eq!(grown.get(254), Some(IpAddr::V6(v6(254))));
        grown.clear();
        grown.push(IpAddr::V6(v6(9))).unwrap();
        assert_eq!(grown, AddressList::from_v6(&[v6(9)]).unwrap());
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
