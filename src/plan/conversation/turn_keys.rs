//! `turn: N` on an assertion, checked against the turns each case plays.

use super::{Inputs, PlannedConversation};
use crate::dataset::Row;
use crate::diagnostic::Location;
use crate::plan::PlanError;
use crate::score::Assertion;

impl Inputs<'_> {
    /// The `turn` of the row's own assertions must be a turn the row plays.
    pub(super) fn check_turns(
        &self,
        row: &Row,
        row_assertions: &[Assertion],
        conversation: Option<&PlannedConversation>,
        errors: &mut Vec<PlanError>,
    ) {
        for a in row_assertions {
            let Some(turn) = a.spec().turn else { continue };
            if let Some(problem) = unplayed(turn, row, conversation) {
                let location = Location::line(&self.dataset.path, row.line);
                errors.push(self.error(
                    location,
                    format!(
                        "`turn: {turn}` on a `{}` assertion: {problem}",
                        a.spec().kind
                    ),
                    hint(),
                ));
            }
        }
    }

    /// The `turn` of each eval assertion must be a turn every row plays; the first row that
    /// does not is reported.
    pub(super) fn check_eval_turns(
        &self,
        conversations: &[Option<std::sync::Arc<PlannedConversation>>],
        errors: &mut Vec<PlanError>,
    ) {
        for (i, (_, a)) in self.assertions.iter().enumerate() {
            let Some(turn) = a.spec().turn else { continue };
            // The rows were read for their conversations just before.
            let mut failed = None;
            let first = self
                .rows
                .readable(&mut failed)
                .zip(conversations)
                .find_map(|(row, c)| unplayed(turn, &row, c.as_deref()));
            if let Some(problem) = first {
                let location = super::assertion_origin(self.text, self.display, i)
                    .unwrap_or_else(|| Location::line_of_key(self.display, self.text, "assert"));
                errors.push(self.error(
                    location,
                    format!(
                        "`turn: {turn}` on a `{}` assertion: {problem}",
                        a.spec().kind
                    ),
                    hint(),
                ));
            }
        }
    }
}

/// Why `turn` is not a turn `row` plays, if it is not.
fn unplayed(turn: u32, row: &Row, conversation: Option<&PlannedConversation>) -> Option<String> {
    let Some(c) = conversation else {
        return Some(format!(
            "case `{}` plays no conversation (no `turns`, `messages` or `simulated_user`)",
            row.id
        ));
    };
    let most = match &c.simulated {
        Some(user) => user.max_turns,
        None => c.turns.len() as u32,
    };
    (turn > most).then(|| {
        let kind = if c.simulated.is_some() {
            "its simulated user plays at most"
        } else {
            "it scripts"
        };
        format!(
            "case `{}` has no turn {turn}: {kind} {most} turn{}",
            row.id,
            if most == 1 { "" } else { "s" }
        )
    })
}

fn hint() -> String {
    "turns count from 1 (the first user message of `turns:`); `turn: 0` is the reply to the version's own last user message; leave `turn` out to score the final reply".to_string()
}
