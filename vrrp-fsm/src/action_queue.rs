//! Bounded FIFOs of pending actions that never allocate after construction.
use std::collections::VecDeque;

/// Room for the longest burst one event can produce (a sync group transition of many members
/// goes through the router's own queue, sized for its members).
pub(crate) const DEFAULT_CAPACITY: usize = 32;

/// A heap-backed bounded FIFO (the router's queue, sized for its instances).
#[derive(Debug, Clone)]
pub(crate) struct ActionQueue<T> {
    items: VecDeque<T>,
    limit: usize,
}

impl<T> ActionQueue<T> {
    /// A queue that holds at most `limit` items, with room for all of them made now (a
    /// burst from every instance at once allocates nothing).
    pub(crate) fn with_limit(limit: usize) -> Self {
        ActionQueue {
            items: VecDeque::with_capacity(limit),
            limit,
        }
    }

    /// Moves the bound (a router that gained instances) and makes room for it: the room
    /// grows by doubling, so adding instances one by one does not reallocate for each.
    pub(crate) fn set_limit(&mut self, limit: usize) {
        self.limit = limit;
        self.items.reserve(limit.saturating_sub(self.items.len()));
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
        let item = self.items.pop_front();
        if self.items.is_empty() {
            // Restart at the front of the buffer: the next burst reuses the same, warm, cache
            // lines instead of walking around the ring. (No allocation: capacity is kept.)
            self.items.clear();
        }
        item
    }
}

/// A bounded FIFO stored inside its owner (an [`Instance`](crate::Instance)): pushing an action
/// touches the instance's own memory, not a separate heap buffer per instance, which matters
/// when a router walks through 1,000 of them.
#[derive(Debug, Clone)]
pub(crate) struct InlineQueue<T: Copy, const N: usize> {
    slots: [Option<T>; N],
    head: u8,
    len: u8,
}

impl<T: Copy, const N: usize> InlineQueue<T, N> {
    pub(crate) fn new() -> Self {
        const { assert!(N > 0 && N <= u8::MAX as usize) };
        InlineQueue {
            slots: [None; N],
            head: 0,
            len: 0,
        }
    }

    /// Push `item`; returns false (and drops it) when the queue is full.
    #[inline]
    pub(crate) fn push(&mut self, item: T) -> bool {
        let len = usize::from(self.len);
        if len >= N {
            return false;
        }
        let at = (usize::from(self.head) + len) % N;
        self.slots[at] = Some(item);
        self.len += 1;
        true
    }

    #[inline]
    pub(crate) fn pop(&mut self) -> Option<T> {
        if self.len == 0 {
            return None;
        }
        let at = usize::from(self.head);
        let item = self.slots[at].take();
        self.len -= 1;
        // Empty: restart at slot 0 so bursts stay in the first cache lines.
        self.head = if self.len == 0 {
            0
        } else {
            ((at + 1) % N) as u8
        };
        item
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inline_queue_is_a_bounded_fifo_across_wraparound() {
        let mut q: InlineQueue<u32, 4> = InlineQueue::new();
        let mut next_in = 0;
        let mut next_out = 0;
        for round in 0..50 {
            let n = round % 6;
            for _ in 0..n {
                if q.push(next_in) {
                    next_in += 1;
                } else {
                    assert_eq!(next_in - next_out, 4, "refused only when full");
                }
            }
            for _ in 0..(round % 3) {
                if let Some(x) = q.pop() {
                    assert_eq!(x, next_out);
                    next_out += 1;
                } else {
                    assert_eq!(next_in, next_out);
                }
            }
        }
        while let Some(x) = q.pop() {
            assert_eq!(x, next_out);
            next_out += 1;
        }
        assert_eq!(next_in, next_out);
        assert!(next_in > 20);
    }
}
