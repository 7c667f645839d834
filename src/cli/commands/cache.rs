//! `prompteval cache stats | clear`.

use std::time::SystemTime;

use super::Context;
use crate::cli::args::CacheCommand;
use crate::cli::diagnostics::{self, Exit};
use crate::config::project::Project;
use crate::provider::cache::{parse_ttl, CacheSettings, ClearFilter, ResponseCache};

/// Shows or clears the project's response cache.
pub(crate) fn cache(ctx: &Context, cmd: CacheCommand) -> Exit {
    let project = match Project::discover(&ctx.start) {
        Ok((p, warnings)) => {
            diagnostics::warnings(&warnings);
            p
        }
        Err(e) => return diagnostics::report(&e),
    };
    let settings = match CacheSettings::resolve(
        &project.root,
        &project.store_dir(),
        &project.config.cache,
        None,
        None,
    ) {
        Ok(s) => s,
        Err(e) => {
            return diagnostics::report(&e);
        }
    };
    let cache = ResponseCache::new(&settings.dir, settings.ttl);
    let dir = project.relative(&settings.dir);
    let now = SystemTime::now();
    match cmd {
        CacheCommand::Stats => match cache.stats(now) {
            Ok(stats) => {
                outln!("cache: {}", dir.display());
                outln!("entries: {}", stats.entries);
                outln!("size: {}", human_bytes(stats.bytes));
                let ttl = settings
                    .ttl
                    .map(|t| humantime::format_duration(t).to_string())
                    .unwrap_or_else(|| "never".into());
                outln!("expired: {} (ttl {ttl})", stats.expired);
                if stats.unreadable > 0 {
                    outln!(
                        "unreadable: {} (removed by `cache clear`)",
                        stats.unreadable
                    );
                }
                if let (Some(oldest), Some(newest)) = (&stats.oldest, &stats.newest) {
                    outln!("oldest: {oldest}");
                    outln!("newest: {newest}");
                }
                Exit::Success
            }
            Err(e) => diagnostics::report(&e),
        },
        CacheCommand::Clear {
            older_than,
            expired,
        } => {
            let filter = match (older_than, expired) {
                (Some(text), _) => match parse_ttl(&text) {
                    Ok(Some(age)) => ClearFilter::OlderThan(age),
                    Ok(None) => ClearFilter::All,
                    Err(e) => {
                        return diagnostics::report(&e);
                    }
                },
                (None, true) => ClearFilter::Expired,
                (None, false) => ClearFilter::All,
            };
            match cache.clear(filter, now) {
                Ok(n) => {
                    outln!("removed {n} cache entries from {}", dir.display());
                    Exit::Success
                }
                Err(e) => diagnostics::report(&e),
            }
        }
    }
}

fn human_bytes(n: u64) -> String {
    match n {
        0..1024 => format!("{n} B"),
        1024..1_048_576 => format!("{:.1} KiB", n as f64 / 1024.0),
        _ => format!("{:.1} MiB", n as f64 / 1_048_576.0),
    }
}
