//! The table of report file formats ([`FORMATS`]): `--output FILE` picks one by FILE's
//! extension, and every list of valid formats is generated from it.

use std::io::{BufWriter, Write};
use std::path::Path;

use crate::analysis::baseline::Comparison;
use crate::store::{ResultSource, RunRecord};

use super::error::ReportError;

/// Every report file format, in the order they are listed to users.
///
/// To add a format, write its file with a `FORMAT`, declare it in `report/mod.rs` and list
/// it here (`docs/design.md`, "Reports read results back from the store"); a `FORMAT` that
/// is not listed is dead code, which the build's `-D warnings` rejects.
pub const FORMATS: &[&ReportFormat] = &[
    &super::json::FORMAT,
    &super::jsonl::FORMAT,
    &super::csv::FORMAT,
    &super::csv::RAW_FORMAT,
    &super::junit::FORMAT,
    &super::markdown::FORMAT,
    &super::html::FORMAT,
];

/// What a report writer is given: the run, its results, and the comparison with its
/// baseline when it was run with one.
#[derive(Clone, Copy)]
pub struct ReportInput<'a> {
    /// The run record.
    pub record: &'a RunRecord,
    /// The run's results, streamed.
    pub results: &'a dyn ResultSource,
    /// The comparison with the baseline run (`comparison.json`), if there was one.
    pub comparison: Option<&'a Comparison>,
}

/// How many times a writer reads the run's results (each read streams them from disk).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ResultReads {
    /// Once.
    Once,
    /// Once, then once per summary row: a JUnit suite's cases are written together, and
    /// results arrive in completion order.
    OncePerRowAndOne,
    /// Twice: once for the selection numbers, once for the cells.
    Twice,
}

impl ResultReads {
    /// The number of reads for `record`.
    pub fn count(self, record: &RunRecord) -> usize {
        match self {
            ResultReads::Once => 1,
            ResultReads::OncePerRowAndOne => 1 + record.summary.len(),
            ResultReads::Twice => 2,
        }
    }
}

/// One report file format: its names, its writer and its traits.
pub struct ReportFormat {
    /// The format's name, as used in messages (`json`, `junit`, …).
    pub name: &'static str,
    /// The file extensions (lowercase, without dot) that select it; the first is canonical.
    pub extensions: &'static [&'static str],
    /// What the format is, when its extension does not say it (`JUnit` for `.xml`).
    pub title: Option<&'static str>,
    /// Writes the report. [`ReportFormat::write`] buffers `w` first.
    pub writer: fn(&ReportInput<'_>, &mut dyn Write) -> Result<(), ReportError>,
    /// Shows the comparison with the baseline run when there is one.
    pub uses_comparison: bool,
    /// Appended to the file named by `$GITHUB_STEP_SUMMARY`, which GitHub Actions shows
    /// on the run's page.
    pub step_summary: bool,
    /// How often it reads the results.
    pub reads: ResultReads,
}

impl std::fmt::Debug for ReportFormat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("ReportFormat").field(&self.name).finish()
    }
}

impl PartialEq for ReportFormat {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name
    }
}

impl ReportFormat {
    /// Picks the format from a file's extension (any case); the longest extension that
    /// matches wins, so `run.raw.csv` is `csv-raw` and `run.csv` is `csv`.
    pub fn from_path(path: &Path) -> Result<&'static ReportFormat, ReportError> {
        let extension = path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase);
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .map(str::to_ascii_lowercase)
            .unwrap_or_default();
        let format = FORMATS
            .iter()
            .flat_map(|f| f.extensions.iter().map(move |ext| (*f, *ext)))
            .filter(|(_, ext)| {
                name.strip_suffix(ext)
                    .is_some_and(|stem| stem.len() > 1 && stem.ends_with('.'))
            })
            .max_by_key(|(_, ext)| ext.len())
            .map(|(f, _)| f);
        format.ok_or_else(|| ReportError::UnknownFormat {
            path: path.to_path_buf(),
            extension,
        })
    }

    /// Writes the report of `input` to `w`, buffered here, so `w` may be an unbuffered
    /// file.
    pub fn write(&self, input: &ReportInput<'_>, w: &mut dyn Write) -> Result<(), ReportError> {
        let mut buffered = BufWriter::new(w);
        (self.writer)(input, &mut buffered)?;
        buffered.flush().map_err(|source| ReportError::Write {
            format: self.name,
            source,
        })
    }

    /// `.xml (JUnit)`: the canonical extension, with the title when there is one.
    fn choice(&self) -> String {
        let ext = self.extensions[0];
        match self.title {
            Some(title) => format!(".{ext} ({title})"),
            None => format!(".{ext}"),
        }
    }
}

/// The valid formats as listed to users: `.json, .csv, .xml (JUnit), …`.
pub fn choices() -> String {
    let choices: Vec<String> = FORMATS.iter().map(|f| f.choice()).collect();
    choices.join(", ")
}

/// The help of an `--output` flag: `{lead}: .json, .csv, … or .html (…). Repeatable.`
pub fn output_help(lead: &str) -> String {
    let choices: Vec<String> = FORMATS.iter().map(|f| f.choice()).collect();
    let (last, rest) = choices.split_last().expect("at least one format");
    format!("{lead}: {} or {last}. Repeatable.", rest.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnostic::Diagnostic;
    use crate::report::fixture;

    fn format_of(path: &str) -> &'static str {
        ReportFormat::from_path(Path::new(path)).unwrap().name
    }

    #[test]
    fn format_from_extension() {
        assert_eq!(format_of("run.json"), "json");
        assert_eq!(format_of("a/b.CSV"), "csv");
        assert_eq!(format_of("junit.xml"), "junit");
        assert_eq!(format_of("pr.md"), "markdown");
        assert_eq!(format_of("pr.markdown"), "markdown");
        assert_eq!(format_of("out/report.HTML"), "html");
        assert_eq!(format_of("report.htm"), "html");
        assert_eq!(format_of("out/run.raw.csv"), "csv-raw");
        assert_eq!(format_of("RUN.RAW.CSV"), "csv-raw");
        assert_eq!(format_of("raw.csv"), "csv");
        assert_eq!(format_of("draw.csv"), "csv");
    }

    #[test]
    fn the_choices_are_those_users_saw_before_plus_html_and_raw_csv() {
        assert_eq!(
            choices(),
            ".json, .jsonl, .csv, .raw.csv (CSV without formula escaping), .xml (JUnit), .md (Markdown), .html (model selection)"
        );
        assert_eq!(
            output_help("Write a report"),
            "Write a report: .json, .jsonl, .csv, .raw.csv (CSV without formula escaping), .xml (JUnit), .md (Markdown) or .html (model selection). Repeatable."
        );
    }

    #[test]
    fn unknown_extension_lists_the_valid_ones() {
        let err = ReportFormat::from_path(Path::new("out/run.pdf")).unwrap_err();
        assert_eq!(
            err.to_string(),
            "unknown report format `.pdf` for `out/run.pdf`. Choose from: .json, .jsonl, .csv, .raw.csv (CSV without formula escaping), .xml (JUnit), .md (Markdown), .html (model selection)"
        );
        assert!(err.hint().unwrap().contains("run.json"));
        let err = ReportFormat::from_path(Path::new("report")).unwrap_err();
        assert!(err
            .to_string()
            .starts_with("report file `report` has no extension"));
    }

    #[test]
    fn names_and_extensions_are_unique() {
        let mut names: Vec<&str> = FORMATS.iter().map(|f| f.name).collect();
        let mut extensions: Vec<&str> =
            FORMATS.iter().flat_map(|f| f.extensions).copied().collect();
        let (n, e) = (names.len(), extensions.len());
        names.sort_unstable();
        names.dedup();
        extensions.sort_unstable();
        extensions.dedup();
        assert_eq!((names.len(), extensions.len()), (n, e));
        assert!(extensions.iter().all(|e| *e == e.to_ascii_lowercase()));
        let summaries: Vec<&str> = FORMATS
            .iter()
            .filter(|f| f.step_summary)
            .map(|f| f.name)
            .collect();
        assert_eq!(summaries, ["markdown"]);
    }

    #[test]
    fn every_format_writes_and_reads_the_results_as_often_as_it_says() {
        let (record, cells, comparison) = fixture::compared();
        let source = fixture::Counting::new(cells);
        for compared in [None, Some(&comparison)] {
            let input = ReportInput {
                record: &record,
                results: &source,
                comparison: compared,
            };
            for format in FORMATS.iter().copied() {
                let mut out = Vec::new();
                let reads = source.reads(|| format.write(&input, &mut out).unwrap());
                assert!(!out.is_empty(), "{format:?} wrote nothing");
                assert_eq!(reads, format.reads.count(&record), "{format:?}");
            }
        }
    }

    #[test]
    fn formats_that_use_the_comparison_show_it() {
        let (record, cells, comparison) = fixture::compared();
        for format in FORMATS.iter().copied() {
            let write = |comparison| {
                let input = ReportInput {
                    record: &record,
                    results: &cells,
                    comparison,
                };
                let mut out = Vec::new();
                format.write(&input, &mut out).unwrap();
                out
            };
            let changed = write(None) != write(Some(&comparison));
            assert_eq!(changed, format.uses_comparison, "{format:?}");
        }
    }
}
