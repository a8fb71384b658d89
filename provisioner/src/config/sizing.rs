//! The collector service's size: `collector.cpu` and `collector.memory`, checked against what Cloud
//! Run accepts for a service deployed with request-based billing and a concurrency of 2.
//!
//! Cloud Run's rules (docs.cloud.google.com/run/docs/configuring/services/cpu and
//! .../services/memory-limits, read 2026-12-05): whole vCPUs above 1 (2, 4, 6, 8); fewer than 1
//! vCPU needs a maximum concurrency of 1 and the first generation execution environment; 1 vCPU
//! takes up to 4 GiB, 2 up to 8 GiB, 4 from 2 to 16 GiB, 6 and 8 from 4 GiB to 24 and 32 GiB; the
//! least memory is 512 MiB in the second generation environment (128 MiB in the first).

use serde::{Deserialize, Deserializer};

use super::problem::Problem;

/// The collector's vCPUs by default.
pub const DEFAULT_CPU: &str = "1";

/// The collector's memory by default. Measured peak RSS: 26-90 MiB with up to 16 accounts
/// collected in parallel (the most `collector.accounts_in_parallel` allows), so 512 MiB, Cloud
/// Run's least in its second generation environment, leaves five times the peak.
pub const DEFAULT_MEMORY: &str = "512Mi";

/// The least memory this deployment accepts: Cloud Run's minimum in the second generation execution
/// environment (the module does not pin the first, which alone allows less).
pub const MIN_MEMORY_MIB: u64 = 512;

/// The maximum concurrent requests per instance the collector is deployed with: a tick that arrives
/// while a run is in progress reaches the collector (which answers it and lets the running run
/// cover it) instead of Cloud Run answering 429 to Pub/Sub.
pub const CONCURRENCY: u32 = 2;

/// Whole vCPU counts Cloud Run accepts, with the memory range (MiB) each allows.
const CPU_MEMORY_MIB: [(u32, u64, u64); 5] = [
    (1, 0, 4 * 1024),
    (2, 0, 8 * 1024),
    (4, 2 * 1024, 16 * 1024),
    (6, 4 * 1024, 24 * 1024),
    (8, 4 * 1024, 32 * 1024),
];

/// `collector.cpu` as a whole vCPU count Cloud Run accepts, if it is one.
pub fn cpu_count(cpu: &str) -> Option<u32> {
    let n: u32 = cpu.trim().parse().ok()?;
    CPU_MEMORY_MIB.iter().any(|(c, _, _)| *c == n).then_some(n)
}

/// `collector.memory` in MiB: a whole number followed by `Mi` or `Gi`.
pub fn memory_mib(memory: &str) -> Option<u64> {
    let memory = memory.trim();
    let (number, factor) = if let Some(n) = memory.strip_suffix("Gi") {
        (n, 1024)
    } else {
        (memory.strip_suffix("Mi")?, 1)
    };
    if number.is_empty() || !number.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    number.parse::<u64>().ok()?.checked_mul(factor)
}

/// Accepts `cpu: 1` as well as `cpu: "1"` (and any scalar) as a string, for validation to judge.
pub(super) fn scalar_string<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<String, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Scalar {
        Text(String),
        Whole(u64),
        Fraction(f64),
    }
    Ok(match Scalar::deserialize(deserializer)? {
        Scalar::Text(text) => text,
        Scalar::Whole(n) => n.to_string(),
        Scalar::Fraction(x) => x.to_string(),
    })
}

/// The most accounts collected at once that the least memory (512 MiB) was measured to hold: 26-90
/// MiB peak RSS with up to 16 in parallel.
pub const PARALLEL_IN_LEAST_MEMORY: u32 = 16;

/// The memory more accounts at once need: a catch-up of 64 accounts collected at once peaked at
/// 738.6 MiB when an earlier build was measured with scripts/bench-accounts.sh (its default,
/// catch-up, mode with 64 in parallel; not measured again on this build), so 1 GiB.
pub const PARALLEL_MEMORY_MIB: u64 = 1024;

/// The problem of `collector.memory` too small for `accounts_in_parallel` accounts collected at
/// once, if it is.
pub fn parallel_problem(memory: &str, accounts_in_parallel: u32) -> Option<Problem> {
    let mib = memory_mib(memory)?;
    (accounts_in_parallel > PARALLEL_IN_LEAST_MEMORY && mib < PARALLEL_MEMORY_MIB).then(|| {
        Problem::new(
            "collector.memory",
            memory,
            &format!(
                "is less than 1Gi, which collector.accounts_in_parallel {accounts_in_parallel} needs (more than {PARALLEL_IN_LEAST_MEMORY} accounts at once: a catch-up of 64 at once peaked at 739 MiB): set collector.memory: 1Gi, or accounts_in_parallel: {PARALLEL_IN_LEAST_MEMORY} or fewer"
            ),
        )
    })
}

/// Every problem of `collector.cpu` and `collector.memory`.
pub fn problems(cpu: &str, memory: &str) -> Vec<Problem> {
    let mut problems = Vec::new();
    let fractional = cpu.trim().parse::<f64>().is_ok_and(|x| x > 0.0 && x < 1.0);
    let count = cpu_count(cpu);
    if count.is_none() {
        let rule = if fractional {
            format!(
                "is less than 1 vCPU, which Cloud Run allows only with a concurrency of 1; the collector is deployed with a concurrency of {CONCURRENCY} (a tick during a run must reach it): use 1, 2, 4, 6 or 8"
            )
        } else {
            "is not a vCPU count Cloud Run accepts: use 1, 2, 4, 6 or 8".to_owned()
        };
        problems.push(Problem::new("collector.cpu", cpu, &rule));
    }
    match memory_mib(memory) {
        None => problems.push(Problem::new(
            "collector.memory",
            memory,
            "is not a memory size: a whole number of MiB or GiB, e.g. 512Mi, 1Gi",
        )),
        Some(mib) if mib < MIN_MEMORY_MIB => problems.push(Problem::new(
            "collector.memory",
            memory,
            "is less than 512Mi, Cloud Run's least in the second generation execution environment",
        )),
        Some(mib) => {
            if let Some((cpus, least, most)) = count
                .and_then(|n| CPU_MEMORY_MIB.iter().find(|(c, _, _)| *c == n))
                .copied()
                && !(least..=most).contains(&mib)
            {
                let range = if least == 0 {
                    format!("at most {}Gi", most / 1024)
                } else {
                    format!("from {}Gi to {}Gi", least / 1024, most / 1024)
                };
                problems.push(Problem::new(
                    "collector.memory",
                    memory,
                    &format!("does not fit collector.cpu {cpus}: Cloud Run takes {range} with {cpus} vCPU"),
                ));
            }
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_counts() {
        for (cpu, n) in [("1", 1), ("2", 2), ("4", 4), ("6", 6), ("8", 8), (" 2 ", 2)] {
            assert_eq!(cpu_count(cpu), Some(n), "{cpu}");
        }
        for bad in ["0", "3", "0.5", "1000m", "", "16", "one"] {
            assert_eq!(cpu_count(bad), None, "{bad}");
        }
    }

    #[test]
    fn memory_sizes() {
        assert_eq!(memory_mib("512Mi"), Some(512));
        assert_eq!(memory_mib("1Gi"), Some(1024));
        assert_eq!(memory_mib("32Gi"), Some(32 * 1024));
        for bad in ["512", "512M", "1.5Gi", "Gi", "-1Gi", "512MiB", ""] {
            assert_eq!(memory_mib(bad), None, "{bad}");
        }
    }

    #[test]
    fn the_defaults_are_accepted() {
        assert!(problems(DEFAULT_CPU, DEFAULT_MEMORY).is_empty());
        assert_eq!(memory_mib(DEFAULT_MEMORY), Some(MIN_MEMORY_MIB));
    }

    #[test]
    fn memory_must_fit_the_cpu() {
        assert!(problems("1", "4Gi").is_empty());
        assert!(problems("4", "2Gi").is_empty());
        assert!(problems("8", "32Gi").is_empty());
        let rules = |cpu, memory| {
            problems(cpu, memory)
                .into_iter()
                .map(|p| p.to_string())
                .collect::<Vec<_>>()
        };
        assert_eq!(
            rules("1", "8Gi"),
            [
                "collector.memory: \"8Gi\" does not fit collector.cpu 1: Cloud Run takes at most 4Gi with 1 vCPU"
            ]
        );
        assert_eq!(
            rules("4", "1Gi"),
            [
                "collector.memory: \"1Gi\" does not fit collector.cpu 4: Cloud Run takes from 2Gi to 16Gi with 4 vCPU"
            ]
        );
        assert_eq!(
            rules("1", "256Mi"),
            [
                "collector.memory: \"256Mi\" is less than 512Mi, Cloud Run's least in the second generation execution environment"
            ]
        );
    }
}
