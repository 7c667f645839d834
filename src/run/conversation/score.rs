//! A conversation scored: assertions on the final reply by default, on one turn's reply
//! with `turn: N`, and each scripted turn's own `assert:` on its reply, the turn named in
//! the reason.

use super::super::cell::{assertions_of, score_context, CellId};
use super::super::events::{AssertionResult, CellResult};
use crate::agent::Step;
use crate::dataset::Row;
use crate::plan::{Plan, PlannedConversation};
use crate::score::{combine, score_output_async, Assertion, GraderUsage, ScoreInput};

/// Which reply an assertion scores.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Target {
    /// The conversation's last reply, with the whole trajectory.
    Final,
    /// One turn's reply, with that turn's steps.
    Turn(u32),
}

/// Scores the conversation recorded in `result.steps` (played now, or replayed from a
/// stored run) and records the verdict, the final reply and the grader's usage.
pub(crate) async fn score_conversation(
    plan: &Plan,
    (id, row): (CellId, &Row),
    conversation: &PlannedConversation,
    prompt_text: &str,
    result: &mut CellResult,
) {
    let eval = &plan.evals[id.eval];
    let context = row.context();
    let mut targeted: Vec<(Target, &Assertion)> = assertions_of(eval, id.row)
        .map(|a| (a.spec().turn.map_or(Target::Final, Target::Turn), a))
        .collect();
    for (t, turn) in conversation.turns.iter().enumerate() {
        let target = Target::Turn(t as u32 + 1);
        targeted.extend(turn.assertions.iter().map(|a| (target, a)));
    }
    let steps = std::mem::take(&mut result.steps);
    let ctx = score_context(plan, eval, prompt_text);
    let mut usage = GraderUsage::default();
    let mut results: Vec<AssertionResult> = Vec::with_capacity(targeted.len());
    // Consecutive assertions on the same reply are scored together, so a conversation
    // whose assertions all read the final reply is scored as any other cell is.
    let mut start = 0;
    while start < targeted.len() {
        let target = targeted[start].0;
        let end = targeted[start..]
            .iter()
            .position(|(t, _)| *t != target)
            .map_or(targeted.len(), |n| start + n);
        let run: Vec<&Assertion> = targeted[start..end].iter().map(|(_, a)| *a).collect();
        start = end;
        let (reply_steps, latency_ms) = match target {
            Target::Final => (&steps[..], result.latency_ms),
            Target::Turn(turn) => {
                let of_turn = turn_steps(&steps, turn);
                (of_turn, of_turn.iter().map(|s| s.latency_ms).sum())
            }
        };
        let Some(last) = reply_steps.last() else {
            results.extend(run.iter().map(|a| unplayed(a, target, &steps)));
            continue;
        };
        let input = ScoreInput {
            output: &last.output,
            vars: &context,
            latency_ms,
            tool_calls: &last.tool_calls,
            tools: eval.tool_set(id.prompt, id.row).map(|t| &**t),
            steps: reply_steps,
        };
        let threshold = row.threshold().or(eval.threshold);
        let scored =
            score_output_async(eval.transform.as_ref(), &run, &input, &ctx, threshold).await;
        usage.merge(&scored.usage);
        let mut case = scored.case.assertions;
        if let Target::Turn(turn) = target {
            for r in &mut case {
                r.reason = format!("turn {turn}: {}", r.reason);
            }
        }
        results.extend(case);
    }
    usage.apply(result);
    let (pass, score) = combine(&results, row.threshold().or(eval.threshold));
    result.pass = pass;
    result.score = score;
    result.assertions = results;
    if let Some(last) = steps.last() {
        result.output = Some(last.output.clone());
        result.tool_calls = last.tool_calls.clone();
        result.finish_reason = last.finish_reason.clone();
    }
    result.steps = steps;
}

/// The steps of turn `turn` (they are contiguous).
fn turn_steps(steps: &[Step], turn: u32) -> &[Step] {
    let Some(first) = steps.iter().position(|s| s.turn == turn) else {
        return &[];
    };
    let len = steps[first..].iter().take_while(|s| s.turn == turn).count();
    &steps[first..first + len]
}

/// The failing result of an assertion on a turn the conversation did not reach.
fn unplayed(a: &Assertion, target: Target, steps: &[Step]) -> AssertionResult {
    let turn = match target {
        Target::Turn(turn) => turn,
        Target::Final => 0,
    };
    let reason = match steps.last() {
        Some(last) => format!(
            "turn {turn}: not played (the conversation ended after turn {})",
            last.turn
        ),
        None => format!("turn {turn}: not played (the conversation has no turn)"),
    };
    AssertionResult {
        kind: a.spec().kind.clone(),
        pass: false,
        score: 0.0,
        reason,
        metric: a.spec().metric.clone(),
        weight: a.weight(),
        detail: None,
        scorer_error: false,
    }
}
