//! An unknown flag: clap's did-you-mean kept only when it is close, and the flags people
//! bring from promptfoo pointed at prompteval's own.

use clap::error::{ContextKind, ContextValue, ErrorKind};
use clap::{builder::StyledStr, Command, Error};

/// promptfoo's `eval` flags that prompteval spells differently, or answers elsewhere: the
/// flag as typed, and the tip that says what to use instead.
const PROMPTFOO: &[(&str, &str)] = &[
    (
        "--max-concurrency",
        "`-j, --jobs N` sets the cells in flight",
    ),
    (
        "--providers",
        "`--model NAME` picks the models (repeat it for several)",
    ),
    (
        "-r",
        "`--model NAME` picks the models (repeat it for several)",
    ),
    (
        "--prompts",
        "`--prompt REF` picks prompt versions (repeat it for several)",
    ),
    (
        "-p",
        "`--prompt REF` picks prompt versions (repeat it for several)",
    ),
    (
        "--filter",
        "`--case PATTERN` keeps the cases whose id matches",
    ),
    (
        "--filter-pattern",
        "`--case PATTERN` keeps the cases whose id matches",
    ),
    (
        "--filter-first-n",
        "`--limit N` keeps the first N cases of each dataset",
    ),
    (
        "--filter-failing",
        "`--retry-errors [RUN_ID]` runs a stored run's ERROR cells again",
    ),
    ("--no-progress-bar", "`--no-progress` turns progress off"),
    (
        "--table-cell-max-length",
        "the matrix takes the terminal width; `runs show ID --case CASE` prints a cell in full",
    ),
    (
        "--config",
        "name eval files as arguments (`prompteval run evals/x.yaml`); `-C DIR` picks the project",
    ),
    (
        "-c",
        "name eval files as arguments (`prompteval run evals/x.yaml`); `-C DIR` picks the project",
    ),
    (
        "--watch",
        "`prompteval watch` runs again when a file changes",
    ),
    ("-w", "`prompteval watch` runs again when a file changes"),
    (
        "--share",
        "`prompteval report ID --html report.html` writes a page to share",
    ),
    ("--vars", "variables come from the eval's `dataset:` file"),
    ("--tests", "cases come from the eval's `dataset:` file"),
    ("-t", "cases come from the eval's `dataset:` file"),
    (
        "--grader",
        "set `grader: NAME` in the eval file or under `defaults:` in prompteval.yaml",
    ),
    (
        "--no-write",
        "every run is stored; `prompteval cache` and `.prompteval/runs` hold them",
    ),
];

/// The error clap would print, with its suggestion checked: a promptfoo flag gets the
/// prompteval way to say it, a far-fetched "similar argument" (`--share` → `--shard` is
/// kept, `--vars` → `--version` is not) is dropped, and anything else is left as it is.
/// `cli` is the whole command line and `args` the words typed after the program name.
pub(crate) fn revise(err: Error, mut cli: Command, args: &[String]) -> Error {
    if err.kind() != ErrorKind::UnknownArgument {
        return err;
    }
    let Some(ContextValue::String(typed)) = err.get(ContextKind::InvalidArg).cloned() else {
        return err;
    };
    let flag = typed.split('=').next().unwrap_or(&typed);
    // Built, so that each subcommand knows its full name for the usage line.
    cli.build();
    let cli = &cli;
    let cmd = subcommand(cli, args);
    let tip = match PROMPTFOO.iter().find(|(f, _)| *f == flag) {
        Some((_, tip)) => Tip::Text(format!("prompteval has no `{flag}`: {tip}")),
        None => match (err.get(ContextKind::SuggestedArg), closest(flag, cli, cmd)) {
            (Some(_), Some(near)) => Tip::Flag(near),
            (Some(_), None) => Tip::None,
            (None, _) => return err,
        },
    };
    let mut fresh = Error::new(ErrorKind::UnknownArgument).with_cmd(cmd);
    fresh.insert(ContextKind::InvalidArg, ContextValue::String(typed));
    match tip {
        Tip::Flag(near) => {
            fresh.insert(ContextKind::SuggestedArg, ContextValue::String(near));
        }
        Tip::Text(text) => {
            fresh.insert(
                ContextKind::Suggested,
                ContextValue::StyledStrs(vec![StyledStr::from(text)]),
            );
        }
        Tip::None => {}
    }
    // clap's own usage line names the flag it suggested (`Usage: prompteval run --version`).
    let usage = cmd.clone().render_usage();
    fresh.insert(ContextKind::Usage, ContextValue::StyledStr(usage));
    fresh
}

/// What to suggest in place of clap's tip.
enum Tip {
    /// A flag of the command.
    Flag(String),
    /// A sentence.
    Text(String),
    /// Nothing close enough.
    None,
}

/// The (sub)command the words name: `run` for `prompteval -q run --x`.
fn subcommand<'a>(cli: &'a Command, args: &[String]) -> &'a Command {
    let mut cmd = cli;
    for word in args {
        if let Some(sub) = cmd.find_subcommand(word) {
            cmd = sub;
        }
    }
    cmd
}

/// The long flag of `cmd` (or a global one of `cli`) closest to `flag`, when it is close
/// enough. A flag is also known by each long word of it, so `--tabel` finds `--no-table`.
fn closest(flag: &str, cli: &Command, cmd: &Command) -> Option<String> {
    let globals = cli.get_arguments().filter(|a| a.is_global_set());
    let longs: Vec<&str> = cmd
        .get_arguments()
        .chain(globals)
        .flat_map(|a| {
            a.get_long()
                .into_iter()
                .chain(a.get_all_aliases().unwrap_or_default())
        })
        .collect();
    let mut names: Vec<(&str, &str)> = longs.iter().map(|l| (*l, *l)).collect();
    for long in &longs {
        let words = long.split('-').filter(|w| w.len() >= 4 && *w != *long);
        names.extend(words.map(|w| (w, *long)));
    }
    // Compared without their dashes, which every flag shares and which would make any two
    // look alike.
    let bare = flag.trim_start_matches('-');
    let valid: Vec<&str> = names.iter().map(|(name, _)| *name).collect();
    let near = crate::diagnostic::suggest(bare, &valid)?;
    let (_, long) = names.iter().find(|(name, _)| *name == near)?;
    Some(format!("--{long}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    fn error_for(words: &[&str]) -> String {
        let cli = crate::cli::args::Cli::command();
        let mut argv = vec!["prompteval".to_string()];
        argv.extend(words.iter().map(|w| w.to_string()));
        let err = cli
            .clone()
            .try_get_matches_from(&argv)
            .expect_err("unknown flag");
        revise(err, cli, &argv[1..]).to_string()
    }

    #[test]
    fn a_far_fetched_flag_is_not_suggested() {
        // clap offered `--no-matrix` for `--format`, and named it in the usage line.
        let text = error_for(&["runs", "show", "x", "--format"]);
        assert!(
            text.contains("unexpected argument '--format' found"),
            "{text}"
        );
        assert!(!text.contains("tip:"), "{text}");
        assert!(
            text.contains("Usage: prompteval runs show [OPTIONS]"),
            "{text}"
        );
    }

    #[test]
    fn a_promptfoo_flag_names_the_prompteval_one() {
        let text = error_for(&["run", "--max-concurrency", "4"]);
        assert!(text.contains("`-j, --jobs N`"), "{text}");
        assert!(text.contains("Usage: prompteval run"), "{text}");
        let text = error_for(&["run", "--providers=openai:gpt-4o"]);
        assert!(text.contains("`--model NAME`"), "{text}");
    }

    #[test]
    fn a_close_typo_is_still_suggested() {
        let text = error_for(&["-q", "run", "--verbse"]);
        assert!(
            text.contains("a similar argument exists: '--verbose'"),
            "{text}"
        );
        let text = error_for(&["run", "--tabel"]);
        assert!(
            text.contains("a similar argument exists: '--no-table'"),
            "{text}"
        );
    }
}
