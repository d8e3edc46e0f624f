//! Reading one interface's link and addresses from the kernel, by index: an `RTM_GETLINK`
//! for that index alone (statistics skipped) and an `RTM_GETADDR` dump the kernel filters to
//! that index (`NETLINK_GET_STRICT_CHK`). Either costs the same with ten interfaces as with
//! ten thousand, where `getifaddrs` dumps every link and every address of the namespace: a
//! daemon resolving each of N instances that way does N² work at start-up.
use std::io;
use std::time::{Duration, Instant};

use netlink_packet_core::{NetlinkMessage, NetlinkPayload, NLM_F_ACK, NLM_F_DUMP, NLM_F_REQUEST};
use netlink_packet_route::address::AddressMessage;
use netlink_packet_route::link::{LinkAttribute, LinkExtentMask, LinkMessage};
use netlink_packet_route::{AddressFamily as NlFamily, RouteNetlinkMessage};
use netlink_sys::{protocols::NETLINK_ROUTE, Socket, SocketAddr};

use crate::error::errno_of;
use crate::netlink_request::{wait_readable, DatagramMessages};
use crate::vip::InterfaceAddress;
use crate::vip_manager::interface_address;

/// How long a query waits for the kernel (it answers inside the send; this bounds a
/// pathological case only).
const QUERY_TIMEOUT: Duration = Duration::from_secs(2);

/// A dump datagram is at most 32 KiB (the kernel's `NLMSG_GOODSIZE` cap).
const RECV_BUF: usize = 64 * 1024;

/// The hardware address of link `index` (`IFLA_ADDRESS`), `None` when it has none of six
/// octets. `Err` with `ENODEV` when there is no such link.
pub(crate) fn link_mac(index: u32) -> io::Result<Option<[u8; 6]>> {
    let mut msg = LinkMessage::default();
    msg.header.index = index;
    msg.attributes
        .push(LinkAttribute::ExtMask(vec![LinkExtentMask::SkipStats]));
    let mut mac = None;
    query(RouteNetlinkMessage::GetLink(msg), NLM_F_ACK, |reply| {
        if let RouteNetlinkMessage::NewLink(link) = reply {
            if link.header.index != index {
                return;
            }
            for attr in link.attributes {
                if let LinkAttribute::Address(a) = attr {
                    if let Ok(m) = <[u8; 6]>::try_from(a.as_slice()) {
                        mac = Some(m);
                    }
                }
            }
        }
    })?;
    Ok(mac)
}

/// The addresses of link `index` of one family (`None`: IPv4 then IPv6), in kernel order.
pub(crate) fn link_addresses(
    index: u32,
    family: Option<vrrp_proto::AddressFamily>,
) -> io::Result<Vec<InterfaceAddress>> {
    let families: &[NlFamily] = match family {
        Some(vrrp_proto::AddressFamily::Ipv4) => &[NlFamily::Inet],
        Some(vrrp_proto::AddressFamily::Ipv6) => &[NlFamily::Inet6],
        None => &[NlFamily::Inet, NlFamily::Inet6],
    };
    let mut out = Vec::new();
    for &f in families {
        let mut msg = AddressMessage::default();
        msg.header.family = f;
        msg.header.index = index;
        query(RouteNetlinkMessage::GetAddress(msg), NLM_F_DUMP, |reply| {
            if let RouteNetlinkMessage::NewAddress(a) = reply {
                // The kernel filters by index under strict checking; a kernel older than
                // 4.20 ignores the filter and lists them all.
                if a.header.index == index {
                    out.extend(interface_address(&a));
                }
            }
        })?;
    }
    Ok(out)
}

/// Sends one request (`NLM_F_REQUEST | flags`) on a fresh strict-checking route socket and
/// hands each reply message to `each`, until the dump's end or the acknowledgement.
fn query(
    msg: RouteNetlinkMessage,
    flags: u16,
    mut each: impl FnMut(RouteNetlinkMessage),
) -> io::Result<()> {
    let mut socket = Socket::new(NETLINK_ROUTE)?;
    socket.bind_auto()?;
    socket.connect(&SocketAddr::new(0, 0))?;
    // Without it the kernel ignores the index of an address dump and lists every address.
    // Older kernels refuse the option: the answer is then filtered here instead.
    let _ = socket.set_netlink_get_strict_chk(true);
    socket.set_non_blocking(true)?;
    const SEQ: u32 = 1;
    let mut req = NetlinkMessage::from(msg);
    req.header.flags = NLM_F_REQUEST | flags;
    req.header.sequence_number = SEQ;
    req.finalize();
    let mut buf = vec![0u8; req.buffer_len().max(RECV_BUF)];
    req.serialize(&mut buf[..req.buffer_len()]);
    socket.send(&buf[..req.buffer_len()], 0)?;
    let started = Instant::now();
    loop {
        let n = match socket.recv(&mut &mut buf[..], 0) {
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                wait_readable(&socket, started, QUERY_TIMEOUT)?;
                continue;
            }
            Err(e) => return Err(e),
        };
        for m in (DatagramMessages { data: &buf[..n] }) {
            let m = m.map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e.to_string()))?;
            if m.header.sequence_number != SEQ {
                continue;
            }
            match m.payload {
                NetlinkPayload::InnerMessage(inner) => each(inner),
                NetlinkPayload::Done(_) => return Ok(()),
                NetlinkPayload::Error(err) => {
                    return match err.code {
                        None => Ok(()),
                        Some(c) => Err(io::Error::from_raw_os_error(errno_of(c.get()))),
                    }
                }
                _ => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Loopback (index 1 in every namespace) has a six-octet all-zero hardware address and
    /// 127.0.0.1; no root needed to read either.
    #[test]
    fn loopback_by_index() {
        assert_eq!(link_mac(1).unwrap(), Some([0; 6]));
        let v4 = link_addresses(1, Some(vrrp_proto::AddressFamily::Ipv4)).unwrap();
        assert!(v4
            .iter()
            .any(|a| a.address == std::net::IpAddr::from([127, 0, 0, 1])));
        assert!(v4.iter().all(|a| a.ifindex == 1));
    }

    #[test]
    fn missing_link_is_enodev() {
        let e = link_mac(0x7fff_0000).unwrap_err();
        assert_eq!(e.raw_os_error(), Some(libc::ENODEV));
    }
}
