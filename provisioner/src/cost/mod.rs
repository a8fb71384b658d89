//! What a deployment costs a month, before it is deployed: the per-run units measured by
//! `scripts/measure-run-cost.sh` times the runs the schedule makes, priced from a dated table kept
//! as data (`provisioner/data/prices.yaml`).

mod estimate;
mod prices;
mod text;
mod units;

pub use estimate::{Estimate, Item, Options, Profile, estimate};
pub use prices::{Price, PriceTable};
pub use text::text;
pub use units::{InstanceStart, RunUnits, Units};

/// The price table shipped with this provision.
pub const PRICES: &str = include_str!("../../data/prices.yaml");
/// The per-run units shipped with this provision, as the measurement script wrote them.
pub const RUN_UNITS: &str = include_str!("../../data/run-units.json");

/// Data the estimate cannot read.
#[derive(Debug, thiserror::Error)]
pub enum CostError {
    /// The price table is not the expected shape.
    #[error("the price table is not readable: {0}")]
    Prices(#[source] yaml_serde::Error),
    /// The units file is not the expected shape.
    #[error("the per-run units are not readable: {0}")]
    Units(#[source] serde_json::Error),
    /// The price table lacks a line the estimate needs.
    #[error("the price table has no line {0:?}")]
    MissingPrice(String),
    /// The schedule's cron expression is not five fields (validation refuses such configs).
    #[error("schedule.cron {0:?} is not a cron expression")]
    Schedule(String),
}

/// The estimate of `config` from the shipped price table and units.
pub fn shipped_estimate(
    config: &crate::config::Config,
    options: Options,
) -> Result<Estimate, CostError> {
    let prices = PriceTable::parse(PRICES)?;
    let units = RunUnits::parse(RUN_UNITS)?;
    estimate(config, &units, &prices, options)
}
