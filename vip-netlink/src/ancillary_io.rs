//! `recvmsg`/`sendmsg` on raw sockets with the ancillary data VRRP validation needs
//! (`IP_PKTINFO`, `IPV6_PKTINFO`, `IPV6_HOPLIMIT`, `SO_TIMESTAMPNS`).
use std::io;
use std::mem::{size_of, zeroed};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::os::fd::RawFd;
use std::time::Duration;

/// What one `recvmsg` returned.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Received {
    /// Octets copied into the buffer.
    pub len: usize,
    /// The datagram was longer than the buffer (`MSG_TRUNC`).
    pub truncated: bool,
    /// Source from the socket address.
    pub src: Option<IpAddr>,
    /// Destination from `IP_PKTINFO` / `IPV6_PKTINFO`.
    pub dst: Option<IpAddr>,
    /// Interface index from the packet info.
    pub ifindex: Option<u32>,
    /// IPv6 hop limit from `IPV6_HOPLIMIT`.
    pub hop_limit: Option<u8>,
    /// When the kernel received it (`SO_TIMESTAMPNS`, CLOCK_REALTIME since the epoch).
    pub kernel_time: Option<Duration>,
}

/// Room for an `in6_pktinfo`, a hop limit and a `SO_TIMESTAMPNS` timespec (or an
/// `in_pktinfo` and a timespec), with headers, and some to spare.
const CMSG_SPACE: usize = 160;

/// Datagrams read by one [`recv_batch`]: asking for more than one tells, in the same system
/// call, whether the queue is now empty (fewer came back), so a reader never needs a second
/// `recvmsg` that only returns `EAGAIN`. Eight covers what a Backup sleeping through its
/// Master's adverts finds queued at its timer (about four) in one call.
pub(crate) const RECV_BATCH: usize = 8;

/// Up to as many non-blocking reads as `bufs` has slots (at most [`RECV_BATCH`]) in one
/// `recvmmsg`, datagram `i` into `bufs[i * slot .. (i + 1) * slot]`. Returns how many were
/// read (at least one) and what each said; `EAGAIN` when none was queued.
pub(crate) fn recv_batch(
    fd: RawFd,
    bufs: &mut [u8],
    slot: usize,
    out: &mut [Received; RECV_BATCH],
) -> io::Result<usize> {
    let batch = (bufs.len() / slot.max(1)).min(RECV_BATCH);
    assert!(batch >= 1, "room for one datagram");
    // SAFETY: all-zero is a valid sockaddr_storage / mmsghdr.
    let mut addrs: [libc::sockaddr_storage; RECV_BATCH] = unsafe { zeroed() };
    let mut cbufs = [[0u64; CMSG_SPACE / 8]; RECV_BATCH];
    let base = bufs.as_mut_ptr();
    // SAFETY: each offset `i * slot` of the first `batch` slots stays inside `bufs` (`batch`
    // slots fit); the iovecs past `batch` are never handed to the kernel.
    let mut iovs: [libc::iovec; RECV_BATCH] = std::array::from_fn(|i| libc::iovec {
        iov_base: unsafe { base.add(i.min(batch - 1) * slot) }.cast(),
        iov_len: slot,
    });
    // SAFETY: as above.
    let mut msgs: [libc::mmsghdr; RECV_BATCH] = unsafe { zeroed() };
    for i in 0..RECV_BATCH {
        let m = &mut msgs[i].msg_hdr;
        m.msg_name = (&mut addrs[i] as *mut libc::sockaddr_storage).cast();
        m.msg_namelen = size_of::<libc::sockaddr_storage>() as libc::socklen_t;
        m.msg_iov = &mut iovs[i];
        m.msg_iovlen = 1;
        m.msg_control = cbufs[i].as_mut_ptr().cast();
        m.msg_controllen = CMSG_SPACE as _;
    }
    // SAFETY: every pointer in `msgs` refers to a live local buffer of the stated size.
    let n = unsafe {
        libc::recvmmsg(
            fd,
            msgs.as_mut_ptr(),
            batch as libc::c_uint,
            libc::MSG_DONTWAIT,
            std::ptr::null_mut(),
        )
    };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    let n = n as usize;
    for i in 0..n {
        out[i] = parse(&msgs[i].msg_hdr, msgs[i].msg_len as usize, slot, &addrs[i]);
    }
    Ok(n)
}

/// What a filled `msghdr` says: length, source, and the control messages we asked for.
fn parse(msg: &libc::msghdr, n: usize, cap: usize, addr: &libc::sockaddr_storage) -> Received {
    let mut out = Received {
        len: n.min(cap),
        truncated: msg.msg_flags & libc::MSG_TRUNC != 0,
        src: sockaddr_ip(addr),
        ..Received::default()
    };
    // SAFETY: the CMSG_* macros walk the control buffer the kernel filled, bounded by
    // msg_controllen; each payload is read with read_unaligned at its stated type.
    unsafe {
        let mut c = libc::CMSG_FIRSTHDR(msg);
        while !c.is_null() {
            let data = libc::CMSG_DATA(c);
            match ((*c).cmsg_level, (*c).cmsg_type) {
                (libc::IPPROTO_IP, libc::IP_PKTINFO) => {
                    let pi: libc::in_pktinfo = std::ptr::read_unaligned(data.cast());
                    out.dst = Some(IpAddr::V4(Ipv4Addr::from(u32::from_be(pi.ipi_addr.s_addr))));
                    out.ifindex = Some(pi.ipi_ifindex as u32);
                }
                (libc::IPPROTO_IPV6, libc::IPV6_PKTINFO) => {
                    let pi: libc::in6_pktinfo = std::ptr::read_unaligned(data.cast());
                    out.dst = Some(IpAddr::V6(Ipv6Addr::from(pi.ipi6_addr.s6_addr)));
                    out.ifindex = Some(pi.ipi6_ifindex);
                }
                (libc::IPPROTO_IPV6, libc::IPV6_HOPLIMIT) => {
                    let hl: libc::c_int = std::ptr::read_unaligned(data.cast());
                    out.hop_limit = u8::try_from(hl).ok();
                }
                (libc::SOL_SOCKET, libc::SCM_TIMESTAMPNS) => {
                    let ts: libc::timespec = std::ptr::read_unaligned(data.cast());
                    out.kernel_time = Some(Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32));
                }
                _ => {}
            }
            c = libc::CMSG_NXTHDR(msg, c);
        }
    }
    out
}

fn sockaddr_ip(addr: &libc::sockaddr_storage) -> Option<IpAddr> {
    match i32::from(addr.ss_family) {
        libc::AF_INET => {
            // SAFETY: ss_family says the storage holds a sockaddr_in.
            let sin = unsafe { &*(addr as *const _ as *const libc::sockaddr_in) };
            Some(IpAddr::V4(Ipv4Addr::from(u32::from_be(
                sin.sin_addr.s_addr,
            ))))
        }
        libc::AF_INET6 => {
            // SAFETY: ss_family says the storage holds a sockaddr_in6.
            let sin6 = unsafe { &*(addr as *const _ as *const libc::sockaddr_in6) };
            Some(IpAddr::V6(Ipv6Addr::from(sin6.sin6_addr.s6_addr)))
        }
        _ => None,
    }
}

/// One non-blocking `sendto` of a whole IPv4 packet (`IP_HDRINCL`) to `dst`.
pub(crate) fn send_v4(fd: RawFd, packet: &[u8], dst: Ipv4Addr) -> io::Result<usize> {
    // SAFETY: all-zero is a valid sockaddr_in.
    let mut sin: libc::sockaddr_in = unsafe { zeroed() };
    sin.sin_family = libc::AF_INET as libc::sa_family_t;
    sin.sin_addr.s_addr = u32::from(dst).to_be();
    // SAFETY: `packet` and `sin` are valid for the lengths passed.
    let n = unsafe {
        libc::sendto(
            fd,
            packet.as_ptr().cast(),
            packet.len(),
            libc::MSG_DONTWAIT,
            (&sin as *const libc::sockaddr_in).cast(),
            size_of::<libc::sockaddr_in>() as libc::socklen_t,
        )
    };
    if n < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(n as usize)
    }
}

/// One non-blocking `sendmsg` of a VRRP payload to `dst`, from `src` out of `ifindex`
/// (`IPV6_PKTINFO`): the socket stays unbound so it still receives for every destination.
pub(crate) fn send_v6(
    fd: RawFd,
    payload: &[u8],
    src: Ipv6Addr,
    dst: Ipv6Addr,
    ifindex: u32,
) -> io::Result<usize> {
    // SAFETY: all-zero is a valid sockaddr_in6 / msghdr.
    let mut sin6: libc::sockaddr_in6 = unsafe { zeroed() };
    sin6.sin6_family = libc::AF_INET6 as libc::sa_family_t;
    sin6.sin6_addr.s6_addr = dst.octets();
    // Link-local and multicast destinations need the scope of our interface.
    sin6.sin6_scope_id = ifindex;
    let mut iov = libc::iovec {
        iov_base: payload.as_ptr() as *mut libc::c_void,
        iov_len: payload.len(),
    };
    let mut cbuf = [0u64; CMSG_SPACE / 8];
    // SAFETY: as above.
    let mut msg: libc::msghdr = unsafe { zeroed() };
    msg.msg_name = (&mut sin6 as *mut libc::sockaddr_in6).cast();
    msg.msg_namelen = size_of::<libc::sockaddr_in6>() as libc::socklen_t;
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = cbuf.as_mut_ptr().cast();
    // SAFETY: CMSG_SPACE is a pure size computation.
    let space = unsafe { libc::CMSG_SPACE(size_of::<libc::in6_pktinfo>() as u32) } as usize;
    msg.msg_controllen = space as _;
    // SAFETY: the control buffer has CMSG_SPACE(in6_pktinfo) octets (checked against its
    // size), so the first header and its data fit; the data is written unaligned.
    unsafe {
        assert!(space <= CMSG_SPACE);
        let c = libc::CMSG_FIRSTHDR(&msg);
        (*c).cmsg_level = libc::IPPROTO_IPV6;
        (*c).cmsg_type = libc::IPV6_PKTINFO;
        (*c).cmsg_len = libc::CMSG_LEN(size_of::<libc::in6_pktinfo>() as u32) as _;
        let pi = libc::in6_pktinfo {
            ipi6_addr: libc::in6_addr {
                s6_addr: src.octets(),
            },
            ipi6_ifindex: ifindex,
        };
        std::ptr::write_unaligned(libc::CMSG_DATA(c).cast(), pi);
    }
    // SAFETY: every pointer in `msg` refers to a live local buffer of the stated size.
    let n = unsafe { libc::sendmsg(fd, &msg, libc::MSG_DONTWAIT) };
    if n < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(n as usize)
    }
}

/// `setsockopt` of an int option.
pub(crate) fn set_int(fd: RawFd, level: i32, name: i32, value: i32) -> io::Result<()> {
    // SAFETY: `value` is a live c_int and its size is passed.
    let rc = unsafe {
        libc::setsockopt(
            fd,
            level,
            name,
            (&value as *const i32).cast(),
            size_of::<i32>() as libc::socklen_t,
        )
    };
    if rc != 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}
