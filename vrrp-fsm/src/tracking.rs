//! keepalived's tracked priority: base, total (unclamped) and effective (clamped 1..=254).
use crate::config::{TrackerConfig, TrackerKind};

/// The current state of a tracker, as reported by its checker.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TrackerState {
    /// The tracked object is OK (script exit 0, interface up, process running).
    Up,
    /// The tracked object failed.
    Down,
    /// The number read by a `track_file` tracker.
    Value(i64),
}

/// What one tracker currently does to its instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Contribution {
    /// Added to `total_priority`.
    pub delta: i64,
    /// Puts the instance in FAULT.
    pub fault: bool,
}

/// The contribution of `cfg` in `state`; `weight` is the weight in force (0 when a sync group
/// ignores weights). Returns `None` if the state kind does not fit the tracker kind.
pub(crate) fn contribution(
    cfg: &TrackerConfig,
    weight: i32,
    state: TrackerState,
) -> Option<Contribution> {
    let multiplier: i64 = if cfg.reverse { -1 } else { 1 };
    let w = i64::from(weight);
    match (cfg.kind, state) {
        (TrackerKind::File, TrackerState::Value(v)) => {
            if w == 0 {
                // weight 0: a non-zero value is a failure (reverse: a zero value is).
                return Some(Contribution {
                    delta: 0,
                    fault: (v != 0) != cfg.reverse,
                });
            }
            let r = v.saturating_mul(w).saturating_mul(multiplier);
            if r <= -254 {
                Some(Contribution {
                    delta: 0,
                    fault: true,
                })
            } else {
                Some(Contribution {
                    delta: r.min(253),
                    fault: false,
                })
            }
        }
        (TrackerKind::File, _) | (_, TrackerState::Value(_)) => None,
        (_, s) => {
            let up = s == TrackerState::Up;
            if w == 0 {
                return Some(Contribution {
                    delta: 0,
                    fault: up == cfg.reverse,
                });
            }
            // positive weight counts while up, negative while down; reverse flips the sign.
            let active = if w > 0 { up } else { !up };
            Some(Contribution {
                delta: if active { w * multiplier } else { 0 },
                fault: false,
            })
        }
    }
}

/// The state a tracker has before its first report: up (value 0 for files).
pub(crate) fn initial_state(kind: TrackerKind) -> TrackerState {
    match kind {
        TrackerKind::File => TrackerState::Value(0),
        _ => TrackerState::Up,
    }
}

/// `effective = clamp(total, 1, 254)`, except the address owner keeps 255.
pub(crate) fn effective_priority(base: u8, total: i64) -> u8 {
    if base == 255 {
        255
    } else {
        total.clamp(1, 254) as u8
    }
}
