//! The MLflow edge of the command line: the server, a small runtime, and what to print.

use crate::cli::args::MlflowArgs;
use crate::cli::diagnostics::{self, Exit};
use crate::config::project::Project;
use crate::mlflow::{self, Client, MlflowError, MlflowSettings, TrackingOptions, TrackingReport};
use crate::store::StoredRun;

/// The server named by `uri` (a `--mlflow` flag), the environment or the project, if any.
pub(super) fn settings(
    uri: Option<&str>,
    project: &Project,
) -> Result<Option<MlflowSettings>, MlflowError> {
    MlflowSettings::from_env(uri, project.config.tracking.mlflow.as_deref())
}

/// Like [`settings`], but a server is required.
pub(super) fn required(uri: Option<&str>, project: &Project) -> Result<Client, MlflowError> {
    settings(uri, project)?
        .map(Client::new)
        .ok_or(MlflowError::NoUri)
}

/// Where `prompteval run` logs, given its flags: `None` with `--no-mlflow`.
pub(super) fn for_run(
    args: &MlflowArgs,
    project: &Project,
) -> Result<Option<MlflowSettings>, MlflowError> {
    if args.disabled {
        return Ok(None);
    }
    settings(args.uri.as_deref(), project)
}

/// The tracking options from the flags and the project.
pub(super) fn tracking_options(args: &MlflowArgs, project: &Project) -> TrackingOptions {
    TrackingOptions {
        experiment: args
            .experiment
            .clone()
            .or_else(|| project.config.tracking.experiment.clone()),
    }
}

/// Runs a future on a fresh single-threaded runtime; on failure prints the error and
/// returns the exit status it maps to: 2 when nothing was sent (a limit, an alias, a local
/// file), 3 when the server could not be reached or refused.
pub(super) fn block_on<T>(
    f: impl std::future::Future<Output = Result<T, MlflowError>>,
) -> Result<T, Exit> {
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            return Err(diagnostics::unexpected(&e));
        }
    };
    rt.block_on(f).map_err(|e| diagnostics::report(&e))
}

/// Logs `run` and prints where it went; the exit status on failure is [`Exit::Runtime`]
/// (the local record is kept either way).
pub(super) fn log(client: &Client, run: &StoredRun, options: &TrackingOptions) -> Result<(), Exit> {
    match block_on(mlflow::log_run(client, run, options)) {
        Ok(report) => {
            print_report(client, &report);
            Ok(())
        }
        Err(_) => {
            errln!(
                "the run is kept in {}; `prompteval runs push {} --mlflow {}` logs it later",
                run.dir.display(),
                run.record.run_id,
                client.uri()
            );
            Err(Exit::Runtime)
        }
    }
}

fn print_report(client: &Client, report: &TrackingReport) {
    for p in &report.parents {
        let url = format!(
            "{}/#/experiments/{}/runs/{}",
            client.uri(),
            p.experiment_id,
            p.run_id
        );
        if p.already_logged {
            errln!(
                "mlflow: already logged to experiment `{}` as {} ({} child runs); nothing sent",
                p.experiment,
                url,
                p.children.len()
            );
        } else {
            errln!(
                "mlflow: logged to experiment `{}`: {} ({} child runs)",
                p.experiment,
                url,
                p.children.len()
            );
        }
    }
}
