//! What the daemon tells the program: state changes with their reason, priority changes, a
//! Master hearing a lower priority, sync-group states, and the daemon's end.
//!
//! The VRRP thread publishes each event after the network actions of its batch (a takeover's
//! advert, VIPs and GARPs never wait for a reader). Every [`Events`] receives every event;
//! one that falls more than [`EVENT_BACKLOG`] behind skips the oldest and counts them
//! ([`Events::skipped`]).

use std::fmt;
use std::net::IpAddr;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::SystemTime;

use futures_core::Stream;
use tokio::sync::broadcast;
use tokio_stream::wrappers::errors::BroadcastStreamRecvError;
use tokio_stream::wrappers::BroadcastStream;
use vrrp_fsm::{State, StateChangeReason};
use vrrp_proto::AddressFamily;

/// Events an [`Events`] may fall behind by before it skips the oldest, at the least: the
/// daemon's channel holds [`event_backlog`] of them.
pub const EVENT_BACKLOG: usize = 512;

/// The backlog of a daemon running `instances` instances: [`EVENT_BACKLOG`], or two events an
/// instance when that is more. Every instance changes state in the same batch at start-up
/// (Init to Backup) and in a mass takeover; with 1,024 instances a backlog of 512 made the
/// program's reader skip half of the start-up transitions.
pub fn event_backlog(instances: usize) -> usize {
    EVENT_BACKLOG.max(instances.saturating_mul(2))
}

/// Something the daemon did or saw.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// An instance changed state (after its advert, VIPs and GARPs for it went out).
    StateChanged {
        /// The instance's name.
        instance: String,
        /// Its interface.
        iface: String,
        /// Its VRID.
        vrid: u8,
        /// Its address family.
        family: AddressFamily,
        /// The state it left.
        from: State,
        /// The state it entered.
        to: State,
        /// Why.
        reason: StateChangeReason,
        /// When (wall clock).
        at: SystemTime,
    },
    /// An instance's effective priority changed (trackers, reload).
    PriorityChanged {
        /// The instance's name.
        instance: String,
        /// The previous effective priority.
        from: u8,
        /// The new one.
        to: u8,
    },
    /// A Master heard an advert of a lower priority: another node thinks it is Master
    /// (keepalived's `notify_master_rx_lower_pri`).
    MasterRxLowerPriority {
        /// The instance's name.
        instance: String,
        /// The other node.
        from: IpAddr,
        /// Its priority.
        priority: u8,
    },
    /// A sync group's state changed (keepalived's group notify: `MASTER`, `BACKUP`,
    /// `FAULT`, `STOP`).
    GroupStateChanged {
        /// The group's name.
        group: String,
        /// Its state, as keepalived's notify scripts name it.
        state: &'static str,
    },
    /// The daemon stopped: after [`Daemon::shutdown`](crate::Daemon::shutdown), or on its own
    /// after a fatal error (`error` says which; VIPs, routes and rules were removed).
    Stopped {
        /// Why it stopped on its own.
        error: Option<String>,
    },
}

impl fmt::Display for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Event::StateChanged {
                instance,
                from,
                to,
                reason,
                ..
            } => write!(f, "{instance}: {from} -> {to} ({reason})"),
            Event::PriorityChanged { instance, from, to } => {
                write!(f, "{instance}: priority {from} -> {to}")
            }
            Event::MasterRxLowerPriority {
                instance,
                from,
                priority,
            } => write!(
                f,
                "{instance}: Master heard priority {priority} from {from}"
            ),
            Event::GroupStateChanged { group, state } => write!(f, "group {group}: {state}"),
            Event::Stopped { error: None } => f.write_str("stopped"),
            Event::Stopped { error: Some(e) } => write!(f, "stopped: {e}"),
        }
    }
}

/// A stream of the daemon's [`Event`]s (from [`Daemon::events`](crate::Daemon::events)): use
/// [`Events::recv`], or it as a [`Stream`]. It ends after [`Event::Stopped`].
pub struct Events {
    inner: BroadcastStream<Event>,
    skipped: u64,
    /// `Stopped` was handed out: nothing follows it.
    finished: bool,
}

impl Events {
    pub(crate) fn new(rx: broadcast::Receiver<Event>) -> Self {
        Events {
            inner: BroadcastStream::new(rx),
            skipped: 0,
            finished: false,
        }
    }

    /// The next event; `None` once the daemon has stopped and every event was read.
    pub async fn recv(&mut self) -> Option<Event> {
        std::future::poll_fn(|cx| Pin::new(&mut *self).poll_next(cx)).await
    }

    /// Events skipped because this receiver fell more than [`event_backlog`] behind.
    pub fn skipped(&self) -> u64 {
        self.skipped
    }
}

impl Stream for Events {
    type Item = Event;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Event>> {
        let this = self.get_mut();
        if this.finished {
            return Poll::Ready(None);
        }
        loop {
            match Pin::new(&mut this.inner).poll_next(cx) {
                Poll::Ready(Some(Err(BroadcastStreamRecvError::Lagged(n)))) => {
                    this.skipped += n;
                    tracing::warn!(skipped = n, "an event reader fell behind");
                }
                Poll::Ready(Some(Ok(ev))) => {
                    this.finished = matches!(ev, Event::Stopped { .. });
                    return Poll::Ready(Some(ev));
                }
                Poll::Ready(None) => return Poll::Ready(None),
                Poll::Pending => return Poll::Pending,
            }
        }
    }
}
