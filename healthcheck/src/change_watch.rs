//! Change hints: a checker may tell the [`Monitor`](crate::Monitor) that what it probes may
//! have changed, so the next probe runs at once instead of at the end of the interval.

use async_trait::async_trait;

/// Resolves each time what a checker probes may have changed (a tracked file written,
/// renamed or deleted). The monitor then probes at once; the interval still applies between
/// hints, so a missed hint only costs time. Returned by
/// [`Checker::change_watch`](crate::Checker::change_watch).
///
/// ```
/// use healthcheck::ChangeWatch;
///
/// /// A hint every second, whatever happens.
/// struct EverySecond;
///
/// #[async_trait::async_trait]
/// impl ChangeWatch for EverySecond {
///     async fn changed(&mut self) {
///         tokio::time::sleep(std::time::Duration::from_secs(1)).await;
///     }
/// }
/// ```
#[async_trait]
pub trait ChangeWatch: Send {
    /// Waits for the next hint. A watch that can no longer see changes (its directory
    /// removed, say) never resolves again: the interval alone drives the probes.
    async fn changed(&mut self);
}
