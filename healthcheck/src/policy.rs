//! Per-check choice between keepalived's two filtering models.

use std::time::Duration;

use crate::check_status::Health;
use crate::error::ConfigError;
use crate::retry_counter::{NextProbe, RetryCounter};
use crate::rise_fall::RiseFallCounter;

/// Which keepalived semantics turn probe results into up/down.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Policy {
    /// Real-server checker (`TCP_CHECK`, `HTTP_GET`, `MISC_CHECK`...): up on the first
    /// success, down after `retry + 1` consecutive failures, retries spaced by
    /// `delay_before_retry`.
    Checker {
        /// keepalived `retry` (default 1; DNS_CHECK 3; MISC_CHECK 0).
        retry: u32,
        /// keepalived `delay_before_retry`.
        delay_before_retry: Duration,
        /// keepalived `alpha`: start down.
        alpha: bool,
    },
    /// `vrrp_script` / `track_*`: one rise/fall counter ([`RiseFallCounter`]).
    Script {
        /// Consecutive successes to go up (default 1).
        rise: u32,
        /// Consecutive failures to go down (default 1).
        fall: u32,
        /// keepalived `init_fail`: start failed.
        init_fail: bool,
    },
}

impl Policy {
    /// keepalived's checker defaults: retry 1, delay_before_retry 1 s, no alpha.
    pub const fn checker() -> Self {
        Policy::Checker {
            retry: 1,
            delay_before_retry: Duration::from_secs(1),
            alpha: false,
        }
    }

    /// keepalived's vrrp_script defaults: rise 1, fall 1, no init_fail.
    pub const fn script() -> Self {
        Policy::Script {
            rise: 1,
            fall: 1,
            init_fail: false,
        }
    }

    pub(crate) fn start(self) -> Result<PolicyState, ConfigError> {
        Ok(match self {
            Policy::Checker {
                retry,
                delay_before_retry,
                alpha,
            } => PolicyState::Checker(RetryCounter::new(retry, alpha), delay_before_retry),
            Policy::Script {
                rise,
                fall,
                init_fail,
            } => PolicyState::Script(RiseFallCounter::new(rise, fall, init_fail)?),
        })
    }

    /// The health a check with this policy reports before any probe.
    pub fn initial_health(self) -> Health {
        match self {
            Policy::Checker { alpha: true, .. } => Health::Down,
            Policy::Checker { .. } => Health::Up,
            Policy::Script {
                init_fail: true, ..
            } => Health::Down,
            Policy::Script { .. } => Health::Unknown,
        }
    }
}

/// Running state of a [`Policy`].
#[derive(Debug, Clone, Copy)]
pub(crate) enum PolicyState {
    Checker(RetryCounter, Duration),
    Script(RiseFallCounter),
}

impl PolicyState {
    pub(crate) fn health(&self) -> Health {
        match self {
            PolicyState::Checker(c, _) => c.health(),
            PolicyState::Script(c) => c.health(),
        }
    }

    /// Feeds one result; returns the new health if changed and the delay override for
    /// the next probe (`Some` for a retry).
    pub(crate) fn record(&mut self, success: bool) -> (Option<Health>, Option<Duration>) {
        match self {
            PolicyState::Checker(c, delay) => match c.record(success) {
                (h, NextProbe::Retry) => (h, Some(*delay)),
                (h, NextProbe::Interval) => (h, None),
            },
            PolicyState::Script(c) => (c.record(success), None),
        }
    }
}
