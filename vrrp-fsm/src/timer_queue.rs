//! An indexed 4-ary min-heap of per-instance deadlines, allocation-free after construction
//! (4-ary: half the depth of a binary heap, and the four children of a node share a cache line).
//!
//! Most updates push a deadline *later* (a Backup hearing its Master, a Master re-arming its
//! advert timer), so increases are lazy: the heap keeps the old, earlier key as a lower bound
//! and an entry is corrected only when it reaches the top. Decreases are applied at once. The
//! top is always exact, so [`TimerQueue::peek`] is O(1) and an update is O(1) amortised for the
//! common case, O(log n) otherwise.
//!
//! Keys are signed nanoseconds from the first deadline seen (the epoch), so an entry is 16 bytes
//! (four children per cache line) and a comparison is one integer compare. The range is
//! ±292 years from the epoch; beyond it keys saturate (such deadlines never fire anyway).
use std::time::Instant;

const ABSENT: u32 = u32::MAX;
const ARITY: usize = 4;

#[derive(Debug, Clone, Copy)]
struct Entry {
    /// A lower bound of the instance's deadline key (exact for the top entry).
    key: i64,
    idx: u32,
}

/// What the queue knows about one instance, kept together so an update touches one cache line.
#[derive(Debug, Clone, Copy)]
struct Slot {
    /// The real deadline.
    actual: Option<Instant>,
    /// `actual` as a key (meaningless when `actual` is None).
    key: i64,
    /// Position in `heap`, or ABSENT.
    pos: u32,
}

const EMPTY_SLOT: Slot = Slot {
    actual: None,
    key: 0,
    pos: ABSENT,
};

#[derive(Debug, Clone, Default)]
pub(crate) struct TimerQueue {
    heap: Vec<Entry>,
    slots: Vec<Slot>,
    epoch: Option<Instant>,
}

impl TimerQueue {
    /// Makes room for `len` instances without growing them yet.
    pub(crate) fn reserve(&mut self, len: usize) {
        self.slots
            .reserve_exact(len.saturating_sub(self.slots.len()));
        self.heap.reserve_exact(len.saturating_sub(self.heap.len()));
    }

    /// Make room for `len` instances (called when an instance is added).
    pub(crate) fn grow(&mut self, len: usize) {
        self.slots.resize(len, EMPTY_SLOT);
        self.heap.reserve(len.saturating_sub(self.heap.len()));
    }

    /// The earliest deadline and its instance.
    pub(crate) fn peek(&self) -> Option<(Instant, usize)> {
        let top = self.heap.first()?;
        let idx = top.idx as usize;
        // The top entry is exact: its slot holds the deadline itself.
        self.slots[idx].actual.map(|t| (t, idx))
    }

    fn key_of(&mut self, t: Instant) -> i64 {
        let epoch = *self.epoch.get_or_insert(t);
        let sat = |d: core::time::Duration| d.as_nanos().min(i64::MAX as u128) as i64;
        match t.checked_duration_since(epoch) {
            Some(d) => sat(d),
            None => -sat(epoch.duration_since(t)),
        }
    }

    /// Set (or clear) the deadline of instance `idx`.
    pub(crate) fn set(&mut self, idx: usize, deadline: Option<Instant>) {
        if self.slots[idx].actual == deadline {
            return;
        }
        let key = match deadline {
            Some(t) => self.key_of(t),
            None => 0,
        };
        let slot = &mut self.slots[idx];
        slot.actual = deadline;
        slot.key = key;
        match (slot.pos, deadline) {
            (ABSENT, Some(_)) => {
                self.heap.push(Entry {
                    key,
                    idx: idx as u32,
                });
                let at = self.heap.len() - 1;
                self.slots[idx].pos = at as u32;
                self.sift_up(at);
            }
            (at, Some(_)) if at != ABSENT && key < self.heap[at as usize].key => {
                self.heap[at as usize].key = key;
                self.sift_up(at as usize);
            }
            // Later deadline or removal: lazy, fixed when the entry reaches the top.
            _ => {}
        }
        self.settle_top();
    }

    /// Make the top entry exact: drop removed ones, push late ones down.
    fn settle_top(&mut self) {
        while let Some(top) = self.heap.first().copied() {
            let slot = self.slots[top.idx as usize];
            match slot.actual {
                None => self.remove_top(),
                Some(_) if slot.key != top.key => {
                    self.heap[0].key = slot.key;
                    self.sift_down(0);
                }
                Some(_) => break,
            }
        }
    }

    fn remove_top(&mut self) {
        let last = self.heap.len() - 1;
        self.swap(0, last);
        if let Some(e) = self.heap.pop() {
            self.slots[e.idx as usize].pos = ABSENT;
        }
        if !self.heap.is_empty() {
            self.sift_down(0);
        }
    }

    #[inline]
    fn swap(&mut self, a: usize, b: usize) {
        self.heap.swap(a, b);
        self.slots[self.heap[a].idx as usize].pos = a as u32;
        self.slots[self.heap[b].idx as usize].pos = b as u32;
    }

    /// Move the entry at `at` up to its place, shifting parents down into the hole (one write
    /// per level instead of a swap).
    fn sift_up(&mut self, mut at: usize) {
        let moving = self.heap[at];
        while at > 0 {
            let parent = (at - 1) / ARITY;
            let p = self.heap[parent];
            if moving.key < p.key {
                self.heap[at] = p;
                self.slots[p.idx as usize].pos = at as u32;
                at = parent;
            } else {
                break;
            }
        }
        self.heap[at] = moving;
        self.slots[moving.idx as usize].pos = at as u32;
    }

    /// Move the entry at `at` down to its place, shifting the smallest child up into the hole.
    fn sift_down(&mut self, mut at: usize) {
        let heap = &mut self.heap[..];
        let slots = &mut self.slots[..];
        let Some(&moving) = heap.get(at) else {
            return;
        };
        loop {
            let first = ARITY * at + 1;
            // The smallest child: a full group of four is compared pairwise (the common case).
            let (child, ch) = if let Some(group) = heap.get(first..first + ARITY) {
                // Indices, not entries, through the comparisons: cheaper selects.
                let lo = usize::from(group[1].key < group[0].key);
                let hi = 2 + usize::from(group[3].key < group[2].key);
                let best = if group[hi].key < group[lo].key {
                    hi
                } else {
                    lo
                };
                (first + best, group[best])
            } else {
                let Some(group) = heap.get(first..) else {
                    break;
                };
                let mut best: Option<(usize, Entry)> = None;
                for (i, e) in group.iter().enumerate() {
                    if best.is_none_or(|(_, b)| e.key < b.key) {
                        best = Some((first + i, *e));
                    }
                }
                match best {
                    Some(x) => x,
                    None => break,
                }
            };
            if ch.key >= moving.key {
                break;
            }
            heap[at] = ch;
            if let Some(s) = slots.get_mut(ch.idx as usize) {
                s.pos = at as u32;
            }
            at = child;
        }
        heap[at] = moving;
        if let Some(s) = slots.get_mut(moving.idx as usize) {
            s.pos = at as u32;
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

    #[test]
    fn matches_a_naive_minimum_under_random_updates() {
        let t0 = Instant::now();
        let n = 37;
        let mut q = TimerQueue::default();
        q.grow(n);
        let mut naive: Vec<Option<Instant>> = vec![None; n];
        let mut x: u64 = 88172645463325252;
        for _ in 0..20_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let idx = (x % n as u64) as usize;
            let key = if x % 7 == 0 {
                None
            } else {
                Some(t0 + Duration::from_millis((x >> 20) % 5000))
            };
            q.set(idx, key);
            naive[idx] = key;
            let want = naive
                .iter()
                .enumerate()
                .filter_map(|(i, k)| k.map(|k| (k, i)))
                .min_by_key(|&(k, _)| k)
                .map(|(k, _)| k);
            assert_eq!(q.peek().map(|(k, _)| k), want);
            if let Some((k, i)) = q.peek() {
                assert_eq!(naive[i], Some(k));
            }
        }
    }
}
