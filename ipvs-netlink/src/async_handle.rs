//! An async face for tokio users: the blocking handle behind a mutex, driven through
//! `spawn_blocking` so netlink round trips never stall the runtime's worker threads.

use std::sync::{Arc, Mutex};

use crate::error::{Error, Result};
use crate::{
    ApplyReport, BatchReport, DesiredTable, Destination, IpvsHandle, Operation, Service, ServiceKey,
};

/// A cheaply clonable async handle (tokio). All clones share one netlink socket; calls are
/// serialised.
///
/// ```no_run
/// # async fn demo() -> Result<(), ipvs_netlink::Error> {
/// use ipvs_netlink::{AsyncIpvsHandle, DesiredTable};
/// let ipvs = AsyncIpvsHandle::new().await?;
/// let report = ipvs.apply(DesiredTable::default()).await?;
/// println!("{}", report.counts());
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct AsyncIpvsHandle {
    inner: Arc<Mutex<IpvsHandle>>,
}

impl AsyncIpvsHandle {
    /// Opens the socket and resolves the family on a blocking thread.
    pub async fn new() -> Result<Self> {
        let h = tokio::task::spawn_blocking(IpvsHandle::new)
            .await
            .map_err(join_error)??;
        Ok(AsyncIpvsHandle {
            inner: Arc::new(Mutex::new(h)),
        })
    }

    /// Wraps an existing blocking handle.
    pub fn from_blocking(h: IpvsHandle) -> Self {
        AsyncIpvsHandle {
            inner: Arc::new(Mutex::new(h)),
        }
    }

    /// Runs `f` with exclusive access to the blocking handle, on a blocking thread.
    pub async fn call<R, F>(&self, f: F) -> Result<R>
    where
        F: FnOnce(&mut IpvsHandle) -> Result<R> + Send + 'static,
        R: Send + 'static,
    {
        let inner = Arc::clone(&self.inner);
        tokio::task::spawn_blocking(move || {
            // A panic inside another call poisons the mutex; the socket itself is still usable
            // because every request reads its replies to the end before returning.
            let mut h = inner.lock().unwrap_or_else(|p| p.into_inner());
            f(&mut h)
        })
        .await
        .map_err(join_error)?
    }

    /// See [`IpvsHandle::apply`].
    pub async fn apply(&self, desired: DesiredTable) -> Result<ApplyReport> {
        self.call(move |h| h.apply(&desired)).await
    }

    /// See [`IpvsHandle::execute`].
    pub async fn execute(&self, ops: Vec<Operation>) -> Result<BatchReport> {
        self.call(move |h| h.execute(&ops)).await
    }

    /// See [`IpvsHandle::run`].
    pub async fn run(&self, op: Operation) -> Result<()> {
        self.call(move |h| h.run(&op)).await
    }

    /// See [`IpvsHandle::services`].
    pub async fn services(&self) -> Result<Vec<Service>> {
        self.call(|h| h.services()).await
    }

    /// See [`IpvsHandle::destinations`].
    pub async fn destinations(&self, key: ServiceKey) -> Result<Vec<Destination>> {
        self.call(move |h| h.destinations(&key)).await
    }

    /// See [`IpvsHandle::table`].
    pub async fn table(&self) -> Result<Vec<(Service, Vec<Destination>)>> {
        self.call(|h| h.table()).await
    }
}

fn join_error(e: tokio::task::JoinError) -> Error {
    Error::Io(std::io::Error::other(format!(
        "blocking IPVS task failed: {e}"
    )))
}
