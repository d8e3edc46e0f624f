//! The state a check reports to its consumers, with keepalived's tracker weight semantics
//! (KA `vrrp_track.c`, see the crate README): what a VRRP instance adds to its priority and
//! whether the tracker puts it in FAULT.

/// Health of a check after fall/rise (or retry) filtering.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Health {
    /// No verdict yet: a `vrrp_script` before its first result (without `init_fail`).
    /// Contributes nothing and causes no FAULT, as in keepalived.
    Unknown,
    /// The check passes.
    Up,
    /// The check fails.
    Down,
}

impl Health {
    /// `true` only for [`Health::Up`].
    pub fn is_up(self) -> bool {
        self == Health::Up
    }
}

/// How a check's result weighs on a VRRP priority (keepalived `weight` + `reverse`).
///
/// * `weight > 0`: add `weight` while up (subtract it while up with `reverse`).
/// * `weight < 0`: subtract `|weight|` while down (add it while down with `reverse`).
/// * `weight == 0`: not weighted: down means FAULT (up means FAULT with `reverse`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct TrackWeight {
    /// keepalived `weight` (vrrp_script range −253..=253).
    pub weight: i32,
    /// keepalived `reverse` / `weight N reverse`.
    pub reverse: bool,
    /// keepalived `track_file` semantics: the contribution is `value × weight` instead of
    /// `weight`, and with weight 0 a non-zero value means FAULT.
    pub scale_by_value: bool,
}

impl TrackWeight {
    /// A plain weight (not reversed, not value-scaled).
    pub const fn new(weight: i32) -> Self {
        TrackWeight {
            weight,
            reverse: false,
            scale_by_value: false,
        }
    }

    /// The same weight with `reverse`.
    pub const fn reversed(mut self) -> Self {
        self.reverse = true;
        self
    }

    /// `track_file` semantics (`value × weight`).
    pub const fn scaled_by_value(mut self) -> Self {
        self.scale_by_value = true;
        self
    }

    fn multiplier(self) -> i64 {
        if self.reverse {
            -1
        } else {
            1
        }
    }
}

/// keepalived: a track_file total at or below this puts the instance in FAULT.
pub const TRACK_FILE_FAULT_AT: i64 = -254;

/// What a check currently tells its consumers: its filtered health, its weight semantics and
/// its last dynamic value.
///
/// Not to be confused with `vrrp_fsm::TrackerState` (Up / Down / Value), the one tracker state
/// a VRRP instance takes; [`CheckStatus::to_vrrp_fsm`] (feature `vrrp-fsm`) gives it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CheckStatus {
    /// Filtered health.
    pub health: Health,
    /// The configured weight semantics.
    pub weight: TrackWeight,
    /// Last value reported by a dynamic checker: the number in a tracked file, or
    /// `exit status − 2` for a `misc_dynamic` exec check. `None` for plain checks.
    pub value: Option<i64>,
}

impl CheckStatus {
    /// The signed amount this tracker adds to `total_priority` (KA
    /// `process_script_update_priority` / `initialise_vrrp_file_tracking_priorities`).
    /// Unknown health contributes 0.
    pub fn priority_delta(&self) -> i64 {
        let w = i64::from(self.weight.weight);
        let m = self.weight.multiplier();
        if self.weight.scale_by_value {
            // track_file: value × weight, capped at 253; at or below −254 it is FAULT
            // instead of a priority change (like keepalived).
            let r = self.file_value().saturating_mul(w).saturating_mul(m);
            return if r <= TRACK_FILE_FAULT_AT {
                0
            } else {
                r.min(253)
            };
        }
        match self.health {
            Health::Unknown => 0,
            Health::Up if w > 0 => w * m,
            Health::Down if w < 0 => w * m,
            _ => 0,
        }
    }

    /// Whether this tracker forces FAULT (weight 0 semantics, or a track_file total
    /// ≤ −254; with weight 0 a file value ≠ 0 is a failure).
    pub fn is_fault(&self) -> bool {
        if self.weight.scale_by_value {
            if self.weight.weight == 0 {
                // weight 0: a non-zero value is a failure (reverse: a zero value is).
                return (self.file_value() != 0) != self.weight.reverse;
            }
            let total = self
                .file_value()
                .saturating_mul(i64::from(self.weight.weight))
                .saturating_mul(self.weight.multiplier());
            return total <= TRACK_FILE_FAULT_AT;
        }
        if self.weight.weight != 0 {
            return false;
        }
        matches!(
            (self.health, self.weight.reverse),
            (Health::Down, false) | (Health::Up, true)
        )
    }

    /// The number a track_file tracker currently holds: an unreadable or not yet read file
    /// counts as 0 (**Inference** from keepalived, which starts file trackers at 0).
    pub fn file_value(&self) -> i64 {
        match self.health {
            Health::Up => self.value.unwrap_or(0),
            _ => 0,
        }
    }

    /// The weight a real server gets from a `misc_dynamic` check (KA: status − 2, clamped
    /// 0..=253), if this check reported one.
    pub fn dynamic_rs_weight(&self) -> Option<u32> {
        if self.weight.scale_by_value {
            return None;
        }
        self.value.map(|v| v.clamp(0, 253) as u32)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn st(health: Health, weight: i32, reverse: bool) -> CheckStatus {
        CheckStatus {
            health,
            weight: TrackWeight {
                weight,
                reverse,
                scale_by_value: false,
            },
            value: None,
        }
    }

    #[test]
    fn keepalived_four_row_table() {
        // +w: adds while up.
        assert_eq!(st(Health::Up, 10, false).priority_delta(), 10);
        assert_eq!(st(Health::Down, 10, false).priority_delta(), 0);
        // -w: subtracts while down.
        assert_eq!(st(Health::Up, -10, false).priority_delta(), 0);
        assert_eq!(st(Health::Down, -10, false).priority_delta(), -10);
        // +w reverse: subtracts while up.
        assert_eq!(st(Health::Up, 10, true).priority_delta(), -10);
        assert_eq!(st(Health::Down, 10, true).priority_delta(), 0);
        // -w reverse: adds while down.
        assert_eq!(st(Health::Up, -10, true).priority_delta(), 0);
        assert_eq!(st(Health::Down, -10, true).priority_delta(), 10);
        // Unknown contributes nothing.
        assert_eq!(st(Health::Unknown, -10, false).priority_delta(), 0);
        assert!(!st(Health::Unknown, 0, false).is_fault());
    }

    #[test]
    fn weight_zero_is_fault() {
        assert!(st(Health::Down, 0, false).is_fault());
        assert!(!st(Health::Up, 0, false).is_fault());
        assert!(st(Health::Up, 0, true).is_fault());
        assert!(!st(Health::Down, 0, true).is_fault());
        assert!(!st(Health::Down, -5, false).is_fault());
    }

    #[test]
    fn track_file_semantics() {
        let f = |value, weight| CheckStatus {
            health: Health::Up,
            weight: TrackWeight::new(weight).scaled_by_value(),
            value: Some(value),
        };
        assert_eq!(f(3, -10).priority_delta(), -30);
        assert!(!f(3, -10).is_fault());
        assert!(f(26, -10).is_fault());
        assert!(f(1, 0).is_fault());
        assert!(!f(0, 0).is_fault());
        let unreadable = CheckStatus {
            health: Health::Down,
            value: None,
            ..f(0, 0)
        };
        // An unreadable file counts as 0.
        assert!(!unreadable.is_fault());
        assert_eq!(f(100, 10).priority_delta(), 253);
        assert_eq!(f(26, -10).priority_delta(), 0);
    }

    #[test]
    fn dynamic_weight_clamped() {
        let mut s = st(Health::Up, 0, false);
        s.value = Some(300);
        assert_eq!(s.dynamic_rs_weight(), Some(253));
        s.value = Some(5);
        assert_eq!(s.dynamic_rs_weight(), Some(5));
    }
}
