//! The `exec` handler: runs a command per call, the call as JSON on its stdin, the result
//! from its stdout.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;

use super::registry::{read_settings, BuildError, Built, HandlerKind, HandlerSpec, RowResults};
use super::{ToolFailure, ToolHandler};
use crate::piped::{find_program, Piped};
use crate::provider::BoxFuture;
use crate::tools::ToolCall;

/// `kind: exec`.
pub(crate) const KIND: HandlerKind = HandlerKind {
    name: "exec",
    keys: &["command", "timeout"],
    build,
    example: "{kind: exec, command: [python3, tools/weather.py], timeout: 10s}",
};

/// How long one call may run when `timeout` is not set.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// An exec entry as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ExecSettings {
    /// The program and its arguments, run once per call.
    #[serde(default)]
    command: Vec<String>,
    /// How long one call may run before it is killed (`10s`, `500ms`).
    #[serde(default)]
    timeout: Option<String>,
}

/// Runs a command per call.
///
/// Its stdin is `{"id": …, "name": …, "arguments": {…}, "vars": {…}}`: the call's id and
/// function, its arguments (parsed; the text as the model wrote it when that is not
/// JSON), and the row's variables. Its stdout, with one final newline removed, is the
/// result. A non-zero exit, a signal, or running longer than `timeout` (the process and
/// what it started are killed) is an error result carrying the status and the end of
/// stderr.
pub(crate) struct ExecHandler {
    piped: Piped,
}

fn build(spec: &HandlerSpec<'_>) -> Result<Built, BuildError> {
    let settings: ExecSettings = read_settings(spec.settings)?;
    let Some(first) = settings.command.first() else {
        return Err(BuildError::settings(
            Some("command"),
            "`command` is required for kind `exec`",
            Some(
                "give the program and its arguments, e.g. `command: [python3, tools/weather.py]`"
                    .into(),
            ),
        ));
    };
    let program = resolve(first, spec.root);
    let Some(program) = find_program(&program) else {
        let hint = if first.contains('/') {
            "check the path (relative paths are resolved against the project root)"
        } else {
            "install it, or give its path"
        };
        return Err(BuildError::settings(
            Some("command[0]"),
            format!("`command` program `{first}` not found"),
            Some(hint.into()),
        ));
    };
    let timeout = match &settings.timeout {
        None => DEFAULT_TIMEOUT,
        Some(text) => parse_timeout(text)?,
    };
    let piped = Piped {
        program,
        args: settings.command[1..].to_vec(),
        timeout,
    };
    Ok(Built {
        handler: Arc::new(ExecHandler { piped }),
        reads: Vec::new(),
        row_results: RowResults::Ignored,
    })
}

/// A program given as a path (not a bare name) is resolved against the project root.
fn resolve(program: &str, root: &Path) -> String {
    let path = Path::new(program);
    if !crate::provider::is_program_path(path) {
        return program.to_string();
    }
    let home = std::env::var_os("HOME").map(std::path::PathBuf::from);
    crate::config::project::resolve_user_path(path, root, home.as_deref())
        .display()
        .to_string()
}

/// `timeout` as a duration longer than zero.
fn parse_timeout(text: &str) -> Result<Duration, BuildError> {
    match humantime::parse_duration(text.trim()) {
        Ok(d) if !d.is_zero() => Ok(d),
        Ok(_) => Err(BuildError::settings(
            Some("timeout"),
            "`timeout` must be longer than zero",
            None,
        )),
        Err(err) => Err(BuildError::settings(
            Some("timeout"),
            format!("invalid `timeout` `{text}`: {err}"),
            Some("write a duration like `10s` or `500ms`".into()),
        )),
    }
}

impl ToolHandler for ExecHandler {
    fn call<'a>(
        &'a self,
        call: &'a ToolCall,
        vars: &'a serde_json::Map<String, serde_json::Value>,
    ) -> BoxFuture<'a, Result<String, ToolFailure>> {
        Box::pin(async move {
            let arguments = call
                .arguments
                .clone()
                .unwrap_or_else(|| serde_json::Value::String(call.arguments_raw.clone()));
            let input = serde_json::json!({
                "id": call.id,
                "name": call.name,
                "arguments": arguments,
                "vars": vars,
            });
            self.piped
                .run(input.to_string().as_bytes())
                .await
                .map_err(|err| ToolFailure::new(err.to_string()))
        })
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::diagnostic::Location;
    use serde_json::json;

    fn built(settings: serde_json::Value) -> Result<Built, BuildError> {
        let partials = BTreeMap::new();
        let spec = HandlerSpec {
            label: "tool_handlers.get_weather",
            settings: settings.as_object().unwrap(),
            root: Path::new("/nonexistent-root"),
            partials: &partials,
            locate: &|_| Location::file("e.yaml"),
        };
        build(&spec)
    }

    fn settings_error(settings: serde_json::Value) -> (Option<String>, String) {
        match built(settings) {
            Err(BuildError::Settings { key, message, .. }) => (key, message),
            Err(other) => panic!("{other:?}"),
            Ok(_) => panic!("built"),
        }
    }

    #[tokio::test]
    async fn the_call_goes_in_on_stdin_and_the_result_comes_out_of_stdout() {
        let h = built(json!({"command": ["sh", "-c", "cat; echo"]}))
            .unwrap()
            .handler;
        let call = ToolCall::from_value("c7", "get_weather", json!({"city": "Rome"}));
        let mut vars = serde_json::Map::new();
        vars.insert("id".into(), "rome".into());
        let out = h.call(&call, &vars).await.unwrap();
        let input: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(
            input,
            json!({"id": "c7", "name": "get_weather", "arguments": {"city": "Rome"}, "vars": {"id": "rome"}})
        );
        let raw = ToolCall::from_raw("c8", "get_weather", "{city");
        let out = h.call(&raw, &vars).await.unwrap();
        let input: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(input["arguments"], "{city");
    }

    #[tokio::test]
    async fn failures_are_error_results_with_the_stderr_tail() {
        let script = "echo 'no such city' >&2; exit 4";
        let h = built(json!({"command": ["sh", "-c", script]}))
            .unwrap()
            .handler;
        let call = ToolCall::from_value("c", "get_weather", json!({}));
        let err = h.call(&call, &serde_json::Map::new()).await.unwrap_err();
        assert_eq!(err.message, "command exited with status 4: no such city");
        let h = built(json!({"command": ["sleep", "5"], "timeout": "200ms"}))
            .unwrap()
            .handler;
        let err = h.call(&call, &serde_json::Map::new()).await.unwrap_err();
        assert_eq!(err.message, "command timed out after 200ms and was killed");
    }

    #[test]
    fn bad_entries_name_their_key() {
        let (key, message) = settings_error(json!({}));
        assert_eq!(key.as_deref(), Some("command"));
        assert_eq!(message, "`command` is required for kind `exec`");
        let (key, message) = settings_error(json!({"command": ["surely-not-a-program-pe"]}));
        assert_eq!(key.as_deref(), Some("command[0]"));
        assert_eq!(
            message,
            "`command` program `surely-not-a-program-pe` not found"
        );
        let (_, message) = settings_error(json!({"command": ["./tools/w.py"]}));
        assert_eq!(message, "`command` program `./tools/w.py` not found");
        let (key, message) = settings_error(json!({"command": ["sh"], "timeout": "soon"}));
        assert_eq!(key.as_deref(), Some("timeout"));
        assert!(message.starts_with("invalid `timeout` `soon`"), "{message}");
        let (_, message) = settings_error(json!({"command": ["sh"], "timeout": "0s"}));
        assert_eq!(message, "`timeout` must be longer than zero");
        let (key, _) = settings_error(json!({"comand": ["sh"]}));
        assert_eq!(key.as_deref(), Some("comand"));
    }

    #[test]
    fn relative_programs_are_under_the_root() {
        assert_eq!(resolve("python3", Path::new("/p")), "python3");
        assert_eq!(resolve("tools/w.py", Path::new("/p")), "/p/tools/w.py");
        assert_eq!(resolve("/bin/sh", Path::new("/p")), "/bin/sh");
    }
}
