//! keepalived's real-server checker semantics (KA `tcp_epilog()` and friends, reference
//! §2): up on the first success; while up, a failure is retried `retry` times after
//! `delay_before_retry`, and the checker goes down after `retry + 1` consecutive failures.

use crate::check_status::Health;

/// When the next probe should run, as decided by [`RetryCounter::record`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NextProbe {
    /// After the normal interval (`delay_loop`).
    Interval,
    /// After `delay_before_retry` (a retry while still up).
    Retry,
}

/// keepalived's checker state: up/down plus the retry count.
///
/// ```
/// use healthcheck::{Health, NextProbe, RetryCounter};
/// let mut c = RetryCounter::new(2, false); // retry 2, not alpha: starts up
/// assert_eq!(c.record(false), (None, NextProbe::Retry));
/// assert_eq!(c.record(false), (None, NextProbe::Retry));
/// assert_eq!(c.record(false), (Some(Health::Down), NextProbe::Interval)); // retry + 1
/// assert_eq!(c.record(true), (Some(Health::Up), NextProbe::Interval)); // first success
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryCounter {
    retry: u32,
    retries_done: u32,
    health: Health,
}

impl RetryCounter {
    /// `alpha` = keepalived `alpha`: start down (checks failed) instead of up.
    pub fn new(retry: u32, alpha: bool) -> Self {
        RetryCounter {
            retry,
            retries_done: 0,
            health: if alpha { Health::Down } else { Health::Up },
        }
    }

    /// Current verdict.
    pub fn health(&self) -> Health {
        self.health
    }

    /// Retries done since the last success.
    pub fn retries_done(&self) -> u32 {
        self.retries_done
    }

    /// Feeds one probe result: the new health if it changed, and when to probe next.
    pub fn record(&mut self, success: bool) -> (Option<Health>, NextProbe) {
        if success {
            self.retries_done = 0;
            let changed = self.health != Health::Up;
            self.health = Health::Up;
            return (changed.then_some(Health::Up), NextProbe::Interval);
        }
        if self.health != Health::Up {
            return (None, NextProbe::Interval);
        }
        if self.retries_done < self.retry {
            self.retries_done += 1;
            return (None, NextProbe::Retry);
        }
        self.retries_done = 0;
        self.health = Health::Down;
        (Some(Health::Down), NextProbe::Interval)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_zero_goes_down_on_first_failure() {
        let mut c = RetryCounter::new(0, false);
        assert_eq!(c.record(false), (Some(Health::Down), NextProbe::Interval));
        assert_eq!(c.record(false), (None, NextProbe::Interval));
    }

    #[test]
    fn success_resets_retries() {
        let mut c = RetryCounter::new(1, false);
        assert_eq!(c.record(false), (None, NextProbe::Retry));
        assert_eq!(c.record(true), (None, NextProbe::Interval));
        assert_eq!(c.retries_done(), 0);
        assert_eq!(c.record(false), (None, NextProbe::Retry));
        assert_eq!(c.record(false), (Some(Health::Down), NextProbe::Interval));
    }

    #[test]
    fn alpha_starts_down_and_rises_on_first_success() {
        let mut c = RetryCounter::new(3, true);
        assert_eq!(c.health(), Health::Down);
        assert_eq!(c.record(false), (None, NextProbe::Interval));
        assert_eq!(c.record(true), (Some(Health::Up), NextProbe::Interval));
    }
}
