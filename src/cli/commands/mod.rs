//! One small function per subcommand, re-exported for the dispatcher.

mod cache;
mod cell;
mod completions;
mod diff;
mod failing_cell;
mod init;
mod load;
mod mlflow;
mod prompt;
mod report;
mod rescore;
mod run;
mod runs;
mod show;
mod validate;
mod watch;
mod watch_files;
mod watch_quit;

pub(crate) use cache::cache;
pub(crate) use completions::completions;
pub(crate) use init::init;
pub(crate) use prompt::prompt;
pub(crate) use report::report;
pub(crate) use rescore::rescore;
pub(crate) use run::run;
pub(crate) use runs::runs;
pub(crate) use validate::validate;
pub(crate) use watch::watch;

use super::Context;
use load::load;
