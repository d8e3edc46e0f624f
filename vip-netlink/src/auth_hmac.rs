//! keepalived 2.4's `auth_hmac` on an advert socket: which key signs, the sequence sent, the
//! per-sender anti-replay marks, and why a received advert is refused.
//!
//! keepalived 2.4.3's rules, which this follows:
//! * Send: every advert carries a trailer signed with `active_key`, except in `receive-only`
//!   mode, which sends none. The sequence is the realtime clock (seconds, 1/65536 s, counter
//!   0), or the last one plus one when the clock has not moved past it; in `time` mode a last
//!   value more than `time_window` ahead of the clock (a clock stepped back) restarts from the
//!   clock. One sequence per advert, the same in every unicast copy.
//! * Receive: a trailerless advert is refused in `enforce` mode only. A trailer is checked in
//!   this order: ext type and reserved octets (malformed), the timestamp against the clock
//!   (`time` mode only: stale when more than `time_window` seconds off either way, checked
//!   before the HMAC so replayed floods cost no digest), the key id (unknown key), the HMAC
//!   (bad HMAC), then the sender's replay mark (replay unless the sequence is after the last
//!   one accepted from that source, in RFC 1982 order). The mark only moves on a verified
//!   advert. Unicast keeps one mark per peer; multicast four, least recently used evicted.
//!   In `time` mode a mark older than the window is forgotten (a sender reset after a clock
//!   step recovers).
//! * Nothing is persisted: a restart (or keepalived's reload, which rebuilds the instance)
//!   starts with no marks and the send sequence from the clock.
use std::collections::BTreeMap;
use std::net::IpAddr;
use std::time::{SystemTime, UNIX_EPOCH};

use vrrp_proto::{AuthSequence, AuthTrailer, AUTH_EXT_HMAC_SHA256};

/// Shortest key keepalived accepts (octets).
pub const AUTH_HMAC_KEY_MIN: usize = 32;
/// Longest key keepalived accepts (octets).
pub const AUTH_HMAC_KEY_MAX: usize = 64;
/// Smallest `time_window` (seconds).
pub const AUTH_HMAC_WINDOW_MIN: u32 = 1;
/// Largest `time_window` (seconds).
pub const AUTH_HMAC_WINDOW_MAX: u32 = 300;
/// Replay marks kept for multicast senders (keepalived's `VRRP_AUTH_HMAC_MCAST_SENDERS`).
const MCAST_SENDERS: usize = 4;

/// keepalived's `mode`: how a group rolls `auth_hmac` out without a flap (receive-only on
/// every node, then permissive, then enforce).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum AuthHmacMode {
    /// Sends signed adverts and refuses any advert without a valid trailer (the default).
    #[default]
    Enforce,
    /// Sends signed adverts; accepts trailerless ones, verifies those with a trailer.
    Permissive,
    /// Sends no trailer; accepts trailerless adverts, verifies those with a trailer.
    ReceiveOnly,
}

impl AuthHmacMode {
    /// keepalived's word for it.
    pub fn as_str(&self) -> &'static str {
        match self {
            AuthHmacMode::Enforce => "enforce",
            AuthHmacMode::Permissive => "permissive",
            AuthHmacMode::ReceiveOnly => "receive-only",
        }
    }
}

/// keepalived's `anti_replay`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum AntiReplay {
    /// Sequences must grow and timestamps be within `time_window` of the clock (the default).
    #[default]
    Time,
    /// Sequences must grow; timestamps are not compared with the clock.
    Monotonic,
}

/// A key of 32 to 64 octets, stored inline so signing allocates nothing.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct AuthHmacKey {
    bytes: [u8; AUTH_HMAC_KEY_MAX],
    len: u8,
}

impl AuthHmacKey {
    /// The key, or `None` unless it has 32 to 64 octets (keepalived's bounds).
    ///
    /// ```
    /// use vip_netlink::AuthHmacKey;
    /// assert!(AuthHmacKey::new(&[7; 32]).is_some());
    /// assert!(AuthHmacKey::new(b"short").is_none());
    /// ```
    pub fn new(key: &[u8]) -> Option<Self> {
        if !(AUTH_HMAC_KEY_MIN..=AUTH_HMAC_KEY_MAX).contains(&key.len()) {
            return None;
        }
        let mut bytes = [0u8; AUTH_HMAC_KEY_MAX];
        bytes[..key.len()].copy_from_slice(key);
        Some(AuthHmacKey {
            bytes,
            len: key.len() as u8,
        })
    }

    /// The key's octets.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..usize::from(self.len)]
    }
}

impl std::fmt::Debug for AuthHmacKey {
    // A secret: only its length goes to logs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "AuthHmacKey({} octets)", self.len)
    }
}

/// An instance's `auth_hmac` block, checked: keys by id, the one that signs, anti-replay,
/// window and mode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthHmac {
    keys: BTreeMap<u8, AuthHmacKey>,
    active_key: u8,
    anti_replay: AntiReplay,
    time_window: u32,
    mode: AuthHmacMode,
}

/// Why an `auth_hmac` block cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthHmacConfigError {
    /// Key id 0 (ids are 1 to 255).
    #[error("key id 0: ids are 1 to 255")]
    KeyIdZero,
    /// `active_key` names no configured key.
    #[error("active_key {0} is not one of the keys")]
    NoActiveKey(u8),
    /// `time_window` outside 1..=300 seconds.
    #[error("time_window {0} s is not within 1 to 300 s")]
    TimeWindow(u32),
}

impl AuthHmac {
    /// A block signing with key `active_key` out of `keys`; anti-replay `time` with the
    /// window `time_window` seconds (keepalived's default: `max(3 × advert_int, 5)`, at most
    /// 300, which the caller computes), mode `enforce`.
    ///
    /// ```
    /// use vip_netlink::{AuthHmac, AuthHmacKey, AuthHmacMode};
    /// let key = AuthHmacKey::new(&[0x42; 32]).unwrap();
    /// let auth = AuthHmac::new([(1, key)], 1, 5).unwrap().with_mode(AuthHmacMode::Permissive);
    /// assert_eq!(auth.active_key(), 1);
    /// assert!(AuthHmac::new([(1, key)], 2, 5).is_err());
    /// ```
    pub fn new(
        keys: impl IntoIterator<Item = (u8, AuthHmacKey)>,
        active_key: u8,
        time_window: u32,
    ) -> Result<Self, AuthHmacConfigError> {
        let keys: BTreeMap<u8, AuthHmacKey> = keys.into_iter().collect();
        if keys.contains_key(&0) {
            return Err(AuthHmacConfigError::KeyIdZero);
        }
        if !keys.contains_key(&active_key) {
            return Err(AuthHmacConfigError::NoActiveKey(active_key));
        }
        if !(AUTH_HMAC_WINDOW_MIN..=AUTH_HMAC_WINDOW_MAX).contains(&time_window) {
            return Err(AuthHmacConfigError::TimeWindow(time_window));
        }
        Ok(AuthHmac {
            keys,
            active_key,
            anti_replay: AntiReplay::Time,
            time_window,
            mode: AuthHmacMode::Enforce,
        })
    }

    /// The rollout mode.
    pub fn with_mode(mut self, mode: AuthHmacMode) -> Self {
        self.mode = mode;
        self
    }

    /// The anti-replay rule.
    pub fn with_anti_replay(mut self, anti_replay: AntiReplay) -> Self {
        self.anti_replay = anti_replay;
        self
    }

    /// The id of the key that signs.
    pub fn active_key(&self) -> u8 {
        self.active_key
    }

    /// The rollout mode.
    pub fn mode(&self) -> AuthHmacMode {
        self.mode
    }

    /// The anti-replay rule.
    pub fn anti_replay(&self) -> AntiReplay {
        self.anti_replay
    }

    /// The freshness window in seconds (used in `time` mode).
    pub fn time_window(&self) -> u32 {
        self.time_window
    }

    /// The key with id `id`.
    pub fn key(&self, id: u8) -> Option<&AuthHmacKey> {
        self.keys.get(&id)
    }

    /// The configured key ids.
    pub fn key_ids(&self) -> impl Iterator<Item = u8> + '_ {
        self.keys.keys().copied()
    }
}

/// Why a received advert was refused by `auth_hmac` (each one counted in [`AuthHmacStats`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AuthHmacRefusal {
    /// No trailer, in `enforce` mode.
    #[error("no auth_hmac trailer")]
    Missing,
    /// Unknown ext type or non-zero reserved octets.
    #[error("malformed auth_hmac trailer")]
    Malformed,
    /// A key id this instance does not have.
    #[error("unknown auth_hmac key id {0}")]
    UnknownKey(u8),
    /// The HMAC does not verify: another key, or a changed packet.
    #[error("auth_hmac HMAC does not verify")]
    BadHmac,
    /// The timestamp is more than `window` seconds from the clock (`time` mode).
    #[error("stale auth_hmac timestamp: {skew} s off, window {window} s")]
    Stale {
        /// Our clock minus the advert's seconds.
        skew: i32,
        /// The window in force.
        window: u32,
    },
    /// The sequence is not after the last one accepted from this sender.
    #[error("replayed auth_hmac sequence")]
    Replay,
}

/// keepalived's `auth_ext_*` counters: adverts refused by `auth_hmac`, by reason.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct AuthHmacStats {
    /// Trailerless adverts refused in `enforce` mode (`auth_ext_missing`).
    pub missing: u64,
    /// Malformed trailers (`auth_ext_malformed`).
    pub malformed: u64,
    /// Unknown key ids (`auth_ext_unknown_key`).
    pub unknown_key: u64,
    /// HMACs that did not verify (`auth_ext_invalid_hmac`).
    pub bad_hmac: u64,
    /// Timestamps outside the window (`auth_ext_stale`).
    pub stale: u64,
    /// Replayed sequences (`auth_ext_replay`).
    pub replay: u64,
}

impl AuthHmacStats {
    /// Counts one refusal.
    pub fn record(&mut self, refusal: &AuthHmacRefusal) {
        let c = match refusal {
            AuthHmacRefusal::Missing => &mut self.missing,
            AuthHmacRefusal::Malformed => &mut self.malformed,
            AuthHmacRefusal::UnknownKey(_) => &mut self.unknown_key,
            AuthHmacRefusal::BadHmac => &mut self.bad_hmac,
            AuthHmacRefusal::Stale { .. } => &mut self.stale,
            AuthHmacRefusal::Replay => &mut self.replay,
        };
        *c = c.saturating_add(1);
    }

    /// All refusals.
    pub fn total(&self) -> u64 {
        self.missing + self.malformed + self.unknown_key + self.bad_hmac + self.stale + self.replay
    }
}

/// The last sequence accepted from one sender.
#[derive(Debug, Clone, Copy)]
struct ReplayMark {
    source: IpAddr,
    seq: AuthSequence,
    /// LRU rank; the smallest is evicted.
    last_used: u64,
}

/// What signs and verifies on one socket: the block, the send sequence, the replay marks.
#[derive(Debug)]
pub(crate) struct AuthHmacState {
    config: AuthHmac,
    send_seq: u64,
    marks: Vec<ReplayMark>,
    capacity: usize,
    clock: u64,
    stats: AuthHmacStats,
}

/// What one advert's trailer is signed with.
#[derive(Debug, Clone, Copy)]
pub(crate) struct TrailerToSign {
    pub(crate) key: AuthHmacKey,
    pub(crate) key_id: u8,
    pub(crate) sequence: AuthSequence,
}

fn realtime() -> (u64, u32) {
    let d = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let secs = d.as_secs() as u32;
    let subsec = (u64::from(d.subsec_nanos()) << 16) / 1_000_000_000;
    ((u64::from(secs) << 32) | (subsec << 16), secs)
}

impl AuthHmacState {
    /// `unicast_peers` replay marks for a unicast socket, four for multicast.
    pub(crate) fn new(config: AuthHmac, unicast_peers: usize) -> Self {
        let capacity = if unicast_peers > 0 {
            unicast_peers
        } else {
            MCAST_SENDERS
        };
        AuthHmacState {
            config,
            send_seq: 0,
            marks: Vec::with_capacity(capacity),
            capacity,
            clock: 0,
            stats: AuthHmacStats::default(),
        }
    }

    pub(crate) fn config(&self) -> &AuthHmac {
        &self.config
    }

    pub(crate) fn stats(&self) -> AuthHmacStats {
        self.stats
    }

    /// A reload's new block. The send sequence and the replay marks stay: keys and mode
    /// change, the peers' sequences do not (keepalived rebuilds both, which its clock-based
    /// sequence makes harmless in `time` mode; keeping them is never weaker).
    pub(crate) fn reconfigure(&mut self, config: AuthHmac) {
        if config.anti_replay != self.config.anti_replay {
            self.marks.clear();
        }
        self.config = config;
    }

    /// The trailer of the next advert, `None` in `receive-only` mode.
    pub(crate) fn next_to_sign(&mut self) -> Option<TrailerToSign> {
        if self.config.mode == AuthHmacMode::ReceiveOnly {
            return None;
        }
        let (clk, clk_secs) = realtime();
        let after = |a: u64, b: u64| (a.wrapping_sub(b) as i64) > 0;
        if after(clk, self.send_seq) {
            self.send_seq = clk;
        } else {
            let ahead = ((self.send_seq >> 32) as u32).wrapping_sub(clk_secs) as i32;
            if self.config.anti_replay == AntiReplay::Time && ahead > self.config.time_window as i32
            {
                self.send_seq = clk;
            } else {
                self.send_seq = self.send_seq.wrapping_add(1);
            }
        }
        let key = *self.config.key(self.config.active_key)?;
        Some(TrailerToSign {
            key,
            key_id: self.config.active_key,
            sequence: AuthSequence::from_u64(self.send_seq),
        })
    }

    /// Checks a received advert's trailer (`None`: it has none) from `source`; `verify`
    /// checks the HMAC under a key. Counts a refusal.
    pub(crate) fn check(
        &mut self,
        trailer: Option<AuthTrailer>,
        source: IpAddr,
        verify: impl FnOnce(&AuthTrailer, &[u8]) -> bool,
    ) -> Result<(), AuthHmacRefusal> {
        let r = self.check_uncounted(trailer, source, verify);
        if let Err(e) = &r {
            self.stats.record(e);
        }
        r
    }

    /// Counts a refusal found before [`check`](Self::check) (a malformed trailer the codec
    /// refused).
    pub(crate) fn count(&mut self, refusal: AuthHmacRefusal) {
        self.stats.record(&refusal);
    }

    fn check_uncounted(
        &mut self,
        trailer: Option<AuthTrailer>,
        source: IpAddr,
        verify: impl FnOnce(&AuthTrailer, &[u8]) -> bool,
    ) -> Result<(), AuthHmacRefusal> {
        let Some(t) = trailer else {
            return match self.config.mode {
                AuthHmacMode::Enforce => Err(AuthHmacRefusal::Missing),
                _ => Ok(()),
            };
        };
        if t.ext_type != AUTH_EXT_HMAC_SHA256 || t.reserved != 0 {
            return Err(AuthHmacRefusal::Malformed);
        }
        let time = self.config.anti_replay == AntiReplay::Time;
        let window = self.config.time_window;
        let (_, now_secs) = realtime();
        // Before the HMAC: a flood of old captures costs no digest.
        if time {
            let skew = now_secs.wrapping_sub(t.sequence.seconds) as i32;
            if skew.unsigned_abs() > window {
                return Err(AuthHmacRefusal::Stale { skew, window });
            }
        }
        let key = self
            .config
            .key(t.key_id)
            .ok_or(AuthHmacRefusal::UnknownKey(t.key_id))?;
        if !verify(&t, key.as_bytes()) {
            return Err(AuthHmacRefusal::BadHmac);
        }
        // Only a verified advert reaches (and may create or evict) a replay mark.
        self.clock += 1;
        let rank = self.clock;
        let i = match self.marks.iter().position(|m| m.source == source) {
            Some(i) => i,
            None => {
                let fresh = ReplayMark {
                    source,
                    seq: t.sequence,
                    last_used: rank,
                };
                if self.marks.len() < self.capacity {
                    self.marks.push(fresh);
                } else if let Some(victim) = self.marks.iter_mut().min_by_key(|m| m.last_used) {
                    *victim = fresh;
                }
                return Ok(());
            }
        };
        let mark = &mut self.marks[i];
        mark.last_used = rank;
        // A mark older than the window only orders what the window refuses anyway.
        let expired =
            time && (now_secs.wrapping_sub(mark.seq.seconds) as i32).unsigned_abs() > window;
        if !expired && !t.sequence.is_after(&mark.seq) {
            return Err(AuthHmacRefusal::Replay);
        }
        mark.seq = t.sequence;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block(mode: AuthHmacMode, anti_replay: AntiReplay) -> AuthHmac {
        let keys = [
            (1, AuthHmacKey::new(&[1; 32]).unwrap()),
            (2, AuthHmacKey::new(&[2; 40]).unwrap()),
        ];
        AuthHmac::new(keys, 1, 5)
            .unwrap()
            .with_mode(mode)
            .with_anti_replay(anti_replay)
    }

    fn trailer(key_id: u8, sequence: AuthSequence) -> AuthTrailer {
        AuthTrailer {
            ext_type: AUTH_EXT_HMAC_SHA256,
            key_id,
            reserved: 0,
            sequence,
            hmac: [0; 16],
        }
    }

    const SRC: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(10, 0, 0, 1));

    #[test]
    fn modes_send_and_accept_as_keepalived() {
        for (mode, signs, takes_bare) in [
            (AuthHmacMode::Enforce, true, false),
            (AuthHmacMode::Permissive, true, true),
            (AuthHmacMode::ReceiveOnly, false, true),
        ] {
            let mut s = AuthHmacState::new(block(mode, AntiReplay::Time), 0);
            assert_eq!(s.next_to_sign().is_some(), signs, "{mode:?}");
            assert_eq!(s.check(None, SRC, |_, _| true).is_ok(), takes_bare);
            // A trailer present is verified in every mode.
            let t = trailer(
                1,
                s.next_to_sign()
                    .map_or(AuthSequence::from_u64(realtime().0), |x| x.sequence),
            );
            assert_eq!(
                s.check(Some(t), SRC, |_, _| false),
                Err(AuthHmacRefusal::BadHmac)
            );
        }
    }

    #[test]
    fn sequence_grows_within_one_clock_tick_and_refusals_are_counted() {
        let mut s = AuthHmacState::new(block(AuthHmacMode::Enforce, AntiReplay::Time), 0);
        let a = s.next_to_sign().unwrap().sequence;
        let b = s.next_to_sign().unwrap().sequence;
        assert!(b.is_after(&a));
        assert_eq!(s.check(Some(trailer(1, b)), SRC, |_, _| true), Ok(()));
        assert_eq!(
            s.check(Some(trailer(1, a)), SRC, |_, _| true),
            Err(AuthHmacRefusal::Replay)
        );
        assert_eq!(
            s.check(Some(trailer(9, b)), SRC, |_, _| true),
            Err(AuthHmacRefusal::UnknownKey(9))
        );
        let old = AuthSequence {
            seconds: a.seconds - 60,
            ..a
        };
        assert!(matches!(
            s.check(Some(trailer(1, old)), SRC, |_, _| true),
            Err(AuthHmacRefusal::Stale { .. })
        ));
        assert_eq!(
            s.check(None, SRC, |_, _| true),
            Err(AuthHmacRefusal::Missing)
        );
        let st = s.stats();
        assert_eq!(
            (st.replay, st.unknown_key, st.stale, st.missing),
            (1, 1, 1, 1)
        );
        // Monotonic mode has no window: an old timestamp passes if it grows.
        let mut m = AuthHmacState::new(block(AuthHmacMode::Enforce, AntiReplay::Monotonic), 0);
        assert_eq!(m.check(Some(trailer(1, old)), SRC, |_, _| true), Ok(()));
    }

    #[test]
    fn a_forged_advert_never_moves_the_mark_and_multicast_keeps_four() {
        let mut s = AuthHmacState::new(block(AuthHmacMode::Enforce, AntiReplay::Monotonic), 0);
        let seq = |n| AuthSequence::from_u64(n);
        assert!(s.check(Some(trailer(1, seq(10))), SRC, |_, _| true).is_ok());
        assert!(s
            .check(Some(trailer(1, seq(1000))), SRC, |_, _| false)
            .is_err());
        assert!(s.check(Some(trailer(1, seq(11))), SRC, |_, _| true).is_ok());
        for i in 2..=5u8 {
            let src = IpAddr::V4(std::net::Ipv4Addr::new(10, 0, 0, i));
            assert!(s.check(Some(trailer(1, seq(1))), src, |_, _| true).is_ok());
        }
        assert_eq!(s.marks.len(), 4);
        // SRC was evicted: its old sequence is accepted as from a new sender.
        assert!(s.check(Some(trailer(1, seq(5))), SRC, |_, _| true).is_ok());
    }
}
