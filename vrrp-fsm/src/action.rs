//! What the state machine asks its driver to do.
use core::net::IpAddr;

use crate::state::{State, StateChangeReason};

/// Why a gratuitous ARP / unsolicited NA burst is requested.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GarpReason {
    /// Just became Master.
    BecameMaster,
    /// The second burst, `garp_master_delay` after becoming Master.
    MasterDelay,
    /// Periodic `garp_master_refresh`.
    Refresh,
    /// A Master heard a lower priority (`garp_lower_prio_repeat`).
    LowerPriority,
    /// The second lower-priority burst, `garp_lower_prio_delay` later.
    LowerPriorityDelay,
    /// A reload changed the VIPs of a Master (after [`Action::UpdateVips`]).
    VipsChanged,
}

/// One thing the driver must do, drained with [`Instance::poll_action`](crate::Instance::poll_action).
/// Perform them in the order given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Action {
    /// Send one advertisement with this priority (0 = we are leaving). The driver fills in the
    /// rest from the config (or uses [`Instance::advert`](crate::Instance::advert)) and sends to
    /// the multicast group, or once to each unicast peer.
    SendAdvert {
        /// Priority to put in the advert.
        priority: u8,
    },
    /// Install all virtual addresses.
    AddVips,
    /// Remove all virtual addresses.
    RemoveVips,
    /// A reload ([`Instance::reconfigure`](crate::Instance::reconfigure)) changed the virtual
    /// addresses while they are installed: install the configured ones and remove those no
    /// longer configured. A GARP burst for them follows.
    UpdateVips,
    /// Send `count` gratuitous ARPs (IPv4) / unsolicited NAs (IPv6) for each virtual address.
    SendGarp {
        /// Packets per virtual address.
        count: u32,
        /// Why.
        reason: GarpReason,
    },
    /// Unicast mode, leaving FAULT: one gratuitous ARP / NA for our own primary address so the
    /// Master's neighbour entry is fresh (keepalived's fix for its issue 1283).
    SendSourceGarp,
    /// The state changed (notify scripts, logs).
    StateChanged {
        /// Previous state.
        from: State,
        /// New state.
        to: State,
        /// Why.
        reason: StateChangeReason,
    },
    /// The effective priority changed (keepalived `notify_priority_changes`).
    PriorityChanged {
        /// Previous effective priority.
        from: u8,
        /// New effective priority.
        to: u8,
    },
    /// A Master heard a lower priority (keepalived `notify_master_rx_lower_pri`).
    MasterRxLowerPriority {
        /// Who sent it.
        from: IpAddr,
        /// The priority it carried.
        priority: u8,
    },
}
