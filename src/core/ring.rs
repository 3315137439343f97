//! A bounded history: the newest `cap` items, with a count of what was dropped.
//! Every history the console keeps (traffic log, notices, answers, replies,
//! chart points) is one of these, so memory stays flat however long a tab
//! runs. A ring may also be bounded in bytes ([`Ring::with_byte_cap`],
//! [`Ring::push_weighed`]): the traffic log keeps the newest 16 MiB of
//! packets, the attribute answers and RPC replies 4 MiB each, whatever
//! their size.

use std::collections::VecDeque;

/// A ring buffer keeping the newest `cap` items.
#[derive(Debug, Clone, PartialEq)]
pub struct Ring<T> {
    items: VecDeque<T>,
    /// The weight of each item, in bytes, parallel to `items` (only for a
    /// ring bounded in bytes).
    weights: VecDeque<usize>,
    cap: usize,
    byte_cap: Option<usize>,
    bytes: usize,
    dropped: u64,
    pushed: u64,
}

impl<T> Ring<T> {
    /// An empty ring that keeps at most `cap` items (at least 1).
    pub fn new(cap: usize) -> Self {
        let cap = cap.max(1);
        Ring {
            items: VecDeque::with_capacity(cap.min(1024)),
            weights: VecDeque::new(),
            cap,
            byte_cap: None,
            bytes: 0,
            dropped: 0,
            pushed: 0,
        }
    }

    /// An empty ring that keeps at most `cap` items and, of those, only as
    /// many of the newest as weigh at most `byte_cap` bytes together (the
    /// newest item is always kept, however heavy). Fill it with
    /// [`Ring::push_weighed`].
    pub fn with_byte_cap(cap: usize, byte_cap: usize) -> Self {
        let mut ring = Ring::new(cap);
        ring.byte_cap = Some(byte_cap);
        ring
    }

    /// Add `item`, which weighs `bytes`, as the newest; the oldest items are
    /// dropped until the ring is within both its caps.
    pub fn push_weighed(&mut self, item: T, bytes: usize) {
        self.push(item);
        if self.byte_cap.is_none() {
            return;
        }
        self.weights.push_back(bytes);
        self.bytes += bytes;
        while self.items.len() > 1 && self.byte_cap.is_some_and(|cap| self.bytes > cap) {
            self.items.pop_front();
            self.bytes -= self.weights.pop_front().unwrap_or(0);
            self.dropped += 1;
        }
    }

    /// The item at `index` (oldest first) now weighs `bytes` (it changed):
    /// the oldest items are dropped until the ring is within its byte cap
    /// again (the newest stays). Nothing happens in a ring not bounded in
    /// bytes or for an index past the end.
    pub fn reweigh(&mut self, index: usize, bytes: usize) {
        let Some(weight) = self.weights.get_mut(index) else {
            return;
        };
        self.bytes = self.bytes - *weight + bytes;
        *weight = bytes;
        while self.items.len() > 1 && self.byte_cap.is_some_and(|cap| self.bytes > cap) {
            self.items.pop_front();
            self.bytes -= self.weights.pop_front().unwrap_or(0);
            self.dropped += 1;
        }
    }

    /// Mutable access to the item at `index`, oldest first (reweigh it
    /// with [`Ring::reweigh`] if its weight changes).
    pub fn get_mut(&mut self, index: usize) -> Option<&mut T> {
        self.items.get_mut(index)
    }

    /// What the items weigh together, in bytes (0 for a ring not bounded in bytes).
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// Add `item` as the newest, dropping the oldest when full.
    pub fn push(&mut self, item: T) {
        if self.items.len() == self.cap {
            self.items.pop_front();
            if let Some(weight) = self.weights.pop_front() {
                self.bytes -= weight;
            }
            self.dropped += 1;
        }
        self.items.push_back(item);
        self.pushed += 1;
    }

    /// Items kept now.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether nothing is kept.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// The most items kept.
    pub fn cap(&self) -> usize {
        self.cap
    }

    /// How many items were dropped to make room since creation or [`Ring::clear`].
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    /// How many items were ever pushed since creation or [`Ring::clear`].
    pub fn pushed(&self) -> u64 {
        self.pushed
    }

    /// The item at `index`, oldest first.
    pub fn get(&self, index: usize) -> Option<&T> {
        self.items.get(index)
    }

    /// The newest item.
    pub fn last(&self) -> Option<&T> {
        self.items.back()
    }

    /// Mutable access to the newest item.
    pub fn last_mut(&mut self) -> Option<&mut T> {
        self.items.back_mut()
    }

    /// Items from oldest to newest.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = &T> + ExactSizeIterator {
        self.items.iter()
    }

    /// Mutable items from oldest to newest.
    pub fn iter_mut(&mut self) -> impl DoubleEndedIterator<Item = &mut T> {
        self.items.iter_mut()
    }

    /// Forget every item and reset the counters.
    pub fn clear(&mut self) {
        self.items.clear();
        self.weights.clear();
        self.bytes = 0;
        self.dropped = 0;
        self.pushed = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::Ring;

    #[test]
    fn keeps_the_newest_items_and_counts_the_dropped_ones() {
        let mut ring = Ring::new(3);
        for i in 0..10 {
            ring.push(i);
        }
        assert_eq!(ring.iter().copied().collect::<Vec<_>>(), vec![7, 8, 9]);
        assert_eq!(ring.dropped(), 7);
        assert_eq!(ring.pushed(), 10);
        assert_eq!(ring.get(0), Some(&7));
        assert_eq!(ring.last(), Some(&9));
    }

    #[test]
    fn clear_forgets_items_and_counters() {
        let mut ring = Ring::new(2);
        ring.push("a");
        ring.push("b");
        ring.push("c");
        ring.clear();
        assert!(ring.is_empty());
        assert_eq!((ring.dropped(), ring.pushed()), (0, 0));
    }

    #[test]
    fn a_ring_bounded_in_bytes_keeps_the_newest_items_that_fit() {
        let mut ring = Ring::with_byte_cap(100, 1_000);
        for i in 0..10 {
            ring.push_weighed(i, 300);
        }
        assert_eq!(ring.iter().copied().collect::<Vec<_>>(), vec![7, 8, 9]);
        assert_eq!((ring.bytes(), ring.dropped(), ring.pushed()), (900, 7, 10));
        ring.push_weighed(10, 5_000);
        assert_eq!(
            ring.iter().copied().collect::<Vec<_>>(),
            vec![10],
            "the newest stays"
        );
        assert_eq!(ring.bytes(), 5_000);
        ring.push_weighed(11, 1);
        assert_eq!(ring.iter().copied().collect::<Vec<_>>(), vec![11]);
        assert_eq!(ring.bytes(), 1);
    }

    #[test]
    fn the_count_cap_and_the_byte_cap_both_hold() {
        let mut ring = Ring::with_byte_cap(2, 1_000_000);
        for i in 0..5 {
            ring.push_weighed(i, 10);
        }
        assert_eq!(ring.iter().copied().collect::<Vec<_>>(), vec![3, 4]);
        assert_eq!(ring.bytes(), 20);
        ring.clear();
        assert_eq!((ring.len(), ring.bytes()), (0, 0));
    }

    #[test]
    fn an_item_grown_heavier_pushes_the_oldest_out() {
        let mut ring = Ring::with_byte_cap(100, 1_000);
        for i in 0..3 {
            ring.push_weighed(i, 100);
        }
        ring.reweigh(1, 850);
        assert_eq!(ring.iter().copied().collect::<Vec<_>>(), vec![1, 2]);
        assert_eq!((ring.bytes(), ring.dropped()), (950, 1));
        ring.reweigh(5, 10_000);
        assert_eq!(ring.bytes(), 950, "no such item: nothing changes");
    }

    #[test]
    fn a_zero_cap_still_keeps_the_newest_item() {
        let mut ring = Ring::new(0);
        ring.push(1);
        ring.push(2);
        assert_eq!(ring.iter().copied().collect::<Vec<_>>(), vec![2]);
    }
}
