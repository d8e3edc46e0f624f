//! Scheduler names.

use std::fmt;
use std::str::FromStr;

/// An IPVS scheduling algorithm. Each lives in its own kernel module (`ip_vs_<name>`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub enum Scheduler {
    /// Round robin.
    Rr,
    /// Weighted round robin.
    Wrr,
    /// Least connections.
    Lc,
    /// Weighted least connections (the kernel and ipvsadm default).
    #[default]
    Wlc,
    /// Locality-based least connections.
    Lblc,
    /// Locality-based least connections with replication.
    Lblcr,
    /// Destination hashing.
    Dh,
    /// Source hashing (flags: [`ServiceFlags::SH_FALLBACK`](crate::ServiceFlags::SH_FALLBACK),
    /// [`ServiceFlags::SH_PORT`](crate::ServiceFlags::SH_PORT)).
    Sh,
    /// Shortest expected delay.
    Sed,
    /// Never queue.
    Nq,
    /// Maglev hashing (flags: [`ServiceFlags::MH_FALLBACK`](crate::ServiceFlags::MH_FALLBACK),
    /// [`ServiceFlags::MH_PORT`](crate::ServiceFlags::MH_PORT)).
    Mh,
    /// Weighted failover.
    Fo,
    /// Weighted overflow.
    Ovf,
    /// Weighted random twos choice (Linux ≥ 6.7).
    Twos,
    /// Any other scheduler module, by name.
    Other(String),
}

impl Scheduler {
    /// Every scheduler this crate names, in ipvsadm's order.
    pub const ALL: [Scheduler; 14] = [
        Scheduler::Rr,
        Scheduler::Wrr,
        Scheduler::Lc,
        Scheduler::Wlc,
        Scheduler::Lblc,
        Scheduler::Lblcr,
        Scheduler::Dh,
        Scheduler::Sh,
        Scheduler::Sed,
        Scheduler::Nq,
        Scheduler::Mh,
        Scheduler::Fo,
        Scheduler::Ovf,
        Scheduler::Twos,
    ];

    /// The kernel's name for the scheduler.
    pub fn as_str(&self) -> &str {
        match self {
            Scheduler::Rr => "rr",
            Scheduler::Wrr => "wrr",
            Scheduler::Lc => "lc",
            Scheduler::Wlc => "wlc",
            Scheduler::Lblc => "lblc",
            Scheduler::Lblcr => "lblcr",
            Scheduler::Dh => "dh",
            Scheduler::Sh => "sh",
            Scheduler::Sed => "sed",
            Scheduler::Nq => "nq",
            Scheduler::Mh => "mh",
            Scheduler::Fo => "fo",
            Scheduler::Ovf => "ovf",
            Scheduler::Twos => "twos",
            Scheduler::Other(s) => s,
        }
    }
}

impl From<&str> for Scheduler {
    fn from(s: &str) -> Self {
        Scheduler::ALL
            .iter()
            .find(|k| k.as_str() == s)
            .cloned()
            .unwrap_or_else(|| Scheduler::Other(s.to_string()))
    }
}

impl FromStr for Scheduler {
    type Err = std::convert::Infallible;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Scheduler::from(s))
    }
}

impl fmt::Display for Scheduler {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
