//! A bounded FIFO of pending actions that never allocates after construction.
use std::collections::VecDeque;

/// Room for the longest burst one event can produce (a sync group transition of many members
/// goes through the router's own queue, sized for its members).
pub(crate) const DEFAULT_CAPACITY: usize = 32;

#[derive(Debug, Clone)]
pub(crate) struct ActionQueue<T> {
    items: VecDeque<T>,
    limit: usize,
}

impl<T> ActionQueue<T> {
    pub(crate) fn with_capacity(limit: usize) -> Self {
        ActionQueue {
            items: VecDeque::with_capacity(limit),
            limit,
        }
    }

    /// Push `item`; returns false (and drops it) when the driver let the queue fill up.
    pub(crate) fn push(&mut self, item: T) -> bool {
        if self.items.len() >= self.limit {
            return false;
        }
        self.items.push_back(item);
        true
    }

    pub(crate) fn pop(&mut self) -> Option<T> {
        self.items.pop_front()
    }
}
