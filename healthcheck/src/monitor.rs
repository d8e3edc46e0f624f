//! Runs many checks concurrently and turns their results into a stream of state changes.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{mpsc, Semaphore};
use tokio::task::AbortHandle;
use tokio::time::Instant;

use crate::check_spec::{CheckId, CheckSpec};
use crate::check_status::{CheckStatus, Health};
use crate::error::{CheckError, ConfigError};

/// A check's state changed (health after fall/rise, or its dynamic value).
#[derive(Debug, Clone)]
pub struct StateChange {
    /// Which check.
    pub id: CheckId,
    /// New state (health, weight semantics, value).
    pub state: CheckStatus,
    /// Health before this change.
    pub previous: Health,
    /// When the probe that caused it finished.
    pub at: std::time::Instant,
    /// Why the last probe failed, if it did.
    pub error: Option<Arc<CheckError>>,
    /// How many probes this check had run when the change happened (1 = the first).
    pub probe_seq: u64,
}

/// Counters shared by all checks of a monitor (relaxed atomics).
#[derive(Debug, Default)]
pub struct MonitorStats {
    /// Probes finished.
    pub probes: AtomicU64,
    /// Probes that failed (including timeouts).
    pub failures: AtomicU64,
    /// Probes that overran their timeout.
    pub timeouts: AtomicU64,
    /// State changes emitted.
    pub changes: AtomicU64,
    /// Probes run early on a checker's change hint (an inotify event for a tracked file).
    pub hinted_probes: AtomicU64,
}

impl MonitorStats {
    /// Snapshot `(probes, failures, timeouts, changes)`.
    pub fn snapshot(&self) -> (u64, u64, u64, u64) {
        (
            self.probes.load(Ordering::Relaxed),
            self.failures.load(Ordering::Relaxed),
            self.timeouts.load(Ordering::Relaxed),
            self.changes.load(Ordering::Relaxed),
        )
    }
}

/// Monitor-wide limits.
#[derive(Debug, Clone, Copy)]
pub struct MonitorConfig {
    /// At most this many probes run at the same time (sockets, processes); the others
    /// wait for a slot, so memory and fds stay bounded whatever the number of checks.
    pub max_concurrent: usize,
    /// Capacity of the event channel. A slow consumer delays the checks that have a
    /// change to report (back-pressure) rather than growing a queue.
    pub channel_capacity: usize,
}

impl Default for MonitorConfig {
    fn default() -> Self {
        MonitorConfig {
            max_concurrent: 1024,
            channel_capacity: 1024,
        }
    }
}

/// Schedules checks on the current tokio runtime; each check is one small task.
///
/// ```no_run
/// use healthcheck::{CheckId, CheckSpec, Monitor, MonitorConfig, Policy, TcpCheck};
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let (monitor, mut changes) = Monitor::new(MonitorConfig::default());
/// monitor.add(CheckSpec::new(CheckId(7), TcpCheck::new("10.0.0.2:80".parse()?))
///     .policy(Policy::checker()))?;
/// while let Some(change) = changes.recv().await {
///     println!("{:?} is now {:?}", change.id, change.state.health);
/// }
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct Monitor {
    permits: Arc<Semaphore>,
    tx: mpsc::Sender<StateChange>,
    tasks: Mutex<HashMap<CheckId, AbortHandle>>,
    states: SharedStates,
    stats: Arc<MonitorStats>,
}

type SharedStates = Arc<Mutex<HashMap<CheckId, CheckStatus>>>;

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A panic while holding these locks cannot leave the maps inconsistent.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Monitor {
    /// A monitor and the receiving end of its state changes.
    pub fn new(config: MonitorConfig) -> (Monitor, mpsc::Receiver<StateChange>) {
        let (tx, rx) = mpsc::channel(config.channel_capacity.max(1));
        let monitor = Monitor {
            permits: Arc::new(Semaphore::new(config.max_concurrent.max(1))),
            tx,
            tasks: Mutex::new(HashMap::new()),
            states: Arc::new(Mutex::new(HashMap::new())),
            stats: Arc::new(MonitorStats::default()),
        };
        (monitor, rx)
    }

    /// Counters.
    pub fn stats(&self) -> Arc<MonitorStats> {
        self.stats.clone()
    }

    /// Starts a check (replacing any check with the same id) on the current tokio
    /// runtime ([`ConfigError::NoRuntime`] outside one).
    pub fn add(&self, spec: CheckSpec) -> Result<(), ConfigError> {
        spec.validate()?;
        let rt = tokio::runtime::Handle::try_current().map_err(|_| ConfigError::NoRuntime)?;
        let id = spec.id;
        let initial = CheckStatus {
            health: spec.policy.initial_health(),
            weight: spec.weight,
            value: None,
        };
        lock(&self.states).insert(id, initial);
        let run = CheckTask {
            spec,
            permits: self.permits.clone(),
            tx: self.tx.clone(),
            states: self.states.clone(),
            stats: self.stats.clone(),
        };
        let handle = rt.spawn(run.run()).abort_handle();
        let old = self.lock().insert(id, handle);
        if let Some(old) = old {
            old.abort();
        }
        Ok(())
    }

    /// Stops a check; returns whether it existed. A probe in flight is dropped (exec
    /// checks kill their process group).
    pub fn remove(&self, id: CheckId) -> bool {
        lock(&self.states).remove(&id);
        let old = self.lock().remove(&id);
        old.map(|h| h.abort()).is_some()
    }

    /// The current state of check `id` (its policy's initial state until the first
    /// change), also for consumers that start listening late.
    pub fn state(&self, id: CheckId) -> Option<CheckStatus> {
        lock(&self.states).get(&id).copied()
    }

    /// The current state of every check, sorted by id.
    pub fn states(&self) -> Vec<(CheckId, CheckStatus)> {
        let mut v: Vec<_> = lock(&self.states).iter().map(|(k, v)| (*k, *v)).collect();
        v.sort_by_key(|e| e.0);
        v
    }

    /// Number of checks.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether no check is scheduled.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<CheckId, AbortHandle>> {
        lock(&self.tasks)
    }
}

impl Drop for Monitor {
    fn drop(&mut self) {
        for (_, h) in self.lock().drain() {
            h.abort();
        }
    }
}

struct CheckTask {
    spec: CheckSpec,
    permits: Arc<Semaphore>,
    tx: mpsc::Sender<StateChange>,
    states: SharedStates,
    stats: Arc<MonitorStats>,
}

fn random_upto(max: Duration) -> Duration {
    if max.is_zero() {
        return Duration::ZERO;
    }
    Duration::from_nanos(fastrand::u64(
        ..=max.as_nanos().min(u128::from(u64::MAX)) as u64,
    ))
}

impl CheckTask {
    async fn run(self) {
        let spec = &self.spec;
        let Ok(mut policy) = spec.policy.start() else {
            return;
        };
        let mut value = None;
        let mut probe_seq = 0u64;
        // Grace beyond the checker's own timeout handling, in case a checker overruns.
        let hard_limit = spec.timeout + Duration::from_millis(500).min(spec.timeout);
        let mut watch = spec.checker.change_watch();
        tokio::time::sleep(random_upto(spec.warmup)).await;
        loop {
            let result = {
                let Ok(_permit) = self.permits.acquire().await else {
                    return;
                };
                match tokio::time::timeout(hard_limit, spec.checker.check(spec.timeout)).await {
                    Ok(r) => r,
                    Err(_) => Err(CheckError::Timeout(spec.timeout)),
                }
            };
            self.stats.probes.fetch_add(1, Ordering::Relaxed);
            probe_seq += 1;
            let previous = policy.health();
            let (new_value, error) = match result {
                Ok(probe) => (probe.value, None),
                Err(e) => {
                    self.stats.failures.fetch_add(1, Ordering::Relaxed);
                    if matches!(e, CheckError::Timeout(_)) {
                        self.stats.timeouts.fetch_add(1, Ordering::Relaxed);
                    }
                    tracing::debug!(id = spec.id.0, kind = spec.checker.kind(), error = %e, "probe failed");
                    (value, Some(e))
                }
            };
            let (changed, retry_delay) = policy.record(error.is_none());
            let value_changed = new_value != value;
            value = new_value;
            if changed.is_some() || value_changed {
                let state = CheckStatus {
                    health: policy.health(),
                    weight: spec.weight,
                    value,
                };
                tracing::info!(id = spec.id.0, kind = spec.checker.kind(), ?previous, health = ?state.health, ?value, "check state change");
                self.stats.changes.fetch_add(1, Ordering::Relaxed);
                if let Some(slot) = lock(&self.states).get_mut(&spec.id) {
                    *slot = state;
                }
                let change = StateChange {
                    id: spec.id,
                    state,
                    previous,
                    at: std::time::Instant::now(),
                    error: error.map(Arc::new),
                    probe_seq,
                };
                if self.tx.send(change).await.is_err() {
                    return; // receiver gone: nobody listens any more
                }
            }
            let delay = retry_delay.unwrap_or(spec.interval) + random_upto(spec.jitter);
            let next_probe = tokio::time::sleep_until(Instant::now() + delay);
            match watch.as_mut() {
                // A change hint (a tracked file written) probes at once.
                Some(w) => {
                    tokio::select! {
                        () = next_probe => {}
                        () = w.changed() => {
                            self.stats.hinted_probes.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                }
                None => next_probe.await,
            }
        }
    }
}
