//! The entry point: global settings (colour, width, project) resolved once, then the
//! subcommand.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{CommandFactory, Parser};

use super::args::{Cli, ColorChoice, Command};
use super::commands;

/// What every command gets: resolved global settings.
pub(crate) struct Context {
    /// Where to look for the project.
    pub start: PathBuf,
    /// Whether stdout gets colours.
    pub color: bool,
    /// Width for tables.
    pub width: u16,
    /// `-q`: only results and errors on stderr.
    pub quiet: bool,
    /// `-v`: more on stderr (every retry).
    pub verbose: bool,
}

/// Runs the command line and returns the exit status.
pub fn main() -> ExitCode {
    let cli = parse();
    let stdout = console::Term::stdout();
    let color = match cli.color {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()) && stdout.is_term()
        }
    };
    console::set_colors_enabled(color);
    console::set_colors_enabled_stderr(
        cli.color == ColorChoice::Always
            || (cli.color == ColorChoice::Auto
                && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
                && console::Term::stderr().is_term()),
    );
    let width = table_width(&stdout);
    let ctx = Context {
        start: cli.project.clone().unwrap_or_else(|| PathBuf::from(".")),
        color,
        width,
        quiet: cli.quiet,
        verbose: cli.verbose,
    };
    let exit = match cli.command {
        Command::Run(args) => commands::run(&ctx, *args),
        Command::Rescore(args) => commands::rescore(&ctx, args),
        Command::Watch(args) => commands::watch(&ctx, args),
        Command::Validate(args) => commands::validate(&ctx, args),
        Command::Prompt(cmd) => commands::prompt(&ctx, cmd),
        Command::Runs(cmd) => commands::runs(&ctx, cmd),
        Command::Report(args) => commands::report(&ctx, args),
        Command::Cache(cmd) => commands::cache(&ctx, cmd),
        Command::Init { dir } => commands::init(&dir),
        Command::Completions { shell } => commands::completions(shell),
    };
    match super::output::take_failure() {
        Some(e) => super::diagnostics::stdout_failure(&e).into(),
        None => exit.into(),
    }
}

/// The command line, or clap's error (with its suggestion checked) and exit.
fn parse() -> Cli {
    let argv: Vec<std::ffi::OsString> = std::env::args_os().collect();
    match Cli::try_parse_from(&argv) {
        Ok(cli) => cli,
        Err(e) => {
            let words: Vec<String> = argv
                .iter()
                .skip(1)
                .map(|w| w.to_string_lossy().into_owned())
                .collect();
            super::unknown_flag::revise(e, Cli::command(), &words).exit()
        }
    }
}

/// The width tables fit in: the terminal's, else `COLUMNS` (a pipe, a pager, CI), else 120.
fn table_width(stdout: &console::Term) -> u16 {
    let columns = std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.trim().parse::<u16>().ok());
    let width = match (stdout.is_term(), columns) {
        (true, _) => stdout.size().1,
        (false, Some(c)) if c > 0 => c,
        _ => 120,
    };
    width.max(40)
}
