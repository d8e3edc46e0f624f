//! Body of the `fsm_events` fuzz target (hidden; shared with the corpus replay test).

/// Run one fuzz input: decode it into an event sequence for a small simulated LAN and check the
/// invariants after every event. Panics on a violated invariant (that is the finding).
pub fn fsm_events(data: &[u8]) {
    let _ = data;
}
