//! The configuration of one scheduled check.

use std::sync::Arc;
use std::time::Duration;

use crate::check_status::TrackWeight;
use crate::checker::Checker;
use crate::error::ConfigError;
use crate::policy::Policy;

/// Identifies a check in a [`Monitor`](crate::Monitor) and in its events. Chosen by the
/// caller (a real-server index, a vrrp-fsm tracker id...).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CheckId(pub u64);

/// One check: what to probe, how often, and how to filter the results.
///
/// ```
/// use healthcheck::{CheckId, CheckSpec, Policy, TcpCheck, TrackWeight};
/// use std::time::Duration;
/// let spec = CheckSpec::new(CheckId(1), TcpCheck::new("127.0.0.1:80".parse().unwrap()))
///     .interval(Duration::from_secs(2))
///     .timeout(Duration::from_secs(1))
///     .policy(Policy::Script { rise: 2, fall: 3, init_fail: false })
///     .weight(TrackWeight::new(-20));
/// ```
#[derive(Debug, Clone)]
pub struct CheckSpec {
    /// Caller-chosen id.
    pub id: CheckId,
    /// The probe.
    pub checker: Arc<dyn Checker>,
    /// Gap between the end of a probe and the start of the next (`delay_loop` /
    /// `interval`).
    pub interval: Duration,
    /// Per-probe timeout (`connect_timeout` / `timeout`).
    pub timeout: Duration,
    /// Filtering model.
    pub policy: Policy,
    /// Weight semantics carried in every event.
    pub weight: TrackWeight,
    /// The first probe starts after a random delay in `0..=warmup` (keepalived `warmup`).
    pub warmup: Duration,
    /// Every later gap gets a random extra `0..=jitter`, so checks never fire in
    /// lockstep.
    pub jitter: Duration,
}

impl CheckSpec {
    /// A check with keepalived's vrrp_script-like defaults: interval 1 s, timeout 1 s,
    /// [`Policy::script`], weight 0, no warmup, no jitter.
    pub fn new(id: CheckId, checker: impl Checker + 'static) -> Self {
        Self::from_arc(id, Arc::new(checker))
    }

    /// Same as [`CheckSpec::new`] with a shared checker.
    pub fn from_arc(id: CheckId, checker: Arc<dyn Checker>) -> Self {
        CheckSpec {
            id,
            checker,
            interval: Duration::from_secs(1),
            timeout: Duration::from_secs(1),
            policy: Policy::script(),
            weight: TrackWeight::default(),
            warmup: Duration::ZERO,
            jitter: Duration::ZERO,
        }
    }

    /// Sets the interval.
    pub fn interval(mut self, interval: Duration) -> Self {
        self.interval = interval;
        self
    }

    /// Sets the timeout.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Sets the policy.
    pub fn policy(mut self, policy: Policy) -> Self {
        self.policy = policy;
        self
    }

    /// Sets the weight semantics.
    pub fn weight(mut self, weight: TrackWeight) -> Self {
        self.weight = weight;
        self
    }

    /// Sets the warmup.
    pub fn warmup(mut self, warmup: Duration) -> Self {
        self.warmup = warmup;
        self
    }

    /// Sets the jitter.
    pub fn jitter(mut self, jitter: Duration) -> Self {
        self.jitter = jitter;
        self
    }

    pub(crate) fn validate(&self) -> Result<(), ConfigError> {
        if self.interval.is_zero() {
            return Err(ConfigError::ZeroInterval);
        }
        if self.timeout.is_zero() {
            return Err(ConfigError::ZeroTimeout);
        }
        self.policy.start().map(|_| ())
    }
}
