//! `PING_CHECK`: ICMP/ICMPv6 echo, over an unprivileged datagram socket where
//! `net.ipv4.ping_group_range` allows it, over a raw socket otherwise.

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use async_trait::async_trait;
use socket2::{Domain, Protocol, SockAddr, Socket, Type};
use tokio::io::unix::AsyncFd;

use crate::checker::{Checker, Probe};
use crate::error::CheckError;

/// Which kind of ICMP socket to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum IcmpSocketKind {
    /// Datagram if allowed, raw otherwise.
    #[default]
    Auto,
    /// `SOCK_DGRAM` + `IPPROTO_ICMP(V6)` only (the kernel owns the echo id).
    Datagram,
    /// `SOCK_RAW` only (needs `CAP_NET_RAW`).
    Raw,
}

/// One ICMP echo; up when the matching echo reply arrives in time.
///
/// ```
/// use healthcheck::{IcmpCheck, IcmpSocketKind};
/// let check = IcmpCheck::new("127.0.0.1".parse().unwrap()).socket_kind(IcmpSocketKind::Raw);
/// ```
#[derive(Debug, Clone)]
pub struct IcmpCheck {
    addr: IpAddr,
    kind: IcmpSocketKind,
    payload_len: usize,
}

impl IcmpCheck {
    /// Ping `addr` with 56 bytes of payload.
    pub fn new(addr: IpAddr) -> Self {
        IcmpCheck {
            addr,
            kind: IcmpSocketKind::Auto,
            payload_len: 56,
        }
    }

    /// Socket kind.
    pub fn socket_kind(mut self, kind: IcmpSocketKind) -> Self {
        self.kind = kind;
        self
    }

    fn open(&self) -> Result<(Socket, bool), CheckError> {
        let (domain, proto) = match self.addr {
            IpAddr::V4(_) => (Domain::IPV4, Protocol::ICMPV4),
            IpAddr::V6(_) => (Domain::IPV6, Protocol::ICMPV6),
        };
        let err = |source| CheckError::Connect {
            target: self.addr.to_string(),
            source,
        };
        let dgram = || Socket::new(domain, Type::DGRAM, Some(proto));
        let raw = || Socket::new(domain, Type::RAW, Some(proto));
        match self.kind {
            IcmpSocketKind::Datagram => Ok((dgram().map_err(err)?, false)),
            IcmpSocketKind::Raw => Ok((raw().map_err(err)?, true)),
            IcmpSocketKind::Auto => match dgram() {
                Ok(s) => Ok((s, false)),
                Err(e) if matches!(e.raw_os_error(), Some(libc::EACCES) | Some(libc::EPERM)) => {
                    Ok((raw().map_err(err)?, true))
                }
                Err(e) => Err(err(e)),
            },
        }
    }
}

fn checksum(data: &[u8]) -> u16 {
    let mut sum: u32 = 0;
    for c in data.chunks(2) {
        let word = if c.len() == 2 {
            u16::from_be_bytes([c[0], c[1]])
        } else {
            u16::from(c[0]) << 8
        };
        sum += u32::from(word);
    }
    while sum >> 16 != 0 {
        sum = (sum & 0xFFFF) + (sum >> 16);
    }
    !(sum as u16)
}

/// Builds an echo request (`v6` selects ICMPv6 type 128; its checksum is the kernel's).
fn echo_request(v6: bool, id: u16, seq: u16, payload_len: usize) -> Vec<u8> {
    let mut p = vec![if v6 { 128 } else { 8 }, 0, 0, 0];
    p.extend_from_slice(&id.to_be_bytes());
    p.extend_from_slice(&seq.to_be_bytes());
    p.extend((0..payload_len).map(|i| i as u8));
    if !v6 {
        let c = checksum(&p);
        p[2..4].copy_from_slice(&c.to_be_bytes());
    }
    p
}

/// Whether `pkt` is our echo reply. Raw IPv4 sockets deliver the IP header too; datagram
/// sockets have the id rewritten by the kernel, so only the sequence is compared there.
pub(crate) fn is_our_reply(pkt: &[u8], v6: bool, raw: bool, id: u16, seq: u16) -> bool {
    let icmp = if raw && !v6 {
        let Some(ihl) = pkt.first().map(|b| usize::from(b & 0x0F) * 4) else {
            return false;
        };
        match pkt.get(ihl..) {
            Some(p) => p,
            None => return false,
        }
    } else {
        pkt
    };
    if icmp.len() < 8 {
        return false;
    }
    let reply_type = if v6 { 129 } else { 0 };
    let got_id = u16::from_be_bytes([icmp[4], icmp[5]]);
    let got_seq = u16::from_be_bytes([icmp[6], icmp[7]]);
    icmp[0] == reply_type && icmp[1] == 0 && got_seq == seq && (!raw || got_id == id)
}

#[async_trait]
impl Checker for IcmpCheck {
    async fn check(&self, timeout: Duration) -> Result<Probe, CheckError> {
        let (sock, raw) = self.open()?;
        let v6 = self.addr.is_ipv6();
        let target = SockAddr::from(SocketAddr::new(self.addr, 0));
        sock.set_nonblocking(true)
            .map_err(|e| CheckError::io("nonblocking", e))?;
        // Connecting filters replies by source address (raw sockets see all ICMP).
        sock.connect(&target)
            .map_err(|source| CheckError::Connect {
                target: self.addr.to_string(),
                source,
            })?;
        // SAFETY: `sock` is an owned, open socket; AsyncFd owns it until dropped, so the fd
        // stays valid and refers to the same socket for the AsyncFd's whole lifetime.
        let fd = unsafe { AsyncFd::register(sock) }
            .map_err(|e| CheckError::io("register socket", std::io::Error::from(e)))?;
        let id = fastrand::u16(..);
        let seq = fastrand::u16(..);
        let req = echo_request(v6, id, seq, self.payload_len);
        let deadline = tokio::time::Instant::now() + timeout;
        let io_timeout = |r: Result<Result<(), CheckError>, _>| match r {
            Ok(r) => r,
            Err(_) => Err(CheckError::Timeout(timeout)),
        };
        io_timeout(
            tokio::time::timeout_at(deadline, async {
                loop {
                    let mut g = fd.writable().await.map_err(|e| CheckError::io("poll", e))?;
                    match g.try_io(|s| s.get_ref().send(&req)) {
                        Ok(Ok(_)) => return Ok(()),
                        Ok(Err(e)) => return Err(icmp_err("send echo", e)),
                        Err(_would_block) => continue,
                    }
                }
            })
            .await,
        )?;
        io_timeout(
            tokio::time::timeout_at(deadline, async {
                let mut buf = [std::mem::MaybeUninit::<u8>::uninit(); 2048];
                loop {
                    let mut g = fd.readable().await.map_err(|e| CheckError::io("poll", e))?;
                    match g.try_io(|s| s.get_ref().recv(&mut buf)) {
                        Ok(Ok(n)) => {
                            // SAFETY: recv initialised the first n bytes.
                            let pkt =
                                unsafe { std::slice::from_raw_parts(buf.as_ptr().cast::<u8>(), n) };
                            if is_our_reply(pkt, v6, raw, id, seq) {
                                return Ok(());
                            }
                        }
                        Ok(Err(e)) => return Err(icmp_err("recv echo reply", e)),
                        Err(_would_block) => continue,
                    }
                }
            })
            .await,
        )?;
        Ok(Probe::OK)
    }

    fn kind(&self) -> &'static str {
        "icmp"
    }
}

fn icmp_err(context: &'static str, e: io::Error) -> CheckError {
    match e.raw_os_error() {
        Some(libc::EHOSTUNREACH) | Some(libc::ENETUNREACH) | Some(libc::ECONNREFUSED) => {
            CheckError::Unreachable
        }
        _ => CheckError::io(context, e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checksum_of_request_verifies() {
        let p = echo_request(false, 0x1234, 7, 56);
        assert_eq!(checksum(&p), 0);
        assert_eq!(p.len(), 64);
    }

    #[test]
    fn reply_matching() {
        let mut reply = echo_request(false, 9, 5, 8);
        reply[0] = 0;
        assert!(is_our_reply(&reply, false, false, 1, 5));
        let mut ip = vec![0x45u8; 20];
        ip.extend_from_slice(&reply);
        assert!(is_our_reply(&ip, false, true, 9, 5));
        assert!(!is_our_reply(&ip, false, true, 10, 5));
        assert!(!is_our_reply(&[0x4F], false, true, 9, 5));
        assert!(!is_our_reply(&[], false, false, 9, 5));
    }
}
