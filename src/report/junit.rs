//! The JUnit XML report (`--output junit.xml`): one `<testsuite>` per eval × prompt ×
//! model, one `<testcase>` per cell, for CI test reporters.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::io::Write;

use crate::analysis::eval_groups::{eval_groups, RowIndex};
use crate::analysis::trajectory;
use crate::run::events::{CellResult, CellStatus};
use crate::store::{ResultSource, RunRecord};

use super::common;
use super::error::{named, Failure};
use super::registry::{ReportFormat, ResultReads};
use super::ReportError;

/// The `.xml` format: JUnit XML for CI test reporters.
pub(crate) const FORMAT: ReportFormat = ReportFormat {
    name: "junit",
    extensions: &["xml"],
    title: Some("JUnit"),
    writer: |input, w| write_junit(input.record, input.results, w),
    uses_comparison: false,
    step_summary: false,
    reads: ResultReads::OncePerRowAndOne,
};

/// Bytes of output kept in `<system-out>`.
const MAX_OUTPUT_BYTES: usize = 4096;
/// Bytes of a failure or error message kept in its `message` attribute.
const MAX_MESSAGE_BYTES: usize = 1024;

/// Counts of one suite, from the results themselves (so they always match its cases).
#[derive(Default)]
struct SuiteCounts {
    tests: u64,
    failures: u64,
    errors: u64,
    seconds: f64,
}

impl SuiteCounts {
    fn add(&mut self, cell: &CellResult) {
        self.tests += 1;
        match cell.status() {
            CellStatus::Pass => {}
            CellStatus::Fail => self.failures += 1,
            CellStatus::Error => self.errors += 1,
        }
        self.seconds += seconds(cell.latency_ms);
    }
}

/// One suite: the eval, prompt and model, and which of the summary rows it is.
struct Suite {
    eval: String,
    prompt: String,
    model: String,
    repeat: u32,
    counts: SuiteCounts,
}

/// Writes JUnit XML: `<testsuites>` with a `<testsuite name="eval / prompt / model">`
/// per summary row and a `<testcase name="case_id[#repeat]">` per cell, with `<failure>`
/// listing the failed assertions, `<error>` for errors and the output in `<system-out>`.
///
/// A suite's test cases must be written together, but results arrive in completion order.
/// Rather than holding them, this reads the results once to count each suite, then once
/// per suite to write its cases: N + 1 passes for N suites, memory independent of the
/// run's size.
pub fn write_junit(
    record: &RunRecord,
    results: &dyn ResultSource,
    w: &mut dyn Write,
) -> Result<(), ReportError> {
    named("junit", || {
        let groups = eval_groups(record);
        let columns = RowIndex::new(&groups);
        let mut suites: Vec<Suite> = Vec::new();
        let mut by_column: HashMap<(usize, usize), usize> = HashMap::new();
        for (g, group) in groups.iter().enumerate() {
            for (c, row) in group.rows.iter().enumerate() {
                by_column.insert((g, c), suites.len());
                suites.push(Suite {
                    eval: row.eval.clone(),
                    prompt: row.prompt.clone(),
                    model: row.model.clone(),
                    repeat: group.repeat(),
                    counts: SuiteCounts::default(),
                });
            }
        }
        for cell in results.results().map_err(Failure::Read)? {
            let cell = common::read(cell)?;
            if let Some(suite) = columns.find(&cell).and_then(|gc| by_column.get(&gc)) {
                suites[*suite].counts.add(&cell);
            }
        }

        let mut total = SuiteCounts::default();
        for suite in &suites {
            total.tests += suite.counts.tests;
            total.failures += suite.counts.failures;
            total.errors += suite.counts.errors;
            total.seconds += suite.counts.seconds;
        }
        writeln!(w, r#"<?xml version="1.0" encoding="UTF-8"?>"#)?;
        writeln!(
            w,
            r#"<testsuites name="{}" tests="{}" failures="{}" errors="{}" time="{:.3}">"#,
            escape(&format!("prompteval run {}", record.run_id)),
            total.tests,
            total.failures,
            total.errors,
            total.seconds
        )?;
        for suite in &suites {
            write_suite(suite, results, w)?;
        }
        writeln!(w, "</testsuites>")?;
        Ok(())
    })
}

fn write_suite(
    suite: &Suite,
    results: &dyn ResultSource,
    w: &mut dyn Write,
) -> Result<(), Failure> {
    let counts = &suite.counts;
    writeln!(
        w,
        r#"  <testsuite name="{}" tests="{}" failures="{}" errors="{}" skipped="0" time="{:.3}">"#,
        escape(&format!(
            "{} / {} / {}",
            suite.eval, suite.prompt, suite.model
        )),
        counts.tests,
        counts.failures,
        counts.errors,
        counts.seconds
    )?;
    if counts.tests > 0 {
        let classname = escape(&format!("{}.{}.{}", suite.eval, suite.prompt, suite.model));
        for cell in results.results().map_err(Failure::Read)? {
            let cell = common::read(cell)?;
            if cell.eval == suite.eval && cell.prompt == suite.prompt && cell.model == suite.model {
                write_case(&cell, &classname, suite.repeat, w)?;
            }
        }
    }
    writeln!(w, "  </testsuite>")?;
    Ok(())
}

fn write_case(
    cell: &CellResult,
    classname: &str,
    repeat: u32,
    w: &mut dyn Write,
) -> Result<(), Failure> {
    let name = if repeat > 1 || cell.repeat > 0 {
        format!("{}#{}", cell.case_id, cell.repeat)
    } else {
        cell.case_id.clone()
    };
    write!(
        w,
        r#"    <testcase name="{}" classname="{classname}" time="{:.3}""#,
        escape(&name),
        seconds(cell.latency_ms)
    )?;
    let output = system_out(cell);
    let output = output.as_deref().filter(|o| !o.is_empty());
    let status = cell.status();
    if status == CellStatus::Pass && output.is_none() {
        writeln!(w, "/>")?;
        return Ok(());
    }
    writeln!(w, ">")?;
    match status {
        CellStatus::Pass => {}
        CellStatus::Fail => {
            let reasons: Vec<String> = common::failed_reasons(cell).collect();
            let message = if reasons.is_empty() {
                format!("case failed (score {:.2})", cell.score)
            } else {
                reasons.join("; ")
            };
            let mut body = String::new();
            for reason in &reasons {
                let _ = writeln!(body, "{reason}");
            }
            writeln!(
                w,
                r#"      <failure message="{}" type="assertion">{}</failure>"#,
                escape(clip(&message, MAX_MESSAGE_BYTES).as_ref()),
                escape_text(body.trim_end())
            )?;
        }
        CellStatus::Error => {
            let error = cell.error.as_deref().unwrap_or("error");
            writeln!(
                w,
                r#"      <error message="{}" type="error">{}</error>"#,
                escape(clip(error, MAX_MESSAGE_BYTES).as_ref()),
                escape_text(error)
            )?;
        }
    }
    if let Some(output) = output {
        writeln!(
            w,
            "      <system-out>{}</system-out>",
            escape_text(clip(output, MAX_OUTPUT_BYTES).as_ref())
        )?;
    }
    writeln!(w, "    </testcase>")?;
    Ok(())
}

/// What `<system-out>` holds: the output, after an agent's trajectory one step a line
/// (`step 1: → get_weather(city="Rome") ⇒ "18°C"`) when the cell ran a loop; the final
/// reply is the output, so its step is not written twice.
fn system_out(cell: &CellResult) -> Option<std::borrow::Cow<'_, str>> {
    if cell.steps.is_empty() {
        return cell.output.as_deref().map(std::borrow::Cow::Borrowed);
    }
    let mut lines = Vec::new();
    let last = cell.steps.len() - 1;
    for (i, step) in cell.steps.iter().enumerate() {
        if i < last || !step.tool_calls.is_empty() {
            lines.push(format!("step {}: {}", i + 1, trajectory::step_line(step)));
        }
    }
    if let Some(stopped) = cell.stopped {
        lines.push(format!("stopped at {}", stopped.as_str()));
    }
    let mut text = lines.join("\n");
    if let Some(output) = cell.output.as_deref().filter(|o| !o.is_empty()) {
        let _ = write!(text, "\n\n{output}");
    }
    Some(std::borrow::Cow::Owned(text))
}

fn seconds(ms: f64) -> f64 {
    if ms.is_finite() && ms > 0.0 {
        ms / 1000.0
    } else {
        0.0
    }
}

/// `text` cut to at most `max` bytes at a character boundary, saying how much was cut.
fn clip(text: &str, max: usize) -> std::borrow::Cow<'_, str> {
    if text.len() <= max {
        return text.into();
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}… ({} bytes in all)", &text[..end], text.len()).into()
}

/// Escapes text for XML content and attribute values: `& < > " '` become entities, line
/// breaks and tabs become character references (so attributes keep them), and characters
/// XML 1.0 does not allow (other control characters, U+FFFE, U+FFFF) are dropped.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\n' => out.push_str("&#10;"),
            '\r' => out.push_str("&#13;"),
            '\t' => out.push_str("&#9;"),
            c if is_xml_char(c) => out.push(c),
            _ => {}
        }
    }
    out
}

/// Escapes element content like [`escape`] but keeps line breaks and tabs as they are, so
/// outputs stay readable in the file.
pub fn escape_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\n' | '\t' => out.push(c),
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\r' => out.push_str("&#13;"),
            c if is_xml_char(c) => out.push(c),
            _ => {}
        }
    }
    out
}

fn is_xml_char(c: char) -> bool {
    matches!(c, '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..='\u{10FFFF}')
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::fixture;

    fn render(record: &RunRecord, results: &dyn ResultSource) -> String {
        let mut out = Vec::new();
        write_junit(record, results, &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    /// A small well-formedness check: tags balance, attribute values are quoted, and text
    /// holds no raw `<` and only known entities after `&`.
    fn check_well_formed(xml: &str) -> Result<usize, String> {
        let mut stack: Vec<&str> = Vec::new();
        let mut elements = 0;
        let mut rest = xml
            .strip_prefix(r#"<?xml version="1.0" encoding="UTF-8"?>"#)
            .ok_or("no declaration")?;
        loop {
            let Some(open) = rest.find('<') else {
                check_text(rest)?;
                break;
            };
            check_text(&rest[..open])?;
            let close = rest[open..].find('>').ok_or("unclosed tag")? + open;
            let tag = &rest[open + 1..close];
            rest = &rest[close + 1..];
            if let Some(name) = tag.strip_prefix('/') {
                let top = stack.pop().ok_or(format!("stray </{name}>"))?;
                if top != name {
                    return Err(format!("</{name}> closes <{top}>"));
                }
                continue;
            }
            elements += 1;
            let self_closing = tag.ends_with('/');
            let tag = tag.trim_end_matches('/');
            let name = tag.split(' ').next().unwrap_or("");
            if name.is_empty() || tag.contains('<') {
                return Err(format!("bad tag <{tag}>"));
            }
            if tag[name.len()..].matches('"').count() % 2 != 0 {
                return Err(format!("unbalanced quotes in <{tag}>"));
            }
            check_text(&tag[name.len()..].replace('"', ""))?;
            if !self_closing {
                stack.push(name);
            }
        }
        if stack.is_empty() {
            Ok(elements)
        } else {
            Err(format!("unclosed: {stack:?}"))
        }
    }

    fn check_text(text: &str) -> Result<(), String> {
        if text.contains('<') || text.contains('>') {
            return Err(format!("raw angle bracket in {text:?}"));
        }
        for (i, _) in text.match_indices('&') {
            let entity = &text[i..];
            let known = [
                "&amp;", "&lt;", "&gt;", "&quot;", "&apos;", "&#10;", "&#13;", "&#9;",
            ];
            if !known.iter().any(|k| entity.starts_with(k)) {
                return Err(format!("bad entity at {entity:?}"));
            }
        }
        if text
            .chars()
            .any(|c| !matches!(c, '\n' | '\t') && !is_xml_char(c))
        {
            return Err(format!("invalid character in {text:?}"));
        }
        Ok(())
    }

    #[test]
    fn agent_cells_show_their_trajectory_in_system_out() {
        let (record, results) = crate::report::fixture_agent::agent();
        let mut out = Vec::new();
        write_junit(&record, &results, &mut out).unwrap();
        let xml = String::from_utf8(out).unwrap();
        let rome = "<system-out>step 1: → get_weather(city=\"Rome\") ⇒ \"Rome: 18°C, sunny\"\n\nIt's 18°C and sunny in Rome.</system-out>";
        assert!(xml.contains(rome), "{xml}");
        let oslo = "step 4: → get_weather(city=\"Oslo\") ⇒ \"Oslo: -3°C, snow\"\nstopped at max_steps</system-out>";
        assert!(xml.contains(oslo), "{xml}");
    }

    #[test]
    fn junit_snapshot() {
        let (record, results) = fixture::small();
        insta::assert_snapshot!(render(&record, &results));
    }

    #[test]
    fn output_is_well_formed() {
        let (record, results) = fixture::small();
        let xml = render(&record, &results);
        let elements = check_well_formed(&xml).unwrap();
        assert!(elements > results.len());
        assert_eq!(xml.matches("<testcase ").count(), results.len());
        assert_eq!(xml.matches("<testsuite ").count(), record.summary.len());
        assert!(xml.contains(r#"<testsuites name="prompteval run 20260101-120000-a1b2" tests="20" failures="5" errors="1""#));
        assert!(xml.contains(r#"name="jp#1""#));
    }

    #[test]
    fn escaping() {
        assert_eq!(
            escape(r#"a < b & c > "d" 'e'"#),
            "a &lt; b &amp; c &gt; &quot;d&quot; &apos;e&apos;"
        );
        assert_eq!(escape("line\nbreak\ttab"), "line&#10;break&#9;tab");
        assert_eq!(escape("bell\u{7}nul\u{0}\u{FFFE}ok"), "bellnulok");
        assert_eq!(escape("é 日本 🎉"), "é 日本 🎉");
        assert_eq!(
            escape_text("a\n<b> & \"c\"\r\u{1b}"),
            "a\n&lt;b&gt; &amp; \"c\"&#13;"
        );
        check_text(&escape("<&\"\u{1b}[31m")).unwrap();
        assert!(check_text("<oops>").is_err());
        assert!(
            check_well_formed("<?xml version=\"1.0\" encoding=\"UTF-8\"?><a><b></a></b>").is_err()
        );
    }

    #[test]
    fn hostile_cells_stay_well_formed() {
        let (record, mut results) = fixture::small();
        results[0].case_id = "</testcase><x a=\"".into();
        results[0].output = Some("\u{0}]]><!-- & \u{1b}[0m".repeat(1000));
        results[1].pass = false;
        results[1].assertions[0].pass = false;
        results[1].assertions[0].reason = "expected `<a href=\"x\">`\nsecond line".into();
        let xml = render(&record, &results);
        check_well_formed(&xml).unwrap();
        let out_start = xml.find("<system-out>").unwrap();
        let out_end = xml[out_start..].find("</system-out>").unwrap();
        assert!(out_end < MAX_OUTPUT_BYTES * 6, "output was not truncated");
    }

    #[test]
    fn clipping_respects_char_boundaries() {
        assert_eq!(clip("héllo", 2), "h… (6 bytes in all)");
        assert_eq!(clip("short", 10), "short");
    }
}
