//! Running accounts: each account's streams one after another, several accounts at once up to a
//! bound. An account waits for a slot before it starts, so memory holds at most the bound's worth
//! of drains (each at most BATCHES_IN_FLIGHT batches), however many accounts there are. Accounts
//! start in the order the last run left them (`order.rs`): those it never reached first.

use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio::time::Instant;

use super::drain::{Drain, Parts};
use super::order::{self, Progress};
use super::{Account, AccountName, AccountSummary, Limits, Outcome, StreamSummary};
use crate::storage::ObjectStore;

/// What every account's drains share.
#[derive(Debug, Clone)]
pub(super) struct Shared {
    pub store: Arc<dyn ObjectStore>,
    pub limits: Limits,
    pub stop: Arc<AtomicBool>,
    pub deadline: Instant,
}

/// `account`'s streams, drained one after another.
pub(super) async fn drain_account(shared: Shared, account: Account) -> Vec<StreamSummary> {
    let mut streams = Vec::with_capacity(account.plans.len());
    for plan in &account.plans {
        let drain = Drain::new(Parts {
            plan,
            client: &account.client,
            store: shared.store.clone(),
            limits: shared.limits,
            stop: shared.stop.clone(),
            deadline: shared.deadline,
        });
        let mut summary = drain.run().await;
        summary.account = account.name.clone();
        streams.push(summary);
    }
    streams
}

/// Whether a stream's drain got through its backlog in this run (a failure or a spent rate limit
/// also ends it: going first next time would not help).
fn finished(outcome: &Outcome) -> bool {
    !matches!(
        outcome,
        Outcome::Budget | Outcome::Stopped | Outcome::MaxRecords
    )
}

/// How far this run got with an account, from its streams' summaries.
fn progress(streams: &[StreamSummary]) -> Progress {
    if streams.iter().all(|s| finished(&s.outcome)) {
        Progress::Finished
    } else if streams.iter().all(|s| s.pages == 0 && s.events == 0) {
        Progress::NotReached
    } else {
        Progress::Unfinished
    }
}

/// Runs `accounts`, at most `parallel` at once, in the order the last run left (`run_order`);
/// returns every stream's summary in configured order, and each account's.
pub(super) async fn run_accounts(
    shared: Shared,
    accounts: &[Account],
    parallel: usize,
    run_order: Option<&str>,
) -> (Vec<StreamSummary>, Vec<AccountSummary>) {
    let names: Vec<_> = accounts.iter().map(|a| a.name.clone()).collect();
    let recorded = match run_order {
        Some(key) => order::load(shared.store.as_ref(), key).await,
        None => Vec::new(),
    };
    let order = order::ordered(&names, &recorded);

    // A slot is taken before an account's task exists: only `parallel` drains are ever in memory,
    // and accounts start in `order`.
    let slots = Arc::new(Semaphore::new(parallel.max(1)));
    let mut running = JoinSet::new();
    for &index in &order {
        let slot = slots
            .clone()
            .acquire_owned()
            .await
            .expect("the semaphore is never closed");
        let (shared, account) = (shared.clone(), accounts[index].clone());
        running.spawn(async move {
            let _slot = slot;
            (index, drain_account(shared, account).await)
        });
    }
    let mut results: Vec<Option<Vec<StreamSummary>>> = vec![None; accounts.len()];
    while let Some(joined) = running.join_next().await {
        match joined {
            Ok((index, streams)) => results[index] = Some(streams),
            // A drain never panics by design; if one did, its account reports as unfinished.
            Err(error) => tracing::error!(error = %error, "an account's collection task failed"),
        }
    }

    let mut streams = Vec::new();
    let mut summaries = Vec::with_capacity(accounts.len());
    let mut progresses: Vec<Progress> = Vec::with_capacity(accounts.len());
    for (account, result) in accounts.iter().zip(results) {
        let Some(name) = account.name.clone() else {
            continue;
        };
        let account_streams = result.unwrap_or_else(|| {
            account
                .plans
                .iter()
                .map(|plan| StreamSummary {
                    account: Some(name.clone()),
                    outcome: Outcome::failed(
                        super::FailureReason::Internal,
                        "the account's collection task ended unexpectedly; the next run resumes from its checkpoints",
                    ),
                    ..StreamSummary::new(plan.stream)
                })
                .collect()
        });
        let progress = progress(&account_streams);
        summaries.push(AccountSummary {
            account: name,
            token_expires_at: account.token_expires_at,
            token_fingerprint: account.token_fingerprint.clone(),
            ok: account_streams
                .iter()
                .all(|s| s.outcome.failure().is_none()),
            finished: progress == Progress::Finished,
        });
        progresses.push(progress);
        streams.extend(account_streams);
    }

    if let Some(key) = run_order {
        let next: Vec<AccountName> = order::next(&order, &progresses)
            .into_iter()
            .map(|index| summaries[index].account.clone())
            .collect();
        order::save(shared.store.as_ref(), key, &next).await;
    }
    (streams, summaries)
}
