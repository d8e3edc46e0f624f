//! An indexed binary min-heap of per-instance deadlines: O(log n) update, no allocation after
//! construction, so a router of 1,000 instances finds its next deadline in O(1).
use std::time::Instant;

const ABSENT: usize = usize::MAX;

#[derive(Debug, Clone, Default)]
pub(crate) struct TimerQueue {
    /// Heap of instance indices ordered by `keys`.
    heap: Vec<usize>,
    /// Position of each instance in `heap`, or ABSENT.
    pos: Vec<usize>,
    keys: Vec<Option<Instant>>,
}

impl TimerQueue {
    /// Make room for instance index `idx` (called when an instance is added).
    pub(crate) fn grow(&mut self, len: usize) {
        self.pos.resize(len, ABSENT);
        self.keys.resize(len, None);
        self.heap.reserve(len.saturating_sub(self.heap.len()));
    }

    pub(crate) fn peek(&self) -> Option<(Instant, usize)> {
        let &idx = self.heap.first()?;
        Some((self.keys[idx]?, idx))
    }

    /// Set (or clear) the deadline of instance `idx`.
    pub(crate) fn set(&mut self, idx: usize, key: Option<Instant>) {
        let old = self.keys[idx];
        if old == key {
            return;
        }
        self.keys[idx] = key;
        match (self.pos[idx], key) {
            (ABSENT, None) => {}
            (ABSENT, Some(_)) => {
                self.heap.push(idx);
                let at = self.heap.len() - 1;
                self.pos[idx] = at;
                self.sift_up(at);
            }
            (at, None) => {
                let last = self.heap.len() - 1;
                self.swap(at, last);
                self.heap.pop();
                self.pos[idx] = ABSENT;
                if at < self.heap.len() {
                    self.sift_down(at);
                    self.sift_up(at);
                }
            }
            (at, Some(_)) => {
                self.sift_down(at);
                self.sift_up(self.pos[idx]);
            }
        }
    }

    fn less(&self, a: usize, b: usize) -> bool {
        self.keys[self.heap[a]] < self.keys[self.heap[b]]
    }

    fn swap(&mut self, a: usize, b: usize) {
        self.heap.swap(a, b);
        self.pos[self.heap[a]] = a;
        self.pos[self.heap[b]] = b;
    }

    fn sift_up(&mut self, mut at: usize) {
        while at > 0 {
            let parent = (at - 1) / 2;
            if self.less(at, parent) {
                self.swap(at, parent);
                at = parent;
            } else {
                break;
            }
        }
    }

    fn sift_down(&mut self, mut at: usize) {
        loop {
            let l = 2 * at + 1;
            let r = l + 1;
            let mut min = at;
            if l < self.heap.len() && self.less(l, min) {
                min = l;
            }
            if r < self.heap.len() && self.less(r, min) {
                min = r;
            }
            if min == at {
                break;
            }
            self.swap(at, min);
            at = min;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn orders_updates_and_removals() {
        let t0 = Instant::now();
        let mut q = TimerQueue::default();
        q.grow(5);
        for (i, s) in [5u64, 3, 9, 1, 7].into_iter().enumerate() {
            q.set(i, Some(t0 + Duration::from_secs(s)));
        }
        assert_eq!(q.peek(), Some((t0 + Duration::from_secs(1), 3)));
        q.set(3, None);
        assert_eq!(q.peek(), Some((t0 + Duration::from_secs(3), 1)));
        q.set(2, Some(t0));
        assert_eq!(q.peek(), Some((t0, 2)));
        q.set(2, Some(t0 + Duration::from_secs(100)));
        let mut order = Vec::new();
        while let Some((_, i)) = q.peek() {
            order.push(i);
            q.set(i, None);
        }
        assert_eq!(order, vec![1, 0, 4, 2]);
    }
}
