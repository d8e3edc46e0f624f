//! `TCP_CHECK`: a TCP connect.

use std::net::SocketAddr;
use std::os::fd::AsRawFd;
use std::time::Duration;

use async_trait::async_trait;
use tokio::net::{TcpSocket, TcpStream};

use super::socket_options::SocketOptions;
use crate::checker::{with_timeout, Checker, Probe};
use crate::error::CheckError;

/// Up when a TCP connection to `addr` completes (KA `check_tcp.c`).
///
/// ```
/// use healthcheck::TcpCheck;
/// let check = TcpCheck::new("127.0.0.1:80".parse().unwrap())
///     .bind("127.0.0.1:0".parse().unwrap());
/// ```
#[derive(Debug, Clone)]
pub struct TcpCheck {
    addr: SocketAddr,
    socket: SocketOptions,
    reset_on_close: bool,
}

impl TcpCheck {
    /// Connect to `addr`.
    pub fn new(addr: SocketAddr) -> Self {
        TcpCheck {
            addr,
            socket: SocketOptions::default(),
            reset_on_close: false,
        }
    }

    /// Source address (keepalived `bindto` / `bind_port`). Port 0 lets the kernel pick
    /// one at connect time (`IP_BIND_ADDRESS_NO_PORT`), so many checks can share a
    /// source address.
    pub fn bind(mut self, source: SocketAddr) -> Self {
        self.socket.bind = Some(source);
        self
    }

    /// All socket options (source, interface, fwmark).
    pub fn socket_options(mut self, options: SocketOptions) -> Self {
        self.socket = options;
        self
    }

    /// Close with RST (`SO_LINGER 0`) instead of FIN: no TIME_WAIT on the checker side,
    /// useful with very many checks per second. Off by default (like keepalived).
    pub fn reset_on_close(mut self, reset: bool) -> Self {
        self.reset_on_close = reset;
        self
    }

    /// The target.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
}

/// Opens a TCP connection with an optional source address (shared with HTTP).
pub(crate) async fn connect(
    addr: SocketAddr,
    options: &SocketOptions,
) -> Result<TcpStream, CheckError> {
    let err = |source| CheckError::Connect {
        target: addr.to_string(),
        source,
    };
    let sock = if addr.is_ipv4() {
        TcpSocket::new_v4()
    } else {
        TcpSocket::new_v6()
    }
    .map_err(err)?;
    options.apply(socket2::SockRef::from(&sock)).map_err(err)?;
    if let Some(src) = options.bind {
        if src.port() == 0 {
            set_bind_no_port(&sock);
        }
        sock.bind(src).map_err(err)?;
    }
    sock.connect(addr).await.map_err(err)
}

fn set_bind_no_port(sock: &TcpSocket) {
    let one: libc::c_int = 1;
    // SAFETY: valid fd owned by `sock`, option value is a c_int that outlives the call.
    let rc = unsafe {
        libc::setsockopt(
            sock.as_raw_fd(),
            libc::IPPROTO_IP,
            libc::IP_BIND_ADDRESS_NO_PORT,
            (&one as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if rc != 0 {
        tracing::debug!(error = %std::io::Error::last_os_error(), "IP_BIND_ADDRESS_NO_PORT");
    }
}

#[async_trait]
impl Checker for TcpCheck {
    async fn check(&self, timeout: Duration) -> Result<Probe, CheckError> {
        let stream = with_timeout(timeout, connect(self.addr, &self.socket)).await?;
        if self.reset_on_close {
            let _ = socket2::SockRef::from(&stream).set_linger(Some(Duration::ZERO));
        }
        drop(stream);
        Ok(Probe::OK)
    }

    fn kind(&self) -> &'static str {
        "tcp"
    }
}
