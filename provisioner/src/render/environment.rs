//! The collector's environment as the gcloud engine renders it (`--set-env-vars` and
//! `--set-secrets`): the same variables in the same order as the Terraform module's
//! `collector_env.tf`, named and defaulted by the contract (`contract::env`). With several accounts,
//! the shared settings, then each account's own, accounts in name order (as Terraform iterates a
//! map). With the accounts split across services (`collector.services`), each service's
//! environment holds only its share.

use contract::env;
use contract::{AccountName, Stream};

use crate::config::{Account, Config};

/// The named accounts of `config` that `service` collects (every one with `None`), in name order.
fn named(config: &Config, service: Option<u32>) -> Vec<(AccountName, Account)> {
    let mut accounts: Vec<(AccountName, Account)> = config
        .accounts()
        .into_iter()
        .filter(|a| service.is_none_or(|n| a.service == n))
        .filter_map(|a| a.name.clone().map(|name| (name, a)))
        .collect();
    accounts.sort_by(|a, b| a.0.cmp(&b.0));
    accounts
}

/// Every variable of service `service` (1-based) and its value (the tokens come from secrets:
/// [`service_token_secrets`]).
pub fn variables(config: &Config, service: u32) -> Vec<(String, String)> {
    let prefixes = config.stream_prefixes();
    let prefix_of = |stream: Stream| {
        prefixes
            .iter()
            .find(|(s, _)| *s == stream)
            .map_or_else(|| config.prefix(stream), |(_, p)| p.clone())
    };
    let checkpoint_folder = config.checkpoint_prefix.trim_matches('/');
    let prefix_vars = Stream::ALL
        .into_iter()
        .map(|stream| (env::prefix_variable(stream).to_owned(), prefix_of(stream)));
    let shared_tail = [
        (
            env::MAX_RECORDS.name,
            config.collector.max_records.to_string(),
        ),
        (env::PAGE_SIZE.name, config.collector.page_size.to_string()),
    ];
    let budget = (
        env::RUN_BUDGET_SECONDS.name.to_owned(),
        env::RUN_BUDGET_SECONDS.default.to_string(),
    );
    let log_format = (env::LOG_FORMAT.to_owned(), "json".to_owned());
    let owned = |pairs: &[(&str, String)]| -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.clone()))
            .collect()
    };

    if !config.has_accounts() {
        let mut names: Vec<&str> = prefixes.iter().map(|(s, _)| s.name()).collect();
        names.sort_unstable();
        let mut vars = owned(&[
            (env::OP_API_BASE, config.events_base_url()),
            (env::GCS_BUCKET, config.bucket.name.clone()),
        ]);
        vars.extend(prefix_vars);
        vars.extend(owned(&[
            (env::STREAMS, names.join(",")),
            (env::STATE_KEY, config.state_key()),
            (env::STATE_PREFIX, format!("{checkpoint_folder}/")),
        ]));
        vars.extend(owned(&shared_tail));
        vars.extend(owned(&[(
            env::LOOKBACK_HOURS.name,
            config.collector.lookback_hours.to_string(),
        )]));
        vars.extend([budget, log_format]);
        return vars;
    }

    let accounts = named(config, Some(service));
    let mut vars = owned(&[
        (
            env::ACCOUNTS,
            accounts
                .iter()
                .map(|(name, _)| name.as_str())
                .collect::<Vec<_>>()
                .join(","),
        ),
        (
            env::ACCOUNTS_IN_PARALLEL.name,
            config.collector.accounts_in_parallel.to_string(),
        ),
        (env::GCS_BUCKET, config.bucket.name.clone()),
    ]);
    vars.extend(prefix_vars);
    vars.extend(owned(&[(
        env::STATE_PREFIX,
        format!("{checkpoint_folder}/"),
    )]));
    vars.extend(owned(&shared_tail));
    vars.extend([budget, log_format]);
    for (name, account) in &accounts {
        let streams: Vec<&str> = account.streams.iter().map(|s| s.name()).collect();
        vars.extend([
            (
                env::for_account(env::OP_API_BASE, name),
                account.events_base_url(),
            ),
            (env::for_account(env::STREAMS, name), streams.join(",")),
            (
                env::for_account(env::LOOKBACK_HOURS.name, name),
                account.lookback_hours.to_string(),
            ),
        ]);
    }
    vars
}

/// Which variable gets which secret's token, for every account: `OP_BEARER_TOKEN` from the
/// secret, or with several accounts `OP_BEARER_TOKEN_NAME` from each account's.
pub fn token_secrets(config: &Config) -> Vec<(String, String)> {
    tokens(config, None)
}

/// [`token_secrets`] of the accounts service `service` collects.
pub fn service_token_secrets(config: &Config, service: u32) -> Vec<(String, String)> {
    tokens(config, Some(service))
}

fn tokens(config: &Config, service: Option<u32>) -> Vec<(String, String)> {
    if !config.has_accounts() {
        return vec![(env::OP_BEARER_TOKEN.to_owned(), config.secret.clone())];
    }
    named(config, service)
        .into_iter()
        .map(|(name, account)| {
            (
                env::for_account(env::OP_BEARER_TOKEN, &name),
                account.secret,
            )
        })
        .collect()
}

/// `vars` as gcloud's `--set-env-vars` list, with `@` between the variables so values may hold
/// commas (STREAMS, ACCOUNTS).
pub fn gcloud_env_list(vars: &[(String, String)]) -> String {
    format!(
        "^@^{}",
        vars.iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("@")
    )
}

/// `secrets` as gcloud's `--set-secrets` list: each variable from its secret's latest version.
pub fn gcloud_secrets_list(secrets: &[(String, String)]) -> String {
    secrets
        .iter()
        .map(|(variable, secret)| format!("{variable}={secret}:latest"))
        .collect::<Vec<_>>()
        .join(",")
}
