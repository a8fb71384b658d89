//! The estimate as `provision cost` and `provision plan` print it.

use std::fmt::Write as _;

use super::Estimate;

/// `estimate` as a table: one line per billed unit, both profiles side by side, then the totals.
pub fn text(estimate: &Estimate) -> String {
    let mut out = String::new();
    let e = estimate;
    let _ = writeln!(
        out,
        "Monthly cost estimate for {}: {} account(s), {} account stream(s), schedule {:?} ({} runs a month), {} vCPU, {} MiB",
        e.project_id,
        e.accounts,
        e.account_streams,
        e.cron,
        number(e.runs_per_month),
        e.cpu,
        e.memory_mib
    );
    if e.services > 1 {
        let _ = writeln!(
            out,
            "The accounts are split across {} services: each tick runs every one (one request, one push delivery and one start-up each).",
            e.services
        );
    }
    let _ = writeln!(
        out,
        "Per-run units measured {} ({}); prices read {} (provisioner/data/prices.yaml), USD list prices, tier 1 regions.",
        e.units_measured, e.units_command, e.prices_read
    );
    let [empty, typical] = &e.profiles[..] else {
        return out;
    };
    let _ = writeln!(
        out,
        "\n{:<30} {:>14} | {:>28} | {:>28}",
        "",
        "",
        "every run empty",
        format!("every run {} events/stream", typical.events_per_run)
    );
    let _ = writeln!(
        out,
        "{:<30} {:>14} | {:>14} {:>13} | {:>14} {:>13}",
        "billed unit", "free a month", "units", "USD", "units", "USD"
    );
    for (a, b) in empty.items.iter().zip(&typical.items) {
        let _ = writeln!(
            out,
            "{:<30} {:>14} | {:>14} {:>13} | {:>14} {:>13}",
            format!("{} ({})", a.key, a.unit),
            number(a.free),
            number(a.quantity),
            usd(a.list_usd),
            number(b.quantity),
            usd(b.list_usd)
        );
    }
    let _ = writeln!(
        out,
        "{:<30} {:>14} | {:>14} {:>13} | {:>14} {:>13}",
        "total at list price",
        "",
        "",
        usd(empty.list_usd),
        "",
        usd(typical.list_usd)
    );
    let _ = writeln!(
        out,
        "{:<30} {:>14} | {:>14} {:>13} | {:>14} {:>13}",
        "total after free tiers",
        "",
        "",
        usd(empty.after_free_usd),
        "",
        usd(typical.after_free_usd)
    );
    let _ = writeln!(
        out,
        "\nBilled instance time per run: {} s (every run empty), {} s (typical).",
        number(empty.billed_seconds_per_run),
        number(typical.billed_seconds_per_run)
    );
    for note in &e.notes {
        let _ = writeln!(out, "- {note}");
    }
    out
}

/// A quantity with up to 4 significant decimals, without trailing zeros.
fn number(x: f64) -> String {
    if x == 0.0 {
        return "0".to_owned();
    }
    let decimals = if x.abs() >= 100.0 {
        1
    } else if x.abs() >= 1.0 {
        3
    } else {
        (4 - x.abs().log10().floor() as i32).clamp(0, 12) as usize
    };
    let text = format!("{x:.decimals$}");
    if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_owned()
    } else {
        text
    }
}

/// USD to the hundredth of a cent.
fn usd(x: f64) -> String {
    format!("${x:.4}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers() {
        assert_eq!(number(0.0), "0");
        assert_eq!(number(730.0), "730");
        assert_eq!(number(43800.0), "43800");
        assert_eq!(number(1.5), "1.5");
        assert_eq!(number(0.000123456), "0.00012346");
        assert_eq!(usd(0.01), "$0.0100");
    }
}
