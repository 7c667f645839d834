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
            Exit::Success
        }
        Err(e) => diagnostics::report(&e),
    }
}
