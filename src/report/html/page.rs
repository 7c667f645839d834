//! The HTML report's page: one self-contained file (inline CSS, JavaScript and SVG, nothing
//! fetched from the network) with the summary, the plots and the case drill-down.

use std::fmt::Write as _;
use std::io::Write;

use crate::analysis::model_selection::{compute_selection, ModelSelection};
use crate::store::{ResultSource, RunRecord};

use crate::report::error::{named, Failure};
use crate::report::registry::{ReportFormat, ReportInput, ResultReads};
use crate::report::ReportError;

use super::data::{embedded_data, HtmlOptions};
use super::escape::{escape, ScriptJson};
use super::plots::plots_section;
use super::summary::summary_section;

/// The `.html` format: the model-selection page, with the flips against the baseline.
pub(crate) const FORMAT: ReportFormat = ReportFormat {
    name: "html",
    extensions: &["html", "htm"],
    title: Some("model selection"),
    writer: write_for_run,
    uses_comparison: true,
    step_summary: false,
    reads: ResultReads::Twice,
};

const CSS: &str = include_str!("report.css");
const JS: &str = include_str!("report.js");

/// Writes the HTML report of `record`, whose selection numbers are `selection` (from
/// [`compute_selection`](crate::analysis::model_selection::compute_selection)), reading
/// the results once.
///
/// The summary table and the scatter plots are drawn here, so the page reads without
/// JavaScript; the script (`report.js`, no dependencies) adds sorting, the case drill-down
/// and the filters, from the data embedded as JSON in
/// `<script type="application/json" id="report-data">`.
pub fn write_html(
    record: &RunRecord,
    selection: &ModelSelection,
    results: &dyn ResultSource,
    opts: &HtmlOptions,
    w: &mut dyn Write,
) -> Result<(), ReportError> {
    named("html", || {
        let data = embedded_data(record, selection, results, opts)?;
        let mut page = String::with_capacity(64 * 1024);
        head(&mut page, record);
        summary_section(&mut page, selection);
        plots_section(&mut page, record, selection);
        cases_section(&mut page);
        page.push_str("<script type=\"application/json\" id=\"report-data\">");
        w.write_all(page.as_bytes()).map_err(Failure::Write)?;
        // Streamed: the page never holds the data as text (megabytes for a large run).
        serde_json::to_writer(ScriptJson(&mut *w), &data).map_err(|e| Failure::Write(e.into()))?;
        write!(w, "</script>\n<script>\n{JS}</script>\n</body>\n</html>\n").map_err(Failure::Write)
    })
}

/// The page of a run with the default options: what `prompteval report RUN --html FILE`
/// writes too.
fn write_for_run(input: &ReportInput<'_>, w: &mut dyn Write) -> Result<(), ReportError> {
    let selection = compute_selection(input.record, input.results).map_err(|source| {
        ReportError::ReadResults {
            format: FORMAT.name,
            source,
        }
    })?;
    let options = HtmlOptions::for_run(input.comparison);
    write_html(input.record, &selection, input.results, &options, w)
}

/// The document's head, with the styles, and the page header naming the run.
fn head(page: &mut String, record: &RunRecord) {
    let title = format!("prompteval · model selection · run {}", record.run_id);
    let _ = write!(
        page,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta name=\"generator\" content=\"prompteval {}\">\n<title>{}</title>\n\
         <style>\n{CSS}</style>\n</head>\n<body>\n",
        escape(&record.prompteval_version),
        escape(&title)
    );
    let commit = record
        .git
        .as_ref()
        .map(|g| {
            format!(
                " · commit <code>{}</code>{}",
                escape(g.commit.get(..12).unwrap_or(&g.commit)),
                if g.dirty { " (dirty)" } else { "" }
            )
        })
        .unwrap_or_default();
    let _ = writeln!(
        page,
        "<header><h1>Model selection</h1><p class=\"meta\">run <code>{}</code> · started {}{commit}</p></header>",
        escape(&record.run_id),
        escape(&record.started_at),
    );
}

/// The case drill-down: filters and an empty table that the script fills.
fn cases_section(page: &mut String) {
    page.push_str(
        "<section id=\"cases\"><h2>Cases</h2>\n\
         <div class=\"filters\">\
         <label><input type=\"checkbox\" id=\"filter-failures\"> failures only</label>\
         <label id=\"filter-flips-label\" hidden><input type=\"checkbox\" id=\"filter-flips\"> flips only</label>\
         <label>combination <select id=\"filter-combination\"><option value=\"\">all</option></select></label>\
         <label>search <input type=\"search\" id=\"filter-text\" placeholder=\"case id, output, reason\"></label>\
         <span id=\"case-count\" class=\"note\"></span></div>\n\
         <p id=\"cases-note\" class=\"note\" hidden></p>\n\
         <table id=\"cases-table\"><thead><tr><th>status</th><th>eval</th><th>case</th><th>prompt</th><th>model</th><th>score</th><th>latency</th><th>output</th></tr></thead>\
         <tbody></tbody></table>\n\
         <noscript><p class=\"note\">The case drill-down needs JavaScript.</p></noscript></section>\n",
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::fixture;
    use crate::report::html::HTML_DATA_VERSION;
    use crate::run::events::CellResult;
    use serde_json::Value;

    fn render(record: &RunRecord, results: &[CellResult], opts: &HtmlOptions) -> String {
        let selection = compute_selection(record, &results.to_vec()).unwrap();
        let mut out = Vec::new();
        write_html(record, &selection, &results.to_vec(), opts, &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    fn embedded(html: &str) -> Value {
        let start = html.find("id=\"report-data\">").unwrap() + "id=\"report-data\">".len();
        let end = start + html[start..].find("</script>").unwrap();
        serde_json::from_str(&html[start..end]).unwrap()
    }

    #[test]
    fn self_contained_with_the_data_embedded() {
        let (record, results) = fixture::small();
        let html = render(&record, &results, &HtmlOptions::default());
        assert!(html.starts_with("<!DOCTYPE html>"));
        // Nothing is fetched: no external scripts, styles, images or fonts.
        for needle in ["http://", "https://", "src=", "<link", "@import", "url("] {
            assert!(!html.contains(needle), "found {needle}");
        }
        let data = embedded(&html);
        assert_eq!(data["version"], HTML_DATA_VERSION);
        assert_eq!(data["cells"].as_array().unwrap().len(), results.len());
        assert_eq!(data["cells_total"], results.len());
        let sentiment = &data["selection"]["evals"][0];
        assert_eq!(sentiment["candidates"].as_array().unwrap().len(), 4);
        assert_eq!(
            sentiment["heading"],
            "sentiment — Sentiment — zero-shot vs few-shot · datasets/reviews.csv · 4 cases"
        );
        // One point per combination per plot: 5 combinations × 2 plots.
        assert_eq!(html.matches("<circle class=\"pt").count(), 10);
        assert_eq!(html.matches("<tr class=\"cand\"").count(), 5);
        // No flips without a baseline: the field is absent.
        assert!(data["cells"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c.get("flip").is_none()));
        // The reasons of failed assertions are there for the drill-down.
        assert!(html.contains("expected `negative`, got `neutral`"));
    }

    #[test]
    fn outputs_cannot_break_out_of_the_script() {
        let (record, mut results) = fixture::small();
        results[0].output = Some("</script><script>alert(1)</script><!-- & >".into());
        results[0].case_id = "<b>x</b>".into();
        let html = render(&record, &results, &HtmlOptions::default());
        assert_eq!(html.matches("</script>").count(), 2);
        assert!(!html.contains("<b>x</b>"));
        let data = embedded(&html);
        let cells = data["cells"].as_array().unwrap();
        assert!(cells
            .iter()
            .any(|c| c["output"] == "</script><script>alert(1)</script><!-- & >"));
    }

    #[test]
    fn the_numbers_and_the_page_read_the_results_once_each() {
        let (record, cells) = fixture::small();
        let source = fixture::Counting::new(cells);
        let mut selection = None;
        let reads = source.reads(|| selection = compute_selection(&record, &source).ok());
        assert_eq!(reads, 1);
        let selection = selection.unwrap();
        let opts = HtmlOptions::default();
        let mut out = Vec::new();
        let reads =
            source.reads(|| write_html(&record, &selection, &source, &opts, &mut out).unwrap());
        assert_eq!(reads, 1);
    }

    #[test]
    fn large_runs_stay_a_reasonable_size() {
        // With the defaults, 2,000 cells stay well under a megabyte and a half.
        let (record, results) = fixture::big();
        let full = render(&record, &results, &HtmlOptions::default());
        assert!(full.len() < 1_500_000, "{} bytes", full.len());
    }
}
