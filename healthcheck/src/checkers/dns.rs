//! `DNS_CHECK`: one UDP query; up when the reply has QR set and RCODE 0 (KA
//! `check_dns.c`), optionally also an answer record of the queried type.

use std::net::SocketAddr;
use std::time::Duration;

use async_trait::async_trait;

use super::socket_options::SocketOptions;
use super::udp::{connected_udp, map_udp_err};
use crate::checker::{Checker, Probe};
use crate::error::{CheckError, ConfigError};

/// Common record types (any `u16` is accepted).
pub mod rtype {
    /// A.
    pub const A: u16 = 1;
    /// NS.
    pub const NS: u16 = 2;
    /// CNAME.
    pub const CNAME: u16 = 5;
    /// SOA (keepalived's default).
    pub const SOA: u16 = 6;
    /// MX.
    pub const MX: u16 = 15;
    /// TXT.
    pub const TXT: u16 = 16;
    /// AAAA.
    pub const AAAA: u16 = 28;
}

/// A DNS query check.
///
/// ```
/// use healthcheck::{dns_rtype, DnsCheck};
/// let check = DnsCheck::new("127.0.0.1:53".parse().unwrap(), ".", dns_rtype::SOA).unwrap();
/// ```
#[derive(Debug, Clone)]
pub struct DnsCheck {
    addr: SocketAddr,
    socket: SocketOptions,
    qname: Vec<u8>,
    qtype: u16,
    require_answer: bool,
}

impl DnsCheck {
    /// Query `name` (keepalived default ".") for `qtype` (default SOA) at `addr`.
    pub fn new(addr: SocketAddr, name: &str, qtype: u16) -> Result<Self, ConfigError> {
        Ok(DnsCheck {
            addr,
            socket: SocketOptions::default(),
            qname: encode_name(name)?,
            qtype,
            require_answer: false,
        })
    }

    /// Also require at least one answer record of the queried type (stricter than
    /// keepalived, which does not look at the answers).
    pub fn require_answer(mut self, require: bool) -> Self {
        self.require_answer = require;
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

    fn query(&self, id: u16) -> Vec<u8> {
        let mut q = Vec::with_capacity(12 + self.qname.len() + 4);
        q.extend_from_slice(&id.to_be_bytes());
        q.extend_from_slice(&[0x01, 0x00]); // RD
        q.extend_from_slice(&[0, 1, 0, 0, 0, 0, 0, 0]); // QD=1
        q.extend_from_slice(&self.qname);
        q.extend_from_slice(&self.qtype.to_be_bytes());
        q.extend_from_slice(&[0, 1]); // IN
        q
    }
}

/// Wire form of a dotted name.
fn encode_name(name: &str) -> Result<Vec<u8>, ConfigError> {
    let mut out = Vec::new();
    for label in name
        .trim_end_matches('.')
        .split('.')
        .filter(|l| !l.is_empty())
    {
        if label.len() > 63 {
            return Err(ConfigError::DnsName(name.into()));
        }
        out.push(label.len() as u8);
        out.extend_from_slice(label.as_bytes());
    }
    out.push(0);
    if out.len() > 255 {
        return Err(ConfigError::DnsName(name.into()));
    }
    Ok(out)
}

/// Skips a (possibly compressed) name at `pos`; returns the offset after it.
fn skip_name(msg: &[u8], mut pos: usize) -> Option<usize> {
    for _ in 0..128 {
        let len = *msg.get(pos)?;
        match len {
            0 => return Some(pos + 1),
            l if l & 0xC0 == 0xC0 => {
                msg.get(pos + 1)?;
                return Some(pos + 2);
            }
            l if l & 0xC0 == 0 => pos += 1 + l as usize,
            _ => return None,
        }
    }
    None
}

fn be16(msg: &[u8], pos: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*msg.get(pos)?, *msg.get(pos + 1)?]))
}

/// Judges a reply to query `id`. `Ok(None)` = not a reply to our query (ignore it).
pub(crate) fn judge_reply(
    msg: &[u8],
    id: u16,
    qtype: u16,
    require_answer: bool,
) -> Result<Option<()>, CheckError> {
    if msg.len() < 12 || be16(msg, 0) != Some(id) {
        return Ok(None);
    }
    if msg[2] & 0x80 == 0 {
        return Err(CheckError::BadReply("QR bit not set".into()));
    }
    let rcode = msg[3] & 0x0F;
    if rcode != 0 {
        return Err(CheckError::DnsRcode(rcode));
    }
    if !require_answer {
        return Ok(Some(()));
    }
    let bad = || CheckError::BadReply("truncated or malformed DNS message".into());
    let qd = be16(msg, 4).ok_or_else(bad)?;
    let an = be16(msg, 6).ok_or_else(bad)?;
    let mut pos = 12;
    for _ in 0..qd {
        pos = skip_name(msg, pos).ok_or_else(bad)? + 4;
    }
    for _ in 0..an {
        pos = skip_name(msg, pos).ok_or_else(bad)?;
        let t = be16(msg, pos).ok_or_else(bad)?;
        let rdlen = be16(msg, pos + 8).ok_or_else(bad)? as usize;
        pos += 10 + rdlen;
        if pos > msg.len() {
            return Err(bad());
        }
        if t == qtype {
            return Ok(Some(()));
        }
    }
    Err(CheckError::DnsNoAnswer(qtype))
}

#[async_trait]
impl Checker for DnsCheck {
    async fn check(&self, timeout: Duration) -> Result<Probe, CheckError> {
        let sock = connected_udp(self.addr, &self.socket).await?;
        let id = fastrand::u16(..);
        sock.send(&self.query(id))
            .await
            .map_err(|e| map_udp_err("send", e))?;
        let deadline = tokio::time::Instant::now() + timeout;
        let mut buf = vec![0u8; 4096];
        loop {
            let n = match tokio::time::timeout_at(deadline, sock.recv(&mut buf)).await {
                Ok(Ok(n)) => n,
                Ok(Err(e)) => return Err(map_udp_err("recv", e)),
                Err(_) => return Err(CheckError::Timeout(timeout)),
            };
            // Replies with another id (stale, spoofed) are ignored, not counted as failures.
            if judge_reply(&buf[..n], id, self.qtype, self.require_answer)?.is_some() {
                return Ok(Probe::OK);
            }
        }
    }

    fn kind(&self) -> &'static str {
        "dns"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(encode_name(".").unwrap(), vec![0]);
        assert_eq!(encode_name("a.bc").unwrap(), b"\x01a\x02bc\x00".to_vec());
        assert_eq!(encode_name("a.bc.").unwrap(), b"\x01a\x02bc\x00".to_vec());
        assert!(encode_name(&"x".repeat(64)).is_err());
    }

    #[test]
    fn judging() {
        let mut r = vec![0x12, 0x34, 0x80, 0x00, 0, 1, 0, 1, 0, 0, 0, 0];
        r.extend_from_slice(b"\x01a\x00\x00\x01\x00\x01");
        r.extend_from_slice(&[0xC0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 10, 0, 0, 1]);
        assert!(judge_reply(&r, 0x1234, 1, true).unwrap().is_some());
        assert!(matches!(
            judge_reply(&r, 0x1234, 28, true),
            Err(CheckError::DnsNoAnswer(28))
        ));
        assert!(judge_reply(&r, 0x9999, 1, true).unwrap().is_none());
        let mut nx = r.clone();
        nx[3] = 3;
        assert!(matches!(
            judge_reply(&nx, 0x1234, 1, false),
            Err(CheckError::DnsRcode(3))
        ));
        let mut q = r.clone();
        q[2] = 0;
        assert!(judge_reply(&q, 0x1234, 1, false).is_err());
        // Truncations never panic.
        for n in 0..r.len() {
            let _ = judge_reply(&r[..n], 0x1234, 1, true);
        }
        let mut loopy = r[..12].to_vec();
        loopy[5] = 1;
        loopy.extend_from_slice(&[0xC0, 12]);
        let _ = judge_reply(&loopy, 0x1234, 1, true);
    }

    #[test]
    fn random_replies_never_panic() {
        let mut rng = fastrand::Rng::with_seed(11);
        for _ in 0..5000 {
            let mut msg: Vec<u8> = (0..rng.usize(..80)).map(|_| rng.u8(..)).collect();
            if msg.len() >= 4 {
                msg[0] = 0x12;
                msg[1] = 0x34;
                msg[2] |= 0x80;
                msg[3] &= 0xF0;
            }
            let _ = judge_reply(&msg, 0x1234, rng.u16(..), rng.bool());
        }
    }
}
