//! A stream of link and address events for one interface (rtnetlink multicast groups).
use std::collections::VecDeque;
use std::net::IpAddr;
use std::pin::Pin;
use std::task::{Context, Poll};

use async_trait::async_trait;
use futures::channel::mpsc::UnboundedReceiver;
use futures::{Stream, StreamExt};
use netlink_packet_core::{NetlinkMessage, NetlinkPayload};
use netlink_packet_route::RouteNetlinkMessage;
use netlink_sys::SocketAddr;
use rtnetlink::{new_multicast_connection, MulticastGroup};
use tracing::{debug, warn};

use crate::error::{Error, Result};
use crate::interface::Interface;
use crate::interface_query;
use crate::link_state::LinkState;

/// A change seen on the watched interface.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum LinkEvent {
    /// The link became usable: administratively up and carrier on (`IFF_UP|IFF_RUNNING`,
    /// keepalived's test).
    Up,
    /// The link is no longer usable (admin down or no carrier).
    Down,
    /// The interface was deleted.
    Removed,
    /// An address was added.
    AddressAdded {
        /// The address.
        address: IpAddr,
        /// Its prefix length.
        prefix_len: u8,
    },
    /// An address was removed.
    AddressRemoved {
        /// The address.
        address: IpAddr,
        /// Its prefix length; 0 when the removal was found by re-reading the interface after
        /// the kernel dropped messages (the address is gone, and its prefix with it).
        prefix_len: u8,
    },
}

/// Something that yields link events, so a daemon can plug another backend.
#[async_trait]
pub trait LinkEvents: Send {
    /// Wait for the next event.
    async fn next_event(&mut self) -> Result<LinkEvent>;
}

/// Watches one interface through `RTNLGRP_LINK`, `RTNLGRP_IPV4_IFADDR` and
/// `RTNLGRP_IPV6_IFADDR`. Link up/down are reported only on transitions, addresses only
/// when they appear or disappear (not on lifetime or DAD-state refreshes).
///
/// ```no_run
/// # async fn f() -> vip_netlink::Result<()> {
/// use vip_netlink::{LinkEvent, LinkEvents, LinkWatch};
/// let mut watch = LinkWatch::new("eth0")?;
/// while let Ok(ev) = watch.next_event().await {
///     if ev == LinkEvent::Down {
///         println!("eth0 down: enter FAULT");
///     }
/// }
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct LinkWatch {
    interface: Interface,
    state: LinkState,
    messages: UnboundedReceiver<(NetlinkMessage<RouteNetlinkMessage>, SocketAddr)>,
    pending: VecDeque<LinkEvent>,
    watches_addresses: bool,
}

impl LinkWatch {
    /// Start watching `interface` (needs a tokio runtime). Subscribes first, then reads
    /// the current state, so no change between the two is lost.
    pub fn new(interface: &str) -> Result<Self> {
        Self::subscribe(
            interface,
            &[
                MulticastGroup::Link,
                MulticastGroup::Ipv4Ifaddr,
                MulticastGroup::Ipv6Ifaddr,
            ],
        )
    }

    /// Watch only the link of `interface` (up, down, removed): no address events, so a
    /// daemon adding its own VIPs is not woken by them, right in the middle of a takeover.
    /// Needs a tokio runtime.
    ///
    /// ```no_run
    /// # async fn f() -> vip_netlink::Result<()> {
    /// use vip_netlink::{LinkEvents, LinkWatch};
    /// let mut watch = LinkWatch::links_only("eth0")?;
    /// let ev = watch.next_event().await?; // Up, Down or Removed
    /// # let _ = ev; Ok(()) }
    /// ```
    pub fn links_only(interface: &str) -> Result<Self> {
        Self::subscribe(interface, &[MulticastGroup::Link])
    }

    fn subscribe(interface: &str, groups: &[MulticastGroup]) -> Result<Self> {
        let interface = Interface::by_name(interface)?;
        let (mut conn, _handle, messages) = new_multicast_connection(groups)
            .map_err(|e| Error::io("netlink multicast socket", e))?;
        crate::receive_buffer::size_netlink(&mut conn);
        tokio::spawn(conn);
        // Only a watch of address events needs the addresses to tell real changes apart: a
        // links-only one (a daemon's, one per interface) reads no more than its link flags.
        let watches_addresses = groups.contains(&MulticastGroup::Ipv4Ifaddr);
        let addresses = if watches_addresses {
            interface.addresses()?.into_iter().collect()
        } else {
            Default::default()
        };
        let state = LinkState {
            index: interface.index(),
            up: interface.is_running()?,
            addresses,
            removed: false,
        };
        Ok(LinkWatch {
            interface,
            state,
            messages,
            pending: VecDeque::new(),
            watches_addresses,
        })
    }

    /// The interface watched.
    pub fn interface(&self) -> &Interface {
        &self.interface
    }

    /// Whether the link was up at the last event (or at start).
    pub fn is_up(&self) -> bool {
        self.state.up
    }

    fn handle(&mut self, msg: RouteNetlinkMessage) {
        let event = self.state.apply(msg);
        if let Some(ev) = event {
            if matches!(ev, LinkEvent::Up | LinkEvent::Down) {
                debug!(interface = %self.interface.name(), up = self.state.up, "link state");
            }
            self.pending.push_back(ev);
        }
    }
}

impl LinkWatch {
    /// The kernel dropped messages (`ENOBUFS`): reads the link (and the addresses, when
    /// watched) again and queues what changed.
    fn resync(&mut self) {
        warn!(interface = %self.interface.name(), "link watch: the kernel dropped messages (ENOBUFS); reading the interface again");
        let up = match self.interface.is_running() {
            Ok(up) => up,
            Err(Error::NoSuchInterface(_)) => {
                self.state.removed = true;
                self.state.up = false;
                self.pending.push_back(LinkEvent::Removed);
                return;
            }
            Err(e) => {
                warn!(interface = %self.interface.name(), "reading the link: {e}");
                return;
            }
        };
        if up != self.state.up {
            self.state.up = up;
            self.pending
                .push_back(if up { LinkEvent::Up } else { LinkEvent::Down });
        }
        if !self.watches_addresses {
            return;
        }
        let Ok(now) = interface_query::link_addresses(self.state.index, None) else {
            return;
        };
        let gone: Vec<IpAddr> = self
            .state
            .addresses
            .iter()
            .filter(|a| !now.iter().any(|n| n.address == **a))
            .copied()
            .collect();
        for address in gone {
            self.state.addresses.remove(&address);
            // The prefix of an address already gone is not known any more.
            self.pending.push_back(LinkEvent::AddressRemoved {
                address,
                prefix_len: 0,
            });
        }
        for a in now {
            if self.state.addresses.insert(a.address) {
                self.pending.push_back(LinkEvent::AddressAdded {
                    address: a.address,
                    prefix_len: a.prefix_len,
                });
            }
        }
    }
}

/// The same events as a [`Stream`]; it ends when the interface is removed (after
/// [`LinkEvent::Removed`]) or the netlink socket closes.
impl Stream for LinkWatch {
    type Item = Result<LinkEvent>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        loop {
            if let Some(ev) = self.pending.pop_front() {
                return Poll::Ready(Some(Ok(ev)));
            }
            if self.state.removed {
                return Poll::Ready(None);
            }
            match self.messages.poll_next_unpin(cx) {
                Poll::Ready(Some((msg, _))) => match msg.payload {
                    NetlinkPayload::InnerMessage(inner) => self.handle(inner),
                    NetlinkPayload::Overrun(_) => self.resync(),
                    _ => {}
                },
                Poll::Ready(None) => return Poll::Ready(None),
                Poll::Pending => return Poll::Pending,
            }
        }
    }
}

#[async_trait]
impl LinkEvents for LinkWatch {
    async fn next_event(&mut self) -> Result<LinkEvent> {
        match self.next().await {
            Some(ev) => ev,
            None if self.state.removed => {
                Err(Error::NoSuchInterface(self.interface.name().to_string()))
            }
            None => Err(Error::Closed),
        }
    }
}
