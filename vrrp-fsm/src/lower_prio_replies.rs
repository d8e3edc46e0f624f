//! How often a Master answers lower-priority adverts.
//!
//! keepalived answers every lower-priority advert a Master hears with an advert of its own,
//! a GARP burst and `notify_master_rx_lower_pri`: a flood of such adverts (5,000/s measured)
//! turns each packet into six frames out, a log line and a fork. A real second Master sends
//! one advert per interval, and one answer per interval is all it needs to step down, so a
//! sender is answered at most once per advert interval, and no more than
//! [`MAX_ANSWERS_PER_INTERVAL`] senders per interval (spoofed sources change every packet).
//! The GARP burst itself keeps keepalived's own pace: one per `garp_lower_prio_delay`.

use core::net::IpAddr;
use core::time::Duration;
use std::time::Instant;

/// Senders remembered (the oldest is forgotten first).
const SENDERS: usize = 8;

/// At most this many lower-priority answers per advert interval, whatever the senders.
pub const MAX_ANSWERS_PER_INTERVAL: u32 = 4;

/// What a Master may send in answer to one lower-priority advert.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Answer {
    /// Send an advert (and announce `MasterRxLowerPriority`).
    pub advert: bool,
    /// Start a GARP burst.
    pub garp: bool,
}

/// The recent answers of one Master.
#[derive(Debug, Clone, Default)]
pub(crate) struct LowerPriorityReplies {
    /// Each sender answered lately and when.
    senders: [Option<(IpAddr, Instant)>; SENDERS],
    /// When the current interval's count started, and the count.
    window: Option<(Instant, u32)>,
    /// When the last GARP burst was allowed.
    last_garp: Option<Instant>,
}

impl LowerPriorityReplies {
    /// What to send for a lower-priority advert from `src` at `now`, with adverts every
    /// `interval` and lower-priority bursts every `garp_delay`.
    pub fn answer(
        &mut self,
        now: Instant,
        src: IpAddr,
        interval: Duration,
        garp_delay: Duration,
    ) -> Answer {
        let since = |t: Instant| now.saturating_duration_since(t);
        let window_full = match &mut self.window {
            Some((start, n)) if since(*start) < interval => {
                if *n >= MAX_ANSWERS_PER_INTERVAL {
                    true
                } else {
                    *n += 1;
                    false
                }
            }
            w => {
                *w = Some((now, 1));
                false
            }
        };
        let known = self
            .senders
            .iter_mut()
            .find(|s| s.is_some_and(|(a, _)| a == src));
        let advert = match known {
            Some(Some((_, at))) if since(*at) < interval => false,
            Some(slot) => {
                if window_full {
                    false
                } else {
                    *slot = Some((src, now));
                    true
                }
            }
            None if window_full => false,
            None => {
                let slot = self
                    .senders
                    .iter_mut()
                    .min_by_key(|s| s.map(|(_, at)| at))
                    .expect("SENDERS > 0");
                *slot = Some((src, now));
                true
            }
        };
        let garp = advert
            && self
                .last_garp
                .is_none_or(|t| since(t) >= garp_delay.max(interval));
        if garp {
            self.last_garp = Some(now);
        }
        Answer { advert, garp }
    }

    /// Forgets every sender (a new Master term starts afresh).
    pub fn reset(&mut self) {
        *self = LowerPriorityReplies::default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: Duration = Duration::from_secs(1);

    fn ip(n: u8) -> IpAddr {
        IpAddr::from([10, 0, 0, n])
    }

    #[test]
    fn one_answer_per_sender_per_interval_and_one_burst_per_delay() {
        let mut r = LowerPriorityReplies::default();
        let t0 = Instant::now();
        let delay = 5 * S;
        assert_eq!(
            r.answer(t0, ip(1), S, delay),
            Answer {
                advert: true,
                garp: true
            }
        );
        // A flood from the same sender inside the interval: nothing.
        for k in 1..1000 {
            let t = t0 + Duration::from_micros(200 * k);
            assert_eq!(
                r.answer(t, ip(1), S, delay),
                Answer {
                    advert: false,
                    garp: false
                }
            );
        }
        // Next interval: an advert again, but the burst waits for garp_lower_prio_delay.
        assert_eq!(
            r.answer(t0 + S, ip(1), S, delay),
            Answer {
                advert: true,
                garp: false
            }
        );
        assert!(r.answer(t0 + 5 * S, ip(1), S, delay).garp);
    }

    #[test]
    fn spoofed_senders_share_a_cap_per_interval() {
        let mut r = LowerPriorityReplies::default();
        let t0 = Instant::now();
        let answered = (1..=200u8)
            .filter(|&n| {
                r.answer(t0 + Duration::from_micros(u64::from(n)), ip(n), S, 5 * S)
                    .advert
            })
            .count();
        assert_eq!(answered, MAX_ANSWERS_PER_INTERVAL as usize);
        // The next interval opens the cap again.
        assert!(r.answer(t0 + S + S / 2, ip(250), S, 5 * S).advert);
    }
}
