//! Events from the tokio side (link watch, track scripts, the program's handle) to the VRRP
//! loop's thread: a channel plus an `eventfd` the loop's `epoll` set watches.
#![allow(unsafe_code)]

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::mpsc;
use std::sync::Arc;

/// Something that happened outside the state machine.
#[derive(Debug)]
pub enum Event {
    /// Shut down gracefully (the word says who asked, for the log).
    Shutdown(&'static str),
    /// The program asks for every instance's status.
    Status(tokio::sync::oneshot::Sender<Vec<crate::runtime::status::InstanceStatus>>),
    /// The link of this interface went up (`true`) or down.
    Link(String, bool),
    /// An interface of this name exists (again) with this index: instances on it whose
    /// sockets are bound to another index reopen them.
    LinkIndex(String, u32),
    /// A track script (up or down) or a tracked file (its value) of instance `.0` changed.
    Tracker(usize, vrrp_fsm::TrackerId, vrrp_fsm::TrackerState),
    /// A new configuration, validated and planned, to apply (see `reload`).
    Reload(Box<crate::runtime::reload::ReloadRequest>),
    /// A watcher failed: the daemon cannot go on.
    Fatal(String),
    /// Tests only ([`Daemon::inject_panic`](crate::Daemon::inject_panic)): panic on the VRRP
    /// thread.
    InjectPanic,
}

/// The sending half; cheap to clone, usable from any thread or task.
#[derive(Clone)]
pub struct EventSender {
    tx: mpsc::Sender<Event>,
    wake: Arc<OwnedFd>,
}

/// The receiving half, owned by the VRRP loop.
pub struct EventReceiver {
    rx: mpsc::Receiver<Event>,
    wake: Arc<OwnedFd>,
}

/// A new queue.
pub fn event_queue() -> io::Result<(EventSender, EventReceiver)> {
    // SAFETY: eventfd has no memory preconditions; we check the result.
    let raw = unsafe { libc::eventfd(0, libc::EFD_NONBLOCK | libc::EFD_CLOEXEC) };
    if raw < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `raw` is a fresh descriptor we own exclusively.
    let wake = Arc::new(unsafe { OwnedFd::from_raw_fd(raw) });
    let (tx, rx) = mpsc::channel();
    Ok((
        EventSender {
            tx,
            wake: wake.clone(),
        },
        EventReceiver { rx, wake },
    ))
}

impl EventSender {
    /// Queues `ev` and wakes the loop. Fails only once the loop is gone (nothing to tell).
    pub fn send(&self, ev: Event) {
        if self.tx.send(ev).is_ok() {
            let one: u64 = 1;
            // SAFETY: writes 8 bytes from a valid u64 to our open eventfd. It cannot fail
            // short of the counter overflowing, which a few events never do.
            unsafe {
                libc::write(
                    self.wake.as_raw_fd(),
                    (&one as *const u64).cast(),
                    std::mem::size_of::<u64>(),
                )
            };
        }
    }
}

impl EventReceiver {
    /// Every event queued so far (clears the wake-up first, so none is missed).
    pub fn drain(&self) -> impl Iterator<Item = Event> + '_ {
        let mut count: u64 = 0;
        // SAFETY: reads 8 bytes into a valid u64 from our open, non-blocking eventfd;
        // EAGAIN (nothing pending) leaves it untouched, which is fine.
        unsafe {
            libc::read(
                self.wake.as_raw_fd(),
                (&mut count as *mut u64).cast(),
                std::mem::size_of::<u64>(),
            )
        };
        self.rx.try_iter()
    }
}

impl AsRawFd for EventReceiver {
    fn as_raw_fd(&self) -> RawFd {
        self.wake.as_raw_fd()
    }
}
