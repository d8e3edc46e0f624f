//! Per-instance statistics, named after keepalived's `vrrp_stats` / RFC 6527 counters.

/// Counters of one instance. All monotonic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct Counters {
    /// Adverts accepted for processing (`advert_rcvd`).
    pub adverts_received: u64,
    /// Adverts we asked the driver to send (`advert_sent`).
    pub adverts_sent: u64,
    /// Priority-0 adverts received (`pri_zero_rcvd`).
    pub priority_zero_received: u64,
    /// Priority-0 adverts sent (`pri_zero_sent`).
    pub priority_zero_sent: u64,
    /// Transitions to Master (`become_master`, RFC 6527 MasterTransitions).
    pub become_master: u64,
    /// Transitions out of Master (`release_master`).
    pub release_master: u64,
    /// Accepted adverts whose address list differs from our VIPs (`addr_list_err`).
    pub address_list_errors: u64,
    /// Adverts refused for any reason (sum of the next fields).
    pub adverts_rejected: u64,
    /// Refused: wrong VRID.
    pub vrid_errors: u64,
    /// Refused: wrong version.
    pub version_errors: u64,
    /// Refused: v2 interval mismatch or v3 zero interval.
    pub interval_errors: u64,
    /// Refused: v2 authentication mismatch.
    pub auth_errors: u64,
    /// Refused: other family, our own address, unknown unicast peer.
    pub source_errors: u64,
    /// Refused: not running or in FAULT.
    pub state_errors: u64,
    /// Tracker updates refused (unknown id, wrong state kind).
    pub tracker_errors: u64,
    /// Times another address owner (priority 255) was heard while we were one (we drop to 254).
    pub address_owner_conflicts: u64,
    /// Actions dropped because the driver did not drain the queue.
    pub actions_dropped: u64,
    /// Lower-priority adverts a Master left unanswered: their sender (or, with spoofed
    /// sources, too many senders) had been answered within the advert interval.
    pub lower_priority_unanswered: u64,
    /// Times a Backup restarted its Master_Down_Timer because its driver lost datagrams
    /// unread ([`Instance::handle_receive_loss`](crate::Instance::handle_receive_loss)).
    pub receive_loss_restarts: u64,
}
