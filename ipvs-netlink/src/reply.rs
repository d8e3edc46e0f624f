//! Splitting a received netlink datagram into IPVS replies.

use netlink_packet_core::{DecodeError, NetlinkBuffer, NetlinkMessage, NetlinkPayload, Parseable};
use netlink_packet_generic::GenlMessage;

use crate::message::IpvsMessage;

/// One netlink message received on an IPVS socket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// An IPVS message (a dump entry or a `GET_*` answer).
    Message {
        /// Sequence number of the request it answers.
        seq: u32,
        /// The message.
        message: IpvsMessage,
    },
    /// An acknowledgement: `errno` 0 for success, else the positive kernel errno.
    Ack {
        /// Sequence number of the request.
        seq: u32,
        /// 0 or a positive errno.
        errno: i32,
    },
    /// End of a dump.
    Done {
        /// Sequence number of the dump request.
        seq: u32,
    },
    /// Anything else (`NLMSG_NOOP`, `NLMSG_OVERRUN`).
    Other {
        /// Sequence number.
        seq: u32,
    },
}

/// Parses every netlink message in one datagram.
///
/// Never panics on malformed input; the first malformed message ends parsing with an error.
pub fn parse_datagram(mut buf: &[u8]) -> Result<Vec<Reply>, DecodeError> {
    let mut out = Vec::new();
    while !buf.is_empty() {
        let nl = NetlinkBuffer::new_checked(&buf)?;
        let len = nl.length() as usize;
        let msg = NetlinkMessage::<GenlMessage<IpvsMessage>>::parse(&nl)?;
        let seq = msg.header.sequence_number;
        out.push(match msg.payload {
            NetlinkPayload::InnerMessage(g) => Reply::Message {
                seq,
                message: g.payload,
            },
            NetlinkPayload::Error(e) => Reply::Ack {
                seq,
                errno: e.code.map(|c| c.get().saturating_neg()).unwrap_or(0),
            },
            NetlinkPayload::Done(_) => Reply::Done { seq },
            _ => Reply::Other { seq },
        });
        // Messages are 4-byte aligned; the last one may lack its padding.
        let next = len.checked_add(3).map(|n| n & !3).unwrap_or(usize::MAX);
        buf = buf.get(next..).unwrap_or(&[]);
    }
    Ok(out)
}

/// Looks through raw netlink headers (without decoding payloads) for the end of request `seq`:
/// its `NLMSG_DONE` or `NLMSG_ERROR`. Used to stay in step after an undecodable reply.
pub(crate) fn scan_terminator(mut buf: &[u8], seq: u32) -> bool {
    use netlink_packet_core::{NLMSG_DONE, NLMSG_ERROR};
    while let Ok(nl) = NetlinkBuffer::new_checked(buf) {
        if nl.sequence_number() == seq
            && (nl.message_type() == NLMSG_DONE || nl.message_type() == NLMSG_ERROR)
        {
            return true;
        }
        let next = (nl.length() as usize + 3) & !3;
        buf = match buf.get(next..) {
            Some(b) if !b.is_empty() => b,
            _ => break,
        };
    }
    false
}
