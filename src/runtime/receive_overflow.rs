//! A Backup that overflowed its advert queue stays awake for a while.
//!
//! A Backup sleeps through its Master's adverts and reads them when its timer is due (see
//! `vrrp_loop.rs`), so they wait in a kernel queue. A flood of adverts that claim a higher
//! priority than the Backup's passes every filter the kernel can run (none can verify a
//! checksum) and fills that queue; the kernel then drops what comes next, the Master's
//! adverts included, and at its timer the Backup would find only junk and take over from a
//! live Master. So after each drain of a sleeping Backup the loop reads the kernel's drop
//! count ([`AdvertSocket::receive_buffer_drops`]); when it rose, the adverts lost may have
//! been the Master's: the router restarts the Master_Down_Timer once
//! ([`vrrp_fsm::Router::handle_receive_loss`]) and the Backup reads every advert as it
//! arrives for [`AWAKE_AFTER_OVERFLOW`], which keeps the queue short (reading costs about a
//! microsecond a datagram), then tries sleeping again.

use std::cell::Cell;
use std::time::{Duration, Instant};

use vip_netlink::AdvertSocket;

/// How long a Backup whose queue overflowed reads every advert before it sleeps through
/// them again. A flood that lasts costs one overflow (one timer restart) per period.
pub const AWAKE_AFTER_OVERFLOW: Duration = Duration::from_secs(30);

/// The drop count last read from an advert socket and how long its Backup stays awake.
/// Cells: the loop's drains hold the instance's I/O shared.
#[derive(Debug, Default)]
pub struct ReceiveOverflow {
    drops_seen: Cell<u64>,
    awake_until: Cell<Option<Instant>>,
}

impl ReceiveOverflow {
    /// Starts from `sock`'s drop count now (drops before the instance slept are not its).
    pub fn new(sock: &AdvertSocket) -> Self {
        let o = ReceiveOverflow::default();
        o.restart(sock);
        o
    }

    /// Reads `sock`'s drop count: whether it rose since the last reading (then the Backup
    /// stays awake until [`AWAKE_AFTER_OVERFLOW`] after `now`). A socket that cannot report
    /// drops counts as none.
    pub fn rose(&self, sock: &AdvertSocket, now: Instant) -> bool {
        let Ok(drops) = sock.receive_buffer_drops() else {
            return false;
        };
        let rose = drops > self.drops_seen.get();
        self.drops_seen.set(drops);
        if rose {
            self.awake_until.set(Some(now + AWAKE_AFTER_OVERFLOW));
        }
        rose
    }

    /// Whether the Backup should still read every advert at `now`.
    pub fn keeps_awake(&self, now: Instant) -> bool {
        self.awake_until.get().is_some_and(|t| now < t)
    }

    /// Counts from `sock`'s drops now (a new or replaced socket).
    pub fn restart(&self, sock: &AdvertSocket) {
        self.drops_seen
            .set(sock.receive_buffer_drops().unwrap_or(0));
    }
}
