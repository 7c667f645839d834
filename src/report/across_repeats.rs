//! The terminal lines about repeats and the cache: pass@k and flaky cases per prompt ×
//! model, and how many cells were served from the response cache.

use std::io::{self, Write};

use crate::store::RunRecord;

/// Flaky cases listed per prompt × model before "and N more".
const MAX_FLAKY_SHOWN: usize = 10;

/// Writes, for the summary rows that have them, the statistics across repeats (pass@k,
/// the share of cases passing every repeat, flaky cases) and the cached cell counts.
/// Writes nothing when no case was repeated and nothing was cached.
pub fn write_repeats(record: &RunRecord, w: &mut dyn Write) -> io::Result<()> {
    let repeated: Vec<_> = record
        .summary
        .iter()
        .filter_map(|row| row.repeats.as_ref().map(|r| (row, r)))
        .collect();
    if !repeated.is_empty() {
        writeln!(w, "Across repeats:")?;
        for (row, stats) in &repeated {
            let at_k: Vec<String> = stats
                .pass_at_k
                .iter()
                .map(|p| format!("pass@{} {:.1}%", p.k, p.value * 100.0))
                .collect();
            let all = stats
                .all_pass_rate
                .map(|r| format!("{:.1}%", r * 100.0))
                .unwrap_or_else(|| "-".into());
            writeln!(
                w,
                "  {} × {}: {} repeats of {} cases; {}; passed every repeat {all}; {} flaky",
                row.prompt,
                row.model,
                stats.repeats,
                stats.cases,
                at_k.join(", "),
                stats.flaky.len()
            )?;
            if !stats.flaky.is_empty() {
                let shown: Vec<String> = stats
                    .flaky
                    .iter()
                    .take(MAX_FLAKY_SHOWN)
                    .map(|f| format!("{} ({}/{})", f.case_id, f.passed, f.scored))
                    .collect();
                let more = stats.flaky.len().saturating_sub(MAX_FLAKY_SHOWN);
                writeln!(
                    w,
                    "    flaky cases (passed/scored): {}{}",
                    shown.join(", "),
                    if more > 0 {
                        format!(", and {more} more")
                    } else {
                        String::new()
                    }
                )?;
            }
        }
    }
    let cached: u64 = record.summary.iter().map(|r| r.cached).sum();
    if cached > 0 {
        let cells: u64 = record.summary.iter().map(|r| r.cases).sum();
        writeln!(
            w,
            "{cached} of {cells} cells were served from the response cache"
        )?;
    }
    Ok(())
}
