//! Where in the advert interval a Master's adverts fall.
//!
//! Instances that become Master in the same instant (at start-up, or when one peer dies and
//! its Backups' Master_Down_Timers all expire together) would otherwise advertise in lockstep
//! forever: one burst of adverts per interval. When their Master then dies, every peer Backup's
//! timer expires in the same instant, and the takeovers queue behind each other (each one is an
//! advert, an address added through the kernel and a GARP burst). A [`Router`](crate::Router)
//! therefore gives each instance its own phase: the first interval after becoming Master is
//! shortened by the phase, and the adverts stay periodic from there. A Backup only ever sees
//! one advert that comes early, never late, so no timer of the RFC is stretched.

use core::time::Duration;

/// A fraction of the advert interval, in 1/65536ths, by which a new Master's second advert
/// comes early.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct AdvertPhase(u16);

impl AdvertPhase {
    /// No shift: the RFC's timing, what an [`Instance`](crate::Instance) of its own uses.
    pub(crate) const ZERO: Self = Self(0);

    /// The phase of the router's `slot`-th instance: the golden-ratio sequence, so that any
    /// run of consecutive slots spreads evenly over the interval. Slot 0 has no shift.
    pub(crate) fn of_slot(slot: usize) -> Self {
        // 40503 / 65536 is the golden ratio's fractional part, 0.618.
        Self((slot as u32).wrapping_mul(40_503) as u16)
    }

    /// The first interval after becoming Master: `interval` shortened by at most three
    /// quarters of itself (two adverts never come closer than a quarter interval).
    pub(crate) fn first_interval(self, interval: Duration) -> Duration {
        let early = interval.as_nanos() * u128::from(self.0) * 3 / (4 << 16);
        interval.saturating_sub(Duration::from_nanos(early as u64))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slot_zero_keeps_the_rfc_interval() {
        let i = Duration::from_secs(1);
        assert_eq!(AdvertPhase::of_slot(0).first_interval(i), i);
        assert_eq!(AdvertPhase::ZERO.first_interval(i), i);
    }

    #[test]
    fn first_intervals_stay_within_a_quarter_and_the_whole_interval() {
        let i = Duration::from_millis(1000);
        for slot in 0..4096 {
            let f = AdvertPhase::of_slot(slot).first_interval(i);
            assert!(f <= i && f >= i / 4, "slot {slot}: {f:?}");
        }
    }

    #[test]
    fn consecutive_slots_spread_over_the_interval() {
        // 512 instances that became Master together: their adverts then fall in every tenth
        // of the shifted range, none of them empty.
        let i = Duration::from_millis(1000);
        let mut buckets = [0u32; 10];
        for slot in 0..512 {
            let early = i - AdvertPhase::of_slot(slot).first_interval(i);
            buckets[(early.as_micros() * 10 / 750_000).min(9) as usize] += 1;
        }
        for (b, n) in buckets.iter().enumerate() {
            assert!(
                (40..=62).contains(n),
                "tenth {b} holds {n} of 512: {buckets:?}"
            );
        }
    }
}
