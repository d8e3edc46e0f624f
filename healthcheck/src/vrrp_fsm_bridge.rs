//! Feeding check results to `vrrp-fsm` trackers (feature `vrrp-fsm`, on by default).
//!
//! vrrp-fsm applies the weights itself (from its `TrackerConfig`), so a check reports
//! only Up / Down / Value. Configure the vrrp-fsm tracker with
//! [`TrackWeight::to_vrrp_tracker_config`] so both sides agree on weight and `reverse`, and
//! name the check after the tracker (`CheckId::from(tracker_id)`, back with
//! `TrackerId::try_from(check_id)`).

use crate::check_spec::CheckId;
use crate::check_status::{CheckStatus, Health, TrackWeight};
use crate::monitor::StateChange;

impl CheckStatus {
    /// The state to pass to `vrrp_fsm::Router::set_tracker` / `Instance::set_tracker`.
    ///
    /// * value-scaled (track_file) → `Value(n)` (an unreadable file is 0);
    /// * Up → `Up`, Down → `Down`;
    /// * Unknown (a vrrp_script before its first result) → `None`: report nothing, the
    ///   tracker keeps vrrp-fsm's initial state.
    pub fn to_vrrp_fsm(&self) -> Option<vrrp_fsm::TrackerState> {
        if self.weight.scale_by_value {
            return Some(vrrp_fsm::TrackerState::Value(self.file_value()));
        }
        match self.health {
            Health::Up => Some(vrrp_fsm::TrackerState::Up),
            Health::Down => Some(vrrp_fsm::TrackerState::Down),
            Health::Unknown => None,
        }
    }
}

impl StateChange {
    /// Shorthand for `self.state.to_vrrp_fsm()`.
    pub fn to_vrrp_fsm(&self) -> Option<vrrp_fsm::TrackerState> {
        self.state.to_vrrp_fsm()
    }
}

impl TrackWeight {
    /// The vrrp-fsm tracker configuration with the same weight semantics. Use
    /// `TrackerKind::File` for value-scaled weights.
    pub fn to_vrrp_tracker_config(
        &self,
        id: vrrp_fsm::TrackerId,
        kind: vrrp_fsm::TrackerKind,
    ) -> vrrp_fsm::TrackerConfig {
        let mut cfg = vrrp_fsm::TrackerConfig::new(id, kind, self.weight);
        cfg.reverse = self.reverse;
        cfg
    }
}

impl From<vrrp_fsm::TrackerId> for CheckId {
    /// The check that feeds tracker `id`: same number.
    ///
    /// ```
    /// use healthcheck::CheckId;
    /// use vrrp_fsm::TrackerId;
    /// assert_eq!(CheckId::from(TrackerId(7)), CheckId(7));
    /// assert_eq!(TrackerId::try_from(CheckId(7)), Ok(TrackerId(7)));
    /// assert!(TrackerId::try_from(CheckId(u64::from(u32::MAX) + 1)).is_err());
    /// ```
    fn from(id: vrrp_fsm::TrackerId) -> Self {
        CheckId(u64::from(id.0))
    }
}

impl TryFrom<CheckId> for vrrp_fsm::TrackerId {
    type Error = core::num::TryFromIntError;

    /// The tracker a check feeds: same number; fails when it does not fit in a `u32`.
    fn try_from(id: CheckId) -> Result<Self, Self::Error> {
        u32::try_from(id.0).map(vrrp_fsm::TrackerId)
    }
}
