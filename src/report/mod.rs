//! Reports: terminal tables, JSON, CSV, JUnit XML, Markdown and the HTML model-selection
//! report — each written to `&mut dyn Write` so tests can snapshot them.
//!
//! Every report that needs the per-cell results streams them from a
//! [`ResultSource`](crate::store::ResultSource), so a run of tens of thousands of cells is
//! never held in memory.

mod across_repeats;
mod common;
mod comparison;
mod csv;
mod error;
pub mod format;
mod html;
mod json;
mod junit;
mod markdown;
mod matrix;
mod run_diff;
mod selection_table;
mod table;

#[cfg(test)]
pub(crate) mod fixture;

use std::io::{BufWriter, Write};
use std::path::Path;

use crate::store::{ResultSource, RunRecord};

pub use self::csv::{write_csv, CSV_COLUMNS};
pub use across_repeats::write_repeats;
pub use comparison::{write_comparison, ComparisonOptions};
pub use error::ReportError;
pub use html::{write_html, CaseFlip, FlipDirection, HtmlOptions, HTML_DATA_VERSION};
pub use json::write_json;
pub use junit::write_junit;
pub use markdown::{write_markdown, MarkdownOptions};
pub use matrix::{write_matrix, MatrixOptions};
pub use run_diff::{write_diff, DiffOptions};
pub use selection_table::{write_selection, SelectionOptions};
pub use table::{write_summary, write_verdict, TableOptions};

/// A file report format, chosen by the output file's extension.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// `.json`: the run record with every result.
    Json,
    /// `.csv`: one row per cell.
    Csv,
    /// `.xml`: JUnit XML for CI test reporters.
    Junit,
    /// `.md`: a summary for a pull request.
    Markdown,
}

impl Format {
    /// Every format, in the order they are listed to users.
    pub const ALL: [Format; 4] = [Format::Json, Format::Csv, Format::Junit, Format::Markdown];

    /// Picks the format from a file's extension (`.json`, `.csv`, `.xml`, `.md`; any case).
    pub fn from_path(path: &Path) -> Result<Format, ReportError> {
        let extension = path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase);
        let format = extension.as_deref().and_then(|ext| {
            Format::ALL
                .into_iter()
                .find(|f| f.extensions().contains(&ext))
        });
        format.ok_or_else(|| ReportError::UnknownFormat {
            path: path.to_path_buf(),
            extension,
        })
    }

    /// The format's name, as used in messages (`json`, `csv`, `junit`, `markdown`).
    pub fn name(self) -> &'static str {
        match self {
            Format::Json => "json",
            Format::Csv => "csv",
            Format::Junit => "junit",
            Format::Markdown => "markdown",
        }
    }

    /// The file extensions (without dot) that select this format; the first is canonical.
    pub fn extensions(self) -> &'static [&'static str] {
        match self {
            Format::Json => &["json"],
            Format::Csv => &["csv"],
            Format::Junit => &["xml"],
            Format::Markdown => &["md", "markdown"],
        }
    }
}

/// Writes `record` and its `results` to `w` in `format`, with default options.
///
/// Output is buffered here, so `w` may be an unbuffered file.
pub fn write(
    format: Format,
    record: &RunRecord,
    results: &dyn ResultSource,
    w: &mut dyn Write,
) -> Result<(), ReportError> {
    let mut buffered = BufWriter::new(w);
    match format {
        Format::Json => write_json(record, results, &mut buffered)?,
        Format::Csv => write_csv(record, results, &mut buffered)?,
        Format::Junit => write_junit(record, results, &mut buffered)?,
        Format::Markdown => {
            write_markdown(record, results, &MarkdownOptions::default(), &mut buffered)?
        }
    }
    buffered.flush().map_err(|source| ReportError::Write {
        format: format.name(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::model_selection::compute_selection;

    #[test]
    fn format_from_extension() {
        assert_eq!(
            Format::from_path(Path::new("run.json")).unwrap(),
            Format::Json
        );
        assert_eq!(
            Format::from_path(Path::new("a/b.CSV")).unwrap(),
            Format::Csv
        );
        assert_eq!(
            Format::from_path(Path::new("junit.xml")).unwrap(),
            Format::Junit
        );
        assert_eq!(
            Format::from_path(Path::new("pr.md")).unwrap(),
            Format::Markdown
        );
    }

    #[test]
    fn unknown_extension_lists_the_valid_ones() {
        let err = Format::from_path(Path::new("out/run.html")).unwrap_err();
        assert_eq!(
            err.to_string(),
            "unknown report format `.html` for `out/run.html`. Choose from: .json, .csv, .xml (JUnit), .md (Markdown)"
        );
        assert!(err.hint().unwrap().contains("run.json"));
        let err = Format::from_path(Path::new("report")).unwrap_err();
        assert!(err
            .to_string()
            .starts_with("report file `report` has no extension"));
    }

    /// Counts how often the results are read, to check that reports stream them.
    struct Counting {
        cells: Vec<crate::run::events::CellResult>,
        reads: std::cell::Cell<usize>,
    }

    impl ResultSource for Counting {
        fn results(
            &self,
        ) -> std::io::Result<
            Box<dyn Iterator<Item = std::io::Result<crate::run::events::CellResult>> + '_>,
        > {
            self.reads.set(self.reads.get() + 1);
            self.cells.results()
        }
    }

    #[test]
    fn reports_read_the_results_a_bounded_number_of_times() {
        let (record, cells) = fixture::small();
        let source = Counting {
            cells,
            reads: Default::default(),
        };
        let reads = |f: &dyn Fn(&mut Vec<u8>)| {
            source.reads.set(0);
            f(&mut Vec::new());
            source.reads.get()
        };
        let opts = MatrixOptions::default();
        assert_eq!(
            reads(&|w| write_matrix(&record, &source, &opts, w).unwrap()),
            2
        );
        // One pass to count each suite, then one per suite (5 summary rows).
        assert_eq!(reads(&|w| write_junit(&record, &source, w).unwrap()), 6);
        for format in [Format::Json, Format::Csv, Format::Markdown] {
            assert_eq!(reads(&|w| write(format, &record, &source, w).unwrap()), 1);
        }
        let table = TableOptions::default();
        assert_eq!(reads(&|w| write_summary(&record, &table, w).unwrap()), 0);
        // The selection report: one pass for the numbers, one for the HTML drill-down.
        assert_eq!(
            reads(&|_| drop(compute_selection(&record, &source).unwrap())),
            1
        );
        let selection = compute_selection(&record, &source).unwrap();
        let html = HtmlOptions::default();
        assert_eq!(
            reads(&|w| write_html(&record, &selection, &source, &html, w).unwrap()),
            1
        );
    }

    #[test]
    fn write_dispatches_and_flushes() {
        let (record, results) = fixture::small();
        for format in Format::ALL {
            let mut out = Vec::new();
            write(format, &record, &results, &mut out).unwrap();
            assert!(!out.is_empty(), "{format:?} wrote nothing");
        }
    }
}
