//! The loop's one deadline, waited for in `epoll_pwait2`'s timeout, with an optional
//! precise finish.
//!
//! No timer descriptor: the wait's own nanosecond timeout is a kernel hrtimer, which saves a
//! `timerfd_settime` per wake-up. But waking an idle (virtual) CPU after a long sleep still
//! costs several hundred microseconds here (measured: ~0.07 ms after a 100 ms sleep, ~0.5 ms
//! typically and over 1 ms at times after a 360 ms one), which alone would use the failover
//! budget (goal: within 0.5 ms of Master_Down_Interval). So for the deadlines that decide a failover (the
//! Master_Down_Timer) the wait ends [`PRECISE_MARGIN`] early and the loop covers the last
//! stretch by polling its descriptors without sleeping: the deadline is hit within
//! microseconds, adverts arriving meanwhile are still handled, and the cost, at most one
//! margin of busy CPU, is paid only when a Master has actually gone silent. Other deadlines
//! (a Master's own advert timer) are plain waits, so an idle daemon never spins.

#![allow(unsafe_code)]

use std::time::{Duration, Instant};

/// What [`PreciseTimer::check`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fired {
    /// The wait for a precise deadline ended, [`PRECISE_MARGIN`] early. The caller reads
    /// whatever it slept through (a Backup's queued adverts) and sets the deadline again; if
    /// it stands, the loop polls without sleeping until it is due.
    Early,
    /// The deadline has passed.
    Due,
}

/// How early the wait for a precise deadline ends.
pub const PRECISE_MARGIN: Duration = Duration::from_millis(3);

/// The loop's next deadline and how to wait for it.
#[derive(Debug, Default)]
pub struct PreciseTimer {
    deadline: Option<Instant>,
    precise: bool,
    /// The wait for a precise deadline ended early: finish by polling.
    spinning: bool,
}

impl PreciseTimer {
    /// No deadline yet. Also stops the kernel from coalescing this thread's timed waits
    /// (timer slack 1 ns instead of 50 µs).
    pub fn new() -> PreciseTimer {
        // SAFETY: prctl(PR_SET_TIMERSLACK) takes plain integers and affects this thread.
        unsafe {
            libc::prctl(libc::PR_SET_TIMERSLACK, 1 as libc::c_ulong, 0, 0, 0);
        }
        PreciseTimer::default()
    }

    /// The deadline to wait for (`None`: none); `precise` finishes the wait by polling from
    /// [`PRECISE_MARGIN`] before it.
    pub fn set(&mut self, deadline: Option<Instant>, precise: bool) {
        if self.deadline != deadline || self.precise != precise {
            self.deadline = deadline;
            self.precise = precise;
            self.spinning = false;
        }
    }

    /// How long the loop may sleep from `now`: `None` without a deadline, zero while
    /// finishing a precise wait.
    pub fn timeout(&self, now: Instant) -> Option<Duration> {
        let deadline = self.deadline?;
        if self.spinning {
            return Some(Duration::ZERO);
        }
        Some(self.wake_at(deadline).saturating_duration_since(now))
    }

    /// When the sleep for `deadline` ends.
    fn wake_at(&self, deadline: Instant) -> Instant {
        if self.precise {
            deadline.checked_sub(PRECISE_MARGIN).unwrap_or(deadline)
        } else {
            deadline
        }
    }

    /// What, if anything, fired by `now`. A [`Fired::Due`] deadline is consumed: the
    /// caller sets the next one.
    pub fn check(&mut self, now: Instant) -> Option<Fired> {
        let deadline = self.deadline?;
        if now < self.wake_at(deadline) {
            return None;
        }
        if now < deadline {
            let first = !self.spinning;
            self.spinning = true;
            return first.then_some(Fired::Early);
        }
        self.spinning = false;
        self.deadline = None;
        Some(Fired::Due)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_plain_deadline_sleeps_until_it_and_fires_once() {
        let t0 = Instant::now();
        let mut t = PreciseTimer::default();
        t.set(Some(t0 + Duration::from_millis(10)), false);
        assert_eq!(t.timeout(t0), Some(Duration::from_millis(10)));
        assert_eq!(t.check(t0 + Duration::from_millis(9)), None);
        assert_eq!(t.check(t0 + Duration::from_millis(10)), Some(Fired::Due));
        assert_eq!(t.check(t0 + Duration::from_millis(11)), None);
        assert_eq!(t.timeout(t0), None);
    }

    #[test]
    fn a_precise_deadline_wakes_a_margin_early_then_polls() {
        let t0 = Instant::now();
        let d = t0 + Duration::from_millis(10);
        let mut t = PreciseTimer::default();
        t.set(Some(d), true);
        assert_eq!(
            t.timeout(t0),
            Some(Duration::from_millis(10) - PRECISE_MARGIN)
        );
        assert_eq!(t.check(d - PRECISE_MARGIN), Some(Fired::Early));
        // The deadline stands: poll without sleeping, report nothing until it is due.
        t.set(Some(d), true);
        assert_eq!(t.timeout(d - PRECISE_MARGIN), Some(Duration::ZERO));
        assert_eq!(t.check(d - Duration::from_micros(1)), None);
        assert_eq!(t.check(d), Some(Fired::Due));
        // A deadline moved by an advert read meanwhile sleeps again.
        t.set(Some(d + Duration::from_millis(30)), true);
        assert_eq!(
            t.timeout(d),
            Some(Duration::from_millis(30) - PRECISE_MARGIN)
        );
    }
}
