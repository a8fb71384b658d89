//! An in-memory object store with injectable faults, for pipeline tests.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Mutex, MutexGuard};

use async_trait::async_trait;
use bytes::Bytes;

use super::{Generation, ObjectStore, Precondition, StorageError};

/// A fault for the next matching operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MemoryFault {
    /// Fail the next write whose name contains this text, without applying it (a crash before).
    FailWrite(String),
    /// Apply the next write whose name contains this text, then report failure (a crash after).
    ApplyThenFailWrite(String),
    /// Fail the next read whose name contains this text.
    FailRead(String),
}

#[derive(Debug, Default)]
struct State {
    objects: BTreeMap<String, (Bytes, Generation)>,
    next_generation: Generation,
    faults: VecDeque<MemoryFault>,
    writes: u64,
}

/// Objects in memory; generations increase across all objects like GCS's.
#[derive(Debug, Default)]
pub struct MemoryStore {
    state: Mutex<State>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Queues a fault.
    pub fn inject(&self, fault: MemoryFault) {
        self.lock().faults.push_back(fault);
    }

    /// Every object's name and bytes, in name order.
    pub fn objects(&self) -> Vec<(String, Bytes)> {
        self.lock()
            .objects
            .iter()
            .map(|(k, (v, _))| (k.clone(), v.clone()))
            .collect()
    }

    /// The bytes of one object.
    pub fn get(&self, name: &str) -> Option<Bytes> {
        self.lock().objects.get(name).map(|(data, _)| data.clone())
    }

    /// Successful writes so far.
    pub fn writes(&self) -> u64 {
        self.lock().writes
    }

    fn take_fault(
        state: &mut State,
        matches: impl Fn(&MemoryFault) -> bool,
    ) -> Option<MemoryFault> {
        let index = state.faults.iter().position(matches)?;
        state.faults.remove(index)
    }
}

fn transient(name: &str) -> StorageError {
    StorageError::Transient {
        name: name.to_owned(),
        message: "injected fault".into(),
    }
}

#[async_trait]
impl ObjectStore for MemoryStore {
    async fn read(&self, name: &str) -> Result<Option<(Bytes, Generation)>, StorageError> {
        tokio::task::yield_now().await;
        let mut state = self.lock();
        if Self::take_fault(
            &mut state,
            |f| matches!(f, MemoryFault::FailRead(n) if name.contains(n.as_str())),
        )
        .is_some()
        {
            return Err(transient(name));
        }
        Ok(state.objects.get(name).cloned())
    }

    async fn write(
        &self,
        name: &str,
        data: Bytes,
        _content_type: &str,
        precondition: Precondition,
    ) -> Result<Generation, StorageError> {
        tokio::task::yield_now().await;
        let mut state = self.lock();
        let fault = Self::take_fault(&mut state, |f| match f {
            MemoryFault::FailWrite(n) | MemoryFault::ApplyThenFailWrite(n) => {
                name.contains(n.as_str())
            }
            MemoryFault::FailRead(_) => false,
        });
        if matches!(fault, Some(MemoryFault::FailWrite(_))) {
            return Err(transient(name));
        }
        let current = state.objects.get(name).map(|(_, g)| *g).unwrap_or(0);
        let holds = match precondition {
            Precondition::DoesNotExist => current == 0,
            Precondition::GenerationMatch(g) => current == g && g != 0,
        };
        if !holds {
            return Err(StorageError::PreconditionFailed {
                name: name.to_owned(),
            });
        }
        state.next_generation += 1;
        let generation = state.next_generation;
        state.objects.insert(name.to_owned(), (data, generation));
        state.writes += 1;
        if fault.is_some() {
            return Err(transient(name));
        }
        Ok(generation)
    }
}
