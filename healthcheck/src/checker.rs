//! The [`Checker`] trait every probe implements.

use std::fmt;
use std::time::Duration;

use async_trait::async_trait;

use crate::change_watch::ChangeWatch;
use crate::error::CheckError;

/// What a successful probe reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Probe {
    /// A value from a dynamic checker: `exit status − 2` for a `misc_dynamic` exec check
    /// (keepalived's dynamic real-server weight), the number in a tracked file. `None`
    /// for plain pass/fail checkers.
    pub value: Option<i64>,
}

impl Probe {
    /// A plain success.
    pub const OK: Probe = Probe { value: None };
}

/// One kind of health probe (TCP connect, HTTP GET, exec...).
///
/// Implementations must finish within `timeout` and clean up after themselves when they
/// do not (close sockets, kill process groups); the scheduler also drops a probe that
/// overruns, so they must be cancel-safe (cleanup in `Drop`).
///
/// ```
/// use healthcheck::{CheckError, Checker, Probe};
/// use std::time::Duration;
///
/// #[derive(Debug)]
/// struct AlwaysUp;
///
/// #[async_trait::async_trait]
/// impl Checker for AlwaysUp {
///     async fn check(&self, _timeout: Duration) -> Result<Probe, CheckError> {
///         Ok(Probe::OK)
///     }
///     fn kind(&self) -> &'static str {
///         "always_up"
///     }
/// }
/// ```
#[async_trait]
pub trait Checker: Send + Sync + fmt::Debug {
    /// Runs one probe.
    async fn check(&self, timeout: Duration) -> Result<Probe, CheckError>;

    /// A short name for logs (`"tcp"`, `"http"`...).
    fn kind(&self) -> &'static str;

    /// A watch telling the monitor when what this checker probes may have changed, so it
    /// probes at once instead of at the end of the interval ([`FileCheck`]: inotify, as
    /// keepalived's `track_file`). Called once when the monitor starts the check, inside
    /// its runtime. `None`, the default: the interval alone.
    ///
    /// [`FileCheck`]: crate::FileCheck
    fn change_watch(&self) -> Option<Box<dyn ChangeWatch>> {
        None
    }
}

/// Runs `fut` with `timeout`, mapping an overrun to [`CheckError::Timeout`].
pub(crate) async fn with_timeout<T>(
    timeout: Duration,
    fut: impl std::future::Future<Output = Result<T, CheckError>>,
) -> Result<T, CheckError> {
    match tokio::time::timeout(timeout, fut).await {
        Ok(r) => r,
        Err(_) => Err(CheckError::Timeout(timeout)),
    }
}
