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

/// At most how many distinct phases a router gives out: at a thousand instances, a mass
/// takeover then meets a handful of instances per instant. A phase per instance would wake
/// the driver for every advert, and each wake-up with its cold caches cost the kernel more
/// than the same sends in a burst (28.5 % CPU at 1,024 instances against 16.5 % with 128
/// phases and 7.5 % with 32).
pub(crate) const MAX_PHASES: u32 = 128;

/// The closest two phases may be: short intervals get fewer phases, so that a thousand
/// instances at 0.1 s adverts do not wake the driver every half millisecond (37 phases at
/// 0.1 s, 128 from 0.35 s on).
pub(crate) const MIN_PHASE_SPACING: Duration = Duration::from_millis(2);

/// Where in the interval an instance's phase lies, in 1/65536ths of the range phases span
/// (the first three quarters of the advert interval).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct AdvertPhase(u16);

impl AdvertPhase {
    /// No shift: the RFC's timing, what an [`Instance`](crate::Instance) of its own uses.
    pub(crate) const ZERO: Self = Self(0);

    /// The phase of the router's `slot`-th instance, by the golden-ratio sequence: any run
    /// of consecutive slots spreads evenly over the phases, however many an interval allows.
    /// Slot 0 has no shift.
    pub(crate) fn of_slot(slot: usize) -> Self {
        // 40503 / 65536 is the golden ratio's fractional part, 0.618.
        Self((slot as u32).wrapping_mul(40_503) as u16)
    }

    /// How many phases `interval` has room for.
    pub(crate) fn phases(interval: Duration) -> u32 {
        let span = interval.as_nanos() * 3 / 4;
        let n = span / MIN_PHASE_SPACING.as_nanos();
        n.clamp(1, u128::from(MAX_PHASES)) as u32
    }

    /// The first interval after becoming Master: `interval` shortened by one of
    /// [`phases`](Self::phases) equal steps over three quarters of itself (two adverts never
    /// come closer than a quarter interval).
    pub(crate) fn first_interval(self, interval: Duration) -> Duration {
        let phases = u128::from(Self::phases(interval));
        let step = (u128::from(self.0) * phases) >> 16;
        let early = interval.as_nanos() * 3 * step / (4 * phases);
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
    fn consecutive_slots_share_the_phases_evenly() {
        // 512 instances that became Master together: at 1 s adverts 4 on each of the 128
        // phases (2 to 6), at 0.1 s 13 or 14 on each of 37 (11 to 17).
        for (interval_ms, phases, per) in [(1000, 128, 2..=6), (100, 37, 11..=17)] {
            let i = Duration::from_millis(interval_ms);
            assert_eq!(AdvertPhase::phases(i), phases);
            let mut per_phase = std::collections::BTreeMap::new();
            for slot in 0..512 {
                let first = AdvertPhase::of_slot(slot).first_interval(i);
                *per_phase.entry(first).or_insert(0u32) += 1;
            }
            assert_eq!(per_phase.len(), phases as usize);
            for (first, n) in &per_phase {
                assert!(per.contains(n), "{n} of 512 at {first:?}: {per_phase:?}");
            }
        }
        // A handful of instances gets distinct phases too.
        let i = Duration::from_secs(1);
        let few: std::collections::BTreeSet<Duration> = (0..8)
            .map(|s| AdvertPhase::of_slot(s).first_interval(i))
            .collect();
        assert_eq!(few.len(), 8);
    }

    #[test]
    fn phases_keep_their_spacing_down_to_one_phase() {
        assert_eq!(AdvertPhase::phases(Duration::from_millis(10)), 3);
        assert_eq!(AdvertPhase::phases(Duration::from_millis(1)), 1);
        assert_eq!(AdvertPhase::phases(Duration::from_secs(40)), MAX_PHASES);
        // With one phase, nothing moves.
        let i = Duration::from_millis(1);
        for slot in 0..64 {
            assert_eq!(AdvertPhase::of_slot(slot).first_interval(i), i);
        }
    }
}
