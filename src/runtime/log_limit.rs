//! Log lines a remote sender can cause, rate-limited: one line per period, which says how
//! many were left out since the last one (a flood must not become a flood of log lines).

use std::time::{Duration, Instant};

/// The period of a rate-limited log line.
pub(crate) const LOG_EVERY: Duration = Duration::from_secs(5);

/// One rate-limited log line's state.
#[derive(Debug, Default, Clone)]
pub(crate) struct LogLimit {
    last: Option<Instant>,
    suppressed: u64,
}

impl LogLimit {
    /// `Some(suppressed)` when the line may be written at `now` (and how many were left out
    /// before it); `None` when it is left out.
    pub fn allow(&mut self, now: Instant) -> Option<u64> {
        match self.last {
            Some(t) if now.saturating_duration_since(t) < LOG_EVERY => {
                self.suppressed += 1;
                None
            }
            _ => {
                self.last = Some(now);
                Some(std::mem::take(&mut self.suppressed))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_per_period_with_the_count_left_out() {
        let mut l = LogLimit::default();
        let t0 = Instant::now();
        assert_eq!(l.allow(t0), Some(0));
        for k in 1..100 {
            assert_eq!(l.allow(t0 + Duration::from_millis(k)), None);
        }
        assert_eq!(l.allow(t0 + LOG_EVERY), Some(99));
    }
}
