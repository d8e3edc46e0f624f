//! Entry points for `cargo fuzz` (`fuzz/fuzz_targets/ipvs_reply.rs`) and the corpus replay test.
//! Not a stable API.

use netlink_packet_core::Emitable;

use crate::message::IpvsAttr;
use crate::reply::{parse_datagram, Reply};
use crate::{Destination, Family, Service, SyncDaemon};

/// Parses `data` as a netlink datagram from the IPVS family and turns every message into the
/// typed model, as the handle does. Re-emits what parsed and parses it again: the result must be
/// the same. Must never panic.
pub fn ipvs_reply(data: &[u8]) {
    let Ok(replies) = parse_datagram(data) else {
        return;
    };
    for r in replies {
        let Reply::Message { message, .. } = r else {
            continue;
        };
        // Short addresses are widened to 16 bytes on emit; a nest near the 64 KiB NLA limit
        // can then no longer be emitted, so the round trip is only checked below the limit.
        if message
            .attrs
            .iter()
            .any(|a| a.buffer_len() > usize::from(u16::MAX) - 4)
        {
            continue;
        }
        let mut buf = vec![0u8; message.buffer_len()];
        message.emit(&mut buf);
        let header = netlink_packet_generic::GenlHeader {
            cmd: message.cmd.into(),
            version: 1,
        };
        let again = <crate::IpvsMessage as netlink_packet_core::ParseableParametrized<
            [u8],
            netlink_packet_generic::GenlHeader,
        >>::parse_with_param(&buf, header)
        .expect("re-parsing an emitted message");
        assert_eq!(again, message, "emit/parse round trip");
        for a in &message.attrs {
            match a {
                IpvsAttr::Service(s) => {
                    if let Ok(svc) = Service::from_attrs(s) {
                        // A service read back must be writable again.
                        let _ = svc.to_attrs();
                    }
                }
                IpvsAttr::Destination(d) => {
                    let _ = Destination::from_attrs(d, Family::Inet);
                    if let Ok(dest) = Destination::from_attrs(d, Family::Inet6) {
                        let _ = dest.to_attrs();
                    }
                }
                IpvsAttr::Daemon(d) => {
                    let _ = SyncDaemon::from_attrs(d);
                }
                _ => {}
            }
        }
    }
}
