//! The send-only `AF_PACKET` socket that announcers send their GARPs and NAs through.
//!
//! The socket is bound to no interface: each frame names its interface in `sendto`. So one
//! socket serves every [`Announcer`](crate::Announcer) of a daemon, whatever interface or
//! VMAC each one announces on. That matters at scale: the kernel waits for an RCU grace period
//! (several milliseconds) when an `AF_PACKET` socket closes, one close after the other, so a
//! daemon with a socket per instance took 16 s to exit with 1,024 instances.
use std::os::fd::{AsRawFd, RawFd};
use std::sync::Arc;

use socket2::{Domain, Protocol, Socket, Type};
use tokio::io::Interest;

use crate::error::{Error, Result};
use crate::socket_readiness::SocketReadiness;

/// A send-only `AF_PACKET` socket, shared by cloning (needs `CAP_NET_RAW`); see
/// [`Announcer::with_socket`](crate::Announcer::with_socket).
///
/// ```no_run
/// # fn f() -> vip_netlink::Result<()> {
/// use vip_netlink::{AnnounceSocket, Announcer};
/// let socket = AnnounceSocket::new_polled()?;
/// let eth0 = Announcer::with_socket("eth0", &socket)?;
/// let eth1 = Announcer::with_socket("eth1", &socket)?;
/// eth0.try_announce("192.0.2.10".parse().unwrap())?;
/// eth1.try_announce("198.51.100.10".parse().unwrap())?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct AnnounceSocket(Arc<SocketReadiness>);

impl AnnounceSocket {
    /// A socket registered with the current tokio runtime's reactor, for
    /// [`Announce::announce`](crate::Announce::announce) (waits for room in the send buffer).
    pub fn new() -> Result<Self> {
        Self::open(true)
    }

    /// A socket for the caller's own event loop, never in a reactor: send with
    /// [`Announcer::try_announce`](crate::Announcer::try_announce).
    pub fn new_polled() -> Result<Self> {
        Self::open(false)
    }

    fn open(reactor: bool) -> Result<Self> {
        // Protocol 0: a send-only packet socket, the kernel queues nothing for us.
        let sock = Socket::new(Domain::PACKET, Type::RAW, Some(Protocol::from(0)))
            .map_err(|e| Error::io("AF_PACKET socket", e))?;
        sock.set_nonblocking(true)
            .map_err(|e| Error::io("AF_PACKET nonblocking", e))?;
        // Writable interest only: the socket receives nothing.
        let io = SocketReadiness::new(sock, Interest::WRITABLE, reactor)
            .map_err(|e| Error::io("register AF_PACKET socket", e))?;
        Ok(Self(Arc::new(io)))
    }

    pub(crate) fn readiness(&self) -> &SocketReadiness {
        &self.0
    }
}

impl AsRawFd for AnnounceSocket {
    fn as_raw_fd(&self) -> RawFd {
        self.0.as_raw_fd()
    }
}
