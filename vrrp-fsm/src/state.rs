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
