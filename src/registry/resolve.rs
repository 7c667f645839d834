//! Resolving references (`name`, `name@3`, `name@production`) to versions.

use super::error::RegistryError;
use super::model::{PromptVersion, Registry};
use super::reference::{PromptRef, Selector};

impl Registry {
    /// Resolves a reference to a version.
    ///
    /// Errors list what exists: the known prompts (with a "did you mean" when one is
    /// close), the available versions, or the aliases defined in `prompt.yaml`.
    pub fn resolve(&self, reference: &PromptRef) -> Result<&PromptVersion, RegistryError> {
        let Some(prompt) = self.prompts.get(&reference.name) else {
            let known: Vec<String> = self.prompts.keys().cloned().collect();
            return Err(RegistryError::UnknownPrompt {
                suggestion: suggest(&reference.name, &known),
                name: reference.name.clone(),
                known,
            });
        };
        let available = || prompt.versions.keys().copied().collect::<Vec<_>>();
        match &reference.selector {
            Selector::Latest => prompt.latest().ok_or_else(|| RegistryError::NoVersions {
                prompt: prompt.name.clone(),
                dir: prompt.dir.clone(),
            }),
            Selector::Version(n) => {
                prompt
                    .versions
                    .get(n)
                    .ok_or_else(|| RegistryError::UnknownVersion {
                        prompt: prompt.name.clone(),
                        version: *n,
                        available: available(),
                    })
            }
            Selector::Alias(alias) => {
                let Some(n) = prompt.meta.aliases.get(alias) else {
                    return Err(RegistryError::UnknownAlias {
                        prompt: prompt.name.clone(),
                        alias: alias.clone(),
                        file: prompt.meta_path(),
                        aliases: prompt.meta.aliases.keys().cloned().collect(),
                    });
                };
                // Load rejects dangling aliases; this only guards registries built otherwise.
                prompt
                    .versions
                    .get(n)
                    .ok_or_else(|| RegistryError::DanglingAlias {
                        file: prompt.meta_path(),
                        line: None,
                        prompt: prompt.name.clone(),
                        alias: alias.clone(),
                        version: *n,
                        available: available(),
                    })
            }
        }
    }
}

/// The known name closest to `name`, when it is close enough to be a likely typo.
pub(crate) fn suggest(name: &str, known: &[String]) -> Option<String> {
    let known: Vec<&str> = known.iter().map(String::as_str).collect();
    crate::diagnostic::suggest(name, &known).map(str::to_string)
}
