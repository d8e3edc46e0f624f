//! Who watches a driver socket's readiness: tokio's reactor, or the caller's own event loop.
//!
//! The drivers are tokio drivers by default. Opened *polled* instead (`AdvertSocket::open_polled`,
//! `Announcer::new_polled`), a socket is never registered with a reactor: the caller puts its
//! descriptor (`AsRawFd`) in its own `epoll`/`mio`/`poll` set and calls the non-blocking
//! `try_*` methods, with no runtime at all. A daemon whose hot path is one plain `epoll` loop
//! pays for no reactor on each wake-up.
use std::os::fd::{AsRawFd, RawFd};

use socket2::Socket;
use tokio::io::unix::AsyncFd;
use tokio::io::Interest;

/// A non-blocking socket and who watches its readiness.
#[derive(Debug)]
pub(crate) enum SocketReadiness {
    /// Registered with the current tokio runtime's reactor.
    Reactor(AsyncFd<Socket>),
    /// Watched by the caller's event loop (through the raw descriptor); never in a reactor.
    Polled(Socket),
}

impl SocketReadiness {
    /// Registers `socket` with the current tokio reactor for `interest` (needs a runtime).
    pub(crate) fn reactor(socket: Socket, interest: Interest) -> std::io::Result<Self> {
        // SAFETY: the `Socket` owns its fd and `AsyncFd` keeps it until drop; nothing else
        // closes or replaces it.
        let fd = unsafe { AsyncFd::register_with_interest(socket, interest) }
            .map_err(std::io::Error::from)?;
        Ok(SocketReadiness::Reactor(fd))
    }

    /// `socket` registered with the current tokio reactor for `interest` when `reactor`,
    /// else left to the caller's event loop.
    pub(crate) fn new(socket: Socket, interest: Interest, reactor: bool) -> std::io::Result<Self> {
        if reactor {
            Self::reactor(socket, interest)
        } else {
            Ok(SocketReadiness::Polled(socket))
        }
    }

    /// The socket itself.
    pub(crate) fn socket(&self) -> &Socket {
        match self {
            SocketReadiness::Reactor(a) => a.get_ref(),
            SocketReadiness::Polled(s) => s,
        }
    }

    /// The reactor registration, if the socket has one.
    pub(crate) fn registration(&self) -> Option<&AsyncFd<Socket>> {
        match self {
            SocketReadiness::Reactor(a) => Some(a),
            SocketReadiness::Polled(_) => None,
        }
    }
}

impl AsRawFd for SocketReadiness {
    fn as_raw_fd(&self) -> RawFd {
        self.socket().as_raw_fd()
    }
}
