//! The JUnit report against the common JUnit schema (`tests/fixtures/junit/junit-10.xsd`,
//! see its README for the source), with `xmllint --schema`; and its shape: one suite per
//! eval × prompt × model, one case per cell, failures with the assertion reasons, errors
//! as `<error>`. Without xmllint the schema check says so and passes — unless
//! `PROMPTEVAL_REQUIRE_CHROMIUM=1` (set by `scripts/test.sh`, whose
//! `scripts/setup-chromium.sh` installs xmllint too).

use std::path::{Path, PathBuf};
use std::process::Command;

use prompteval::report;
use prompteval::run::events::CellResult;

use crate::support::report_fixture;

fn schema() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/junit/junit-10.xsd")
}

fn xmllint() -> Option<&'static str> {
    let found = Command::new("xmllint").arg("--version").output().is_ok();
    if found {
        return Some("xmllint");
    }
    let why = "xmllint is not installed (run scripts/setup-chromium.sh)";
    if std::env::var("PROMPTEVAL_REQUIRE_CHROMIUM").is_ok_and(|v| v == "1") {
        panic!("{why}");
    }
    eprintln!("skipped: {why}");
    None
}

/// Validates `xml`: `Ok` or xmllint's complaints.
fn validate(xmllint: &str, xml: &str) -> Result<(), String> {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("results.xml");
    std::fs::write(&file, xml).unwrap();
    let out = Command::new(xmllint)
        .arg("--noout")
        .arg("--schema")
        .arg(schema())
        .arg(&file)
        .output()
        .expect("run xmllint");
    if out.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

fn junit(cells: &[CellResult]) -> String {
    let record = report_fixture::record(cells);
    let mut out = Vec::new();
    report::write_junit(&record, &cells.to_vec(), &mut out).unwrap();
    String::from_utf8(out).unwrap()
}

/// The fixture with cells meant to break XML: markup, control characters, a huge output,
/// an empty output, NaN latency and an error with markup in it.
fn hostile_cells() -> Vec<CellResult> {
    let mut cells = report_fixture::cells();
    cells[0].case_id = "</testcase><x a=\"1\">&".into();
    cells[0].output = Some("\u{0}\u{1b}[31m]]><!-- & \u{FFFE}".repeat(2000));
    cells[1].output = Some(String::new());
    cells[2].latency_ms = f64::NAN;
    cells[3].latency_ms = -5.0;
    if let Some(a) = cells[4].assertions.first_mut() {
        a.pass = false;
        a.reason = "expected `<b>\"x\"</b>`\n\tsecond line \u{7}".into();
    }
    cells[4].pass = false;
    cells[5].error = Some("HTTP 500: <html>&nbsp;</html>\r\n".into());
    cells[5].output = None;
    cells
}

#[test]
fn junit_is_valid_against_the_schema() {
    let Some(xmllint) = xmllint() else { return };
    validate(xmllint, &junit(&report_fixture::cells())).unwrap();
    validate(xmllint, &junit(&hostile_cells())).unwrap();
}

#[test]
fn the_schema_check_can_fail() {
    let Some(xmllint) = xmllint() else { return };
    let xml = junit(&report_fixture::cells());
    let broken = xml.replacen(r#"<testsuite name="#, r#"<testsuite tests="x" name="#, 1);
    assert!(validate(xmllint, &broken).is_err());
    let misplaced = xml.replacen("<testcase ", "<testcases ", 1);
    assert!(validate(xmllint, &misplaced).is_err());
}

#[test]
fn one_suite_per_combination_one_case_per_cell() {
    let cells = report_fixture::cells();
    let xml = junit(&cells);
    assert_eq!(xml.matches("<testsuite ").count(), 8);
    assert_eq!(xml.matches("<testcase ").count(), cells.len());
    assert!(xml.contains(
        r#"<testsuite name="triage / triage@1 / small" tests="12" failures="4" errors="0""#
    ));
    assert!(xml.contains(
        r#"<testsuite name="triage / triage@1 / local" tests="12" failures="3" errors="1""#
    ));
    // Failures carry the assertion reasons; errors are <error>, not failures.
    assert!(xml.contains(
        r#"<failure message="equals: expected `bug`, got `feature-request`" type="assertion">"#
    ));
    assert_eq!(xml.matches("<error ").count(), 1);
    assert!(xml.contains(
        r#"<error message="provider `local`: HTTP 503 Service Unavailable after 3 retries""#
    ));
    let failed = cells
        .iter()
        .filter(|c| c.error.is_none() && !c.pass)
        .count();
    assert_eq!(xml.matches("<failure ").count(), failed);
}
