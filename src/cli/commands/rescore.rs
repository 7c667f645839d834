//! `prompteval rescore`: flags → a [`RescoreRequest`] → a new run scored from stored outputs → tables, exit code.

use super::run::{stop_requested, stored, verdict};
use super::show::{output_formats, print_run_with, write_outputs_with};
use super::{load, Context};
use crate::cli::args::RescoreArgs;
use crate::cli::diagnostics::{self, Exit};
use crate::cli::progress::Progress;
use crate::gate::GateOverrides;
use crate::provider::cache::CacheMode;
use crate::run::request::{check_gate, check_jobs};
use crate::run::{prepare_rescore, Finished, RescoreRequest};

/// Scores a stored run's outputs again with the evals' current assertions.
pub(crate) fn rescore(ctx: &Context, args: RescoreArgs) -> Exit {
    let outputs = match output_formats(&args.outputs) {
        Ok(o) => o,
        Err(e) => return diagnostics::report(&e),
    };
    let gate = GateOverrides {
        fail_under: args.fail_under,
        max_regression: args.max_regression,
        significance: None,
    };
    if let Err(e) = check_gate(&gate).and_then(|()| check_jobs(args.jobs)) {
        return diagnostics::report(&e);
    }
    let request = RescoreRequest {
        run: args.run.clone(),
        evals: args.evals.clone(),
        no_judges: args.no_judges,
        compare: !args.no_compare,
        jobs: args.jobs,
        cache_mode: if args.offline {
            Some(CacheMode::Offline)
        } else if args.no_cache {
            Some(CacheMode::Off)
        } else {
            None
        },
        gate,
    };
    let (project, registry) = match load(ctx) {
        Ok(loaded) => loaded,
        Err(e) => return diagnostics::report(&e),
    };
    let prepared = match prepare_rescore(&project, registry, request) {
        Ok(p) => p,
        Err(e) => return diagnostics::report(&e),
    };
    diagnostics::warnings(prepared.warnings());
    let source = &prepared.source().record;
    errln!(
        "rescoring run {}: {} stored cells, no model is called",
        source.run_id,
        prepared.cells()
    );
    for line in prepared.skipped() {
        if line.starts_with("note: ") {
            errln!("{line}");
        } else {
            errln!("skipped: {line}");
        }
    }
    if !prepared.judges_skipped().is_empty() {
        let kinds: Vec<String> = prepared
            .judges_skipped()
            .iter()
            .map(|(kind, n)| format!("{kind} ×{n}"))
            .collect();
        let n: usize = prepared.judges_skipped().values().sum();
        errln!(
            "--no-judges: {n} judge assertion{} left out ({}); the cells are scored without {}",
            if n == 1 { "" } else { "s" },
            kinds.join(", "),
            if n == 1 { "it" } else { "them" }
        );
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => return diagnostics::unexpected(&e),
    };
    let mut progress = Progress::new(crate::cli::progress::ProgressMode::unless(args.no_progress));
    let finished = runtime.block_on(async {
        let cancel = stop_requested();
        prepared.run(&mut [&mut progress], cancel).await
    });
    drop(runtime);
    let finished = match finished {
        Ok(f) => f,
        Err(e) => return diagnostics::report(&e),
    };
    if let Err(exit) = report(ctx, &args, &outputs, &finished) {
        return exit;
    }
    stored(&project, &finished);
    verdict(&finished)
}

/// Prints the tables (with the comparison with the source run) and writes the report files.
fn report(
    ctx: &Context,
    args: &RescoreArgs,
    outputs: &super::show::Outputs,
    finished: &Finished,
) -> Result<(), Exit> {
    let (run, comparison) = (&finished.run, finished.comparison.as_ref());
    let max_rows = (!args.no_matrix).then_some(args.max_rows);
    if let Err(e) = print_run_with(ctx, run, max_rows, comparison.map(|c| &**c)) {
        diagnostics::print(&e);
    }
    match write_outputs_with(&run.record, run, outputs, comparison) {
        Ok(written) => {
            for path in written {
                errln!("wrote {}", path.display());
            }
            Ok(())
        }
        Err(e) => Err(diagnostics::report(&e)),
    }
}
