//! A virtual address with its prefix length, as a configuration names it.
use core::net::IpAddr;

use crate::address_list::AddressFamily;

/// One virtual address with its prefix length (keepalived `virtual_ipaddress { a.b.c.d/len }`).
///
/// The one type for a VIP across hakit: `vrrp_fsm::VirtualAddress` is this type re-exported, and
/// `vip_netlink::Vip` converts from and to it.
///
/// ```
/// use core::net::IpAddr;
/// use vrrp_proto::VirtualAddress;
///
/// let addr: IpAddr = "192.0.2.100".parse().unwrap();
/// assert_eq!(VirtualAddress::host(addr), VirtualAddress::new(addr, 32));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct VirtualAddress {
    /// The address.
    pub addr: IpAddr,
    /// Prefix length (32 / 128 for a host address).
    pub prefix_len: u8,
}

impl VirtualAddress {
    /// A virtual address with an explicit prefix length.
    pub const fn new(addr: IpAddr, prefix_len: u8) -> Self {
        VirtualAddress { addr, prefix_len }
    }

    /// A host address (/32 or /128), keepalived's default when no prefix is written.
    pub const fn host(addr: IpAddr) -> Self {
        VirtualAddress {
            addr,
            prefix_len: AddressFamily::of(&addr).max_prefix_len(),
        }
    }

    /// The family of the address.
    pub const fn family(&self) -> AddressFamily {
        AddressFamily::of(&self.addr)
    }
}
