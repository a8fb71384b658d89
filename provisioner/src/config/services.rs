//! Accounts split across several Cloud Run services (`collector.services`): which service collects
//! which account, and the services' names. One schedule and one topic tick every service; each
//! service has its own push subscription and collects only its share. Objects, checkpoints, secrets
//! and feeds stay per account, so an account may move to another service without changing what
//! SecOps ingests (conditional writes keep a run of the old and of the new service from writing an
//! event twice while both are deployed).

use super::Config;
use super::problem::Problem;

/// The most services one deployment splits its accounts across.
pub const MAX_SERVICES: u32 = 10;

/// The most accounts one service collects (its environment holds each account's settings and
/// token): 100, measured at 3.65 to 4.01 s a run with 64 at once (README, Scale).
pub const MAX_ACCOUNTS_PER_SERVICE: usize = 100;

/// The service (1-based) that collects the account at `index` of `accounts:`: round robin in the
/// config's order, so an account appended to the list never moves another one.
pub fn service_of(index: usize, services: u32) -> u32 {
    (index % services.max(1) as usize) as u32 + 1
}

/// The Cloud Run service named `base` for service `number`: the first keeps `base` (the name a
/// deployment of one service has), the others get `-NUMBER`.
pub fn service_name(base: &str, number: u32) -> String {
    if number == 1 {
        base.to_owned()
    } else {
        format!("{base}-{number}")
    }
}

/// The push subscription of service `number` on `topic`: `TOPIC-push`, then `TOPIC-push-NUMBER`.
pub fn push_subscription(topic: &str, number: u32) -> String {
    service_name(&format!("{topic}-push"), number)
}

impl Config {
    /// How many services collect the accounts (1 unless `collector.services` says more).
    pub fn services(&self) -> u32 {
        self.collector.services.max(1)
    }

    /// Every service's name, the first first.
    pub fn service_names(&self) -> Vec<String> {
        (1..=self.services())
            .map(|n| service_name(&self.collector.service_name, n))
            .collect()
    }

    /// The name of the service that collects the account named `account` (the first service's
    /// for the one account, or a name no account has).
    pub fn service_of_account(&self, account: Option<&str>) -> String {
        let number = self
            .accounts()
            .into_iter()
            .find(|a| a.name.as_ref().map(|n| n.as_str()) == account)
            .map_or(1, |a| a.service);
        service_name(&self.collector.service_name, number)
    }

    /// Every push subscription on the trigger topic, the first service's first.
    pub fn push_subscriptions(&self) -> Vec<String> {
        (1..=self.services())
            .map(|n| push_subscription(&self.topic, n))
            .collect()
    }
}

/// The problems of `collector.services` against `accounts:`.
pub fn problems(config: &Config) -> Vec<Problem> {
    let services = config.collector.services;
    let value = services.to_string();
    let mut out = Vec::new();
    if !(1..=MAX_SERVICES).contains(&services) {
        out.push(Problem::new(
            "collector.services",
            &value,
            &format!("must be between 1 and {MAX_SERVICES} services"),
        ));
        return out;
    }
    let accounts = config.accounts.len();
    if services > 1 && accounts == 0 {
        out.push(Problem::new(
            "collector.services",
            &value,
            "splits the accounts: list across services, and the config has no accounts: list; \
             list the accounts, or set collector.services to 1",
        ));
    } else if services as usize > accounts.max(1) {
        out.push(Problem::new(
            "collector.services",
            &value,
            &format!(
                "is more than the {accounts} accounts listed: a service would collect nothing; \
                 set at most {accounts}"
            ),
        ));
    }
    let most = MAX_ACCOUNTS_PER_SERVICE * services as usize;
    if accounts > most {
        let needed = accounts.div_ceil(MAX_ACCOUNTS_PER_SERVICE);
        let fix = if needed as u32 <= MAX_SERVICES {
            format!("set collector.services to at least {needed}")
        } else {
            format!(
                "split the accounts into deployments of at most {} ({} services of {MAX_ACCOUNTS_PER_SERVICE})",
                MAX_SERVICES as usize * MAX_ACCOUNTS_PER_SERVICE,
                MAX_SERVICES
            )
        };
        out.push(Problem::new(
            "accounts",
            &accounts.to_string(),
            &format!(
                "lists too many accounts: one service collects at most {MAX_ACCOUNTS_PER_SERVICE} \
                 and collector.services is {services}; {fix}"
            ),
        ));
    }
    let longest = (1..=services)
        .map(|n| service_name(&config.collector.service_name, n).len())
        .max()
        .unwrap_or(0);
    if longest > 49 {
        out.push(Problem::new(
            "collector.service_name",
            &config.collector.service_name,
            &format!(
                "is too long for {services} services: the last is named {}, and Cloud Run \
                 service names have at most 49 characters; shorten it",
                service_name(&config.collector.service_name, services)
            ),
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_robin_in_the_configs_order() {
        let of: Vec<u32> = (0..7).map(|i| service_of(i, 3)).collect();
        assert_eq!(of, [1, 2, 3, 1, 2, 3, 1]);
        assert_eq!(service_of(5, 1), 1);
    }

    #[test]
    fn the_first_service_keeps_the_name() {
        assert_eq!(service_name("c", 1), "c");
        assert_eq!(service_name("c", 4), "c-4");
        assert_eq!(push_subscription("t", 1), "t-push");
        assert_eq!(push_subscription("t", 2), "t-push-2");
    }
}
