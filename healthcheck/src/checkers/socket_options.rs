//! keepalived's per-checker socket options: `bindto` / `bind_port`, `bind_if`, `fwmark`.

use std::net::SocketAddr;

use socket2::SockRef;

/// How the probe socket of a TCP, HTTP, UDP or DNS check is set up.
///
/// ```
/// use healthcheck::{SocketOptions, TcpCheck};
/// let opts = SocketOptions {
///     bind: Some("192.0.2.10:0".parse().unwrap()),
///     interface: Some("eth1".into()),
///     fwmark: Some(0x10),
/// };
/// let check = TcpCheck::new("192.0.2.20:80".parse().unwrap()).socket_options(opts);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SocketOptions {
    /// Source address and port (`bindto`, `bind_port`); port 0 = any.
    pub bind: Option<SocketAddr>,
    /// Send through this interface only (`bind_if`, `SO_BINDTODEVICE`; needs privilege).
    pub interface: Option<String>,
    /// Mark the probe packets (`fwmark`, `SO_MARK`; needs `CAP_NET_ADMIN`).
    pub fwmark: Option<u32>,
}

impl SocketOptions {
    /// Applies the interface and mark (the caller binds).
    pub(crate) fn apply(&self, sock: SockRef<'_>) -> std::io::Result<()> {
        if let Some(ifname) = &self.interface {
            sock.bind_device(Some(ifname.as_bytes()))?;
        }
        if let Some(mark) = self.fwmark {
            sock.set_mark(mark)?;
        }
        Ok(())
    }
}
