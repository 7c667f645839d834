//! One cell in full for `runs show ID --case …`: prompt, output, tool calls (an agent's
//! whole transcript), every assertion with its reason, tokens, timings, cost and error.

use std::io::{self, Write};

use crate::run::events::CellResult;
use crate::tools::show;

use super::human;

/// The prompt the cell was sent, as the caller could rebuild it.
#[derive(Clone, Debug)]
pub enum PromptView {
    /// A completion-style prompt.
    Text(String),
    /// Chat messages: role and text.
    Messages(Vec<(String, String)>),
    /// Why it cannot be shown (the version is gone, a variable no longer renders).
    Unavailable(String),
}

/// What is shown with a cell beside its stored result.
#[derive(Clone, Debug)]
pub struct CellContext {
    /// The prompt, rendered again from the registry with the cell's variables.
    pub prompt: PromptView,
    /// A note on how the prompt was rebuilt (say, that the version changed since the run).
    pub note: Option<String>,
}

/// Writes `text` indented under a heading, each line behind a bar, so where it starts and
/// ends is plain even when it is empty or ends in blank lines.
fn block(w: &mut dyn Write, text: &str) -> io::Result<()> {
    if text.is_empty() {
        return writeln!(w, "  (empty)");
    }
    for line in text.split('\n') {
        writeln!(w, "  │ {line}")?;
    }
    Ok(())
}

/// Writes one cell in full.
pub fn write_cell(cell: &CellResult, context: &CellContext, w: &mut dyn Write) -> io::Result<()> {
    writeln!(
        w,
        "{} · case {} · {} · {}{}",
        cell.eval,
        cell.case_id,
        cell.prompt,
        cell.model,
        if cell.repeat > 0 {
            format!(" · repeat {}", cell.repeat)
        } else {
            String::new()
        }
    )?;
    writeln!(
        w,
        "status: {} · score {:.2}",
        cell.status().label(),
        cell.score
    )?;
    if !cell.vars.is_empty() {
        writeln!(w, "\nvariables")?;
        for (k, v) in cell.vars.iter() {
            let v = v.as_str().map_or_else(|| v.to_string(), str::to_string);
            writeln!(w, "  {k}: {v}")?;
        }
    }
    write_prompt(context, w)?;
    writeln!(w, "\noutput")?;
    match &cell.output {
        Some(output) => block(w, output)?,
        None => writeln!(w, "  (none)")?,
    }
    if !cell.steps.is_empty() {
        super::transcript::write_transcript(&cell.steps, cell.stopped, w)?;
    } else if !cell.tool_calls.is_empty() {
        writeln!(w, "\ntool calls")?;
        for call in &cell.tool_calls {
            writeln!(w, "  {}", show::compact(call))?;
        }
    }
    if let Some(reason) = &cell.finish_reason {
        writeln!(w, "finish reason: {reason}")?;
    }
    write_assertions(cell, w)?;
    write_costs(cell, w)?;
    if let Some(error) = &cell.error {
        writeln!(w, "\nerror")?;
        block(w, error)?;
    }
    Ok(())
}

fn write_prompt(context: &CellContext, w: &mut dyn Write) -> io::Result<()> {
    match &context.note {
        Some(note) => writeln!(w, "\nprompt ({note})")?,
        None => writeln!(w, "\nprompt")?,
    }
    match &context.prompt {
        PromptView::Text(text) => block(w, text),
        PromptView::Messages(messages) => {
            for (role, text) in messages {
                writeln!(w, "  [{role}]")?;
                block(w, text)?;
            }
            Ok(())
        }
        PromptView::Unavailable(why) => writeln!(w, "  (not shown: {why})"),
    }
}

fn write_assertions(cell: &CellResult, w: &mut dyn Write) -> io::Result<()> {
    if cell.assertions.is_empty() {
        return Ok(());
    }
    writeln!(w, "\nassertions")?;
    for a in &cell.assertions {
        let mark = if a.pass { "✓" } else { "✗" };
        let name = match &a.metric {
            Some(metric) if *metric != a.kind => format!("{} ({metric})", a.kind),
            _ => a.kind.clone(),
        };
        let weight = if (a.weight - 1.0).abs() > f64::EPSILON {
            format!(" · weight {}", a.weight)
        } else {
            String::new()
        };
        let scorer = if a.scorer_error {
            " · scorer error"
        } else {
            ""
        };
        writeln!(
            w,
            "  {mark} {name} · {} · score {:.2}{weight}{scorer}",
            if a.pass { "pass" } else { "fail" },
            a.score
        )?;
        for line in a.reason.lines() {
            writeln!(w, "      {line}")?;
        }
    }
    Ok(())
}

fn write_costs(cell: &CellResult, w: &mut dyn Write) -> io::Result<()> {
    let tokens = |n: Option<u64>| n.map_or_else(|| human::UNKNOWN.to_string(), |n| n.to_string());
    writeln!(
        w,
        "\ntokens {} in · {} out · latency {} · queue {} · cost {}{}",
        tokens(cell.tokens_in),
        tokens(cell.tokens_out),
        human::duration_ms(cell.latency_ms),
        human::duration_ms_opt(cell.queue_ms),
        human::cost(cell.cost_usd),
        if cell.cached {
            " · from the cache"
        } else {
            ""
        }
    )?;
    if cell.grader_tokens_in.is_some() || cell.grader_cost_usd.is_some() {
        writeln!(
            w,
            "graders: tokens {} in · {} out · cost {}",
            tokens(cell.grader_tokens_in),
            tokens(cell.grader_tokens_out),
            human::cost(cell.grader_cost_usd)
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::run::events::AssertionResult;

    fn cell() -> CellResult {
        let mut vars = serde_json::Map::new();
        vars.insert("name".into(), "Ada".into());
        CellResult {
            eval: "greet".into(),
            prompt: "greet@1".into(),
            model: "echo".into(),
            case_id: "a".into(),
            vars: vars.into(),
            output: Some("Hello Ada!\n\nBye".into()),
            latency_ms: 12.0,
            tokens_in: Some(5),
            tokens_out: Some(3),
            score: 0.5,
            assertions: vec![
                AssertionResult {
                    kind: "contains".into(),
                    pass: true,
                    score: 1.0,
                    reason: "output contains \"Ada\"".into(),
                    metric: None,
                    weight: 1.0,
                    detail: None,
                    scorer_error: false,
                },
                AssertionResult {
                    kind: "contains".into(),
                    pass: false,
                    score: 0.0,
                    reason: "output does not contain \"Paris\"".into(),
                    metric: None,
                    weight: 2.0,
                    detail: None,
                    scorer_error: false,
                },
            ],
            ..Default::default()
        }
    }

    fn render(cell: &CellResult, context: &CellContext) -> String {
        let mut out = Vec::new();
        write_cell(cell, context, &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn a_cell_is_shown_in_full() {
        let context = CellContext {
            prompt: PromptView::Messages(vec![
                ("system".into(), "Be brief.".into()),
                ("user".into(), "Greet Ada".into()),
            ]),
            note: None,
        };
        insta::assert_snapshot!(render(&cell(), &context), @r#"
        greet · case a · greet@1 · echo
        status: FAIL · score 0.50

        variables
          name: Ada

        prompt
          [system]
          │ Be brief.
          [user]
          │ Greet Ada

        output
          │ Hello Ada!
          │ 
          │ Bye

        assertions
          ✓ contains · pass · score 1.00
              output contains "Ada"
          ✗ contains · fail · score 0.00 · weight 2
              output does not contain "Paris"

        tokens 5 in · 3 out · latency 12ms · queue — · cost —
        "#);
    }

    #[test]
    fn an_error_and_a_missing_prompt_are_said() {
        let mut c = cell();
        c.output = None;
        c.assertions.clear();
        c.error = Some("HTTP 500 after 3 attempts".into());
        let context = CellContext {
            prompt: PromptView::Unavailable("greet@1 is no longer in prompts/".into()),
            note: None,
        };
        let text = render(&c, &context);
        assert!(text.contains("status: ERROR"), "{text}");
        assert!(
            text.contains("(not shown: greet@1 is no longer in prompts/)"),
            "{text}"
        );
        assert!(text.contains("output\n  (none)"), "{text}");
        assert!(
            text.ends_with("error\n  │ HTTP 500 after 3 attempts\n"),
            "{text}"
        );
    }

    #[test]
    fn an_agent_cell_shows_its_whole_transcript() {
        let (_, cells) = crate::report::fixture_agent::agent();
        let context = CellContext {
            prompt: PromptView::Messages(vec![("user".into(), "Weather in Paris?".into())]),
            note: None,
        };
        let text = render(&cells[1], &context);
        assert!(
            !text.contains("\ntool calls\n"),
            "the transcript has them: {text}"
        );
        insta::assert_snapshot!(text);
    }
}
