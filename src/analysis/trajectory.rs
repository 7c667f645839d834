//! An agent's trajectory read for display and comparison: on one line
//! (`→ get_weather(city="Rome") ⇒ "18°C" → "It's 18°C in Rome."`), and the first step
//! where two trajectories part.

use serde::{Deserialize, Serialize};

use crate::agent::{Step, Stopped};
use crate::tools::{same_calls, show};

/// Longest tool result quoted on one line, in characters.
const RESULT_MAX: usize = 24;

/// Longest reply quoted on one line, in characters (the caller cuts the line to its width).
const REPLY_MAX: usize = 200;

/// The whole trajectory on one line: each call and what its tool returned, then the final
/// reply; `⋯ stopped at max_steps` when the loop was cut off. Empty without steps.
pub fn one_line(steps: &[Step], stopped: Option<Stopped>) -> String {
    let mut parts: Vec<String> = steps.iter().map(step_line).collect();
    parts.retain(|p| !p.is_empty());
    if let Some(stopped) = stopped {
        parts.push(format!("⋯ stopped at {}", stopped.as_str()));
    }
    parts.join(" ")
}

/// The trajectory on one line in at most `max` characters: [`one_line`] when it fits, else
/// only the functions called and the reply (`→ get_weather → search → "It's 18°C…"`), cut
/// at `max` with `…`.
pub fn fitted(steps: &[Step], stopped: Option<Stopped>, max: usize) -> String {
    let full = one_line(steps, stopped);
    if full.chars().count() <= max {
        return full;
    }
    // Repeated calls to one function are written once with a count: `→ get_weather ×4`.
    let mut runs: Vec<(&str, usize)> = Vec::new();
    for call in steps.iter().flat_map(|s| &s.tool_calls) {
        match runs.last_mut() {
            Some((name, n)) if *name == call.name => *n += 1,
            _ => runs.push((&call.name, 1)),
        }
    }
    let mut parts: Vec<String> = runs
        .into_iter()
        .map(|(name, n)| match n {
            1 => format!("→ {name}"),
            n => format!("→ {name} ×{n}"),
        })
        .collect();
    match (stopped, steps.last()) {
        (Some(stopped), _) => parts.push(format!("⋯ {}", stopped.as_str())),
        (None, Some(last)) if last.tool_calls.is_empty() => {
            parts.push(format!("→ {}", quote(&last.output, REPLY_MAX)))
        }
        _ => {}
    }
    cut(&parts.join(" "), max)
}

/// `text` cut to at most `max` characters, ending with `…` when something was cut.
fn cut(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let mut out: String = text.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// One step on one line: the user's message when it opened a turn (`» "Hi"`), each call
/// with its result (`→ f(x=1) ⇒ "18°C"`, `⇒ error "…"`), or the reply (`→ "It's 18°C."`)
/// when the step called nothing.
pub fn step_line(step: &Step) -> String {
    let mut parts = Vec::new();
    if let Some(user) = &step.user {
        parts.push(format!("» {}", quote(user, RESULT_MAX)));
    }
    for (i, call) in step.tool_calls.iter().enumerate() {
        let mut part = format!("→ {}", show::compact(call));
        if let Some(result) = step.tool_results.get(i) {
            let error = if result.is_error { "error " } else { "" };
            part.push_str(&format!(" ⇒ {error}{}", quote(&result.content, RESULT_MAX)));
        }
        parts.push(part);
    }
    if step.tool_calls.is_empty() {
        parts.push(format!("→ {}", quote(&step.output, REPLY_MAX)));
    }
    parts.join(" ")
}

/// `text` on one line in double quotes, cut at `max` characters with `…`.
fn quote(text: &str, max: usize) -> String {
    let flat: String = text
        .trim()
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    match flat.char_indices().nth(max) {
        Some((at, _)) => format!("\"{}…\"", &flat[..at]),
        None => format!("\"{flat}\""),
    }
}

/// Where two trajectories part: the first step (from 1) whose calls, tool results or reply
/// differ, and that step on each side (`(no step N)` where one side ended earlier).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Parting {
    /// The step, counted from 1.
    pub step: usize,
    /// That step of the first trajectory (the baseline's, run A's), on one line.
    pub before: String,
    /// That step of the second trajectory, on one line.
    pub after: String,
}

/// The first step where `a` and `b` part; `None` when neither has steps or every step made
/// the same calls, got the same results and gave the same reply.
pub fn parting(a: &[Step], b: &[Step]) -> Option<Parting> {
    if a.is_empty() && b.is_empty() {
        return None;
    }
    let at = (0..a.len().max(b.len())).find(|&i| match (a.get(i), b.get(i)) {
        (Some(x), Some(y)) => !same_step(x, y),
        _ => true,
    })?;
    let side = |steps: &[Step]| match steps.get(at) {
        Some(step) => step_line(step),
        None => format!("(no step {})", at + 1),
    };
    Some(Parting {
        step: at + 1,
        before: side(a),
        after: side(b),
    })
}

/// Whether two steps behaved alike: the same calls, results and reply.
fn same_step(a: &Step, b: &Step) -> bool {
    same_calls(&a.tool_calls, &b.tool_calls)
        && a.tool_results.len() == b.tool_results.len()
        && a.tool_results
            .iter()
            .zip(&b.tool_results)
            .all(|(x, y)| x.content == y.content && x.is_error == y.is_error)
        && a.output == b.output
        && a.user == b.user
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::agent::ToolResult;
    use crate::tools::ToolCall;

    pub(crate) fn calling(name: &str, args: &str, result: &str) -> Step {
        Step {
            tool_calls: vec![ToolCall::from_raw("c1", name, args)],
            tool_results: vec![ToolResult {
                call_id: "c1".into(),
                name: name.into(),
                content: result.into(),
                ..ToolResult::default()
            }],
            ..Step::default()
        }
    }

    fn replying(text: &str) -> Step {
        Step {
            output: text.into(),
            ..Step::default()
        }
    }

    #[test]
    fn a_trajectory_reads_as_calls_results_and_the_reply() {
        let steps = [
            calling("get_weather", r#"{"city": "Rome"}"#, "18°C"),
            replying("It's 18°C in Rome."),
        ];
        assert_eq!(
            one_line(&steps, None),
            r#"→ get_weather(city="Rome") ⇒ "18°C" → "It's 18°C in Rome.""#
        );
        let mut failing = calling("f", "{}", "boom: a very long error message here");
        failing.tool_results[0].is_error = true;
        failing.user = Some("Hi\nthere".into());
        assert_eq!(
            one_line(&[failing], Some(Stopped::MaxSteps)),
            r#"» "Hi there" → f() ⇒ error "boom: a very long error …" ⋯ stopped at max_steps"#
        );
        assert_eq!(one_line(&[], None), "");
    }

    #[test]
    fn a_trajectory_too_long_for_the_width_keeps_the_names_and_the_reply() {
        let steps = [
            calling("get_weather", r#"{"city": "Rome"}"#, "18°C"),
            calling("search", r#"{"q": "Rome weather"}"#, "sunny"),
            replying("It's 18°C and sunny in Rome."),
        ];
        let full = one_line(&steps, None);
        assert_eq!(fitted(&steps, None, 200), full);
        assert_eq!(
            fitted(&steps, None, 60),
            r#"→ get_weather → search → "It's 18°C and sunny in Rome.""#
        );
        assert_eq!(fitted(&steps, None, 30), "→ get_weather → search → \"It'…");
        assert_eq!(
            fitted(&steps[..2], Some(Stopped::MaxSteps), 40),
            "→ get_weather → search ⋯ max_steps"
        );
        let looping = vec![steps[0].clone(); 4];
        assert_eq!(
            fitted(&looping, Some(Stopped::MaxSteps), 40),
            "→ get_weather ×4 ⋯ max_steps"
        );
    }

    #[test]
    fn parting_finds_the_first_step_that_differs() {
        let a = [
            calling("get_weather", r#"{"city": "Rome"}"#, "18°C"),
            replying("18°C"),
        ];
        let b = [
            calling("get_weather", r#"{"city": "Rome"}"#, "18°C"),
            calling("search", r#"{"q": "Rome"}"#, "sunny"),
            replying("18°C"),
        ];
        let p = parting(&a, &b).unwrap();
        assert_eq!(p.step, 2);
        assert_eq!(p.before, r#"→ "18°C""#);
        assert_eq!(p.after, r#"→ search(q="Rome") ⇒ "sunny""#);
        assert_eq!(parting(&a, &a), None);
        assert_eq!(parting(&[], &[]), None);
        let p = parting(&a[..1], &a).unwrap();
        assert_eq!((p.step, p.before.as_str()), (2, "(no step 2)"));
    }
}
