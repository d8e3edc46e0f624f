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
