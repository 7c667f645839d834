//! The self-contained HTML model-selection report (`prompteval report RUN --html FILE`):
//! one file with inline CSS, JavaScript and SVG — nothing is fetched from the network.
//!
//! The summary table and the scatter plots are drawn here, so the page reads without
//! JavaScript; the script (`html/report.js`, no dependencies) adds sorting, the case
//! drill-down and the filters. The data it needs is embedded as JSON in a
//! `<script type="application/json" id="report-data">` element, with every `<` escaped
//! so no output can close the element early.
//!
//! Large runs stay a reasonable size: at most [`HtmlOptions::max_cells`] cells are
//! embedded (failures, errors and flips first), and each output is cut to
//! [`HtmlOptions::max_output_chars`] characters with a note of its full length.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::io::Write;

use serde::Serialize;
use serde_json::{Map, Value};

use crate::run::events::{CellResult, CellStatus};
use crate::store::{ResultSource, RunRecord};

use super::common::{self, Columns};
use super::error::{named, Failure};
use super::format;
use super::selection::{Candidate, Interval, Selection};
use super::selection_table::front_marks;
use super::ReportError;

/// The version of the embedded data's shape; bumped on incompatible changes.
pub const HTML_DATA_VERSION: u32 = 1;

const CSS: &str = include_str!("html/report.css");
const JS: &str = include_str!("html/report.js");

/// How a case changed against a baseline run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FlipDirection {
    /// Passed in the baseline, fails now.
    PassToFail,
    /// Failed in the baseline, passes now.
    FailToPass,
}

/// One flipped cell, as found by a baseline comparison.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CaseFlip {
    /// The eval.
    pub eval: String,
    /// The prompt reference.
    pub prompt: String,
    /// The model.
    pub model: String,
    /// The case id.
    pub case_id: String,
    /// The repeat index.
    pub repeat: u32,
    /// How it changed.
    pub flip: FlipDirection,
}

/// What goes into the HTML report.
#[derive(Clone, Debug)]
pub struct HtmlOptions {
    /// The most cells embedded for the drill-down; failures, errors and flips first.
    pub max_cells: usize,
    /// Outputs, errors and variable values longer than this many characters are cut.
    pub max_output_chars: usize,
    /// Cells that flipped against a baseline; empty when the run was not compared. The
    /// "flips only" filter shows only when there are some.
    pub flips: Vec<CaseFlip>,
}

impl Default for HtmlOptions {
    fn default() -> Self {
        HtmlOptions {
            max_cells: 5000,
            max_output_chars: 2000,
            flips: Vec::new(),
        }
    }
}

/// The embedded data (`#report-data`).
#[derive(Serialize)]
struct Data<'a> {
    version: u32,
    run_id: &'a str,
    started_at: &'a str,
    selection: &'a Selection,
    cells: Vec<CellData>,
    cells_total: u64,
    max_output_chars: usize,
}

/// One cell for the drill-down.
#[derive(Serialize)]
struct CellData {
    eval: String,
    prompt: String,
    model: String,
    case_id: String,
    repeat: u32,
    status: &'static str,
    score: f64,
    latency_ms: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    output: Option<String>,
    /// The full length of the output in characters, when it was cut.
    #[serde(skip_serializing_if = "Option::is_none")]
    output_chars: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
    vars: Map<String, Value>,
    assertions: Vec<AssertionData>,
    #[serde(skip_serializing_if = "Option::is_none")]
    flip: Option<FlipDirection>,
}

#[derive(Serialize)]
struct AssertionData {
    #[serde(rename = "type")]
    kind: String,
    pass: bool,
    score: f64,
    reason: String,
}

/// Writes the HTML report of `record`, whose selection numbers are `selection` (from
/// [`compute_selection`](super::compute_selection)), reading the results once.
pub fn write_html(
    record: &RunRecord,
    selection: &Selection,
    results: &dyn ResultSource,
    opts: &HtmlOptions,
    w: &mut dyn Write,
) -> Result<(), ReportError> {
    named("html", || {
        let (cells, cells_total) = collect_cells(record, results, opts)?;
        let data = Data {
            version: HTML_DATA_VERSION,
            run_id: &record.run_id,
            started_at: &record.started_at,
            selection,
            cells,
            cells_total,
            max_output_chars: opts.max_output_chars,
        };
        let json = serde_json::to_string(&data).map_err(|e| Failure::Write(e.into()))?;
        let title = format!("prompteval · model selection · run {}", record.run_id);
        let mut page = String::with_capacity(json.len() + 64 * 1024);
        let _ = write!(
            page,
            "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
             <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
             <meta name=\"generator\" content=\"prompteval {}\">\n<title>{}</title>\n\
             <style>\n{CSS}</style>\n</head>\n<body>\n",
            escape(&record.prompteval_version),
            escape(&title)
        );
        let _ = writeln!(
            page,
            "<header><h1>Model selection</h1><p class=\"meta\">run <code>{}</code> · started {}{}</p></header>",
            escape(&record.run_id),
            escape(&record.started_at),
            record
                .git
                .as_ref()
                .map(|g| format!(
                    " · commit <code>{}</code>{}",
                    escape(g.commit.get(..12).unwrap_or(&g.commit)),
                    if g.dirty { " (dirty)" } else { "" }
                ))
                .unwrap_or_default()
        );
        summary_section(&mut page, selection);
        plots_section(&mut page, selection);
        cases_section(&mut page);
        let _ = write!(
            page,
            "<script type=\"application/json\" id=\"report-data\">{}</script>\n<script>\n{JS}</script>\n</body>\n</html>\n",
            escape_json_for_script(&json)
        );
        w.write_all(page.as_bytes())?;
        Ok(())
    })
}

/// Picks the cells to embed: every failure, error and flip first (up to the cap), then
/// passes, in eval, column and natural case order.
fn collect_cells(
    record: &RunRecord,
    results: &dyn ResultSource,
    opts: &HtmlOptions,
) -> Result<(Vec<CellData>, u64), Failure> {
    let groups = common::eval_groups(record);
    let columns = Columns::new(&groups);
    let flips: HashMap<(&str, &str, &str, &str, u32), FlipDirection> = opts
        .flips
        .iter()
        .map(|f| {
            (
                (
                    f.eval.as_str(),
                    f.prompt.as_str(),
                    f.model.as_str(),
                    f.case_id.as_str(),
                    f.repeat,
                ),
                f.flip,
            )
        })
        .collect();
    let mut notable = Vec::new();
    let mut passing = Vec::new();
    let mut total = 0u64;
    for cell in results.results().map_err(Failure::Read)? {
        let cell = common::read(cell)?;
        total += 1;
        let flip = flips
            .get(&(
                cell.eval.as_str(),
                cell.prompt.as_str(),
                cell.model.as_str(),
                cell.case_id.as_str(),
                cell.repeat,
            ))
            .copied();
        let position = columns.find(&cell).unwrap_or((usize::MAX, usize::MAX));
        let keep = if cell.status() != CellStatus::Pass || flip.is_some() {
            &mut notable
        } else {
            &mut passing
        };
        if keep.len() < opts.max_cells {
            keep.push((position, cell_data(cell, flip, opts.max_output_chars)));
        }
    }
    let room = opts.max_cells.saturating_sub(notable.len());
    notable.extend(passing.into_iter().take(room));
    notable.sort_by(|(a, x), (b, y)| {
        a.cmp(b)
            .then_with(|| format::natural_cmp(&x.case_id, &y.case_id))
            .then_with(|| x.repeat.cmp(&y.repeat))
    });
    Ok((notable.into_iter().map(|(_, c)| c).collect(), total))
}

fn cell_data(cell: CellResult, flip: Option<FlipDirection>, max_chars: usize) -> CellData {
    let status = match cell.status() {
        CellStatus::Pass => "pass",
        CellStatus::Fail => "fail",
        CellStatus::Error => "error",
    };
    let output_chars = cell
        .output
        .as_deref()
        .map(|o| o.chars().count())
        .filter(|n| *n > max_chars);
    let vars = cell
        .vars
        .iter()
        .map(|(k, v)| {
            let v = match v {
                Value::String(s) => Value::String(clip(s, max_chars)),
                other => {
                    let text = other.to_string();
                    if text.chars().count() > max_chars {
                        Value::String(clip(&text, max_chars))
                    } else {
                        other.clone()
                    }
                }
            };
            (k.clone(), v)
        })
        .collect();
    CellData {
        status,
        score: if cell.score.is_finite() {
            cell.score
        } else {
            0.0
        },
        latency_ms: if cell.latency_ms.is_finite() {
            cell.latency_ms
        } else {
            0.0
        },
        output: cell.output.as_deref().map(|o| clip(o, max_chars)),
        output_chars,
        error: cell.error.as_deref().map(|e| clip(e, max_chars)),
        vars,
        assertions: cell
            .assertions
            .into_iter()
            .map(|a| AssertionData {
                kind: a.kind,
                pass: a.pass,
                score: if a.score.is_finite() { a.score } else { 0.0 },
                reason: clip(&a.reason, max_chars),
            })
            .collect(),
        flip,
        eval: cell.eval,
        prompt: cell.prompt,
        model: cell.model,
        case_id: cell.case_id,
        repeat: cell.repeat,
    }
}

/// `text` cut to `max` characters, ending with `…` when cut.
fn clip(text: &str, max: usize) -> String {
    format::truncate(text, max.max(1))
}

fn summary_section(page: &mut String, selection: &Selection) {
    page.push_str(
        "<section id=\"summary\"><h2>Quality, latency and cost</h2>\n\
         <p class=\"note\">Click a column to sort; double-click a row to see its cases. Pass rate: passed / scored cases with its 95% Wilson interval; \
         score: mean with its 95% t interval; tokens: mean per case; cost per 1,000 cases from the configured prices \
         (<em>unknown</em> when a price is not configured). ◆ marks the Pareto front of pass rate vs cost or vs p50 latency \
         within an eval: nothing else is as good on both and better on one.</p>\n\
         <table class=\"sortable\" id=\"summary-table\"><thead><tr>",
    );
    let headers: [(&str, &str); 13] = [
        ("eval", "text"),
        ("prompt", "text"),
        ("model", "text"),
        ("cases", "num"),
        ("errors", "num"),
        ("pass rate", "num"),
        ("score", "num"),
        ("p50", "num"),
        ("p95", "num"),
        ("tokens in", "num"),
        ("tokens out", "num"),
        ("cost / 1k cases", "num"),
        ("front", "text"),
    ];
    for (i, (name, kind)) in headers.iter().enumerate() {
        let _ = write!(
            page,
            "<th data-col=\"{i}\" data-type=\"{kind}\" tabindex=\"0\" aria-sort=\"none\">{}</th>",
            escape(name)
        );
    }
    page.push_str("</tr></thead>\n<tbody>\n");
    for eval in &selection.evals {
        for c in &eval.candidates {
            summary_row(page, c);
        }
    }
    page.push_str("</tbody></table></section>\n");
}

fn summary_row(page: &mut String, c: &Candidate) {
    let num = |v: Option<f64>, shown: String| match v {
        Some(v) if v.is_finite() => format!("<td data-v=\"{v}\">{}</td>", escape(&shown)),
        _ => format!("<td data-v=\"\">{}</td>", escape(&shown)),
    };
    let ci = |i: Option<Interval>, show: &dyn Fn(f64) -> String| {
        i.map(|i| {
            format!(
                " <span class=\"ci\">{}–{}</span>",
                escape(&show(i.low)),
                escape(&show(i.high))
            )
        })
        .unwrap_or_default()
    };
    let _ = write!(
        page,
        "<tr class=\"cand\" data-eval=\"{}\" data-prompt=\"{}\" data-model=\"{}\"><td>{}</td><td>{}</td><td>{}</td>",
        escape(&c.eval),
        escape(&c.prompt),
        escape(&c.model),
        escape(&c.eval),
        escape(&c.prompt),
        escape(&c.model)
    );
    page.push_str(&num(Some(c.cases as f64), format::thousands(c.cases)));
    page.push_str(&num(Some(c.errors as f64), format::thousands(c.errors)));
    let _ = write!(
        page,
        "<td data-v=\"{}\">{}{}</td>",
        c.pass_rate.map(|v| v.to_string()).unwrap_or_default(),
        escape(&format::percent_opt(c.pass_rate)),
        ci(c.pass_rate_ci, &format::percent)
    );
    let _ = write!(
        page,
        "<td data-v=\"{}\">{}{}</td>",
        c.score_mean.map(|v| v.to_string()).unwrap_or_default(),
        escape(&format::score(c.score_mean)),
        ci(c.score_ci, &|v| format!("{v:.2}"))
    );
    page.push_str(&num(
        c.latency_ms_p50,
        format::duration_ms_opt(c.latency_ms_p50),
    ));
    page.push_str(&num(
        c.latency_ms_p95,
        format::duration_ms_opt(c.latency_ms_p95),
    ));
    let tokens = |m: Option<f64>| m.map_or(format::UNKNOWN.to_string(), |m| format!("{m:.0}"));
    page.push_str(&num(c.tokens_in_mean, tokens(c.tokens_in_mean)));
    page.push_str(&num(c.tokens_out_mean, tokens(c.tokens_out_mean)));
    let cost = match c.cost_per_1k_usd {
        Some(v) => format::cost(Some(v)),
        None if c.pass_rate.is_some() => "unknown".to_string(),
        None => format::UNKNOWN.to_string(),
    };
    page.push_str(&num(c.cost_per_1k_usd, cost));
    let _ = writeln!(
        page,
        "<td class=\"front\">{}</td></tr>",
        escape(&front_marks(c))
    );
}

fn plots_section(page: &mut String, selection: &Selection) {
    page.push_str("<section id=\"plots\"><h2>Pareto fronts</h2>\n<p class=\"note\">Up is better, left is better. Filled points are on the front, joined by its line; hollow points at the right edge have an unknown cost or latency.</p>\n");
    for eval in &selection.evals {
        if eval.candidates.is_empty() {
            continue;
        }
        let _ = writeln!(
            page,
            "<h3>{}</h3>\n<div class=\"plots\">",
            escape(&eval.heading)
        );
        let points = |x: &dyn Fn(&Candidate) -> Option<f64>,
                      front: &dyn Fn(&Candidate) -> Option<bool>| {
            eval.candidates
                .iter()
                .map(|c| Point {
                    label: format!("{} × {}", c.prompt, c.model),
                    quality: c.pass_rate,
                    x: x(c),
                    front: front(c) == Some(true),
                })
                .collect::<Vec<_>>()
        };
        page.push_str(&scatter(
            "cost",
            "cost per 1,000 cases",
            &points(&|c| c.cost_per_1k_usd, &|c| c.front_cost),
            &|v| format::cost(Some(v)),
        ));
        page.push_str(&scatter(
            "latency",
            "p50 latency",
            &points(&|c| c.latency_ms_p50, &|c| c.front_latency),
            &format::duration_ms,
        ));
        page.push_str("</div>\n");
    }
    page.push_str("</section>\n");
}

/// One point of a scatter plot.
struct Point {
    label: String,
    quality: Option<f64>,
    x: Option<f64>,
    front: bool,
}

const WIDTH: f64 = 460.0;
const HEIGHT: f64 = 300.0;
const LEFT: f64 = 52.0;
const TOP: f64 = 14.0;
const BOTTOM: f64 = 42.0;
/// The band at the right edge for points with an unknown x.
const UNKNOWN_BAND: f64 = 56.0;

/// An SVG scatter plot of pass rate (y, 0–100%) against `x`, with the Pareto front as a
/// staircase. Every point is drawn — with an unknown x in a band at the right edge, with
/// an unknown pass rate at the bottom of that band — so the plot has one point per
/// combination.
fn scatter(kind: &str, x_label: &str, points: &[Point], show_x: &dyn Fn(f64) -> String) -> String {
    let plot_right = WIDTH - UNKNOWN_BAND - 8.0;
    let plot_bottom = HEIGHT - BOTTOM;
    let max_x = points
        .iter()
        .filter_map(|p| p.x)
        .filter(|x| x.is_finite())
        .fold(0.0_f64, f64::max);
    let span = if max_x > 0.0 { max_x * 1.08 } else { 1.0 };
    let sx = |x: f64| LEFT + (x / span).clamp(0.0, 1.0) * (plot_right - LEFT);
    let sy = |q: f64| plot_bottom - q.clamp(0.0, 1.0) * (plot_bottom - TOP);
    let mut svg = String::new();
    let _ = write!(
        svg,
        "<svg class=\"scatter\" data-plot=\"{kind}\" viewBox=\"0 0 {WIDTH} {HEIGHT}\" width=\"{WIDTH}\" height=\"{HEIGHT}\" role=\"img\" aria-label=\"pass rate vs {}\">",
        escape(x_label)
    );
    for q in [0.0, 0.25, 0.5, 0.75, 1.0] {
        let y = sy(q);
        let _ = write!(
            svg,
            "<line class=\"grid\" x1=\"{LEFT}\" y1=\"{y:.1}\" x2=\"{plot_right}\" y2=\"{y:.1}\"/><text class=\"tick\" x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>",
            LEFT - 6.0,
            y + 4.0,
            format::percent(q)
        );
    }
    for f in [0.0, 0.5, 1.0] {
        let x = LEFT + f * (plot_right - LEFT);
        let value = if max_x > 0.0 {
            show_x(f * span)
        } else if f == 0.0 {
            show_x(0.0)
        } else {
            String::new()
        };
        let _ = write!(
            svg,
            "<line class=\"grid\" x1=\"{x:.1}\" y1=\"{TOP}\" x2=\"{x:.1}\" y2=\"{plot_bottom}\"/><text class=\"tick\" x=\"{x:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>",
            plot_bottom + 14.0,
            escape(&value)
        );
    }
    let band = plot_right + 8.0 + UNKNOWN_BAND / 2.0;
    let _ = write!(
        svg,
        "<line class=\"axis\" x1=\"{LEFT}\" y1=\"{plot_bottom}\" x2=\"{plot_right}\" y2=\"{plot_bottom}\"/><line class=\"axis\" x1=\"{LEFT}\" y1=\"{TOP}\" x2=\"{LEFT}\" y2=\"{plot_bottom}\"/>\
         <text class=\"label\" x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>\
         <text class=\"label\" transform=\"translate(12 {:.1}) rotate(-90)\" text-anchor=\"middle\">pass rate</text>\
         <text class=\"tick\" x=\"{band:.1}\" y=\"{:.1}\" text-anchor=\"middle\">unknown</text>",
        (LEFT + plot_right) / 2.0,
        HEIGHT - 6.0,
        escape(x_label),
        (TOP + plot_bottom) / 2.0,
        plot_bottom + 14.0
    );
    // The front as a staircase through its points, cheapest first.
    let mut front: Vec<(f64, f64)> = points
        .iter()
        .filter(|p| p.front)
        .filter_map(|p| Some((p.x?, p.quality?)))
        .collect();
    front.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.total_cmp(&b.1)));
    if front.len() > 1 {
        let mut d = format!("M{:.1},{:.1}", sx(front[0].0), sy(front[0].1));
        for (x, q) in &front[1..] {
            let _ = write!(d, " H{:.1} V{:.1}", sx(*x), sy(*q));
        }
        let _ = write!(svg, "<path class=\"front-line\" d=\"{d}\"/>");
    }
    let placed: Vec<(f64, f64, &str)> = points
        .iter()
        .map(|p| match (p.x.filter(|x| x.is_finite()), p.quality) {
            (Some(x), Some(q)) => (sx(x), sy(q), if p.front { "pt front" } else { "pt" }),
            (None, Some(q)) => (band, sy(q), "pt unknown"),
            (_, None) => (band, plot_bottom, "pt unknown"),
        })
        .collect();
    // Points that (nearly) coincide share one label, so the names stay readable.
    let near = |a: usize, b: usize| {
        (placed[a].0 - placed[b].0).abs() < 14.0 && (placed[a].1 - placed[b].1).abs() < 10.0
    };
    for (i, p) in points.iter().enumerate() {
        let (cx, cy, class) = placed[i];
        // Labels on the right half read leftwards, so they stay inside the plot.
        let anchor = if cx > (LEFT + plot_right) / 2.0 {
            "end"
        } else {
            "start"
        };
        let what = match (p.x, p.quality) {
            (Some(x), Some(q)) => format!("{}, {}", format::percent(q), show_x(x)),
            (None, Some(q)) => format!("{}, {} unknown", format::percent(q), x_label),
            (_, None) => "nothing scored".to_string(),
        };
        let label = if (0..i).any(|j| near(i, j)) {
            String::new()
        } else {
            let others = (i + 1..points.len()).filter(|&j| near(i, j)).count();
            let mut label = format::truncate(&p.label, 28);
            if others > 0 {
                label.push_str(&format!(" +{others}"));
            }
            label
        };
        let _ = write!(
            svg,
            "<g><circle class=\"{class}\" data-index=\"{i}\" cx=\"{cx:.1}\" cy=\"{cy:.1}\" r=\"5\"><title>{}{}: {}</title></circle><text class=\"pt-label\" x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"{anchor}\">{}</text></g>",
            escape(&p.label),
            if p.front { " (on the front)" } else { "" },
            escape(&what),
            if anchor == "end" { cx - 7.0 } else { cx + 7.0 },
            cy - 6.0,
            escape(&label)
        );
    }
    svg.push_str("</svg>\n");
    svg
}

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

/// Escapes text for HTML content and attribute values.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Makes JSON safe inside a `<script>` element: every `<` becomes `\u003c` (so neither
/// `</script>` nor `<!--` can appear), and `>` and `&` likewise, which JSON reads back
/// unchanged.
fn escape_json_for_script(json: &str) -> String {
    let mut out = String::with_capacity(json.len());
    for c in json.chars() {
        match c {
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::{compute_selection, fixture};

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
        assert_eq!(
            data["selection"]["evals"][0]["candidates"]
                .as_array()
                .unwrap()
                .len(),
            4
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
    fn large_runs_are_capped_failures_first() {
        let (record, results) = fixture::big();
        let opts = HtmlOptions {
            max_cells: 50,
            max_output_chars: 10,
            ..HtmlOptions::default()
        };
        let html = render(&record, &results, &opts);
        let data = embedded(&html);
        let cells = data["cells"].as_array().unwrap();
        assert_eq!(cells.len(), 50);
        assert_eq!(data["cells_total"], 2000);
        // p@1 fails 10 cases, p@2 fails 8 and errors on 4: all 22 are kept.
        let notable = cells.iter().filter(|c| c["status"] != "pass").count();
        assert_eq!(notable, 22);
        // Long values are cut, with the full length noted for outputs.
        let question = cells[0]["vars"]["question"].as_str().unwrap();
        assert_eq!(question.chars().count(), 10);
        assert!(question.ends_with('…'));
        // With the defaults, 2,000 cells stay well under a megabyte and a half.
        let full = render(&record, &results, &HtmlOptions::default());
        assert!(full.len() < 1_500_000, "{} bytes", full.len());
    }

    #[test]
    fn flips_are_marked() {
        let (record, results) = fixture::small();
        let c = &results[1];
        let opts = HtmlOptions {
            flips: vec![CaseFlip {
                eval: c.eval.clone(),
                prompt: c.prompt.clone(),
                model: c.model.clone(),
                case_id: c.case_id.clone(),
                repeat: c.repeat,
                flip: FlipDirection::FailToPass,
            }],
            ..HtmlOptions::default()
        };
        let data = embedded(&render(&record, &results, &opts));
        let flipped: Vec<_> = data["cells"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c.get("flip").is_some())
            .collect();
        assert_eq!(flipped.len(), 1);
        assert_eq!(flipped[0]["flip"], "fail_to_pass");
    }

    #[test]
    fn front_staircase_is_drawn() {
        let points = [
            Point {
                label: "a".into(),
                quality: Some(0.5),
                x: Some(1.0),
                front: true,
            },
            Point {
                label: "b".into(),
                quality: Some(0.9),
                x: Some(3.0),
                front: true,
            },
            Point {
                label: "c".into(),
                quality: Some(0.4),
                x: Some(2.0),
                front: false,
            },
            Point {
                label: "d".into(),
                quality: Some(0.7),
                x: None,
                front: false,
            },
        ];
        let svg = scatter("cost", "cost", &points, &|v| format!("{v}"));
        assert_eq!(svg.matches("<circle").count(), 4);
        assert_eq!(svg.matches("class=\"pt front\"").count(), 2);
        assert_eq!(svg.matches("class=\"pt unknown\"").count(), 1);
        assert_eq!(svg.matches("class=\"front-line\"").count(), 1);
    }
}
