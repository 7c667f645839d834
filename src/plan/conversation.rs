//! The conversation of each row, checked: its scripted turns with their compiled
//! expectations, the simulated user (provider, persona, stop marker, `max_turns`) merged
//! from the eval and the row, and every `turn: N` of an assertion against the turns played.

use std::path::Path;
use std::sync::Arc;

use crate::config::project::Project;
use crate::dataset::{Dataset, Row, SimulatedUserSpec};
use crate::diagnostic::Location;
use crate::registry::{PromptVersion, Registry};
use crate::score::Assertion;
use crate::template::message::Message;

use super::eval::Shared;
use super::eval_file::assertion_origin;
use super::{PlanError, SpecError};

/// A row's conversation, ready to play.
#[derive(Debug)]
pub struct PlannedConversation {
    /// The fixed history inserted before the version's last user message (`messages:`).
    pub messages: Vec<Message>,
    /// The scripted turns, in order (turn 1 first); empty when a simulated user plays.
    pub turns: Vec<PlannedTurn>,
    /// Who plays the user when the row scripts no turns.
    pub simulated: Option<SimulatedUser>,
}

/// One scripted turn: the user's message and the assertions on the reply to it.
#[derive(Debug)]
pub struct PlannedTurn {
    /// The user's message.
    pub user: String,
    /// The entry's own `assert:`, compiled.
    pub assertions: Vec<Assertion>,
}

/// A simulated user, resolved.
#[derive(Clone, Debug)]
pub struct SimulatedUser {
    /// The provider that plays it (a name of the plan's providers).
    pub provider: String,
    /// The persona version, rendered with the row (and `stop`, `max_turns`).
    pub persona: Arc<PromptVersion>,
    /// What it says to end the conversation.
    pub stop: String,
    /// The most user messages it sends.
    pub max_turns: u32,
}

/// The variables a persona may read besides the row's.
pub(crate) const PERSONA_VARIABLES: [&str; 2] = ["stop", "max_turns"];

impl SimulatedUser {
    /// The persona's template context: the row's variables, `stop` and `max_turns`.
    pub(crate) fn context(&self, row: &minijinja::Value) -> minijinja::Value {
        minijinja::context! { stop => &self.stop, max_turns => self.max_turns, ..row.clone() }
    }
}

/// What the conversations of one eval are checked against.
pub(super) struct Inputs<'a> {
    pub(super) project: &'a Project,
    pub(super) registry: &'a Registry,
    /// The eval's name (assertion ids start with it).
    pub(super) name: &'a str,
    /// The eval file as the user names it, and its text (for key lines).
    pub(super) display: &'a Path,
    pub(super) text: &'a str,
    /// The eval's `simulated_user:`.
    pub(super) simulated_user: Option<&'a SimulatedUserSpec>,
    pub(super) dataset: &'a Dataset,
    pub(super) rows: &'a super::Rows,
    /// The eval's assertions, and each row's own.
    pub(super) assertions: &'a [(String, Assertion)],
    pub(super) row_assertions: &'a [Vec<Assertion>],
}

/// The conversations planned: one entry per row, and the providers the simulated users
/// need (to be built with the eval's models).
pub(super) struct Planned {
    pub(super) conversations: Vec<Option<Arc<PlannedConversation>>>,
    pub(super) user_models: Vec<String>,
}

/// Plans the conversation of every row, collecting every problem.
pub(super) fn plan(inputs: &Inputs<'_>, shared: &mut Shared) -> Result<Planned, Vec<PlanError>> {
    let mut errors = Vec::new();
    let mut planned = Planned {
        conversations: Vec::new(),
        user_models: Vec::new(),
    };
    // No row can play a conversation and no assertion names a turn: nothing to find, and
    // a large dataset is not read again for it.
    let turns = inputs
        .assertions
        .iter()
        .any(|(_, a)| a.spec().turn.is_some());
    if inputs.dataset.plain() && inputs.simulated_user.is_none() && !turns {
        return Ok(planned);
    }
    planned.conversations.reserve(inputs.rows.len());
    let mut failed = None;
    for (i, row) in inputs.rows.readable(&mut failed).enumerate() {
        let conversation = inputs.row(&row, shared, &mut errors);
        if let Some(user) = conversation.as_ref().and_then(|c| c.simulated.as_ref()) {
            if !planned.user_models.contains(&user.provider) {
                planned.user_models.push(user.provider.clone());
            }
        }
        inputs.check_turns(
            &row,
            inputs.row_assertions.get(i).map_or(&[], Vec::as_slice),
            conversation.as_ref(),
            &mut errors,
        );
        planned.conversations.push(conversation.map(Arc::new));
    }
    errors.extend(failed.map(PlanError::from));
    inputs.check_eval_turns(&planned.conversations, &mut errors);
    // An eval without conversations keeps no entry per row (datasets may be large).
    if planned.conversations.iter().all(Option::is_none) {
        planned.conversations = Vec::new();
    }
    if errors.is_empty() {
        Ok(planned)
    } else {
        Err(errors)
    }
}

impl Inputs<'_> {
    /// The row's conversation, `None` when it plays a single prompt.
    fn row(
        &self,
        row: &Row,
        shared: &mut Shared,
        errors: &mut Vec<PlanError>,
    ) -> Option<PlannedConversation> {
        let written = row.conversation().map(|c| &**c);
        let scripted = written.is_some_and(|c| !c.turns.is_empty());
        let simulated = if scripted {
            None
        } else {
            let spec = match (
                self.simulated_user,
                written.and_then(|c| c.simulated_user.as_ref()),
            ) {
                (None, None) => None,
                (Some(eval), None) => Some(eval.clone()),
                (None, Some(own)) => Some(own.clone()),
                (Some(eval), Some(own)) => Some(eval.overlaid(own)),
            };
            match spec {
                Some(spec) => Some(self.simulated_user(&spec, row, shared, errors)?),
                None => None,
            }
        };
        if written.is_none() && simulated.is_none() {
            return None;
        }
        let turns = written
            .map(|c| self.turns(row, &c.turns, shared, errors))
            .unwrap_or_default();
        Some(PlannedConversation {
            messages: written.map(|c| c.messages.clone()).unwrap_or_default(),
            turns,
            simulated,
        })
    }

    /// The scripted turns of a row, their expectations compiled.
    fn turns(
        &self,
        row: &Row,
        written: &[crate::dataset::ScriptedTurn],
        shared: &mut Shared,
        errors: &mut Vec<PlanError>,
    ) -> Vec<PlannedTurn> {
        let origin = Location::line(&self.dataset.path, row.line);
        let mut turns = Vec::with_capacity(written.len());
        for (t, turn) in written.iter().enumerate() {
            let mut assertions = Vec::new();
            for (k, spec) in turn.asserts.iter().enumerate() {
                if spec.turn.is_some() {
                    errors.push(self.error(
                        origin.clone(),
                        format!("case `{}`: `turns[{t}].assert[{k}]` has a `turn`, but it scores the reply to its own turn", row.id),
                        "leave out `turn` on an assertion under a turn; write `turn: N` only on the row's or the eval's `assert`".to_string(),
                    ));
                    continue;
                }
                let id = format!("{}#row{}#turn{}#{k}", self.name, row.line, t + 1);
                match Assertion::compile(spec, &id, &origin, &mut shared.templates) {
                    Ok(a) => {
                        self.check_variables(row, &a, shared, errors);
                        assertions.push(a);
                    }
                    Err(e) => errors.push(e.into()),
                }
            }
            turns.push(PlannedTurn {
                user: turn.user.clone(),
                assertions,
            });
        }
        turns
    }

    /// A per-turn assertion must find its variables in its row.
    fn check_variables(
        &self,
        row: &Row,
        a: &Assertion,
        shared: &Shared,
        errors: &mut Vec<PlanError>,
    ) {
        for var in a.variables(&shared.templates) {
            if !row.vars.contains_key(&var) {
                errors.push(
                    SpecError::MissingVariable {
                        reference: format!("turn assertion of case {}", row.id),
                        variable: var,
                        dataset: self.dataset.path.clone(),
                        columns: row.vars.keys().cloned().collect(),
                        row: Some((row.id.clone(), row.line)),
                    }
                    .into(),
                );
            }
        }
    }

    /// Where key `key` of `simulated_user` is set: the row when it sets the key, else the
    /// eval file.
    fn user_key_location(&self, row: &Row, key: &str) -> Location {
        let row_sets = row
            .conversation()
            .and_then(|c| c.simulated_user.as_ref())
            .is_some_and(|s| match key {
                "provider" => s.provider.is_some(),
                "persona" => s.persona.is_some(),
                "stop" => s.stop.is_some(),
                "max_turns" => s.max_turns.is_some(),
                _ => false,
            });
        if row_sets || self.simulated_user.is_none() {
            Location::line(&self.dataset.path, row.line)
        } else {
            let path = format!("simulated_user.{key}");
            match crate::config::locate::key_line(self.text, &path) {
                Some(line) => Location::line(self.display, line),
                None => Location::line_of_key(self.display, self.text, "simulated_user"),
            }
        }
    }

    fn error(&self, location: Location, message: String, hint: String) -> PlanError {
        SpecError::Conversation {
            location,
            message,
            hint,
        }
        .into()
    }
}

mod simulated;
mod turn_keys;

#[cfg(test)]
mod tests;
