//! The dated price table: one line per billed unit, its list price, its monthly free tier and where
//! it was read.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::CostError;

/// The whole table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PriceTable {
    /// The day the prices were read (`YYYY-MM-DD`).
    pub read: String,
    /// Each line by its key (`run_cpu`, `storage_class_a`, ...).
    pub lines: BTreeMap<String, Price>,
    /// Prices that were looked for and not found.
    #[serde(default)]
    pub not_found: Vec<String>,
}

/// One billed unit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Price {
    /// What is billed.
    pub what: String,
    /// The unit the price is per.
    pub unit: String,
    /// USD per unit.
    pub price: f64,
    /// Units free each month.
    pub free: f64,
    /// Where the free tier applies, when not to the whole billing account.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub free_scope: Option<String>,
    /// Where the price was read.
    pub source: String,
}

impl PriceTable {
    /// The table in `yaml`.
    pub fn parse(yaml: &str) -> Result<Self, CostError> {
        yaml_serde::from_str(yaml).map_err(CostError::Prices)
    }

    /// The line `key`.
    pub fn line(&self, key: &str) -> Result<&Price, CostError> {
        self.lines
            .get(key)
            .ok_or_else(|| CostError::MissingPrice(key.to_owned()))
    }
}
