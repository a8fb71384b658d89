//! The accounts to collect. Without `ACCOUNTS`, one account from the variables without a suffix
//! (`OP_API_BASE`, `OP_BEARER_TOKEN`, `STREAMS`), exactly as a single-account deployment always
//! had. With `ACCOUNTS=acme,globex`, each account has its own `OP_API_BASE_ACME`,
//! `OP_BEARER_TOKEN_ACME` (or `OP_BEARER_TOKEN_FILE_ACME`), `STREAMS_ACME` and optionally
//! `LOOKBACK_HOURS_ACME`; the variables without a suffix are then refused, so no setting is
//! silently shared.

use contract::env::{
    self, ACCOUNTS, LOOKBACK_HOURS, OP_API_BASE, OP_BEARER_TOKEN, OP_BEARER_TOKEN_FILE, STATE_KEY,
    STREAMS,
};
use contract::{AccountName, Stream};
use url::Url;

use super::plans::{self, Layout};
use super::problems::{Reader, shown};
use super::token::{self, TokenVariables};
use super::{Vars, api};
use crate::pipeline::StreamPlan;
use onepassword_events::secret::Secret;

/// One account's validated settings.
#[derive(Debug, Clone)]
pub struct AccountSettings {
    /// Its name, in a deployment of several.
    pub name: Option<AccountName>,
    /// Events API base URL.
    pub api_base: Url,
    /// Bearer token.
    pub token: Secret,
    /// Its streams, in order.
    pub plans: Vec<StreamPlan>,
}

/// The account names `ACCOUNTS` lists, if it is set (problems recorded for bad or repeated ones).
pub(super) fn names(r: &mut Reader<'_>) -> Option<Vec<AccountName>> {
    let list = r.get(ACCOUNTS)?.to_owned();
    let mut names: Vec<AccountName> = Vec::new();
    for name in list.split(',').map(str::trim).filter(|n| !n.is_empty()) {
        match AccountName::new(name) {
            Ok(name) if names.contains(&name) => r.problem(
                ACCOUNTS,
                format!("{} is listed twice", shown(name.as_str())),
            ),
            Ok(name) => names.push(name),
            Err(e) => r.problem(ACCOUNTS, e.to_string()),
        }
    }
    if names.is_empty() && !r.has_problem(ACCOUNTS) {
        r.problem(
            ACCOUNTS,
            "names no account; list account names (e.g. acme,globex), or unset it for one account",
        );
    }
    Some(names)
}

/// The per-account variables present in the process environment, for the accounts `vars` lists.
pub(super) fn process_vars(vars: &Vars) -> Vars {
    let Some(list) = vars.get(ACCOUNTS) else {
        return Vars::new();
    };
    list.split(',')
        .filter_map(|name| AccountName::new(name.trim()).ok())
        .flat_map(|account| {
            env::PER_ACCOUNT
                .iter()
                .map(move |v| env::for_account(v, &account))
        })
        .filter_map(|name| std::env::var(&name).ok().map(|value| (name, value)))
        .collect()
}

/// What one account's variables say, before plans are laid out.
struct Read {
    name: Option<AccountName>,
    api_base: Option<Url>,
    token: Option<Secret>,
    streams: Vec<Stream>,
    lookback_hours: i64,
}

fn read_account(r: &mut Reader<'_>, name: Option<AccountName>, default_lookback: i64) -> Read {
    let var = |base: &str| match &name {
        Some(account) => env::for_account(base, account),
        None => base.to_owned(),
    };
    let api_base = api::api_base(r, &var(OP_API_BASE));
    let token = token::bearer_token(
        r,
        &TokenVariables {
            value: var(OP_BEARER_TOKEN),
            file: var(OP_BEARER_TOKEN_FILE),
        },
    );
    let streams_var = var(STREAMS);
    let streams = plans::streams(r, &streams_var);
    if let Some(token) = &token {
        let lacking = token::missing_features(token, &streams, &streams_var);
        r.problems.extend(lacking);
    }
    let lookback_hours = match &name {
        Some(_) => r.number_as(&var(LOOKBACK_HOURS.name), default_lookback, &LOOKBACK_HOURS),
        None => default_lookback,
    };
    Read {
        name,
        api_base,
        token,
        streams,
        lookback_hours,
    }
}

/// Every account's settings and the layout they share; `None` for an account some problem was
/// recorded for.
pub(super) fn accounts(r: &mut Reader<'_>) -> (Vec<Option<AccountSettings>>, Layout) {
    let default_lookback = r.number(&LOOKBACK_HOURS);
    let read: Vec<Read> = match names(r) {
        None => vec![read_account(r, None, default_lookback)],
        Some(names) => {
            for single in [
                OP_API_BASE,
                OP_BEARER_TOKEN,
                OP_BEARER_TOKEN_FILE,
                STREAMS,
                STATE_KEY,
            ] {
                if r.is_set(single) {
                    r.problem(
                        single,
                        format!(
                            "is set, but with ACCOUNTS each account has its own ({single}_ACCOUNT, e.g. {}); unset {single}",
                            names
                                .first()
                                .map_or_else(|| format!("{single}_ACME"), |n| env::for_account(single, n))
                        ),
                    );
                }
            }
            names
                .into_iter()
                .map(|name| read_account(r, Some(name), default_lookback))
                .collect()
        }
    };
    let mut every_stream: Vec<Stream> = read.iter().flat_map(|a| a.streams.clone()).collect();
    every_stream.sort();
    every_stream.dedup();
    let layout = Layout::read(r, &every_stream);
    let planned: Vec<(Read, Vec<StreamPlan>)> = read
        .into_iter()
        .map(|a| {
            let plans = layout.plans(a.name.as_ref(), &a.streams, a.lookback_hours);
            (a, plans)
        })
        .collect();
    // Every account's plans are checked, also those of an account with another problem.
    let every_plan: Vec<&StreamPlan> = planned.iter().flat_map(|(_, plans)| plans).collect();
    layout.check(r, &every_plan);
    let accounts = planned
        .into_iter()
        .map(|(a, plans)| {
            Some(AccountSettings {
                name: a.name,
                api_base: a.api_base?,
                token: a.token?,
                plans,
            })
        })
        .collect();
    (accounts, layout)
}
