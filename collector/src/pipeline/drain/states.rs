//! The exactly-once drain's states, as types: where a batch stands between fetching and its
//! commit, and where a recovering run finds another run's (or its own) unfinished batch.
//!
//! Each state names what storage holds at that moment; `transitions.rs` has one function per way
//! out of each. ARCHITECTURE.md's "Exactly once" table names them row by row.

use chrono::{DateTime, Utc};

use super::super::fetch::Batch;
use super::super::read_ahead::InFlight;
use crate::checkpoint::{Checkpoint, Intent, Loaded};
use crate::pipeline::Outcome;
use crate::storage::Generation;

/// Where the drain stands.
#[derive(Debug)]
pub(super) enum State {
    /// A checkpoint as loaded, or reloaded after a precondition conflict (it may hold an intent),
    /// with this run's own batch if the conflict came on the write recording it.
    Loaded(Loaded, Option<InHand>),
    /// No intent: the stream stands at the checkpoint's position and the next batch may be
    /// fetched from there.
    AtRest(AtRest),
    /// A batch fetched from exactly where the checkpoint stands; nothing written for it.
    Fetched(Fetched),
    /// Its intent recorded in the checkpoint, its bytes in hand, no object yet.
    Recorded(Recorded),
    /// Its object created (or found created by another run completing the same intent), the
    /// intent not committed yet.
    Created(Created),
    /// Recovery: a loaded checkpoint holds an intent; whether its object exists is not known yet.
    Unfinished(Unfinished),
    /// Recovery: an intent without its object (a run stopped between record and create).
    IntentWithoutObject(Unfinished),
    /// Recovery: an object without its commit (a run stopped between create and commit), or one
    /// this run just restored.
    ObjectWithoutCommit(Unfinished),
    /// The drain ends with this outcome; everything on storage is one of the states above.
    Done(Outcome),
}

/// This run's own batch whose intent write reported a conflict: its intent and its bytes. If the
/// reloaded checkpoint holds that very intent (the write landed and only its answer was lost, so
/// the client's retry met its own write), the bytes are the ones the intent's count and hash were
/// computed from, and need no refetch.
#[derive(Debug)]
pub(super) struct InHand {
    /// The intent this run tried to record.
    pub intent: Intent,
    /// The batch's bytes.
    pub data: Vec<u8>,
}

/// A checkpoint without an intent and the generation a write must match (`None`: no checkpoint
/// is stored yet, so the write must create it).
#[derive(Debug)]
pub(super) struct AtRest {
    /// The checkpoint; its position is where the next batch starts.
    pub checkpoint: Checkpoint,
    /// Its generation.
    pub generation: Option<Generation>,
}

impl AtRest {
    /// The same checkpoint, as if loaded again.
    pub fn into_loaded(self) -> Loaded {
        match self.generation {
            Some(generation) => Loaded::Stored {
                checkpoint: self.checkpoint,
                generation,
            },
            None => Loaded::Absent,
        }
    }
}

/// A batch fetched from where `at` stands.
#[derive(Debug)]
pub(super) struct Fetched {
    /// The checkpoint it starts from.
    pub at: AtRest,
    /// The batch; `batch.start` is `at`'s position.
    pub batch: Batch,
    /// Its in-flight slot, held until it is committed.
    pub in_flight: InFlight,
}

/// A batch whose intent the checkpoint (at `generation`) holds.
#[derive(Debug)]
pub(super) struct Recorded {
    /// The checkpoint as written, holding `intent`.
    pub checkpoint: Checkpoint,
    /// Its generation.
    pub generation: Generation,
    /// The intent.
    pub intent: Intent,
    /// The batch's bytes, the ones `intent`'s count and hash describe.
    pub data: Vec<u8>,
    /// Its newest event's time, if known.
    pub newest: Option<DateTime<Utc>>,
    /// Whether the API said more events may follow it.
    pub has_more: bool,
    /// Its in-flight slot.
    pub in_flight: InFlight,
}

impl Recorded {
    /// `batch`, recorded as `intent` in `checkpoint` (written at `generation`).
    pub fn of(
        checkpoint: Checkpoint,
        generation: Generation,
        intent: Intent,
        batch: Batch,
        in_flight: InFlight,
    ) -> Recorded {
        Recorded {
            checkpoint,
            generation,
            intent,
            data: batch.data,
            newest: batch.newest,
            has_more: batch.has_more,
            in_flight,
        }
    }
}

/// A batch whose object exists and whose intent the checkpoint still holds.
#[derive(Debug)]
pub(super) struct Created {
    /// The checkpoint holding `intent` (its stats already carry the batch's newest event).
    pub checkpoint: Checkpoint,
    /// Its generation.
    pub generation: Generation,
    /// The intent.
    pub intent: Intent,
    /// Its newest event's time, if known.
    pub newest: Option<DateTime<Utc>>,
    /// Whether the API said more events may follow it.
    pub has_more: bool,
    /// Its in-flight slot, released by the commit.
    pub in_flight: InFlight,
}

/// An intent found in a loaded checkpoint: another run's, or this run's own after a conflict.
#[derive(Debug)]
pub(super) struct Unfinished {
    /// The checkpoint holding `intent`.
    pub checkpoint: Checkpoint,
    /// Its generation.
    pub generation: Generation,
    /// The intent, never changed once recorded.
    pub intent: Intent,
    /// This run's own bytes of this very intent, if it has them.
    pub in_hand: Option<Vec<u8>>,
}
