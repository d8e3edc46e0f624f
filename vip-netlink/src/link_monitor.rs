//! The links of many interfaces from one rtnetlink socket: a daemon with a thousand
//! instances watches a thousand interfaces with one socket, one buffer and one task, where a
//! [`LinkWatch`](crate::LinkWatch) each would wake all of them for every link message.
use std::collections::VecDeque;

use futures::channel::mpsc::{unbounded, UnboundedReceiver, UnboundedSender};
use futures::StreamExt;
use netlink_packet_core::{NetlinkMessage, NetlinkPayload};
use netlink_packet_route::RouteNetlinkMessage;
use netlink_sys::SocketAddr;
use rtnetlink::{new_multicast_connection, MulticastGroup};
use tracing::{debug, warn};

use crate::error::{Error, Result};
use crate::interface::Interface;
use crate::link_table::{LinkChange, LinkStatus, LinkTable};

type Messages = UnboundedReceiver<(NetlinkMessage<RouteNetlinkMessage>, SocketAddr)>;

/// Reads the state of interface `name` now (two `ioctl`s, whatever the number of
/// interfaces); `None` when there is no such interface.
pub fn link_status(name: &str) -> Option<LinkStatus> {
    let ifc = Interface::by_name(name).ok()?;
    let up = ifc.is_running().ok()?;
    Some(LinkStatus {
        index: ifc.index(),
        up,
    })
}

/// Link up/down, removal and (re)appearance of any number of interfaces, by name, through
/// one `RTNLGRP_LINK` subscription. An interface may be watched before it exists: its
/// appearance is reported with its index. When the kernel drops messages (`ENOBUFS`: the
/// socket buffer overran), every watched interface is read again, the differences reported
/// and the overrun logged and counted ([`LinkMonitor::overruns`]).
///
/// ```no_run
/// # async fn f() -> vip_netlink::Result<()> {
/// use vip_netlink::{LinkChange, LinkMonitor};
/// let mut links = LinkMonitor::new()?;
/// let watcher = links.watcher();
/// for name in ["eth0", "eth1"] {
///     println!("{name}: {:?}", watcher.watch(name)); // the state now, None if missing
/// }
/// while let Ok((name, change)) = links.next_change().await {
///     if change == LinkChange::Down {
///         println!("{name} down: FAULT for its instances");
///     }
/// }
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct LinkMonitor {
    messages: Option<Messages>,
    table: LinkTable,
    pending: VecDeque<(String, LinkChange)>,
    requests: UnboundedReceiver<(String, Option<LinkStatus>)>,
    requests_tx: UnboundedSender<(String, Option<LinkStatus>)>,
    overruns: u64,
    /// The receive buffer in force on the socket, octets (see [`crate::receive_buffer`]).
    receive_buffer: usize,
}

/// Adds interfaces to a [`LinkMonitor`] from elsewhere (cloneable; the monitor may be
/// waiting in [`LinkMonitor::next_change`] on another task).
#[derive(Debug, Clone)]
pub struct LinkWatcher {
    tx: UnboundedSender<(String, Option<LinkStatus>)>,
}

impl LinkWatcher {
    /// Watches `name` from now on and returns its state now (`None`: no such interface,
    /// watched until it appears). A change between this read and the monitor taking the
    /// name up is reported by the monitor, never lost.
    pub fn watch(&self, name: &str) -> Option<LinkStatus> {
        let now = link_status(name);
        let _ = self.tx.unbounded_send((name.to_string(), now));
        now
    }
}

impl LinkMonitor {
    /// Subscribes to link messages (needs a tokio runtime); nothing watched yet.
    pub fn new() -> Result<Self> {
        let (requests_tx, requests) = unbounded();
        let (messages, receive_buffer) = subscribe()?;
        Ok(LinkMonitor {
            messages: Some(messages),
            receive_buffer,
            table: LinkTable::default(),
            pending: VecDeque::new(),
            requests,
            requests_tx,
            overruns: 0,
        })
    }

    /// A handle that adds interfaces while the monitor runs elsewhere.
    pub fn watcher(&self) -> LinkWatcher {
        LinkWatcher {
            tx: self.requests_tx.clone(),
        }
    }

    /// Watches `name` from now on; its state now (`None`: no such interface).
    pub fn watch(&mut self, name: &str) -> Option<LinkStatus> {
        let now = link_status(name);
        self.table.watch(name, now);
        now
    }

    /// The receive buffer of its netlink socket, octets as the kernel reports them (0: the
    /// kernel refused to size it): sized for bursts of link changes.
    pub fn receive_buffer(&self) -> usize {
        self.receive_buffer
    }

    /// How many times the kernel dropped link messages (each followed by a re-read).
    pub fn overruns(&self) -> u64 {
        self.overruns
    }

    /// Waits for the next change of a watched interface. A closed socket is opened again
    /// (and every watched interface read again); `Err` only when that fails.
    pub async fn next_change(&mut self) -> Result<(String, LinkChange)> {
        loop {
            if let Some(c) = self.pending.pop_front() {
                return Ok(c);
            }
            let Some(messages) = self.messages.as_mut() else {
                let (messages, receive_buffer) = subscribe()?;
                self.messages = Some(messages);
                self.receive_buffer = receive_buffer;
                warn!("link monitor: netlink socket opened again; reading every watched link");
                self.resync();
                continue;
            };
            tokio::select! {
                biased;
                req = self.requests.next() => {
                    if let Some((name, reported)) = req {
                        // What the watcher told its caller, then read again: the state may
                        // have moved since (messages about a name not yet watched are not
                        // applied).
                        if !self.table.is_watched(&name) {
                            self.table.watch(&name, reported);
                        }
                        let now = link_status(&name);
                        for c in self.table.watch(&name, now) {
                            self.pending.push_back((name.clone(), c));
                        }
                    }
                }
                msg = messages.next() => match msg {
                    Some((msg, _)) => self.handle(msg),
                    None => {
                        warn!("link monitor: netlink socket closed");
                        self.messages = None;
                    }
                },
            }
        }
    }

    fn handle(&mut self, msg: NetlinkMessage<RouteNetlinkMessage>) {
        match msg.payload {
            NetlinkPayload::InnerMessage(inner) => {
                for (name, c) in self.table.apply(&inner) {
                    debug!(interface = %name, change = ?c, "link change");
                    self.pending.push_back((name, c));
                }
            }
            NetlinkPayload::Overrun(_) => {
                self.overruns += 1;
                warn!(
                    overruns = self.overruns,
                    "link monitor: the kernel dropped link messages (ENOBUFS); reading every watched link again"
                );
                self.resync();
            }
            _ => {}
        }
    }

    /// Reads every watched interface again and queues the differences.
    fn resync(&mut self) {
        let names: Vec<String> = self.table.names().map(str::to_string).collect();
        for name in names {
            let now = link_status(&name);
            for c in self.table.watch(&name, now) {
                self.pending.push_back((name.clone(), c));
            }
        }
    }
}

/// One multicast socket on `RTNLGRP_LINK`, its buffer sized, its connection task spawned.
fn subscribe() -> Result<(Messages, usize)> {
    let (mut conn, _handle, messages) = new_multicast_connection(&[MulticastGroup::Link])
        .map_err(|e| Error::io("netlink multicast socket", e))?;
    let size = crate::receive_buffer::size_netlink(&mut conn);
    tokio::spawn(conn);
    Ok((messages, size))
}
