//! Receive buffers sized on purpose for every socket a flood can reach, and the kernel's
//! count of what overflowed them.
//!
//! | socket | buffer | why |
//! | --- | --- | --- |
//! | advert sockets (IPv4, IPv6; wake and queue) | [`ADVERT_RECEIVE_BUFFER`] | a burst must not push a Master's advert out while the reader is late |
//! | netlink link/address watches | [`NETLINK_RECEIVE_BUFFER`] | a burst of link or address changes (hundreds of VMACs or VIPs at once) without `ENOBUFS` |
//! | GARP/NA socket | none | protocol 0: a send-only packet socket, the kernel queues nothing to it |
//!
//! The kernel's default (`net.core.rmem_default`, 208 KiB) holds about 270 small datagrams at
//! their real cost on a veth (an skb of about 768 octets each): at the 70,000 frames a second
//! this box's flooder sends, 4 ms of flood. [`ADVERT_RECEIVE_BUFFER`] gives a reader five
//! times that margin; it is a limit, not memory taken up front (a socket is charged only for
//! what is queued). `SO_RCVBUFFORCE` (with `CAP_NET_ADMIN`, which the daemon keeps) passes
//! `net.core.rmem_max`; without the capability `SO_RCVBUF` gets what the limit allows.
//!
//! What overflows is counted by the kernel: [`drops_now`] reads a socket's drop count
//! (`SO_MEMINFO`) whenever asked ([`crate::AdvertStats::receive_queue_drops`], and a sleeping
//! Backup's check for lost adverts); a netlink socket reports an overrun as `ENOBUFS`, which
//! the watches count and answer with a re-read.
#![allow(unsafe_code)]

use std::io;
use std::os::fd::RawFd;

/// The receive buffer asked for each advert socket, octets (the kernel reports, and
/// allows, twice this for its bookkeeping).
pub const ADVERT_RECEIVE_BUFFER: usize = 1 << 20;

/// The receive buffer asked for each netlink multicast socket, octets.
pub const NETLINK_RECEIVE_BUFFER: usize = 1 << 20;

/// One `SOL_SOCKET` option.
fn set(fd: RawFd, option: libc::c_int, value: libc::c_int) -> io::Result<()> {
    crate::ancillary_io::set_int(fd, libc::SOL_SOCKET, option, value)
}

/// The receive buffer in force on `fd`, octets, as the kernel reports it (`SO_RCVBUF`).
pub fn receive_buffer(fd: RawFd) -> io::Result<usize> {
    let mut value: libc::c_int = 0;
    let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: getsockopt writes at most `len` octets into `value`.
    let rc = unsafe {
        libc::getsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_RCVBUF,
            (&mut value as *mut libc::c_int).cast(),
            &mut len,
        )
    };
    if rc == 0 {
        Ok(usize::try_from(value).unwrap_or(0))
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Sizes `fd`'s receive buffer to `bytes`: `SO_RCVBUFFORCE` when privileged, else
/// `SO_RCVBUF` (capped by `net.core.rmem_max`). Returns the size in force afterwards.
pub fn size_receive_buffer(fd: RawFd, bytes: usize) -> io::Result<usize> {
    let value = libc::c_int::try_from(bytes).unwrap_or(libc::c_int::MAX);
    if set(fd, libc::SO_RCVBUFFORCE, value).is_err() {
        set(fd, libc::SO_RCVBUF, value)?;
    }
    receive_buffer(fd)
}

/// How many datagrams the kernel dropped on `fd` so far because its receive buffer was full
/// (`SO_MEMINFO`'s `SK_MEMINFO_DROPS`), read now: unlike `SO_RXQ_OVFL`, which rides on the
/// next datagram queued, this also counts drops behind the last datagram read (a queue that
/// is still full), and costs nothing per datagram.
pub fn drops_now(fd: RawFd) -> io::Result<u32> {
    // Kernels have added fields over time; room for more than the drops index needs.
    let mut info = [0u32; 16];
    let mut len = std::mem::size_of_val(&info) as libc::socklen_t;
    // SAFETY: getsockopt writes at most `len` octets into `info`.
    let rc = unsafe {
        libc::getsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_MEMINFO,
            info.as_mut_ptr().cast(),
            &mut len,
        )
    };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    let at = libc::SK_MEMINFO_DROPS as usize;
    if (len as usize) < (at + 1) * std::mem::size_of::<u32>() {
        return Err(io::Error::new(
            io::ErrorKind::Unsupported,
            "SO_MEMINFO without a drop count",
        ));
    }
    Ok(info[at])
}

/// Sizes a netlink multicast connection's socket to [`NETLINK_RECEIVE_BUFFER`] before it
/// is spawned; a refusal is logged, the default buffer then serves (an overrun is re-read).
pub(crate) fn size_netlink(
    conn: &mut rtnetlink::proto::Connection<netlink_packet_route::RouteNetlinkMessage>,
) -> usize {
    use std::os::fd::AsRawFd;
    let fd = conn.socket_mut().as_raw_fd();
    match size_receive_buffer(fd, NETLINK_RECEIVE_BUFFER) {
        Ok(size) => {
            tracing::trace!(size, "netlink socket receive buffer");
            size
        }
        Err(e) => {
            tracing::debug!("netlink socket receive buffer: {e}");
            0
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::AsRawFd;

    #[test]
    fn a_buffer_is_sized_as_asked_or_as_the_limit_allows() {
        let sock = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let fd = sock.as_raw_fd();
        let before = receive_buffer(fd).unwrap();
        let after = size_receive_buffer(fd, ADVERT_RECEIVE_BUFFER).unwrap();
        let rmem_max: usize = std::fs::read_to_string("/proc/sys/net/core/rmem_max")
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        // Privileged: what was asked (doubled by the kernel); otherwise up to rmem_max.
        // SAFETY: geteuid has no preconditions.
        let want = if unsafe { libc::geteuid() } == 0 {
            2 * ADVERT_RECEIVE_BUFFER
        } else {
            2 * ADVERT_RECEIVE_BUFFER.min(rmem_max)
        };
        assert_eq!(after, want, "before: {before}");
    }

    #[test]
    fn drops_behind_a_full_queue_are_counted_before_anything_is_read() {
        let rx = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let tx = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let fd = rx.as_raw_fd();
        set(fd, libc::SO_RCVBUF, 4096).unwrap();
        assert_eq!(drops_now(fd).unwrap(), 0);
        let sent = 200u32;
        for _ in 0..sent {
            tx.send_to(&[0u8; 64], rx.local_addr().unwrap()).unwrap();
        }
        // Loopback delivers synchronously: what did not fit is already counted.
        let dropped = drops_now(fd).unwrap();
        rx.set_nonblocking(true).unwrap();
        let mut queued = 0u32;
        while rx.recv(&mut [0u8; 64]).is_ok() {
            queued += 1;
        }
        assert!(
            dropped > 0 && queued > 0,
            "{dropped} dropped, {queued} queued"
        );
        assert_eq!(dropped + queued, sent);
    }
}
