//! Looking up an interface: index, MAC address and addresses, each a query about this one
//! interface (see [`interface_query`](crate::interface_query)), never a dump of them all.
use std::ffi::{CStr, CString};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use vrrp_proto::AddressFamily;

use crate::error::{Error, Result};
use crate::interface_query;

/// A network interface resolved by name in the current network namespace.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Interface {
    name: String,
    index: u32,
}

impl Interface {
    /// Resolve an interface by name (`if_nametoindex`).
    ///
    /// ```no_run
    /// let lo = vip_netlink::Interface::by_name("lo").unwrap();
    /// assert_eq!(lo.name(), "lo");
    /// ```
    pub fn by_name(name: &str) -> Result<Self> {
        let c = CString::new(name).map_err(|_| Error::NoSuchInterface(name.to_string()))?;
        // SAFETY: `c` is a valid NUL-terminated string that outlives the call.
        let index = unsafe { libc::if_nametoindex(c.as_ptr()) };
        if index == 0 {
            return Err(Error::NoSuchInterface(name.to_string()));
        }
        Ok(Interface {
            name: name.to_string(),
            index,
        })
    }

    /// Resolve an interface by index (`if_indextoname`).
    pub fn by_index(index: u32) -> Result<Self> {
        let mut buf = [0 as libc::c_char; libc::IF_NAMESIZE];
        // SAFETY: `buf` has IF_NAMESIZE bytes as `if_indextoname` requires.
        let p = unsafe { libc::if_indextoname(index, buf.as_mut_ptr()) };
        if p.is_null() {
            return Err(Error::NoSuchInterface(format!("#{index}")));
        }
        // SAFETY: on success the kernel wrote a NUL-terminated name into `buf`.
        let name = unsafe { CStr::from_ptr(buf.as_ptr()) }
            .to_string_lossy()
            .into_owned();
        Ok(Interface { name, index })
    }

    /// The interface name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The kernel interface index.
    pub fn index(&self) -> u32 {
        self.index
    }

    /// Whether the link is usable: `IFF_UP` and `IFF_RUNNING` (carrier), keepalived's test.
    pub fn is_running(&self) -> Result<bool> {
        let sock = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::DGRAM, None)
            .map_err(|e| Error::io("socket for SIOCGIFFLAGS", e))?;
        // SAFETY: `ifreq` is plain old data; zeroed is a valid value.
        let mut req: libc::ifreq = unsafe { std::mem::zeroed() };
        for (d, s) in req
            .ifr_name
            .iter_mut()
            .zip(self.name.bytes().take(libc::IF_NAMESIZE - 1))
        {
            *d = s as libc::c_char;
        }
        use std::os::fd::AsRawFd;
        // SAFETY: SIOCGIFFLAGS reads the NUL-terminated name and writes `ifru_flags` of the
        // `ifreq` we own.
        let rc = unsafe { libc::ioctl(sock.as_raw_fd(), libc::SIOCGIFFLAGS, &mut req) };
        if rc != 0 {
            let e = std::io::Error::last_os_error();
            if e.raw_os_error() == Some(libc::ENODEV) {
                return Err(Error::NoSuchInterface(self.name.clone()));
            }
            return Err(Error::io("SIOCGIFFLAGS", e));
        }
        // SAFETY: SIOCGIFFLAGS filled the `ifru_flags` member of the union.
        let flags = i32::from(unsafe { req.ifr_ifru.ifru_flags });
        Ok(flags & libc::IFF_UP != 0 && flags & libc::IFF_RUNNING != 0)
    }

    /// The interface's hardware (MAC) address: one `RTM_GETLINK` for this interface's index
    /// alone, so the cost does not grow with the number of interfaces in the namespace.
    ///
    /// ```no_run
    /// let eth0 = vip_netlink::Interface::by_name("eth0")?;
    /// println!("{:02x?}", eth0.mac()?);
    /// # Ok::<(), vip_netlink::Error>(())
    /// ```
    pub fn mac(&self) -> Result<[u8; 6]> {
        interface_query::link_mac(self.index)
            .map_err(|e| self.query_error("RTM_GETLINK", e))?
            .ok_or_else(|| Error::NoSuchInterface(self.name.clone()))
    }

    /// All IP addresses on the interface, in kernel order (IPv4 first, then IPv6): an
    /// `RTM_GETADDR` dump per family that the kernel filters to this interface's index.
    ///
    /// ```no_run
    /// let eth0 = vip_netlink::Interface::by_name("eth0")?;
    /// for a in eth0.addresses()? {
    ///     println!("{a}");
    /// }
    /// # Ok::<(), vip_netlink::Error>(())
    /// ```
    pub fn addresses(&self) -> Result<Vec<IpAddr>> {
        self.addresses_of(None)
    }

    /// The addresses of one family (`None`: both).
    fn addresses_of(&self, family: Option<AddressFamily>) -> Result<Vec<IpAddr>> {
        let found = interface_query::link_addresses(self.index, family)
            .map_err(|e| self.query_error("RTM_GETADDR", e))?;
        Ok(found.into_iter().map(|a| a.address).collect())
    }

    /// A failed query: `ENODEV` is this interface gone.
    fn query_error(&self, op: &'static str, e: std::io::Error) -> Error {
        if e.raw_os_error() == Some(libc::ENODEV) {
            Error::NoSuchInterface(self.name.clone())
        } else {
            Error::io(op, e)
        }
    }

    /// The primary IPv4 address (the first one the kernel lists), as keepalived picks
    /// the advert source when `unicast_src_ip` is not set.
    pub fn primary_ipv4(&self) -> Result<Ipv4Addr> {
        self.addresses_of(Some(AddressFamily::Ipv4))?
            .into_iter()
            .find_map(|a| match a {
                IpAddr::V4(v4) => Some(v4),
                IpAddr::V6(_) => None,
            })
            .ok_or_else(|| Error::NoSourceAddress {
                interface: self.name.clone(),
                family: "IPv4",
            })
    }

    /// The first IPv6 link-local address (fe80::/10): RFC 5798 §5.1.2.1 requires IPv6
    /// adverts to come from it.
    pub fn link_local_ipv6(&self) -> Result<Ipv6Addr> {
        self.addresses_of(Some(AddressFamily::Ipv6))?
            .into_iter()
            .find_map(|a| match a {
                IpAddr::V6(v6) if is_link_local(&v6) => Some(v6),
                _ => None,
            })
            .ok_or_else(|| Error::NoSourceAddress {
                interface: self.name.clone(),
                family: "IPv6 link-local",
            })
    }

    /// The advert source of this family: primary IPv4 or IPv6 link-local.
    pub fn source_address(&self, family: AddressFamily) -> Result<IpAddr> {
        match family {
            AddressFamily::Ipv4 => self.primary_ipv4().map(IpAddr::V4),
            AddressFamily::Ipv6 => self.link_local_ipv6().map(IpAddr::V6),
        }
    }
}

/// True for fe80::/10.
pub(crate) fn is_link_local(a: &Ipv6Addr) -> bool {
    a.segments()[0] & 0xffc0 == 0xfe80
}
