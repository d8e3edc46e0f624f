//! Receive-side statistics of an advert socket: `vrrp-proto`'s RFC 6527 counters plus the
//! drops only the socket can see.
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use vrrp_proto::{Counter, Counters, DecodeError};

/// A snapshot of an [`AdvertSocket`](crate::AdvertSocket)'s receive statistics.
///
/// Every packet read from the socket lands in exactly one place: `counters.rcvd_advertisements`
/// when it is handed to the caller, or one error counter when it is dropped:
///
/// * codec failures (length, TTL, version, type, checksum, VRID 0, interval, v2 auth,
///   `auth_hmac` trailer) in the [`vrrp_proto::Counters`] field that
///   [`DecodeError::counter`] names, with `proto_err_reason` updated;
/// * a multicast advert on a unicast socket or the reverse in `address_list_errors`
///   (keepalived's `addr_list_err` for the cast type);
/// * an advert for another VRID, when the socket serves one VRID, in `vrid_errors`;
/// * unicast mode, a source that is not a configured peer, in [`AdvertStats::unknown_peer`]
///   (keepalived drops these without a counter).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AdvertStats {
    /// RFC 6527 / RFC 2787 counters of the receive path.
    pub counters: Counters,
    /// Unicast adverts from a source that is not a configured peer.
    pub unknown_peer: u64,
    /// Adverts refused by `auth_hmac`, by reason (each also in
    /// `counters.auth_trailer_errors`).
    pub auth_hmac: crate::AuthHmacStats,
    /// Datagrams the kernel dropped before any check because the socket's receive buffer
    /// was full (`SO_MEMINFO`, both sockets of the instance, read when the statistics are
    /// taken; 0 if the kernel cannot tell): they are in no other counter.
    pub receive_queue_drops: u64,
}

/// The live statistics behind [`AdvertStats`].
#[derive(Debug, Default)]
pub(crate) struct AdvertCounters {
    counters: Mutex<Counters>,
    unknown_peer: AtomicU64,
}

impl AdvertCounters {
    fn with<R>(&self, f: impl FnOnce(&mut Counters) -> R) -> R {
        let mut g = self.counters.lock().unwrap_or_else(|e| e.into_inner());
        f(&mut g)
    }

    pub(crate) fn decode_error(&self, e: &DecodeError) {
        self.with(|c| c.record(e));
    }

    pub(crate) fn bump(&self, counter: Counter) {
        self.with(|c| c.bump(counter));
    }

    pub(crate) fn received(&self, priority: u8) {
        self.with(|c| c.record_received(priority));
    }

    pub(crate) fn unknown_peer(&self) {
        self.unknown_peer.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn snapshot(&self) -> AdvertStats {
        AdvertStats {
            counters: self.with(|c| *c),
            unknown_peer: self.unknown_peer.load(Ordering::Relaxed),
            auth_hmac: Default::default(),
            receive_queue_drops: 0,
        }
    }
}
