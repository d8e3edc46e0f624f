//! The VRRP states and the reasons for moving between them.

/// State of a VRRP instance (RFC 5798 §6.4 plus keepalived's FAULT).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum State {
    /// Not started, or shut down.
    Init,
    /// Monitoring the Master; ready to take over.
    Backup,
    /// Forwarding for the virtual addresses, which it holds.
    Master,
    /// keepalived's FAULT: link down or a weight-0 tracker failed; silent, no VIPs.
    Fault,
}

impl core::fmt::Display for State {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            State::Init => "INIT",
            State::Backup => "BACKUP",
            State::Master => "MASTER",
            State::Fault => "FAULT",
        })
    }
}

/// Why an instance is (or would be) in FAULT: a set of keepalived's fault flags.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct FaultFlags(u8);

impl FaultFlags {
    /// No fault.
    pub const NONE: FaultFlags = FaultFlags(0);
    /// The instance's interface is down (`set_link(false)`).
    pub const LINK_DOWN: FaultFlags = FaultFlags(1);
    /// A weight-0 tracker is failed (or a track_file result ≤ −254).
    pub const TRACKER: FaultFlags = FaultFlags(2);
    /// Another member of the instance's sync group is in FAULT.
    pub const SYNC_GROUP: FaultFlags = FaultFlags(4);

    /// True when no flag is set.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }
    /// True when every flag of `other` is set.
    pub fn contains(self, other: FaultFlags) -> bool {
        self.0 & other.0 == other.0
    }
    pub(crate) fn set(&mut self, flag: FaultFlags, on: bool) {
        if on {
            self.0 |= flag.0;
        } else {
            self.0 &= !flag.0;
        }
    }
}

/// Why a state change happened (carried by [`Action::StateChanged`](crate::Action::StateChanged)).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum StateChangeReason {
    /// `startup`: Init → Backup.
    Startup,
    /// `startup` (or FAULT cleared) with priority 255: the address owner becomes Master at once.
    AddressOwner,
    /// Master_Down_Timer expired with no Master heard (RFC 6527 `masterNoResponse`).
    MasterNoResponse,
    /// Master_Down_Timer expired after a priority-0 advert (the Master left gracefully).
    MasterLeft,
    /// Master_Down_Timer expired while only lower priorities were heard (RFC 6527 `preempted`).
    Preempted,
    /// A Master heard a higher priority (or an equal one from a higher primary address).
    HigherPriority {
        /// The priority heard.
        priority: u8,
    },
    /// Entered FAULT.
    Fault(FaultFlags),
    /// All fault flags cleared.
    FaultCleared,
    /// Followed another member of the sync group.
    SyncGroup,
    /// `shutdown`.
    Shutdown,
}

/// The reason's snake_case name, as hakit's daemons print it in their transition lines (and as
/// scripts parse it, so the names are stable): `startup`, `address_owner`, `master_down_timer`
/// (no Master heard), `master_priority_zero` (the Master left), `preempted`, `higher_priority`,
/// `link_down`, `tracker_failed` or `sync_group_fault` (entered FAULT, by the first flag set in
/// that order), `fault_cleared`, `sync_group` and `shutdown`.
///
/// ```
/// use vrrp_fsm::{FaultFlags, StateChangeReason};
/// assert_eq!(StateChangeReason::MasterNoResponse.to_string(), "master_down_timer");
/// assert_eq!(StateChangeReason::Fault(FaultFlags::TRACKER).to_string(), "tracker_failed");
/// ```
impl core::fmt::Display for StateChangeReason {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            StateChangeReason::Startup => "startup",
            StateChangeReason::AddressOwner => "address_owner",
            StateChangeReason::MasterNoResponse => "master_down_timer",
            StateChangeReason::MasterLeft => "master_priority_zero",
            StateChangeReason::Preempted => "preempted",
            StateChangeReason::HigherPriority { .. } => "higher_priority",
            StateChangeReason::Fault(flags) if flags.contains(FaultFlags::LINK_DOWN) => "link_down",
            StateChangeReason::Fault(flags) if flags.contains(FaultFlags::TRACKER) => {
                "tracker_failed"
            }
            StateChangeReason::Fault(_) => "sync_group_fault",
            StateChangeReason::FaultCleared => "fault_cleared",
            StateChangeReason::SyncGroup => "sync_group",
            StateChangeReason::Shutdown => "shutdown",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reason_names_are_the_documented_ones() {
        let cases = [
            (StateChangeReason::Startup, "startup"),
            (StateChangeReason::AddressOwner, "address_owner"),
            (StateChangeReason::MasterNoResponse, "master_down_timer"),
            (StateChangeReason::MasterLeft, "master_priority_zero"),
            (StateChangeReason::Preempted, "preempted"),
            (
                StateChangeReason::HigherPriority { priority: 200 },
                "higher_priority",
            ),
            (StateChangeReason::Fault(FaultFlags::LINK_DOWN), "link_down"),
            (
                StateChangeReason::Fault(FaultFlags::TRACKER),
                "tracker_failed",
            ),
            (
                StateChangeReason::Fault(FaultFlags::SYNC_GROUP),
                "sync_group_fault",
            ),
            (
                StateChangeReason::Fault(FaultFlags::NONE),
                "sync_group_fault",
            ),
            (StateChangeReason::FaultCleared, "fault_cleared"),
            (StateChangeReason::SyncGroup, "sync_group"),
            (StateChangeReason::Shutdown, "shutdown"),
        ];
        for (reason, name) in cases {
            assert_eq!(reason.to_string(), name, "{reason:?}");
        }
        let mut both = FaultFlags::LINK_DOWN;
        both.set(FaultFlags::TRACKER, true);
        assert_eq!(StateChangeReason::Fault(both).to_string(), "link_down");
    }
}
