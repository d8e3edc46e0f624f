//! Per-socket counters of received adverts, named after the RFC 6527 (VRRPv3-MIB) objects.
use std::sync::atomic::{AtomicU64, Ordering};

/// A snapshot of an [`AdvertSocket`](crate::AdvertSocket)'s receive counters.
///
/// Every packet read from the socket lands in exactly one counter: `received` when it is
/// handed to the caller, one of the error counters when it is dropped. The names follow
/// RFC 6527's `vrrpv3Statistics*` objects (global ones marked), with keepalived's
/// `vrrp_stats` equivalents in the docs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AdvertStats {
    /// `vrrpv3StatisticsRcvdAdvertisements`: valid adverts handed to the caller.
    pub received: u64,
    /// `vrrpv3StatisticsRcvdPriZeroPackets`: of `received`, those with priority 0.
    pub priority_zero: u64,
    /// `vrrpv3GlobalStatisticsChecksumErrors` (keepalived `chk_err`).
    pub checksum_errors: u64,
    /// `vrrpv3GlobalStatisticsVersionErrors` (keepalived `vers_err`).
    pub version_errors: u64,
    /// `vrrpv3GlobalStatisticsVrIdErrors`: the VRID is not the one this socket serves
    /// (only when [`AdvertSocketConfig::with_vrid`](crate::AdvertSocketConfig::with_vrid) is set).
    pub vrid_errors: u64,
    /// `vrrpv3StatisticsIpTtlErrors`: TTL / hop limit not 255 on a multicast advert
    /// (keepalived `ip_ttl_err`).
    pub ip_ttl_errors: u64,
    /// `vrrpv3StatisticsRcvdInvalidTypePackets` (keepalived `invalid_type_rcvd`).
    pub invalid_type: u64,
    /// `vrrpv3StatisticsPacketLengthErrors` (keepalived `packet_len_err`).
    pub packet_length_errors: u64,
    /// `vrrpv3StatisticsAddressListErrors` as used for the cast type: a multicast advert on
    /// a unicast socket or the reverse (keepalived `addr_list_err`).
    pub address_list_errors: u64,
    /// VRRPv2 authentication errors (RFC 2787 `vrrpStatsAuthFailures`/`InvalidAuthType`/
    /// `AuthTypeMismatch`; keepalived `auth_failure`, `invalid_authtype`, `authtype_mismatch`).
    pub auth_errors: u64,
    /// Unicast mode: the source is not a configured peer (keepalived drops these silently).
    pub unknown_peer: u64,
    /// Anything else the codec rejected (bad VRID 0, malformed address list, ...), which
    /// RFC 6527 folds into `vrrpv3StatisticsProtoErrReason`.
    pub other_errors: u64,
}

/// The live counters behind [`AdvertStats`].
#[derive(Debug, Default)]
pub(crate) struct AdvertCounters {
    pub received: AtomicU64,
    pub priority_zero: AtomicU64,
    pub checksum_errors: AtomicU64,
    pub version_errors: AtomicU64,
    pub vrid_errors: AtomicU64,
    pub ip_ttl_errors: AtomicU64,
    pub invalid_type: AtomicU64,
    pub packet_length_errors: AtomicU64,
    pub address_list_errors: AtomicU64,
    pub auth_errors: AtomicU64,
    pub unknown_peer: AtomicU64,
    pub other_errors: AtomicU64,
}

impl AdvertCounters {
    pub(crate) fn bump(c: &AtomicU64) {
        c.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn snapshot(&self) -> AdvertStats {
        let g = |c: &AtomicU64| c.load(Ordering::Relaxed);
        AdvertStats {
            received: g(&self.received),
            priority_zero: g(&self.priority_zero),
            checksum_errors: g(&self.checksum_errors),
            version_errors: g(&self.version_errors),
            vrid_errors: g(&self.vrid_errors),
            ip_ttl_errors: g(&self.ip_ttl_errors),
            invalid_type: g(&self.invalid_type),
            packet_length_errors: g(&self.packet_length_errors),
            address_list_errors: g(&self.address_list_errors),
            auth_errors: g(&self.auth_errors),
            unknown_peer: g(&self.unknown_peer),
            other_errors: g(&self.other_errors),
        }
    }
}
