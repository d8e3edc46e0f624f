//! Transitions by instance and reason, and each instance's last one, counted from the
//! daemon's own event stream (never on the per-advert path): the metrics' transition counters
//! and the dumps' "Last transition".

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use tokio::sync::broadcast;
use tokio::task::JoinHandle;

use crate::runtime::daemon::lock;
use crate::runtime::events::Event;

/// What the counter has seen so far.
#[derive(Debug, Default, Clone)]
pub(crate) struct Transitions {
    /// (instance, reason) -> transitions.
    pub by_reason: BTreeMap<(String, String), u64>,
    /// instance -> when it last changed state.
    pub last: BTreeMap<String, SystemTime>,
}

/// The counter's figures, shared with the metrics endpoint and the dumps.
pub(crate) type SharedTransitions = Arc<Mutex<Transitions>>;

/// Counts every `StateChanged` of `rx` until the daemon's event stream closes.
pub(crate) fn spawn_counter(
    mut rx: broadcast::Receiver<Event>,
) -> (SharedTransitions, JoinHandle<()>) {
    let shared = SharedTransitions::default();
    let counts = shared.clone();
    let task = tokio::spawn(async move {
        loop {
            match rx.recv().await {
                Ok(Event::StateChanged {
                    instance,
                    reason,
                    at,
                    ..
                }) => {
                    let mut t = lock(&counts);
                    *t.by_reason
                        .entry((instance.clone(), reason.to_string()))
                        .or_default() += 1;
                    t.last.insert(instance, at);
                }
                Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => {}
                Err(broadcast::error::RecvError::Closed) => break,
            }
        }
    });
    (shared, task)
}
