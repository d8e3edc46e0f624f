//! Every instance's current VRRP state, by name, for the daemon's own event subscribers (the
//! route announcer, the LVS director, the LVS sync daemon) when they fall behind the events.
//!
//! Why: the event channel keeps a bounded backlog, sized at start-up for the instances then
//! configured. A subscriber that falls further behind (a mass takeover, or a reload that
//! added many instances) is told how many events it skipped, not which; before the board, it
//! kept the states it had and could, for example, keep a route announced for an instance that
//! had left Master. Now it re-reads every state here, as the daemon re-reads the kernel's
//! state after a netlink overrun. The VRRP loop writes a state before it publishes the event,
//! so a re-read never misses the transition that was skipped.
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::broadcast;
use tracing::warn;
use vrrp_fsm::State;

use crate::runtime::events::Event;

/// The states, shared between the VRRP loop (the writer) and the subscribers.
#[derive(Debug, Clone, Default)]
pub(crate) struct StateBoard(Arc<Mutex<HashMap<String, State>>>);

impl StateBoard {
    /// Records `instance`'s new state (before its event is published).
    pub(crate) fn set(&self, instance: &str, state: State) {
        let mut m = self.0.lock().unwrap_or_else(|e| e.into_inner());
        match m.get_mut(instance) {
            Some(s) => *s = state,
            None => {
                m.insert(instance.to_string(), state);
            }
        }
    }

    /// Every instance's state.
    pub(crate) fn states(&self) -> Vec<(String, State)> {
        let m = self.0.lock().unwrap_or_else(|e| e.into_inner());
        m.iter().map(|(k, v)| (k.clone(), *v)).collect()
    }
}

/// What a subscriber hears next: an event, or, when it fell behind, every current state.
#[derive(Debug)]
pub(crate) enum Heard {
    Event(Event),
    /// Events were skipped: these are all the states now.
    Resync(Vec<(String, State)>),
    /// The daemon's event channel is gone.
    Closed,
}

/// The next event of `events`; after skipped events, the states of `board` instead (and one
/// warning, naming `who`, per fall).
pub(crate) async fn hear(
    events: &mut broadcast::Receiver<Event>,
    board: &StateBoard,
    who: &str,
) -> Heard {
    match events.recv().await {
        Ok(ev) => Heard::Event(ev),
        Err(broadcast::error::RecvError::Lagged(n)) => {
            warn!(
                skipped = n,
                "{who} fell behind the events: every instance's state re-read"
            );
            Heard::Resync(board.states())
        }
        Err(broadcast::error::RecvError::Closed) => Heard::Closed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use vrrp_fsm::StateChangeReason;
    use vrrp_proto::AddressFamily;

    fn changed(instance: &str, to: State) -> Event {
        Event::StateChanged {
            instance: instance.into(),
            iface: "eth0".into(),
            vrid: 1,
            family: AddressFamily::Ipv4,
            from: State::Backup,
            to,
            reason: StateChangeReason::MasterNoResponse,
            at: std::time::SystemTime::now(),
        }
    }

    #[tokio::test]
    async fn a_subscriber_that_fell_behind_gets_every_state_then_the_events_after() {
        let board = StateBoard::default();
        let (tx, mut rx) = broadcast::channel(2);
        // Five transitions while the subscriber sleeps; the channel keeps the last two.
        for (name, to) in [
            ("a", State::Master),
            ("b", State::Master),
            ("a", State::Backup),
            ("c", State::Fault),
            ("b", State::Backup),
        ] {
            board.set(name, to);
            tx.send(changed(name, to)).unwrap();
        }
        let Heard::Resync(mut states) = hear(&mut rx, &board, "test").await else {
            panic!("expected a resync");
        };
        states.sort_by(|x, y| x.0.cmp(&y.0));
        assert_eq!(
            states,
            vec![
                ("a".to_string(), State::Backup),
                ("b".to_string(), State::Backup),
                ("c".to_string(), State::Fault),
            ]
        );
        // The two events still held come after (already reflected in the states).
        for _ in 0..2 {
            assert!(matches!(
                hear(&mut rx, &board, "test").await,
                Heard::Event(_)
            ));
        }
        drop(tx);
        assert!(matches!(hear(&mut rx, &board, "test").await, Heard::Closed));
    }
}
