//! `prompteval init [DIR]`.

use std::path::Path;

use crate::cli::diagnostics::{self, Exit};
use crate::config::scaffold;

/// Creates the example project and says what to do next.
pub(crate) fn init(dir: &Path) -> Exit {
    match scaffold::init(dir) {
        Ok(files) => {
            for f in &files {
                outln!("created {}", f.display());
            }
            let cd = if dir == Path::new(".") {
                String::new()
            } else {
                format!("cd {} && ", dir.display())
            };
            outln!("\nnext: {cd}prompteval run");
            outln!("  (production, greeting@1, fails the language check; the candidate, greeting@2, passes the gate)");
            outln!("then try a version of your own and compare it with production:");
            outln!("  prompteval prompt new greeting --from greeting@candidate   # then edit it");
            outln!("  prompteval prompt alias greeting candidate 3");
            outln!("  prompteval run --baseline latest   # the new candidate vs production, and vs this run");
            outln!(
                "  prompteval prompt alias greeting production 3              # when it is better"
            );
            Exit::Success
        }
        Err(e) => diagnostics::report(&e),
    }
}
