//! keepalived's `vrrp_script` hysteresis: one counter from 0 to `rise + fall − 1`
//! (KA `vrrp_script_child_thread()` / `vrrp_init_script()`, reference §1a).

use crate::check_status::Health;
use crate::error::ConfigError;

/// The single rise/fall counter of a keepalived `vrrp_script`.
///
/// * The script is OK while `result ≥ rise`.
/// * A success below `rise − 1` increments; reaching `rise` makes it OK and jumps the
///   counter to `rise + fall − 1`, so `fall` consecutive failures are then needed.
/// * A failure above `rise` decrements; at or below `rise` the script becomes failed
///   (if it was OK, or had no verdict yet) and the counter resets to 0, so `rise`
///   consecutive successes are then needed.
/// * Start: `rise − 1` (one success is enough, no verdict yet) or, with `init_fail`, 0 and
///   failed.
///
/// ```
/// use healthcheck::{Health, RiseFallCounter};
/// let mut c = RiseFallCounter::new(2, 3, false).unwrap();
/// assert_eq!(c.health(), Health::Unknown);
/// assert_eq!(c.record(true), Some(Health::Up)); // rise−1 + 1 = rise
/// assert_eq!(c.record(false), None);
/// assert_eq!(c.record(false), None);
/// assert_eq!(c.record(false), Some(Health::Down)); // fall = 3
/// assert_eq!(c.record(true), None);
/// assert_eq!(c.record(true), Some(Health::Up)); // rise = 2
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RiseFallCounter {
    rise: u32,
    fall: u32,
    result: u32,
    health: Health,
}

impl RiseFallCounter {
    /// A counter with keepalived's start value.
    pub fn new(rise: u32, fall: u32, init_fail: bool) -> Result<Self, ConfigError> {
        if rise == 0 || fall == 0 {
            return Err(ConfigError::ZeroRiseFall);
        }
        Ok(if init_fail {
            RiseFallCounter {
                rise,
                fall,
                result: 0,
                health: Health::Down,
            }
        } else {
            RiseFallCounter {
                rise,
                fall,
                result: rise - 1,
                health: Health::Unknown,
            }
        })
    }

    /// Current verdict.
    pub fn health(&self) -> Health {
        self.health
    }

    /// Raw counter value (keepalived `script->result`).
    pub fn counter(&self) -> u32 {
        self.result
    }

    /// Feeds one probe result; returns the new health if it changed.
    pub fn record(&mut self, success: bool) -> Option<Health> {
        let top = self.rise.saturating_add(self.fall) - 1;
        let before = self.health;
        if success {
            if self.result < self.rise - 1 {
                self.result += 1;
            } else if self.result != top {
                if self.result < self.rise {
                    self.health = Health::Up;
                }
                self.result = top;
            } else if self.health == Health::Unknown {
                // rise + fall − 1 == rise − 1 cannot happen (fall ≥ 1); kept for safety.
                self.health = Health::Up;
            }
        } else if self.result > self.rise {
            self.result -= 1;
        } else {
            if self.result == self.rise || self.health == Health::Unknown {
                self.health = Health::Down;
            }
            self.result = 0;
        }
        (self.health != before).then_some(self.health)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rise_one_fall_one_follows_each_result() {
        let mut c = RiseFallCounter::new(1, 1, false).unwrap();
        assert_eq!(c.counter(), 0);
        assert_eq!(c.record(false), Some(Health::Down));
        assert_eq!(c.record(true), Some(Health::Up));
        assert_eq!(c.record(true), None);
        assert_eq!(c.record(false), Some(Health::Down));
    }

    #[test]
    fn first_failure_without_verdict_reports_down() {
        let mut c = RiseFallCounter::new(3, 2, false).unwrap();
        assert_eq!(c.counter(), 2);
        assert_eq!(c.record(false), Some(Health::Down));
        assert_eq!(c.counter(), 0);
        // Now three successes are needed.
        assert_eq!(c.record(true), None);
        assert_eq!(c.record(true), None);
        assert_eq!(c.record(true), Some(Health::Up));
        assert_eq!(c.counter(), 4);
    }

    #[test]
    fn init_fail_needs_rise_successes() {
        let mut c = RiseFallCounter::new(3, 2, true).unwrap();
        assert_eq!(c.health(), Health::Down);
        assert_eq!(c.record(true), None);
        assert_eq!(c.record(true), None);
        assert_eq!(c.record(true), Some(Health::Up));
    }

    #[test]
    fn a_failure_while_rising_restarts_the_climb() {
        let mut c = RiseFallCounter::new(3, 2, true).unwrap();
        c.record(true);
        c.record(true);
        assert_eq!(c.record(false), None);
        assert_eq!(c.counter(), 0);
        c.record(true);
        c.record(true);
        assert_eq!(c.record(true), Some(Health::Up));
    }

    #[test]
    fn a_success_while_falling_restores_the_top() {
        let mut c = RiseFallCounter::new(2, 3, false).unwrap();
        c.record(true);
        assert_eq!(c.counter(), 4);
        c.record(false);
        c.record(false);
        assert_eq!(c.counter(), 2);
        assert_eq!(c.record(true), None);
        assert_eq!(c.counter(), 4);
        c.record(false);
        c.record(false);
        assert_eq!(c.record(false), Some(Health::Down));
    }

    #[test]
    fn zero_is_refused() {
        assert_eq!(
            RiseFallCounter::new(0, 1, false),
            Err(ConfigError::ZeroRiseFall)
        );
        assert_eq!(
            RiseFallCounter::new(1, 0, false),
            Err(ConfigError::ZeroRiseFall)
        );
    }

    #[test]
    fn huge_values_do_not_overflow() {
        let mut c = RiseFallCounter::new(u32::MAX, u32::MAX, false).unwrap();
        c.record(true);
        c.record(false);
    }
}
