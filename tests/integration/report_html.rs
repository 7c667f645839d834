//! The HTML model-selection report in a real headless browser (Debian's `chromium`): it
//! loads without console errors, each plot has one point per combination, sorting a column
//! reorders the rows, the failures filter hides passing cases, the drill-down shows the
//! assertion reasons, and the flips filter appears only when there are flips.
//!
//! No WebDriver: the test appends a script to a copy of the page that does the clicks and
//! writes a JSON verdict into the DOM, runs `chromium --headless --dump-dom`, and reads
//! the verdict back. Without chromium the tests say so and pass — unless
//! `PROMPTEVAL_REQUIRE_CHROMIUM=1` (set by `scripts/test.sh`, which installs it with
//! `scripts/setup-chromium.sh`), which makes a missing browser a failure.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use prompteval::analysis::model_selection::compute_selection;
use prompteval::report::{self, CaseFlip, FlipDirection, HtmlOptions};
use serde_json::Value;

use crate::support::report_fixture;

/// The browser, or `None` (after saying why) when there is none.
fn chromium() -> Option<PathBuf> {
    let candidates = std::env::var_os("PROMPTEVAL_CHROMIUM")
        .map(|p| vec![PathBuf::from(p)])
        .unwrap_or_default()
        .into_iter()
        .chain(
            ["chromium", "chromium-browser", "google-chrome"]
                .iter()
                .filter_map(|name| find_on_path(name)),
        );
    for path in candidates {
        if path.is_file() {
            return Some(path);
        }
    }
    let why = "chromium is not installed (run scripts/setup-chromium.sh)";
    if std::env::var("PROMPTEVAL_REQUIRE_CHROMIUM").is_ok_and(|v| v == "1") {
        panic!("{why}");
    }
    eprintln!("skipped: {why}");
    None
}

fn find_on_path(name: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
}

/// Installed first in `<head>`, before the report's own script: collects uncaught errors
/// and `console.error` calls.
const CAPTURE: &str = r#"<script>
window.__errors = [];
window.addEventListener('error', function (e) { window.__errors.push('uncaught: ' + e.message); });
(function () {
  var original = console.error;
  console.error = function () {
    window.__errors.push('console.error: ' + Array.prototype.join.call(arguments, ' '));
    return original.apply(console, arguments);
  };
})();
</script>"#;

/// Appended before `</body>`: exercises the page once it has loaded and writes
/// `<pre id="verdict">{json}</pre>`.
const CHECK: &str = r#"<script>
window.addEventListener('load', function () { setTimeout(function () {
  var v = { errors: window.__errors };
  try {
    var data = JSON.parse(document.getElementById('report-data').textContent);
    v.combinations = data.selection.evals.reduce(function (n, e) { return n + e.candidates.length; }, 0);
    v.points = {};
    document.querySelectorAll('svg.scatter').forEach(function (svg) {
      var kind = svg.getAttribute('data-plot');
      v.points[kind] = (v.points[kind] || 0) + svg.querySelectorAll('circle.pt').length;
    });
    v.frontLines = document.querySelectorAll('svg .front-line').length;

    var table = document.getElementById('summary-table');
    function column(i) {
      return Array.prototype.map.call(table.tBodies[0].rows, function (r) { return r.cells[i].getAttribute('data-v'); });
    }
    function names() {
      return Array.prototype.map.call(table.tBodies[0].rows, function (r) { return r.cells[1].textContent + ' ' + r.cells[2].textContent; });
    }
    var passRate = table.querySelector('th[data-col="5"]');
    v.before = names();
    passRate.click();
    v.ascending = column(5);
    v.ariaAscending = passRate.getAttribute('aria-sort');
    passRate.click();
    v.descending = column(5);
    v.ariaDescending = passRate.getAttribute('aria-sort');
    var cost = table.querySelector('th[data-col="11"]');
    cost.click();
    v.costAscending = column(11);
    v.afterSort = names();

    var rows = document.querySelectorAll('#cases-table tr.case');
    function visible() { return Array.prototype.filter.call(rows, function (r) { return !r.hidden; }); }
    v.cases = rows.length;
    v.visibleBefore = visible().length;
    document.getElementById('filter-failures').click();
    var shown = visible();
    v.visibleFailures = shown.length;
    v.failureStatuses = shown.map(function (r) { return r.getAttribute('data-status'); });
    v.expectedFailures = data.cells.filter(function (c) { return c.status !== 'pass'; }).length;

    shown[0].click();
    var detail = shown[0].nextElementSibling;
    v.detailOpen = !!detail && detail.classList.contains('detail');
    v.detailText = detail ? detail.textContent : '';
    shown[0].click();
    v.detailClosed = !shown[0].nextElementSibling || !shown[0].nextElementSibling.classList.contains('detail');
    document.getElementById('filter-failures').click();
    v.visibleAfterUncheck = visible().length;

    v.flipsHidden = document.getElementById('filter-flips-label').hidden;
    v.expectedFlips = data.cells.filter(function (c) { return !!c.flip; }).length;
    if (!v.flipsHidden) {
      document.getElementById('filter-flips').click();
      v.visibleFlips = visible().length;
      v.flipLabels = visible().map(function (r) { var f = r.querySelector('.flip'); return f ? f.textContent : ''; });
    }
    v.pwned = window.__pwned === 1;
  } catch (e) {
    v.errors.push('test script: ' + e + ' ' + (e.stack || ''));
  }
  var pre = document.createElement('pre');
  pre.id = 'verdict';
  pre.textContent = JSON.stringify(v);
  document.body.appendChild(pre);
}, 0); });
</script>"#;

/// Loads `html` (with the capture and check scripts added) in headless chromium and
/// returns the verdict.
fn verdict_in_browser(browser: &Path, html: &str, dir: &Path) -> Value {
    verdict_of(browser, html, dir, CHECK)
}

/// [`verdict_in_browser`] with another check script.
fn verdict_of(browser: &Path, html: &str, dir: &Path, check: &str) -> Value {
    let head = html.find("<head>").expect("a <head>") + "<head>".len();
    let body_end = html.rfind("</body>").expect("a </body>");
    let page = format!(
        "{}\n{CAPTURE}{}{check}\n{}",
        &html[..head],
        &html[head..body_end],
        &html[body_end..]
    );
    let file = dir.join("under-test.html");
    std::fs::write(&file, page).unwrap();
    let profile = dir.join("profile");
    // To files, not pipes: the dumped page is larger than a pipe's buffer.
    let (stdout_path, stderr_path) = (dir.join("dom.html"), dir.join("stderr.txt"));
    let mut child = Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
            "--disable-extensions",
            "--dump-dom",
            "--virtual-time-budget=5000",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(format!("file://{}", file.display()))
        .stdout(std::fs::File::create(&stdout_path).unwrap())
        .stderr(std::fs::File::create(&stderr_path).unwrap())
        .spawn()
        .expect("start chromium");
    // A hung browser fails the test instead of hanging it.
    let deadline = Instant::now() + Duration::from_secs(180);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("chromium did not finish within 180s");
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let dom = std::fs::read_to_string(&stdout_path).unwrap();
    let Some(start) = dom.find(r#"<pre id="verdict">"#) else {
        panic!(
            "no verdict in the page (status {}); stderr:\n{}",
            status,
            std::fs::read_to_string(&stderr_path).unwrap_or_default()
        );
    };
    let start = start + r#"<pre id="verdict">"#.len();
    let end = start + dom[start..].find("</pre>").unwrap();
    let text = dom[start..end]
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&amp;", "&");
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("bad verdict {text}: {e}"))
}

fn html(flips: Vec<CaseFlip>) -> String {
    let cells = report_fixture::cells();
    let record = report_fixture::record(&cells);
    let selection = compute_selection(&record, &cells).unwrap();
    let mut out = Vec::new();
    let opts = HtmlOptions {
        flips,
        ..HtmlOptions::default()
    };
    report::write_html(&record, &selection, &cells, &opts, &mut out).unwrap();
    String::from_utf8(out).unwrap()
}

fn numbers(v: &Value) -> Vec<Option<f64>> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| {
            x.as_str()
                .filter(|s| !s.is_empty())
                .map(|s| s.parse().unwrap())
        })
        .collect()
}

fn is_sorted(values: &[Option<f64>], ascending: bool) -> bool {
    // Known values in order, unknown ones last.
    let known: Vec<f64> = values.iter().map_while(|v| *v).collect();
    let rest_unknown = values[known.len()..].iter().all(Option::is_none);
    rest_unknown
        && known.windows(2).all(|w| {
            if ascending {
                w[0] <= w[1]
            } else {
                w[0] >= w[1]
            }
        })
}

#[test]
fn report_works_in_a_real_browser() {
    let Some(browser) = chromium() else { return };
    let dir = tempfile::tempdir().unwrap();
    let v = verdict_in_browser(&browser, &html(Vec::new()), dir.path());

    assert_eq!(
        v["errors"],
        serde_json::json!([]),
        "errors in the page: {v}"
    );
    // One point per combination on each plot; the fronts are drawn.
    assert_eq!(v["combinations"], 8);
    assert_eq!(v["points"]["cost"], 8, "{v}");
    assert_eq!(v["points"]["latency"], 8, "{v}");
    assert!(v["frontLines"].as_u64().unwrap() >= 2, "{v}");

    // Sorting reorders the rows, both ways, and says so.
    let ascending = numbers(&v["ascending"]);
    let descending = numbers(&v["descending"]);
    assert!(is_sorted(&ascending, true), "{ascending:?}");
    assert!(is_sorted(&descending, false), "{descending:?}");
    assert_ne!(ascending, descending);
    assert_eq!(v["ariaAscending"], "ascending");
    assert_eq!(v["ariaDescending"], "descending");
    let cost = numbers(&v["costAscending"]);
    assert!(is_sorted(&cost, true), "unknown costs go last: {cost:?}");
    assert_eq!(cost.iter().filter(|c| c.is_none()).count(), 2);
    assert_ne!(v["before"], v["afterSort"]);

    // The failures filter hides every passing case and only those.
    let cases = v["cases"].as_u64().unwrap();
    assert_eq!(cases as usize, report_fixture::cells().len());
    assert_eq!(v["visibleBefore"], cases);
    assert_eq!(v["visibleFailures"], v["expectedFailures"]);
    assert!(v["visibleFailures"].as_u64().unwrap() < cases);
    assert!(v["failureStatuses"]
        .as_array()
        .unwrap()
        .iter()
        .all(|s| s != "pass"));
    assert_eq!(v["visibleAfterUncheck"], cases);

    // The drill-down shows outputs and the assertion reasons, and closes again.
    assert_eq!(v["detailOpen"], true, "{v}");
    let detail = v["detailText"].as_str().unwrap();
    assert!(detail.contains("assertions"), "{detail}");
    assert!(detail.contains("expected `"), "{detail}");
    assert_eq!(v["detailClosed"], true);

    // No baseline, no flips: the filter is hidden. The hostile output stayed text.
    assert_eq!(v["flipsHidden"], true);
    assert_eq!(v["pwned"], false);
}

#[test]
fn flips_filter_appears_and_works_when_there_are_flips() {
    let Some(browser) = chromium() else { return };
    let flip = |model: &str, case: &str, flip| CaseFlip {
        eval: "triage".into(),
        prompt: "triage@2".into(),
        model: model.into(),
        case_id: case.into(),
        repeat: 0,
        flip,
    };
    let flips = vec![
        flip("small", "t6", FlipDirection::PassToFail),
        flip("large", "t7", FlipDirection::FailToPass),
    ];
    let dir = tempfile::tempdir().unwrap();
    let v = verdict_in_browser(&browser, &html(flips), dir.path());
    assert_eq!(
        v["errors"],
        serde_json::json!([]),
        "errors in the page: {v}"
    );
    assert_eq!(v["flipsHidden"], false);
    assert_eq!(v["expectedFlips"], 2);
    assert_eq!(v["visibleFlips"], 2, "{v}");
    let mut labels: Vec<&str> = v["flipLabels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l.as_str().unwrap())
        .collect();
    labels.sort_unstable();
    assert_eq!(labels, ["fail → pass", "pass → fail"]);
}

/// Appended before `</body>` for the agent page: opens the drill-down of the agent cell
/// and writes what its trajectory shows.
const AGENT_CHECK: &str = r#"<script>
window.addEventListener('load', function () { setTimeout(function () {
  var v = { errors: window.__errors };
  try {
    var rows = Array.prototype.filter.call(document.querySelectorAll('#cases-table tr.case'), function (r) {
      return r.textContent.indexOf('get_weather') >= 0;
    });
    v.agentRows = rows.length;
    v.preview = rows.length ? rows[0].querySelector('td.out').textContent : '';
    rows[0].click();
    var detail = rows[0].nextElementSibling;
    v.steps = detail.querySelectorAll('ol.steps > li').length;
    v.heads = Array.prototype.map.call(detail.querySelectorAll('.step-head'), function (h) { return h.textContent; });
    v.calls = Array.prototype.map.call(detail.querySelectorAll('.step-call'), function (c) { return c.textContent; });
    v.detailText = detail.textContent;
    detail.scrollIntoView();
  } catch (e) {
    v.errors.push('test script: ' + e + ' ' + (e.stack || ''));
  }
  var pre = document.createElement('pre');
  pre.id = 'verdict';
  pre.textContent = JSON.stringify(v);
  document.body.appendChild(pre);
}, 0); });
</script>"#;

/// The fixture with its first failing cell made an agent cell: a weather call, its
/// result, and the reply.
fn agent_html() -> String {
    use prompteval::agent::{Step, ToolResult};
    use prompteval::tools::ToolCall;
    let mut cells = report_fixture::cells();
    let cell = cells.iter_mut().find(|c| !c.pass).expect("a failing cell");
    let call = ToolCall::from_raw("call_1", "get_weather", r#"{"city": "Rome"}"#);
    cell.steps = vec![
        Step {
            messages_digest: "1a2b3c4d5e6f7a8b".into(),
            tool_calls: vec![call.clone()],
            tool_results: vec![ToolResult {
                call_id: "call_1".into(),
                name: "get_weather".into(),
                content: "Rome: 18°C, sunny".into(),
                is_error: false,
                latency_ms: 4.0,
            }],
            latency_ms: 180.0,
            tokens_in: Some(85),
            tokens_out: Some(12),
            ..Step::default()
        },
        Step {
            messages_digest: "9f8e7d6c5b4a3921".into(),
            output: "It's 18°C and sunny in Rome.".into(),
            latency_ms: 240.0,
            tokens_in: Some(130),
            tokens_out: Some(9),
            ..Step::default()
        },
    ];
    cell.output = Some("It's 18°C and sunny in Rome.".into());
    let record = report_fixture::record(&cells);
    let selection = compute_selection(&record, &cells).unwrap();
    let mut out = Vec::new();
    report::write_html(
        &record,
        &selection,
        &cells,
        &HtmlOptions::default(),
        &mut out,
    )
    .unwrap();
    String::from_utf8(out).unwrap()
}

#[test]
fn the_drill_down_shows_each_step_with_its_call_result_and_latency() {
    let Some(browser) = chromium() else { return };
    let dir = tempfile::tempdir().unwrap();
    let v = verdict_of(&browser, &agent_html(), dir.path(), AGENT_CHECK);
    assert_eq!(
        v["errors"],
        serde_json::json!([]),
        "errors in the page: {v}"
    );
    assert_eq!(v["agentRows"], 1, "{v}");
    assert_eq!(
        v["preview"],
        r#"→ get_weather(city="Rome") ⇒ "Rome: 18°C, sunny" → "It's 18°C and sunny in Rome.""#
    );
    assert_eq!(v["steps"], 2, "{v}");
    assert_eq!(
        v["heads"],
        serde_json::json!([
            "180ms · tokens 85 in · 12 out · request 1a2b3c4d5e6f7a8b",
            "240ms · tokens 130 in · 9 out · request 9f8e7d6c5b4a3921"
        ])
    );
    assert_eq!(
        v["calls"],
        serde_json::json!([r#"→ get_weather(city="Rome")"#])
    );
    let text = v["detailText"].as_str().unwrap();
    assert!(text.contains("trajectory (2 steps)"), "{text}");
    assert!(
        text.contains("⇒ 4ms") && text.contains("Rome: 18°C, sunny"),
        "{text}"
    );
    assert!(
        !text.contains("tool calls"),
        "the steps hold the calls: {text}"
    );
}
