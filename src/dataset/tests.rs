//! Unit tests of dataset loading, every format.

use crate::diagnostic::Diagnostic;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::json::json_element_lines;
use super::*;
use crate::diagnostic::{Location, Warning};
use serde_json::json;

/// Writes `content` as `datasets/<name>` in a fresh root and loads it, twice: every row
/// held, and no row held (read again from the file, as a large dataset is). Both must
/// give the same rows, warnings and errors; the second is returned, so every test here
/// reads rows through the file.
fn load_text(name: &str, content: &[u8]) -> Result<(Dataset, Vec<Warning>), DatasetError> {
    let root = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(root.path().join("datasets")).unwrap();
    let path = PathBuf::from("datasets").join(name);
    std::fs::write(root.path().join(&path), content).unwrap();
    let held = super::load::load_holding(root.path(), &path, usize::MAX);
    let read = super::load::load_holding(root.path(), &path, 0);
    match (&held, &read) {
        (Ok((held, held_warnings)), Ok((read, read_warnings))) => {
            assert!(held.is_held());
            assert_eq!(format!("{:?}", all(held)), format!("{:?}", all(read)));
            assert_eq!(held.columns, read.columns);
            assert_eq!(held.hash, read.hash);
            assert_eq!(format!("{held_warnings:?}"), format!("{read_warnings:?}"));
        }
        (Err(held), Err(read)) => assert_eq!(held.to_string(), read.to_string()),
        _ => panic!("held: {held:?}, read: {read:?}"),
    }
    read
}

/// Every row of `dataset`.
fn all(dataset: &Dataset) -> Vec<std::sync::Arc<Row>> {
    dataset.rows().map(Result::unwrap).collect()
}

fn ok(name: &str, content: &str) -> Dataset {
    match load_text(name, content.as_bytes()) {
        Ok((dataset, warnings)) => {
            assert!(warnings.is_empty(), "{warnings:?}");
            dataset
        }
        Err(err) => panic!("{err}"),
    }
}

fn err(name: &str, content: &str) -> DatasetError {
    match load_text(name, content.as_bytes()) {
        Ok((dataset, _)) => panic!("expected an error, loaded {dataset:?}"),
        Err(err) => err,
    }
}

fn ids(dataset: &Dataset) -> Vec<String> {
    all(dataset).iter().map(|r| r.id.clone()).collect()
}

fn lines(dataset: &Dataset) -> Vec<usize> {
    all(dataset).iter().map(|r| r.line).collect()
}

#[test]
fn csv_rows_are_strings_with_numbered_ids() {
    let d = ok(
        "r.csv",
        "text,expected\n\"great, really\",positive\nbad,negative\n",
    );
    assert_eq!(d.path, PathBuf::from("datasets/r.csv"));
    assert_eq!(d.columns, ["text", "expected"]);
    assert_eq!(ids(&d), ["1", "2"]);
    assert_eq!(lines(&d), [2, 3]);
    assert_eq!(all(&d)[0].vars.get("text").unwrap(), json!("great, really"));
    assert_eq!(all(&d)[1].expected(), Some(json!("negative")));
    assert!(all(&d)[0].asserts().is_empty());
    assert_eq!(
        all(&d)[0].context().get_attr("text").unwrap().as_str(),
        Some("great, really")
    );
}

#[test]
fn hash_is_sha256_of_the_bytes() {
    let d = ok("r.csv", "a\n1\n");
    assert_eq!(
        d.hash,
        format!("sha256:{}", hex::encode(Sha256::digest(b"a\n1\n")))
    );
}

#[test]
fn csv_id_column_and_multiline_fields_keep_lines() {
    let d = ok(
        "r.csv",
        "id,text\nfirst,\"two\nlines\"\n\nsecond,x\nthird,y",
    );
    assert_eq!(ids(&d), ["first", "second", "third"]);
    assert_eq!(lines(&d), [2, 5, 6]);
    assert_eq!(d.columns, ["id", "text"]);
}

#[test]
fn csv_bom_is_trimmed_and_headers_trimmed() {
    let d = ok("r.csv", "\u{feff}id, text\n1,a\n");
    assert_eq!(d.columns, ["id", "text"]);
    assert_eq!(ids(&d), ["1"]);
}

#[test]
fn csv_wrong_field_count_names_line_and_counts() {
    let e = err("r.csv", "a,b\n1,2\n\n\r\n3,4,5\n");
    assert_eq!(
        e.to_string(),
        "datasets/r.csv:5: row has 3 fields, expected 2 (one per header column)"
    );
    assert!(e.hint().unwrap().contains("quote"));
    let e = err("r.csv", "a,b\n1\n");
    assert!(
        matches!(
            e,
            DatasetError::FieldCount {
                expected: 2,
                found: 1,
                ..
            }
        ),
        "{e}"
    );
}

#[test]
fn csv_without_rows_is_empty() {
    for content in ["", "a,b\n"] {
        let e = err("r.csv", content);
        assert_eq!(e.to_string(), "datasets/r.csv: dataset has no rows");
        assert_eq!(e.hint().unwrap(), "add rows below the header line");
    }
}

#[test]
fn csv_bad_headers() {
    let e = err("r.csv", "a,,b\n1,2,3\n");
    assert_eq!(
        e.to_string(),
        "datasets/r.csv:1: column 2 of the header has no name"
    );
    let e = err("r.csv", "\n\na,b,a\n1,2,3\n");
    assert_eq!(
        e.to_string(),
        "datasets/r.csv:3: column `a` appears twice in the header"
    );
}

#[test]
fn csv_invalid_utf8_names_the_line() {
    let e = load_text("r.csv", b"a,b\n1,2\nx,\xff\xfe\n").unwrap_err();
    assert_eq!(
        e.to_string(),
        "datasets/r.csv:3: field 2 is not valid UTF-8"
    );
}

#[test]
fn csv_assert_column_is_an_ordinary_variable() {
    let d = ok("r.csv", "text,assert\na,b\n");
    assert_eq!(d.columns, ["text", "assert"]);
    assert!(all(&d)[0].asserts().is_empty());
    assert_eq!(all(&d)[0].vars.get("assert").unwrap(), json!("b"));
}

#[test]
fn jsonl_rows_nested_values_and_blank_lines() {
    let d = ok(
        "r.jsonl",
        "{\"id\": 7, \"q\": \"a\"}\n\n{\"q\": \"b\", \"meta\": {\"tags\": [1, 2]}}\r\n",
    );
    assert_eq!(ids(&d), ["7", "2"]);
    assert_eq!(lines(&d), [1, 3]);
    assert_eq!(d.columns, ["id", "q", "meta"]);
    assert_eq!(
        all(&d)[1].vars.get("meta").unwrap(),
        json!({"tags": [1, 2]})
    );
    let tags = all(&d)[1]
        .context()
        .get_attr("meta")
        .unwrap()
        .get_attr("tags")
        .unwrap();
    assert_eq!(tags.len(), Some(2));
}

#[test]
fn jsonl_errors_have_line_and_column() {
    let e = err("r.jsonl", "{\"a\": 1}\n{\"a\": }\n");
    assert_eq!(e.location(), Location::at("datasets/r.jsonl", 2, 7));
    assert!(
        e.to_string()
            .starts_with("datasets/r.jsonl:2:7: expected value"),
        "{e}"
    );
    assert!(!e.to_string().contains("at line"), "{e}");
    let e = err("r.jsonl", "{\"a\": 1}\n[1]\n");
    assert_eq!(
        e.to_string(),
        "datasets/r.jsonl:2: expected a JSON object on each line, found a list"
    );
}

#[test]
fn json_rows_have_the_line_where_each_element_starts() {
    let text = r#"[
  {"id": "a", "text": "has ] and { and \" inside"},
  {
"id": "b",
"nested": [{"x": 1}, {"y": "]"}]
  },

  {"id": "c"}
]"#;
    let d = ok("r.json", text);
    assert_eq!(ids(&d), ["a", "b", "c"]);
    assert_eq!(lines(&d), [2, 3, 8]);
    assert_eq!(
        all(&d)[1].vars.get("nested").unwrap(),
        json!([{"x": 1}, {"y": "]"}])
    );
}

#[test]
fn json_element_scanner_handles_one_line_arrays() {
    assert_eq!(json_element_lines("[{}, {}]"), [1, 1]);
    assert_eq!(json_element_lines("\n\n[\n]"), Vec::<usize>::new());
    assert_eq!(json_element_lines("[\"a\\\\\",\n{}]"), [1, 2]);
}

#[test]
fn json_errors() {
    let e = err("r.json", "[\n  {\"a\": 1},\n  {\"a\" 2}\n]");
    assert_eq!(e.location(), Location::at("datasets/r.json", 3, 8));
    let e = err("r.json", "\n{\"a\": 1}");
    assert_eq!(
        e.to_string(),
        "datasets/r.json:2: expected a top-level array of objects, found an object"
    );
    let e = err("r.json", "[{\"a\": 1},\n \"x\"]");
    assert_eq!(
        e.to_string(),
        "datasets/r.json:2: row 2 is a string, expected an object"
    );
    assert_eq!(
        err("r.json", "[]").to_string(),
        "datasets/r.json: dataset has no rows"
    );
}

#[test]
fn yaml_rows_lines_and_nested_values() {
    let text = "# reviews\n- id: one\n  text: fine\n  meta:\n    - a\n    - b\n\n-   text: |\n      - not an item\n    n: 3\n";
    let d = ok("r.yaml", text);
    assert_eq!(ids(&d), ["one", "2"]);
    assert_eq!(lines(&d), [2, 8]);
    assert_eq!(all(&d)[0].vars.get("meta").unwrap(), json!(["a", "b"]));
    assert_eq!(all(&d)[1].vars.get("n").unwrap(), json!(3));
    assert_eq!(d.columns, ["id", "text", "meta", "n"]);
}

#[test]
fn yaml_indented_list_and_yml_extension() {
    let d = ok("r.yml", "---\n  - {id: 1}\n  - id: 2\n");
    assert_eq!(ids(&d), ["1", "2"]);
    assert_eq!(lines(&d), [2, 3]);
}

#[test]
fn yaml_errors_have_location() {
    let e = err("r.yaml", "- a: 1\n- b: [1\n");
    assert!(e.location().line.is_some(), "{e}");
    assert!(e.to_string().starts_with("datasets/r.yaml:"), "{e}");
    let e = err("r.yaml", "a: 1\n");
    assert!(e.to_string().contains("expected a sequence"), "{e}");
    let e = err("r.yaml", "- a: 1\n- just text\n");
    assert!(e.to_string().starts_with("datasets/r.yaml:2:"), "{e}");
    let e = err("r.yaml", "# nothing\n");
    assert!(matches!(e, DatasetError::Empty { .. }), "{e}");
}

#[test]
fn per_row_asserts_are_parsed_and_removed_from_vars() {
    let d = ok(
        "r.jsonl",
        concat!(
            "{\"q\": \"a\", \"assert\": {\"type\": \"contains\", \"value\": \"x\"}}\n",
            "{\"q\": \"b\", \"assert\": [{\"type\": \"equals\"}, {\"type\": \"latency\", \"threshold\": 5}]}\n",
            "{\"q\": \"c\", \"assert\": null}\n",
        ),
    );
    assert_eq!(d.columns, ["q"]);
    assert!(!all(&d)[0].vars.contains_key("assert"));
    assert_eq!(all(&d)[0].asserts().len(), 1);
    assert_eq!(all(&d)[0].asserts()[0].kind, "contains");
    assert_eq!(all(&d)[0].asserts()[0].value, Some(json!("x")));
    assert_eq!(all(&d)[1].asserts().len(), 2);
    assert_eq!(all(&d)[1].asserts()[1].threshold, Some(5.0));
    assert!(all(&d)[2].asserts().is_empty());
}

#[test]
fn per_row_thresholds_are_parsed_and_removed_from_vars() {
    let d = ok(
        "r.jsonl",
        "{\"q\": \"a\", \"threshold\": 0.5}\n{\"q\": \"b\"}\n{\"q\": \"c\", \"threshold\": null}\n",
    );
    assert_eq!(d.columns, ["q"]);
    assert_eq!(all(&d)[0].threshold(), Some(0.5));
    assert!(!all(&d)[0].vars.contains_key("threshold"));
    assert_eq!(all(&d)[1].threshold(), None);
    assert_eq!(all(&d)[2].threshold(), None);
    let d = ok("r.yaml", "- q: a\n  threshold: 1\n");
    assert_eq!(all(&d)[0].threshold(), Some(1.0));
}

#[test]
fn bad_row_threshold_names_file_line_and_problem() {
    let e = err("r.jsonl", "{\"q\": 1}\n{\"threshold\": 1.5}\n");
    assert_eq!(
        e.to_string(),
        "datasets/r.jsonl:2: invalid `threshold`: must be between 0 and 1, found 1.5"
    );
    assert!(e.hint().unwrap().contains("\"threshold\": 0.5"));
    let e = err("r.jsonl", "{\"threshold\": \"high\"}\n");
    assert!(e.to_string().ends_with("found a string"), "{e}");
}

#[test]
fn csv_threshold_column_is_an_ordinary_variable() {
    let d = ok("r.csv", "text,threshold\na,0.5\n");
    assert_eq!(d.columns, ["text", "threshold"]);
    assert_eq!(all(&d)[0].threshold(), None);
}

#[test]
fn per_row_asserts_in_yaml() {
    let d = ok(
        "r.yaml",
        "- q: a\n  assert:\n    - type: icontains\n      value: Paris\n",
    );
    assert_eq!(all(&d)[0].asserts()[0].kind, "icontains");
}

#[test]
fn malformed_assert_names_file_line_and_problem() {
    let e = err("r.jsonl", "{\"q\": 1}\n{\"assert\": \"contains\"}\n");
    assert_eq!(
        e.to_string(),
        "datasets/r.jsonl:2: invalid `assert`: expected an assertion (a mapping with `type`) or a list of them, found a string"
    );
    assert!(e.hint().is_some());
    let e = err("r.jsonl", "{\"assert\": [{\"value\": 1}]}\n");
    assert_eq!(
        e.to_string(),
        "datasets/r.jsonl:1: invalid `assert`: at `assert[0]`: missing field `type`"
    );
    let e = err(
        "r.jsonl",
        "{\"assert\": {\"type\": \"x\", \"threshold\": \"high\"}}\n",
    );
    assert!(
        e.to_string()
            .contains("at `assert.threshold`: invalid type: string \"high\""),
        "{e}"
    );
    let e = err("r.jsonl", "{\"assert\": [1]}\n");
    assert!(e.to_string().contains("`assert[0]` is a number"), "{e}");
}

#[test]
fn unknown_assert_keys_in_a_row_were_only_warnings() {
    let e = load_text(
        "r.jsonl",
        b"{\"q\": 1}\n{\"assert\": [{\"type\": \"contains\", \"valeu\": \"x\"}]}\n",
    )
    .unwrap_err();
    assert_eq!(
        e.to_string(),
        "datasets/r.jsonl:2: invalid `assert`: at `assert[0].valeu`: unknown key `valeu` (did you mean `value`?). Choose from: type, value, threshold, weight, metric, measure, stem, trim, path, transform, args, match, call, mode, step, assert, grader, embedder, command, script, timeout, tokenize, smooth_method, smooth_value, lowercase, max_ngram_order, char_order, word_order, beta, whitespace, eps_smoothing, normalize, turn"
    );
}

#[test]
fn duplicate_ids_name_both_lines() {
    let e = err("r.csv", "id,q\na,1\nb,2\na,3\n");
    assert_eq!(
        e.to_string(),
        "datasets/r.csv:4: duplicate id `a` (also used on line 2)"
    );
    // An explicit id may collide with a row number.
    let e = err("r.jsonl", "{\"id\": 2}\n{\"q\": 1}\n");
    assert!(
        matches!(e, DatasetError::DuplicateId { first_line: 1, .. }),
        "{e}"
    );
}

#[test]
fn empty_and_invalid_ids() {
    let e = err("r.csv", "id,q\n,1\n");
    assert_eq!(e.to_string(), "datasets/r.csv:2: row has an empty `id`");
    let e = err("r.jsonl", "{\"id\": null}\n");
    assert!(matches!(e, DatasetError::EmptyId { .. }), "{e}");
    let e = err("r.jsonl", "{\"id\": [1]}\n");
    assert_eq!(
        e.to_string(),
        "datasets/r.jsonl:1: `id` must be a string or a number, found a list"
    );
}

#[test]
fn columns_are_the_union_in_first_appearance_order() {
    let d = ok("r.jsonl", "{\"b\": 1}\n{\"a\": 1, \"b\": 2}\n{\"c\": 1}\n");
    assert_eq!(d.columns, ["b", "a", "c"]);
}

#[test]
fn missing_file_and_unsupported_format() {
    let root = tempfile::tempdir().unwrap();
    let e = load(root.path(), Path::new("datasets/none.csv")).unwrap_err();
    assert_eq!(e.to_string(), "dataset datasets/none.csv not found");
    assert!(e
        .hint()
        .unwrap()
        .starts_with("dataset paths are relative to the project root"));
    let e = load(root.path(), Path::new("datasets/r.txt")).unwrap_err();
    assert_eq!(
        e.to_string(),
        "datasets/r.txt: unsupported dataset format `.txt`. Choose from: .csv, .jsonl, .json, .yaml, .yml"
    );
    let e = load(root.path(), Path::new("data")).unwrap_err();
    assert!(e.to_string().contains("(no extension)"), "{e}");
}

/// Issue 14.11: a misspelt dataset path (file or directory) suggests the file it likely means.
#[test]
fn a_misspelt_dataset_path_suggests_the_file() {
    let root = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(root.path().join("datasets")).unwrap();
    std::fs::write(root.path().join("datasets/people.csv"), "id\na\n").unwrap();
    let hint = |path: &str| load(root.path(), Path::new(path)).unwrap_err().hint();
    let near = Some("did you mean `datasets/people.csv`?".to_string());
    assert_eq!(hint("datasets/peple.csv"), near);
    assert_eq!(hint("dataset/people.csv"), near);
    assert!(hint("datasets/orders.csv")
        .unwrap()
        .starts_with("dataset paths are relative"));
}

#[test]
fn non_utf8_json_names_the_line() {
    let e = load_text("r.json", b"[\n{\"a\": \"\xff\"}]").unwrap_err();
    assert_eq!(e.to_string(), "datasets/r.json:2: file is not valid UTF-8");
}

#[test]
fn many_csv_rows_load() {
    let mut text = String::from("id,text,expected\n");
    for i in 0..5000 {
        text.push_str(&format!("r{i},\"review number {i}, fine\",positive\n"));
    }
    let d = ok("big.csv", &text);
    assert_eq!(d.len(), 5000);
    assert_eq!(all(&d)[4999].line, 5001);
}

/// Issue 19: the row's context is a view of its variables, and templates read it as they
/// read the map it replaced: values, nested keys, order, `items`, `tojson`, merging, and
/// strict undefined for a missing key.
#[test]
fn the_context_reads_like_the_map_of_the_row() {
    let d = ok(
        "r.jsonl",
        "{\"q\": \"a\", \"n\": 2, \"meta\": {\"tags\": [1, 2]}, \"z\": null}\n",
    );
    let row = &all(&d)[0];
    let copy = minijinja::Value::from_serialize(&*row.vars_map());
    let mut env = minijinja::Environment::new();
    env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
    let render = |source: &str, x: &minijinja::Value| {
        env.render_str(source, minijinja::context! { x => x.clone() })
            .unwrap()
    };
    for source in [
        "{% for k, v in x|items %}{{ k }}={{ v }};{% endfor %}",
        "{{ x|tojson }}",
        "{{ x.meta.tags|length }} {{ x.n + 1 }} {{ x.z is none }} {{ x|length }}",
        "{{ x.missing is defined }} {{ 'q' in x }}",
    ] {
        assert_eq!(
            render(source, &row.context()),
            render(source, &copy),
            "{source}"
        );
    }
    assert_eq!(
        env.render_str("{{ q }}-{{ n }}", row.context()).unwrap(),
        "a-2"
    );
    let err = env.render_str("{{ missing }}", row.context()).unwrap_err();
    assert_eq!(err.kind(), minijinja::ErrorKind::UndefinedError);
    let merged = minijinja::context! { output => "o", ..row.context() };
    assert_eq!(
        env.render_str("{{ output }} {{ q }}", merged).unwrap(),
        "o a"
    );
}

/// Issue 19: a CSV file is read as a stream, and its rows keep the lines they start on
/// after blank lines and CRLF line ends (the lines the whole-file reader gave).
#[test]
fn streamed_csv_rows_keep_their_lines_after_blank_lines_and_crlf() {
    let cases = [
        ("id,q\r\na,1\r\nb,2\r\na,3\r\n", 4),
        ("id,q\na,1\n\n\nb,2\na,3\n", 6),
        ("id,q\r\na,1\r\n\r\nb,2\r\na,3\r\n", 5),
        ("\u{feff}id,q\n\na,1\nb,2\n\na,3\n", 6),
    ];
    for (text, line) in cases {
        match err("d.csv", text) {
            DatasetError::DuplicateId {
                location,
                first_line,
                ..
            } => {
                assert_eq!(location.line, Some(line), "{text:?}");
                let first = if text.starts_with('\u{feff}') { 3 } else { 2 };
                assert_eq!(first_line, first, "{text:?}");
            }
            other => panic!("{other}"),
        }
    }
}

/// Issue 19: the hash of a streamed file covers every byte, the byte-order mark too.
#[test]
fn a_streamed_dataset_is_hashed_whole() {
    for (name, text) in [
        ("d.csv", "\u{feff}id,q\na,1\n"),
        ("d.jsonl", "\u{feff}{\"id\": \"a\"}\n\n{\"id\": \"b\"}"),
    ] {
        let d = ok(name, text);
        let want = format!("sha256:{}", hex::encode(Sha256::digest(text.as_bytes())));
        assert_eq!(d.hash, want, "{name}");
    }
}

/// Issue 19: a CSV record is packed straight from its fields, without a map per row; the
/// row is the one the map gave (`assert` and `tools` are ordinary variables, kept last).
#[test]
fn a_csv_row_packed_from_its_fields_is_the_row_of_its_map() {
    use super::csv::CsvLayout;
    use super::row::{RawRow, RowMaker};
    let headers = ["tools", "q", "assert", "id", "n"]
        .map(String::from)
        .to_vec();
    let fields = ["t", "a \"quoted\"\nline", "x", "r7", "ünï"];
    let layout = CsvLayout::new(headers.clone());
    let record = ::csv::StringRecord::from(fields.to_vec());
    let mut maker = RowMaker::new(Path::new("d.csv"), false);
    let fast = maker.csv(&layout, &record, 9, 3).unwrap();
    let vars: serde_json::Map<String, serde_json::Value> = headers
        .iter()
        .zip(fields)
        .map(|(h, f)| (h.clone(), json!(f)))
        .collect();
    let mut warnings = Vec::new();
    let slow = maker
        .make(RawRow { line: 9, vars }, 3, &mut warnings)
        .unwrap();
    assert_eq!(format!("{fast:?}"), format!("{slow:?}"));
    let keys: Vec<&String> = fast.vars.keys().collect();
    assert_eq!(keys, ["q", "id", "n", "assert", "tools"]);
    // Without an `id` column the row number is the id; an empty id is refused.
    let layout = CsvLayout::new(vec!["q".to_string()]);
    let row = maker
        .csv(&layout, &::csv::StringRecord::from(vec!["x"]), 2, 0)
        .unwrap();
    assert_eq!(row.id, "1");
    let layout = CsvLayout::new(vec!["id".to_string()]);
    let empty = maker.csv(&layout, &::csv::StringRecord::from(vec![" "]), 2, 0);
    assert!(matches!(empty, Err(DatasetError::EmptyId { .. })));
}
