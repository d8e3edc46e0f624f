//! Fuzz entry point for what vip-netlink reads from the kernel's rtnetlink replies, shared by
//! the cargo-fuzz target `rtnetlink_replies` and by the stable test that replays its corpus
//! (hidden: not part of the supported API). It panics only when our handling breaks one of its
//! own invariants; a bad message alone never panics.
use std::collections::HashSet;

use netlink_packet_core::NetlinkPayload;
use netlink_packet_route::RouteNetlinkMessage;

use crate::link_state::LinkState;
use crate::link_watch::LinkEvent;
use crate::netlink_request::{find_ack, DatagramMessages};
use crate::vip_manager::interface_address;
use crate::vmac::ExistingLink;

/// Target `rtnetlink_replies`: `data` is one netlink datagram as the kernel would send it.
/// It goes through the acknowledgement search of the request path (for the sequence number
/// of its first message), then each message it holds through netlink-packet-route's parser
/// into what [`LinkWatch`](crate::LinkWatch) (link and address events for the interface whose
/// index is at the first message's octets 20..24, where both `ifinfomsg` and `ifaddrmsg`
/// keep it), [`VipManager`](crate::VipManager)'s address listing and the VMAC lookup make
/// of it.
pub fn rtnetlink_replies(data: &[u8]) {
    let word = |at: usize| {
        data.get(at..at + 4)
            .map_or(0, |b| u32::from_ne_bytes([b[0], b[1], b[2], b[3]]))
    };
    let _ = find_ack(data, word(8));
    let mut state = LinkState {
        index: word(20),
        up: data.get(4).is_some_and(|b| b & 1 != 0),
        addresses: HashSet::new(),
        removed: false,
    };
    for msg in (DatagramMessages { data }).flatten() {
        let NetlinkPayload::InnerMessage(inner) = msg.payload else {
            continue;
        };
        match &inner {
            RouteNetlinkMessage::NewAddress(a) | RouteNetlinkMessage::DelAddress(a) => {
                if let Some(ia) = interface_address(a) {
                    assert_eq!(ia.ifindex, a.header.index);
                }
            }
            RouteNetlinkMessage::NewLink(l) => {
                let link = ExistingLink::from_message(l.clone());
                assert_eq!(link.index, l.header.index);
            }
            _ => {}
        }
        let before = (state.up, state.addresses.clone());
        match state.apply(inner) {
            None => assert_eq!(before, (state.up, state.addresses.clone()), "silent change"),
            Some(LinkEvent::Up) => assert!(!before.0 && state.up),
            Some(LinkEvent::Down) => assert!(before.0 && !state.up),
            Some(LinkEvent::Removed) => assert!(state.removed && !state.up),
            Some(LinkEvent::AddressAdded { address, .. }) => {
                assert!(!before.1.contains(&address) && state.addresses.contains(&address))
            }
            Some(LinkEvent::AddressRemoved { address, .. }) => {
                assert!(before.1.contains(&address) && !state.addresses.contains(&address))
            }
        }
    }
}
