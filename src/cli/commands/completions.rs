//! `prompteval completions SHELL`.

use clap::CommandFactory;

use crate::cli::diagnostics::Exit;
use crate::cli::Cli;

/// Prints the completion script for `shell`.
pub(crate) fn completions(shell: clap_complete::Shell) -> Exit {
    let mut cmd = Cli::command();
    clap_complete::generate(
        shell,
        &mut cmd,
        "prompteval",
        &mut crate::cli::output::stdout(),
    );
    Exit::Success
}
