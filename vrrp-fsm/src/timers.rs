//! RFC 5798 §6.1 timer arithmetic: Skew_Time and Master_Down_Interval.
//!
//! Computed in microseconds with keepalived's integer truncation (`VRRP_TIMER_SKEW_CALC`), so the
//! deadlines match keepalived's to the microsecond.
use core::time::Duration;

use vrrp_proto::Version;

/// Skew_Time for `priority` with the current Master_Adver_Interval.
///
/// v3 (RFC 5798): `((256 − priority) × Master_Adver_Interval) / 256`.
/// v2 (RFC 3768): `(256 − priority) / 256` seconds, independent of the interval.
///
/// ```
/// use std::time::Duration;
/// use vrrp_fsm::skew_time;
/// use vrrp_proto::Version;
/// assert_eq!(skew_time(Version::V3, 100, Duration::from_secs(1)), Duration::from_micros(609_375));
/// assert_eq!(skew_time(Version::V2, 100, Duration::from_secs(3)), Duration::from_micros(609_375));
/// ```
pub fn skew_time(version: Version, priority: u8, master_adver_int: Duration) -> Duration {
    skew_units(version, 256 - u64::from(priority), master_adver_int)
}

/// keepalived's `VRRP_TIMER_SKEW_MIN`: the skew of one priority unit (used by `state MASTER`).
pub fn skew_time_min(version: Version, master_adver_int: Duration) -> Duration {
    skew_units(version, 1, master_adver_int)
}

fn skew_units(version: Version, units: u64, master_adver_int: Duration) -> Duration {
    match version {
        // centiseconds × 10_000 µs / 256 = centiseconds × 625 / 16 µs
        Version::V3 => {
            let cs = (master_adver_int.as_micros() / 10_000) as u64;
            Duration::from_micros(units * cs * 625 / 16)
        }
        Version::V2 => Duration::from_micros(units * 1_000_000 / 256),
    }
}

/// Master_Down_Interval = `down_timer_adverts` × Master_Adver_Interval + Skew_Time
/// (`down_timer_adverts` is 3 in the RFC).
///
/// ```
/// use std::time::Duration;
/// use vrrp_fsm::master_down_interval;
/// use vrrp_proto::Version;
/// // keepalived's documented default failover time: advert 1 s, priority 100 → 3.609375 s
/// assert_eq!(
///     master_down_interval(Version::V3, 100, Duration::from_secs(1), 3),
///     Duration::from_micros(3_609_375)
/// );
/// ```
pub fn master_down_interval(
    version: Version,
    priority: u8,
    master_adver_int: Duration,
    down_timer_adverts: u8,
) -> Duration {
    master_adver_int * u32::from(down_timer_adverts)
        + skew_time(version, priority, master_adver_int)
}

/// How long after the advert that started a Master_Down_Timer a Backup that sleeps through
/// its Master's adverts should let the next one wake it: halfway between the last two
/// adverts due before the timer's kernel wake-up (`master_down_interval − margin`). Woken
/// by that advert, the Backup reads all it slept through and restarts the timer, so the
/// timer itself only fires once the Master has gone silent; the wake-ups are as many as
/// the timer's, but each runs right behind an arriving packet instead of cold.
/// Halfway leaves half an interval of jitter either side. `None` when no advert is due
/// in that span.
///
/// ```
/// use std::time::Duration;
/// use vrrp_fsm::advert_wake_offset;
/// let ms = Duration::from_millis;
/// // Advert 1 s, Master_Down_Interval 3.609 s, timer woken 1.5 ms early: the advert due at
/// // 3 s wakes the Backup; anything from 2.5 s on does.
/// assert_eq!(advert_wake_offset(ms(3609), ms(1000), Duration::from_micros(1500)), Some(ms(2500)));
/// // Skew below the margin: the advert due at 3 s would come too late, the one at 2 s wakes.
/// assert_eq!(advert_wake_offset(ms(30) + Duration::from_micros(78), ms(10), ms(1)), Some(ms(15)));
/// ```
pub fn advert_wake_offset(
    master_down_interval: Duration,
    master_adver_int: Duration,
    margin: Duration,
) -> Option<Duration> {
    let span = master_down_interval.checked_sub(margin)?;
    if master_adver_int.is_zero() {
        return None;
    }
    let due = u32::try_from(span.as_nanos() / master_adver_int.as_nanos()).ok()?;
    if due == 0 {
        return None;
    }
    Some(master_adver_int * due - master_adver_int / 2)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn advert_wake_offset_edges() {
        let ms = Duration::from_millis;
        // v2 defaults: interval 1 s, priority 100.
        let down = master_down_interval(Version::V2, 100, ms(1000), 3);
        assert_eq!(advert_wake_offset(down, ms(1000), ms(2)), Some(ms(2500)));
        // A margin eating the whole skew and more: one advert fewer is due.
        assert_eq!(advert_wake_offset(down, ms(1000), ms(700)), Some(ms(1500)));
        // Nothing due before the timer: no wake by advert.
        assert_eq!(advert_wake_offset(ms(900), ms(1000), ms(1)), None);
        assert_eq!(advert_wake_offset(down, ms(1000), down + ms(1)), None);
        assert_eq!(advert_wake_offset(down, Duration::ZERO, ms(1)), None);
        // 10 ms adverts, priority 100 (skew 3.9 ms): the third advert wakes it.
        let fast = master_down_interval(Version::V3, 100, ms(10), 3);
        assert_eq!(
            advert_wake_offset(fast, ms(10), Duration::from_micros(1500)),
            Some(ms(25))
        );
    }
}
