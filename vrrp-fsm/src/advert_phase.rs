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

/// How many distinct phases a router gives out. A few dozen keep a mass takeover to a few
/// dozen instances per instant at a thousand instances; a phase per instance would wake the
/// driver for every advert, and each wake-up with its cold caches cost the kernel more than
/// the same sends in a burst (three times the CPU at 1,024 instances).
pub(crate) const PHASES: usize = 32;

/// A fraction of the advert interval, in 1/65536ths, by which a new Master's second advert
/// comes early.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct AdvertPhase(u16);

impl AdvertPhase {
    /// No shift: the RFC's timing, what an [`Instance`](crate::Instance) of its own uses.
    pub(crate) const ZERO: Self = Self(0);

    /// The phase of the router's `slot`-th instance: one of [`PHASES`] steps, picked by the
    /// golden-ratio sequence so that any run of consecutive slots spreads evenly over them.
    /// Slot 0 has no shift.
    pub(crate) fn of_slot(slot: usize) -> Self {
        // 40503 / 65536 is the golden ratio's fractional part, 0.618.
        let fraction = (slot as u32).wrapping_mul(40_503) as u16;
        let step = 65_536 / PHASES as u32;
        Self((u32::from(fraction) / step * step) as u16)
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
    fn consecutive_slots_share_the_phases_evenly() {
        // 512 instances that became Master together: 16 on each phase, give or take one.
        let i = Duration::from_millis(1000);
        let mut per_phase = std::collections::BTreeMap::new();
        for slot in 0..512 {
            let first = AdvertPhase::of_slot(slot).first_interval(i);
            *per_phase.entry(first).or_insert(0u32) += 1;
        }
        assert_eq!(per_phase.len(), PHASES);
        for (first, n) in &per_phase {
            assert!(
                (14..=18).contains(n),
                "{n} of 512 at {first:?}: {per_phase:?}"
            );
        }
        // A handful of instances gets distinct phases too.
        let few: std::collections::BTreeSet<u16> =
            (0..8).map(|s| AdvertPhase::of_slot(s).0).collect();
        assert_eq!(few.len(), 8);
    }
}
