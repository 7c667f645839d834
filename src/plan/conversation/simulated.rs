//! A row's simulated user resolved: its provider exists, its persona resolves, compiles and
//! renders with the row, its stop marker and `max_turns` make sense.

use std::sync::Arc;

use super::{Inputs, SimulatedUser, PERSONA_VARIABLES};
use crate::dataset::{Row, SimulatedUserSpec, DEFAULT_MAX_TURNS, DEFAULT_STOP};
use crate::plan::eval::Shared;
use crate::plan::{resolve_model, PlanError};
use crate::registry::PromptRef;

impl Inputs<'_> {
    /// The simulated user of `row` from its merged spec; `None` (with errors) when it
    /// cannot play.
    pub(super) fn simulated_user(
        &self,
        spec: &SimulatedUserSpec,
        row: &Row,
        shared: &mut Shared,
        errors: &mut Vec<PlanError>,
    ) -> Option<SimulatedUser> {
        let before = errors.len();
        let provider = self.user_provider(spec, row, errors);
        let persona = self.persona(spec, row, shared, errors);
        let stop = spec
            .stop
            .clone()
            .unwrap_or_else(|| DEFAULT_STOP.to_string());
        if stop.trim().is_empty() {
            errors.push(self.error(
                self.user_key_location(row, "stop"),
                "`simulated_user.stop` is empty: the simulated user could never end the conversation".to_string(),
                format!("leave `stop` out for the default `{DEFAULT_STOP}`, or give a marker the persona is told to say"),
            ));
        }
        let max_turns = spec.max_turns.unwrap_or(DEFAULT_MAX_TURNS);
        if max_turns == 0 {
            errors.push(self.error(
                self.user_key_location(row, "max_turns"),
                "`simulated_user.max_turns` is 0: the simulated user would never speak".to_string(),
                format!("give the most user messages it may send, e.g. `max_turns: 3` (default {DEFAULT_MAX_TURNS})"),
            ));
        }
        if errors.len() > before {
            return None;
        }
        let user = SimulatedUser {
            provider: provider?,
            persona: persona?,
            stop,
            max_turns,
        };
        self.check_persona(&user, row, shared, errors);
        Some(user)
    }

    /// The provider that plays the user: required, and one the project knows.
    fn user_provider(
        &self,
        spec: &SimulatedUserSpec,
        row: &Row,
        errors: &mut Vec<PlanError>,
    ) -> Option<String> {
        let configured: Vec<String> = self.project.config.providers.keys().cloned().collect();
        let choices = if configured.is_empty() {
            "none configured".to_string()
        } else {
            configured.join(", ")
        };
        let Some(name) = &spec.provider else {
            errors.push(self.error(
                self.user_key_location(row, "provider"),
                format!("case `{}`: `simulated_user.provider` is missing: there is no default simulated user", row.id),
                format!("name the provider that plays the user, e.g. the local model: `simulated_user: {{provider: NAME, persona: PROMPT@VERSION}}` (providers of prompteval.yaml: {choices})"),
            ));
            return None;
        };
        if resolve_model(self.project, name).is_none() {
            let names: Vec<&str> = configured.iter().map(String::as_str).collect();
            let near = crate::diagnostic::suggest(name, &names)
                .map(|n| format!(" (did you mean `{n}`?)"))
                .unwrap_or_default();
            errors.push(self.error(
                self.user_key_location(row, "provider"),
                format!("`simulated_user.provider`: unknown provider `{name}`{near}"),
                format!(
                    "choose from the providers in prompteval.yaml ({choices}) or an inline id: {}",
                    crate::provider::inline_forms()
                ),
            ));
            return None;
        }
        Some(name.clone())
    }

    /// The persona version: required, resolved and compiled once per plan.
    fn persona(
        &self,
        spec: &SimulatedUserSpec,
        row: &Row,
        shared: &mut Shared,
        errors: &mut Vec<PlanError>,
    ) -> Option<Arc<crate::registry::PromptVersion>> {
        let location = self.user_key_location(row, "persona");
        let Some(written) = &spec.persona else {
            errors.push(self.error(
                location,
                format!("case `{}`: `simulated_user.persona` is missing", row.id),
                "name the prompt that tells the simulated user who it is, e.g. `persona: customer@1` (a prompt of prompts/, rendered with the row)".to_string(),
            ));
            return None;
        };
        let resolved = written
            .parse::<PromptRef>()
            .map_err(|e| e.to_string())
            .and_then(|r| self.registry.resolve(&r).map_err(|e| e.to_string()));
        let version = match resolved {
            Ok(version) => version,
            Err(problem) => {
                errors.push(self.error(
                    location,
                    format!("`simulated_user.persona`: cannot resolve `{written}`: {problem}"),
                    "`prompteval prompt list` shows the prompts and their versions".to_string(),
                ));
                return None;
            }
        };
        if shared.compiled.insert(version.reference()) {
            if let Err(e) = shared.templates.add_prompt(version) {
                errors.push(e.into());
                return None;
            }
        }
        Some(Arc::new(version.clone()))
    }

    /// The persona must find its variables in the row (besides `stop` and `max_turns`) and
    /// render with it.
    fn check_persona(
        &self,
        user: &SimulatedUser,
        row: &Row,
        shared: &Shared,
        errors: &mut Vec<PlanError>,
    ) {
        let reference = user.persona.reference();
        for var in shared.templates.prompt_variables(&user.persona) {
            if !row.vars.contains_key(&var) && !PERSONA_VARIABLES.contains(&var.as_str()) {
                errors.push(
                    crate::plan::SpecError::MissingVariable {
                        reference: format!("persona {reference}"),
                        variable: var,
                        dataset: self.dataset.path.clone(),
                        columns: row.vars.keys().cloned().collect(),
                        row: Some((row.id.clone(), row.line)),
                    }
                    .into(),
                );
                return;
            }
        }
        if let Err(source) = shared
            .templates
            .render_prompt(&user.persona, &user.context(&row.context()))
        {
            errors.push(
                crate::plan::SpecError::RenderFailed {
                    reference,
                    dataset: self.dataset.path.clone(),
                    case: row.id.clone(),
                    line: row.line,
                    source,
                }
                .into(),
            );
        }
    }
}
