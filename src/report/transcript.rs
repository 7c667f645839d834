//! An agent cell's whole transcript for `runs show --case`: each step's user turn, reply,
//! tool calls with their results, latency, tokens and request digest.

use std::io::{self, Write};

use crate::agent::{Step, Stopped};
use crate::tools::show;

use super::human;

/// Writes `text` under `indent`, each line behind a bar.
fn block(w: &mut dyn Write, indent: &str, text: &str) -> io::Result<()> {
    for line in text.split('\n') {
        writeln!(w, "{indent}│ {line}")?;
    }
    Ok(())
}

/// Writes the trajectory: a heading with its totals, then each step.
pub(crate) fn write_transcript(
    steps: &[Step],
    stopped: Option<Stopped>,
    w: &mut dyn Write,
) -> io::Result<()> {
    let calls: usize = steps.iter().map(|s| s.tool_calls.len()).sum();
    let tool_ms: f64 = steps
        .iter()
        .flat_map(|s| &s.tool_results)
        .map(|r| r.latency_ms)
        .sum();
    let mut heading = format!(
        "\ntrajectory · {} · {} · tool time {}",
        plural(steps.len(), "step"),
        plural(calls, "tool call"),
        human::duration_ms(tool_ms)
    );
    if let Some(stopped) = stopped {
        heading.push_str(&format!(" · stopped at {}", stopped.as_str()));
    }
    writeln!(w, "{heading}")?;
    let mut turn = None;
    for (i, step) in steps.iter().enumerate() {
        if turn.is_some_and(|t| t != step.turn) || (turn.is_none() && step.turn > 0) {
            writeln!(w, "  ── turn {}", step.turn + 1)?;
        }
        turn = Some(step.turn);
        write_step(i + 1, step, w)?;
    }
    Ok(())
}

/// One step: its figures, the user's message when it opened a turn, the reply, and each
/// call with what the tool returned.
fn write_step(n: usize, step: &Step, w: &mut dyn Write) -> io::Result<()> {
    let tokens = |t: Option<u64>| t.map_or_else(|| human::UNKNOWN.to_string(), |t| t.to_string());
    let mut line = format!(
        "  step {n} · {} · tokens {} in · {} out · request {}",
        human::duration_ms(step.latency_ms),
        tokens(step.tokens_in),
        tokens(step.tokens_out),
        step.messages_digest
    );
    if step.cached {
        line.push_str(" · from the cache");
    }
    writeln!(w, "{line}")?;
    if let Some(user) = &step.user {
        writeln!(w, "    [user]")?;
        block(w, "    ", user)?;
    }
    if !step.output.is_empty() {
        writeln!(w, "    [assistant]")?;
        block(w, "    ", &step.output)?;
    }
    for (i, call) in step.tool_calls.iter().enumerate() {
        writeln!(w, "    → {}", show::compact(call))?;
        let Some(result) = step.tool_results.get(i) else {
            writeln!(w, "      (no result)")?;
            continue;
        };
        let error = if result.is_error { "error · " } else { "" };
        writeln!(
            w,
            "      ⇒ {error}{}",
            human::duration_ms(result.latency_ms)
        )?;
        block(w, "        ", &result.content)?;
    }
    if let Some(reason) = &step.finish_reason {
        writeln!(w, "    finish reason: {reason}")?;
    }
    Ok(())
}

/// `1 step`, `3 tool calls`.
fn plural(n: usize, what: &str) -> String {
    if n == 1 {
        format!("1 {what}")
    } else {
        format!("{n} {what}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::fixture_agent;

    fn render(steps: &[Step], stopped: Option<Stopped>) -> String {
        let mut out = Vec::new();
        write_transcript(steps, stopped, &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn every_step_shows_its_calls_results_and_figures() {
        let (_, cells) = fixture_agent::agent();
        let paris = &cells[1];
        insta::assert_snapshot!(render(&paris.steps, paris.stopped));
        let oslo = &cells[2];
        let text = render(&oslo.steps, oslo.stopped);
        assert!(
            text.starts_with("\ntrajectory · 4 steps · 4 tool calls · tool time "),
            "{text}"
        );
        assert!(text.lines().next_back().is_some());
        assert!(text.contains("stopped at max_steps"), "{text}");
    }

    #[test]
    fn user_turns_open_their_steps() {
        let steps = [
            Step {
                user: Some("Weather in Rome?".into()),
                output: "18°C".into(),
                ..Step::default()
            },
            Step {
                turn: 1,
                user: Some("And tomorrow?".into()),
                output: "20°C".into(),
                ..Step::default()
            },
        ];
        let text = render(&steps, None);
        assert!(
            text.contains("    [user]\n    │ Weather in Rome?\n"),
            "{text}"
        );
        assert!(text.contains("  ── turn 2\n  step 2"), "{text}");
    }
}
