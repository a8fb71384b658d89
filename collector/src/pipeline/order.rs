//! Which accounts go first. After a run, its accounts are ordered for the next one: those it never
//! got to (its budget ran out before their turn, or a stop came) first, then those it left
//! unfinished, then those it finished, each group in this run's order. The order is kept in one
//! small object beside the checkpoints, so no account starves behind a slow one: an account that
//! used up a run's budget goes after the accounts it kept waiting. The object is advice, not
//! state: a missing or unreadable one is the configured order, and exactly-once never depends on
//! it.

use bytes::Bytes;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::pipeline::AccountName;
use crate::storage::{ObjectStore, Precondition};

/// The run-order object in the checkpoints' folder `state_prefix` (outside every feed prefix).
pub fn key(state_prefix: &str) -> String {
    let folder = state_prefix.trim_matches('/');
    if folder.is_empty() {
        "run-order.json".to_owned()
    } else {
        format!("{folder}/run-order.json")
    }
}

#[derive(Debug, Serialize, Deserialize)]
struct RunOrder {
    version: u32,
    /// The order for the next run.
    order: Vec<AccountName>,
    updated_at: DateTime<Utc>,
}

/// How far a run got with an account, which decides its place in the next run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Progress {
    /// Its turn never came (no page fetched, no event written, not finished).
    NotReached,
    /// It ran, but the budget, a stop or MAX_RECORDS ended it before its backlog did.
    Unfinished,
    /// It got through its backlog (or failed in a way going first would not help).
    Finished,
}

/// The order the last run recorded for this one (empty when none is recorded).
pub(super) async fn load(store: &dyn ObjectStore, key: &str) -> Vec<AccountName> {
    match store.read(key).await {
        Ok(Some((bytes, _))) => match serde_json::from_slice::<RunOrder>(&bytes) {
            Ok(order) if order.version == 1 => order.order,
            _ => {
                tracing::warn!(
                    object = key,
                    "the run order is unreadable; accounts run in configured order"
                );
                Vec::new()
            }
        },
        Ok(None) => Vec::new(),
        Err(error) => {
            tracing::warn!(object = key, error = %error, "cannot read the run order; accounts run in configured order");
            Vec::new()
        }
    }
}

/// Records `order` for the next run (a conflict with another run's write keeps theirs).
pub(super) async fn save(store: &dyn ObjectStore, key: &str, order: &[AccountName]) {
    let order = RunOrder {
        version: 1,
        order: order.to_vec(),
        updated_at: Utc::now(),
    };
    let bytes = Bytes::from(serde_json::to_vec(&order).expect("the run order serializes"));
    let precondition = match store.read(key).await {
        Ok(Some((_, generation))) => Precondition::GenerationMatch(generation),
        Ok(None) => Precondition::DoesNotExist,
        Err(error) => {
            tracing::warn!(object = key, error = %error, "cannot record the run order; the next run uses the configured order");
            return;
        }
    };
    if let Err(error) = store
        .write(key, bytes, "application/json", precondition)
        .await
    {
        tracing::warn!(object = key, error = %error, "cannot record the run order; the next run uses the configured order");
    }
}

/// The next run's order: this run's `order` (indexes), grouped by `progress` (by index), each
/// group in this run's order.
pub(super) fn next(order: &[usize], progress: &[Progress]) -> Vec<usize> {
    let mut next = order.to_vec();
    next.sort_by_key(|&index| progress[index]);
    next
}

/// Indexes of `names` in run order: as `recorded` says (names it does not know are ignored), then
/// the accounts it does not list in configured order.
pub(super) fn ordered(names: &[Option<AccountName>], recorded: &[AccountName]) -> Vec<usize> {
    let mut order: Vec<usize> = recorded
        .iter()
        .filter_map(|u| names.iter().position(|n| n.as_ref() == Some(u)))
        .collect();
    order.dedup();
    for index in 0..names.len() {
        if !order.contains(&index) {
            order.push(index);
        }
    }
    order
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::MemoryStore;

    fn name(n: &str) -> AccountName {
        AccountName::new(n).unwrap()
    }

    #[test]
    fn accounts_never_reached_go_first_then_unfinished_then_finished() {
        use Progress::*;
        // Run order c, a, b, d: a finished, b was never reached, c ran out of budget, d finished.
        let progress = [Finished, NotReached, Unfinished, Finished];
        assert_eq!(next(&[2, 0, 1, 3], &progress), [1, 2, 0, 3]);
        assert_eq!(next(&[0, 1, 2, 3], &[Finished; 4]), [0, 1, 2, 3]);
    }

    #[test]
    fn a_recorded_order_is_followed_then_the_configured_order() {
        let names: Vec<_> = ["a", "b", "c", "d"].map(|n| Some(name(n))).into();
        assert_eq!(ordered(&names, &[]), [0, 1, 2, 3]);
        assert_eq!(ordered(&names, &[name("c"), name("a")]), [2, 0, 1, 3]);
        assert_eq!(
            ordered(&names, &[name("gone"), name("d")]),
            [3, 0, 1, 2],
            "a removed account is ignored"
        );
    }

    #[tokio::test]
    async fn the_order_survives_between_runs_and_a_bad_object_is_the_configured_order() {
        let store = MemoryStore::new();
        assert!(load(&store, "s/run-order.json").await.is_empty());
        save(&store, "s/run-order.json", &[name("b")]).await;
        assert_eq!(load(&store, "s/run-order.json").await, [name("b")]);
        save(&store, "s/run-order.json", &[]).await;
        assert!(load(&store, "s/run-order.json").await.is_empty());
        store
            .write(
                "t/run-order.json",
                Bytes::from_static(b"{not json"),
                "application/json",
                Precondition::DoesNotExist,
            )
            .await
            .unwrap();
        assert!(load(&store, "t/run-order.json").await.is_empty());
    }
}
