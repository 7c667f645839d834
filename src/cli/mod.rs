//! The command line: parses arguments, resolves settings, calls the library, prints, and
//! maps outcomes to exit codes. Each subcommand is one thin function in `commands/`.

#[macro_use]
mod output;

mod args;
mod commands;
mod diagnostics;
mod entry;
mod progress;
mod unknown_flag;

pub use args::Cli;
pub use diagnostics::Exit;
pub use entry::main;
pub(crate) use entry::Context;
