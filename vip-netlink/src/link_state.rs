//! What the kernel's link and address messages say about one interface, kept so that only
//! real changes become [`LinkEvent`]s: the Sans-IO half of [`LinkWatch`](crate::LinkWatch).
use std::collections::HashSet;
use std::net::IpAddr;

use netlink_packet_route::link::LinkFlags;
use netlink_packet_route::RouteNetlinkMessage;

use crate::link_watch::LinkEvent;
use crate::vip_manager::interface_address;

/// The last known state of interface `index`.
#[derive(Debug)]
pub(crate) struct LinkState {
    pub(crate) index: u32,
    pub(crate) up: bool,
    pub(crate) addresses: HashSet<IpAddr>,
    pub(crate) removed: bool,
}

impl LinkState {
    /// Applies one rtnetlink message; the event it makes, if it changes anything.
    pub(crate) fn apply(&mut self, msg: RouteNetlinkMessage) -> Option<LinkEvent> {
        let index = self.index;
        match msg {
            RouteNetlinkMessage::NewLink(link) if link.header.index == index => {
                let f = link.header.flags;
                let up = f.contains(LinkFlags::Up) && f.contains(LinkFlags::Running);
                if up == self.up {
                    return None;
                }
                self.up = up;
                Some(if up { LinkEvent::Up } else { LinkEvent::Down })
            }
            RouteNetlinkMessage::DelLink(link) if link.header.index == index => {
                self.removed = true;
                self.up = false;
                Some(LinkEvent::Removed)
            }
            RouteNetlinkMessage::NewAddress(a) if a.header.index == index => {
                let ia = interface_address(&a)?;
                self.addresses
                    .insert(ia.address)
                    .then_some(LinkEvent::AddressAdded {
                        address: ia.address,
                        prefix_len: ia.prefix_len,
                    })
            }
            RouteNetlinkMessage::DelAddress(a) if a.header.index == index => {
                let ia = interface_address(&a)?;
                self.addresses
                    .remove(&ia.address)
                    .then_some(LinkEvent::AddressRemoved {
                        address: ia.address,
                        prefix_len: ia.prefix_len,
                    })
            }
            _ => None,
        }
    }
}
