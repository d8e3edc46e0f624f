//! `UDP_CHECK`: send a payload, fail on an ICMP unreachable, optionally require a reply.

use std::net::SocketAddr;
use std::time::Duration;

use async_trait::async_trait;
use tokio::net::UdpSocket;

use super::socket_options::SocketOptions;
use crate::checker::{Checker, Probe};
use crate::error::{CheckError, ConfigError};

/// What a reply must look like (keepalived `require_reply` with a hex mask and length
/// bounds).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ReplyPattern {
    /// Leading bytes the reply must have; `None` = don't care (`xx` in keepalived's hex).
    pub prefix: Vec<Option<u8>>,
    /// Minimum reply length.
    pub min_len: usize,
    /// Maximum reply length.
    pub max_len: Option<usize>,
}

impl ReplyPattern {
    /// Parses keepalived-style hex with `x` wildcards, e.g. `"01xx03"`.
    pub fn from_hex(hex: &str) -> Result<Self, ConfigError> {
        let bytes = hex.as_bytes();
        if bytes.len() % 2 != 0 {
            return Err(ConfigError::Pattern(hex.into()));
        }
        let mut prefix = Vec::with_capacity(bytes.len() / 2);
        for pair in bytes.chunks(2) {
            let s = std::str::from_utf8(pair).map_err(|_| ConfigError::Pattern(hex.into()))?;
            if s.eq_ignore_ascii_case("xx") {
                prefix.push(None);
            } else {
                prefix.push(Some(
                    u8::from_str_radix(s, 16).map_err(|_| ConfigError::Pattern(hex.into()))?,
                ));
            }
        }
        Ok(ReplyPattern {
            min_len: prefix.len(),
            prefix,
            max_len: None,
        })
    }

    /// Whether `reply` matches.
    pub fn matches(&self, reply: &[u8]) -> bool {
        reply.len() >= self.min_len
            && self.max_len.is_none_or(|m| reply.len() <= m)
            && reply.len() >= self.prefix.len()
            && self
                .prefix
                .iter()
                .zip(reply)
                .all(|(p, b)| p.is_none_or(|p| p == *b))
    }
}

/// Sends `payload` to `addr` over a connected UDP socket (KA `check_udp.c`).
///
/// * An ICMP port/host unreachable (seen as `ECONNREFUSED`) = down.
/// * Without `require_reply`, silence until the timeout = up (keepalived suggests a
///   timeout of 4 s or more so ICMP errors have time to arrive).
/// * With `require_reply`, a reply must arrive and match the pattern.
///
/// ```
/// use healthcheck::UdpCheck;
/// let check = UdpCheck::new("127.0.0.1:53".parse().unwrap(), b"ping".to_vec()).require_reply(None);
/// ```
#[derive(Debug, Clone)]
pub struct UdpCheck {
    addr: SocketAddr,
    socket: SocketOptions,
    payload: Vec<u8>,
    require_reply: bool,
    pattern: Option<ReplyPattern>,
}

impl UdpCheck {
    /// Send `payload` to `addr`.
    pub fn new(addr: SocketAddr, payload: Vec<u8>) -> Self {
        UdpCheck {
            addr,
            socket: SocketOptions::default(),
            payload,
            require_reply: false,
            pattern: None,
        }
    }

    /// Require a reply, optionally matching `pattern`.
    pub fn require_reply(mut self, pattern: Option<ReplyPattern>) -> Self {
        self.require_reply = true;
        self.pattern = pattern;
        self
    }

    /// Source address.
    pub fn bind(mut self, source: SocketAddr) -> Self {
        self.socket.bind = Some(source);
        self
    }

    /// All socket options (source, interface, fwmark).
    pub fn socket_options(mut self, options: SocketOptions) -> Self {
        self.socket = options;
        self
    }
}

/// A connected UDP socket to `addr` (shared with DNS).
pub(crate) async fn connected_udp(
    addr: SocketAddr,
    options: &SocketOptions,
) -> Result<UdpSocket, CheckError> {
    let err = |source| CheckError::Connect {
        target: addr.to_string(),
        source,
    };
    let local = options.bind.unwrap_or_else(|| {
        if addr.is_ipv4() {
            SocketAddr::from(([0, 0, 0, 0], 0))
        } else {
            SocketAddr::from(([0u16; 8], 0))
        }
    });
    let domain = if addr.is_ipv4() {
        socket2::Domain::IPV4
    } else {
        socket2::Domain::IPV6
    };
    let sock = socket2::Socket::new(domain, socket2::Type::DGRAM, Some(socket2::Protocol::UDP))
        .map_err(err)?;
    options.apply(socket2::SockRef::from(&sock)).map_err(err)?;
    sock.bind(&local.into()).map_err(err)?;
    sock.set_nonblocking(true).map_err(err)?;
    let sock = UdpSocket::from_std(sock.into()).map_err(err)?;
    sock.connect(addr).await.map_err(err)?;
    Ok(sock)
}

pub(crate) fn map_udp_err(context: &'static str, e: std::io::Error) -> CheckError {
    match e.raw_os_error() {
        Some(libc::ECONNREFUSED) | Some(libc::EHOSTUNREACH) | Some(libc::ENETUNREACH) => {
            CheckError::Unreachable
        }
        _ => CheckError::io(context, e),
    }
}

#[async_trait]
impl Checker for UdpCheck {
    async fn check(&self, timeout: Duration) -> Result<Probe, CheckError> {
        let sock = connected_udp(self.addr, &self.socket).await?;
        sock.send(&self.payload)
            .await
            .map_err(|e| map_udp_err("send", e))?;
        let mut buf = vec![0u8; 65536];
        match tokio::time::timeout(timeout, sock.recv(&mut buf)).await {
            Ok(Ok(n)) => match &self.pattern {
                Some(p) if !p.matches(&buf[..n]) => Err(CheckError::BadReply(format!(
                    "{n}-byte reply does not match the pattern"
                ))),
                _ => Ok(Probe::OK),
            },
            Ok(Err(e)) => Err(map_udp_err("recv", e)),
            Err(_) if self.require_reply => Err(CheckError::NoReply),
            Err(_) => Ok(Probe::OK),
        }
    }

    fn kind(&self) -> &'static str {
        "udp"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pattern() {
        let p = ReplyPattern::from_hex("01xx03").unwrap();
        assert!(p.matches(&[1, 9, 3]));
        assert!(p.matches(&[1, 9, 3, 4]));
        assert!(!p.matches(&[1, 9]));
        assert!(!p.matches(&[2, 9, 3]));
        assert!(ReplyPattern::from_hex("0").is_err());
        assert!(ReplyPattern::from_hex("zz").is_err());
        let bounded = ReplyPattern {
            max_len: Some(3),
            ..p
        };
        assert!(!bounded.matches(&[1, 9, 3, 4]));
    }
}
