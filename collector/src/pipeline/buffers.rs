//! Batch buffers, reused: a batch's memory goes back to the pool once its object is written, so a
//! long drain touches the same few megabytes again instead of faulting in fresh pages per batch.

use std::sync::{Mutex, MutexGuard};

/// Up to `keep` empty buffers with their capacity.
#[derive(Debug)]
pub(super) struct BufferPool {
    free: Mutex<Vec<Vec<u8>>>,
    keep: usize,
}

impl BufferPool {
    /// A pool keeping at most `keep` buffers (the batches in flight: no more are ever in use).
    pub fn new(keep: usize) -> BufferPool {
        BufferPool {
            free: Mutex::new(Vec::new()),
            keep,
        }
    }

    fn lock(&self) -> MutexGuard<'_, Vec<Vec<u8>>> {
        // A Vec of buffers is consistent whatever panicked while it was held.
        self.free
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// An empty buffer, reused when one is free.
    pub fn take(&self) -> Vec<u8> {
        self.lock().pop().unwrap_or_default()
    }

    /// Returns a buffer whose bytes are no longer needed.
    pub fn give(&self, mut buffer: Vec<u8>) {
        buffer.clear();
        let mut free = self.lock();
        if free.len() < self.keep && buffer.capacity() > 0 {
            free.push(buffer);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_at_most_its_size_and_hands_back_capacity() {
        let pool = BufferPool::new(2);
        for _ in 0..3 {
            pool.give(Vec::with_capacity(1000));
        }
        assert_eq!(pool.lock().len(), 2);
        let reused = pool.take();
        assert!(reused.is_empty() && reused.capacity() >= 1000);
        pool.take();
        assert_eq!(
            pool.take().capacity(),
            0,
            "a new buffer once the pool is empty"
        );
    }
}
