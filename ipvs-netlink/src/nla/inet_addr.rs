use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use netlink_packet_core::DecodeError;

/// The kernel's `union nf_inet_addr`: 16 bytes, an IPv4 address in the first 4.
///
/// The address family is carried separately (`IPVS_SVC_ATTR_AF`, `IPVS_DEST_ATTR_ADDR_FAMILY`), so
/// the raw bytes are kept as they came and interpreted with [`InetAddr::to_ip`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct InetAddr(pub [u8; 16]);

impl InetAddr {
    /// Wire length of the attribute value.
    pub const LEN: usize = 16;

    /// Parses up to 16 bytes (a short value is zero-padded, as the kernel's `nla_memcpy` does).
    pub fn parse(value: &[u8]) -> Result<Self, DecodeError> {
        if value.len() > Self::LEN {
            return Err(DecodeError::invalid_ip_address(value.len()));
        }
        let mut a = [0u8; 16];
        a[..value.len()].copy_from_slice(value);
        Ok(InetAddr(a))
    }

    /// Interprets the bytes for an address family (`AF_INET` or `AF_INET6`).
    pub fn to_ip(&self, af: u16) -> Option<IpAddr> {
        match i32::from(af) {
            libc::AF_INET => Some(IpAddr::V4(Ipv4Addr::new(
                self.0[0], self.0[1], self.0[2], self.0[3],
            ))),
            libc::AF_INET6 => Some(IpAddr::V6(Ipv6Addr::from(self.0))),
            _ => None,
        }
    }
}

impl From<IpAddr> for InetAddr {
    fn from(ip: IpAddr) -> Self {
        let mut a = [0u8; 16];
        match ip {
            IpAddr::V4(v4) => a[..4].copy_from_slice(&v4.octets()),
            IpAddr::V6(v6) => a = v6.octets(),
        }
        InetAddr(a)
    }
}
