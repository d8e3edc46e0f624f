//! One rtnetlink request and its acknowledgement, on the calling thread.
//!
//! The kernel handles an `RTM_NEWADDR` / `RTM_DELADDR` inside the `sendmsg` that carries it
//! and queues the acknowledgement before returning, so the answer can be read right away
//! with a non-blocking `recv`: no hop through the `rtnetlink` connection task, no
//! channel, no reactor, no runtime at all. This is the path a failover takes to add its
//! VIPs.
use std::io;
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

use netlink_packet_core::{NetlinkMessage, NetlinkPayload, NLM_F_ACK, NLM_F_REQUEST};
use netlink_packet_route::RouteNetlinkMessage;
use netlink_sys::{protocols::NETLINK_ROUTE, Socket, SocketAddr};

use crate::error::errno_of;

/// How long to wait for an acknowledgement that was not queued at once (never seen: the
/// kernel answers inside the send; this only bounds a pathological case).
const ACK_TIMEOUT: Duration = Duration::from_secs(2);

/// A route netlink socket for request/acknowledgement exchanges.
#[derive(Debug)]
pub(crate) struct NetlinkRequester {
    socket: Socket,
    sequence: u32,
    buf: Vec<u8>,
}

/// What the kernel answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ack {
    /// Done.
    Ok,
    /// Refused with this (positive) errno.
    Errno(i32),
}

impl NetlinkRequester {
    /// Open and connect a non-blocking `NETLINK_ROUTE` socket.
    pub(crate) fn new() -> io::Result<Self> {
        let mut socket = Socket::new(NETLINK_ROUTE)?;
        socket.bind_auto()?;
        socket.connect(&SocketAddr::new(0, 0))?;
        socket.set_non_blocking(true)?;
        Ok(NetlinkRequester {
            socket,
            sequence: 0,
            buf: vec![0u8; 8192],
        })
    }

    /// Send `msg` with `NLM_F_REQUEST | NLM_F_ACK | extra_flags` and return the kernel's
    /// acknowledgement. Answers to earlier, abandoned requests are skipped by sequence.
    /// Returns at once (the acknowledgement is queued inside the send); should it ever not
    /// be there yet, waits for it in `poll(2)`, at most [`ACK_TIMEOUT`].
    pub(crate) fn request(
        &mut self,
        msg: RouteNetlinkMessage,
        extra_flags: u16,
    ) -> io::Result<Ack> {
        self.sequence = self.sequence.wrapping_add(1);
        let seq = self.sequence;
        let mut req = NetlinkMessage::from(msg);
        req.header.flags = NLM_F_REQUEST | NLM_F_ACK | extra_flags;
        req.header.sequence_number = seq;
        req.finalize();
        let len = req.buffer_len();
        if self.buf.len() < len {
            self.buf.resize(len, 0);
        }
        // Zeroed first: some attributes (interface names, labels) leave their NUL terminator
        // and padding to the buffer, which would otherwise hold the last request's bytes.
        self.buf[..len].fill(0);
        req.serialize(&mut self.buf[..len]);
        self.socket.send(&self.buf[..len], 0)?;
        let started = Instant::now();
        loop {
            let n = match self.socket.recv(&mut &mut self.buf[..], libc::MSG_DONTWAIT) {
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    wait_readable(&self.socket, started, ACK_TIMEOUT)?;
                    continue;
                }
                Err(e) => return Err(e),
            };
            if let Some(ack) = find_ack(&self.buf[..n], seq)? {
                return Ok(ack);
            }
        }
    }
}

/// Waits in `poll(2)` until `socket` is readable, failing with `TimedOut` once `timeout` has
/// passed since `started`; an interrupted wait returns early (the caller tries again).
pub(crate) fn wait_readable(
    socket: &Socket,
    started: Instant,
    timeout: Duration,
) -> io::Result<()> {
    let left = timeout.saturating_sub(started.elapsed());
    if left.is_zero() {
        return Err(io::Error::new(io::ErrorKind::TimedOut, "no netlink answer"));
    }
    let mut pfd = libc::pollfd {
        fd: socket.as_raw_fd(),
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: one valid pollfd, count 1; poll only writes its revents.
    let rc = unsafe { libc::poll(&mut pfd, 1, left.as_millis().max(1) as i32) };
    if rc < 0 {
        let e = io::Error::last_os_error();
        if e.kind() != io::ErrorKind::Interrupted {
            return Err(e);
        }
    }
    Ok(())
}

/// The acknowledgement of request `seq` in one datagram, if there is one.
pub(crate) fn find_ack(data: &[u8], seq: u32) -> io::Result<Option<Ack>> {
    for msg in (DatagramMessages { data }) {
        let msg = msg.map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e.to_string()))?;
        if msg.header.sequence_number == seq {
            if let NetlinkPayload::Error(err) = msg.payload {
                return Ok(Some(match err.code {
                    None => Ack::Ok,
                    Some(c) => Ack::Errno(errno_of(c.get())),
                }));
            }
        }
    }
    Ok(None)
}

/// The rtnetlink messages of one datagram, in order; stops at the first length that does not
/// fit.
pub(crate) struct DatagramMessages<'a> {
    pub(crate) data: &'a [u8],
}

impl Iterator for DatagramMessages<'_> {
    type Item = Result<NetlinkMessage<RouteNetlinkMessage>, netlink_packet_core::DecodeError>;

    fn next(&mut self) -> Option<Self::Item> {
        let data = self.data;
        let len = u32::from_ne_bytes(data.get(..4)?.try_into().ok()?) as usize;
        if data.len() < 16 || len < 16 || len > data.len() {
            return None;
        }
        // Messages are 4-aligned in a datagram.
        let step = ((len + 3) & !3).min(data.len());
        self.data = &data[step..];
        Some(NetlinkMessage::<RouteNetlinkMessage>::deserialize(
            &data[..len],
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An `NLMSG_ERROR` for `seq` with this code (and the 16-octet header it echoes).
    fn error_reply(seq: u32, code: i32) -> Vec<u8> {
        let mut m = Vec::new();
        m.extend_from_slice(&36u32.to_ne_bytes());
        m.extend_from_slice(&2u16.to_ne_bytes()); // NLMSG_ERROR
        m.extend_from_slice(&0u16.to_ne_bytes());
        m.extend_from_slice(&seq.to_ne_bytes());
        m.extend_from_slice(&0u32.to_ne_bytes());
        m.extend_from_slice(&code.to_ne_bytes());
        m.extend_from_slice(&[0; 16]);
        m
    }

    #[test]
    fn acknowledgements_by_sequence() {
        assert_eq!(find_ack(&error_reply(7, 0), 7).unwrap(), Some(Ack::Ok));
        assert_eq!(
            find_ack(&error_reply(7, -libc::EEXIST), 7).unwrap(),
            Some(Ack::Errno(libc::EEXIST))
        );
        let two = [error_reply(6, -libc::ENODEV), error_reply(7, 0)].concat();
        assert_eq!(find_ack(&two, 7).unwrap(), Some(Ack::Ok));
        assert_eq!(find_ack(&two, 8).unwrap(), None);
    }

    /// Found by the `rtnetlink_replies` fuzz target: an error code of `i32::MIN` overflowed
    /// `abs()` (a panic in debug builds, a negative errno otherwise).
    #[test]
    fn error_code_i32_min_is_an_unknown_errno() {
        assert_eq!(
            find_ack(&error_reply(7, i32::MIN), 7).unwrap(),
            Some(Ack::Errno(i32::MAX))
        );
    }
}
