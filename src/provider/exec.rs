//! The `exec` provider: runs a command per request, the prompt and vars as one JSON object
//! on its stdin, the output from its stdout.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::http::{read_tool_calls, ResponsePath};
use super::remote::transport::{one_line, truncate};
use super::remote::{messages_json, Api, Remote};
use super::tool_json;
use super::{
    is_program_path, missing, AttemptFailure, Common, CommonSettings, Completion, FailureClass,
    Provider, ProviderConfigError, ProviderKind, ProviderRequest, Subject,
};
use crate::piped::{find_program, Piped, PipedError};
use crate::registry::Params;

/// Requests (processes) at once when `concurrency` is not set.
const DEFAULT_CONCURRENCY: usize = 4;

/// `kind: exec`: a command run once per request.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ExecSettings {
    /// Where the output is in stdout parsed as JSON (else stdout is the output).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output: Option<String>,
    /// Where the prompt token count is in stdout parsed as JSON.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tokens_in: Option<String>,
    /// Where the completion token count is in stdout parsed as JSON.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tokens_out: Option<String>,
    /// The program and its arguments, run once per request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<Vec<String>>,
    /// Where the tool calls are in stdout parsed as JSON (needs `output`), as for the
    /// `http` kind.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_calls: Option<String>,
}

impl ProviderKind for ExecSettings {
    fn build(
        &self,
        name: &str,
        common: &CommonSettings,
    ) -> Result<Arc<dyn Provider>, ProviderConfigError> {
        Ok(Arc::new(ExecProvider::new(name, self, common)?))
    }

    /// A program given as a path (not a bare name) is resolved against the project.
    fn resolve_paths(&mut self, resolve: &dyn Fn(&Path) -> PathBuf) {
        if let Some(program) = self.command.as_mut().and_then(|c| c.first_mut()) {
            let path = Path::new(program.as_str());
            if is_program_path(path) {
                *program = resolve(path).display().to_string();
            }
        }
    }
}

/// A provider that runs a command per request.
pub type ExecProvider = Remote<Command>;

/// A command run once per request.
///
/// Its stdin is `{"prompt": …, "messages": […], "vars": {…}, "params": {…}}` (`prompt` is
/// the prompt as text, `messages` as chat turns), with `tools` (OpenAI's function shape)
/// and `tool_choice` when the request offers tools. Its stdout, with one final newline
/// removed, is the output; with `output:` set, stdout is parsed as JSON and the output (and
/// `tokens_in` / `tokens_out` / `tool_calls`) are read at those paths, as for the `http`
/// kind. A non-zero
/// exit, a signal, or running longer than `timeout` (the process is killed) is an error
/// carrying the status and the end of stderr.
///
/// Commands are not retried unless `max_retries` is set: a command may not be safe to run
/// twice, and a failing script usually fails the same way again.
#[derive(Debug)]
pub struct Command {
    piped: Piped,
    output: Option<ResponsePath>,
    tokens_in: Option<ResponsePath>,
    tokens_out: Option<ResponsePath>,
    tool_calls: Option<ResponsePath>,
}

impl ExecProvider {
    /// Builds the provider named `name`: checks that `command` names a program that exists
    /// (a path, or a name found on `PATH`) and the optional response paths.
    pub fn new(
        name: &str,
        config: &ExecSettings,
        shared: &CommonSettings,
    ) -> Result<Self, ProviderConfigError> {
        let who = Subject {
            name,
            kind: "exec",
            model: None,
        };
        let mut common = Common::resolve(who, shared, DEFAULT_CONCURRENCY)?;
        if shared.max_retries.is_none() {
            common.policy.max_retries = 0;
        }
        let command = config
            .command
            .as_deref()
            .filter(|c| !c.is_empty())
            .ok_or_else(|| missing(name, "exec", "command", "[python3, model.py]"))?;
        let program = find_program(&command[0]).ok_or_else(|| {
            ProviderConfigError::new(
                name,
                format!("`command` program `{}` not found", command[0]),
                Some(if command[0].contains('/') {
                    "check the path (relative paths are resolved against the project root)".into()
                } else {
                    "install it, or give its path".into()
                }),
            )
        })?;
        let path = |key: &str, text: &Option<String>| {
            text.as_deref()
                .map(|t| {
                    ResponsePath::parse(t).map_err(|err| {
                        ProviderConfigError::new(
                            name,
                            format!("invalid `{key}` path `{t}`: {err}"),
                            Some(
                                "write a JSON pointer like `/text` or a path like `result.text`"
                                    .into(),
                            ),
                        )
                    })
                })
                .transpose()
        };
        if config.tool_calls.is_some() && config.output.is_none() {
            return Err(ProviderConfigError::new(
                name,
                "`tool_calls` reads stdout as JSON, which needs `output` too",
                Some("add e.g. `output: text` (the path of the answer's text)".into()),
            ));
        }
        let api = Command {
            piped: Piped {
                program,
                args: command[1..].to_vec(),
                timeout: common.timeout,
            },
            output: path("output", &config.output)?,
            tokens_in: path("tokens_in", &config.tokens_in)?,
            tokens_out: path("tokens_out", &config.tokens_out)?,
            tool_calls: path("tool_calls", &config.tool_calls)?,
        };
        Ok(Remote::with_api(name, api, &common, shared.params.clone()))
    }
}

impl Api for Command {
    /// The JSON on the command's stdin.
    type Body = String;

    fn prepare(&self, request: &ProviderRequest, defaults: &Params) -> Result<String, String> {
        let mut params = defaults.clone();
        for (k, v) in request.params.iter() {
            params.insert(k.clone(), v.clone());
        }
        let mut input = serde_json::json!({
            "prompt": request.prompt.to_text(),
            "messages": messages_json(request),
            "vars": serde_json::Value::Object((*request.vars).clone()),
            "params": params,
        });
        // Only a request offering tools says so, so that other inputs keep their bytes.
        if let Some(set) = tool_json::offered(request.tools.as_deref()) {
            input["tools"] = tool_json::openai_tools(set);
            if let Some(choice) = &set.choice {
                input["tool_choice"] = tool_json::openai_choice(choice);
            }
        }
        Ok(input.to_string())
    }

    async fn attempt<'a>(&'a self, input: &'a String) -> Result<Completion, AttemptFailure> {
        self.run(input).await
    }
}

impl Command {
    /// Runs the command once with `input` on its stdin.
    async fn run(&self, input: &str) -> Result<Completion, AttemptFailure> {
        match self.piped.run(input.as_bytes()).await {
            Ok(stdout) => self.read_stdout(&stdout),
            Err(err @ (PipedError::Start { .. } | PipedError::Read { .. })) => {
                Err(AttemptFailure::fatal(err.to_string(), None))
            }
            Err(err @ (PipedError::TimedOut(_) | PipedError::Failed { .. })) => {
                Err(AttemptFailure {
                    message: err.to_string(),
                    status: None,
                    class: FailureClass::Transient,
                    retry_after: None,
                })
            }
        }
    }

    /// The completion in stdout `text`: the text itself, or read at the paths.
    fn read_stdout(&self, text: &str) -> Result<Completion, AttemptFailure> {
        let Some(path) = &self.output else {
            return Ok(Completion {
                output: text.to_string(),
                ..Default::default()
            });
        };
        let json: serde_json::Value = serde_json::from_str(text).map_err(|err| {
            AttemptFailure::fatal(
                format!("stdout is not JSON ({err}): {}", snippet(text)),
                None,
            )
        })?;
        let tool_calls = match &self.tool_calls {
            None => Vec::new(),
            Some(calls) => read_tool_calls(calls, &json)
                .map_err(|e| AttemptFailure::fatal(format!("stdout: {e}"), None))?,
        };
        let output = match path.find(&json) {
            Some(serde_json::Value::String(s)) => s.clone(),
            // An answer that only calls tools may have no text.
            Some(serde_json::Value::Null) | None if !tool_calls.is_empty() => String::new(),
            Some(serde_json::Value::Null) | None => {
                return Err(AttemptFailure::fatal(
                    format!(
                        "output path `{}` not found in stdout: {}",
                        path.as_str(),
                        snippet(text)
                    ),
                    None,
                ))
            }
            Some(other) => other.to_string(),
        };
        let count = |p: &Option<ResponsePath>| p.as_ref()?.find(&json)?.as_u64();
        Ok(Completion {
            output,
            tokens_in: count(&self.tokens_in),
            tokens_out: count(&self.tokens_out),
            cache: Default::default(),
            tool_calls,
            finish_reason: None,
        })
    }
}

fn snippet(text: &str) -> String {
    truncate(&one_line(text), 160)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnostic::Diagnostic;
    use crate::provider::{KindSettings, ProviderConfig};
    use crate::template::message::RenderedPrompt;
    use std::sync::Arc;
    use std::time::Duration;

    fn config(command: &[&str]) -> ProviderConfig {
        ProviderConfig::new(ExecSettings {
            command: Some(command.iter().map(|s| s.to_string()).collect()),
            ..Default::default()
        })
    }

    fn exec(config: &mut ProviderConfig) -> &mut ExecSettings {
        match &mut config.kind {
            KindSettings::Exec(settings) => settings,
            other => panic!("not exec: {other:?}"),
        }
    }

    fn new(config: &ProviderConfig) -> Result<ExecProvider, ProviderConfigError> {
        match &config.kind {
            KindSettings::Exec(settings) => ExecProvider::new("x", settings, &config.common),
            other => panic!("not exec: {other:?}"),
        }
    }

    fn request(prompt: &str) -> ProviderRequest {
        let mut vars = serde_json::Map::new();
        vars.insert("city".into(), "Oslo".into());
        ProviderRequest {
            prompt: RenderedPrompt::Text(prompt.into()),
            params: Default::default(),
            vars: Arc::new(vars),
            retries: None,
            tools: None,
        }
    }

    fn build(command: &[&str]) -> ExecProvider {
        new(&config(command)).unwrap()
    }

    #[tokio::test]
    async fn stdout_is_the_output_and_stdin_carries_prompt_and_vars() {
        let p = build(&["sh", "-c", "cat; echo"]);
        let r = p.complete(request("hi")).await.unwrap();
        let json: serde_json::Value = serde_json::from_str(&r.output).unwrap();
        assert_eq!(json["prompt"], "hi");
        assert_eq!(json["vars"]["city"], "Oslo");
        assert_eq!(json["messages"][0]["role"], "user");
        assert_eq!(r.attempts, 1);
    }

    #[tokio::test]
    async fn only_one_final_newline_is_removed() {
        let p = build(&["printf", "a\\n\\n"]);
        assert_eq!(p.complete(request("")).await.unwrap().output, "a\n");
    }

    #[tokio::test]
    async fn non_zero_exit_reports_status_and_stderr_without_retrying() {
        let p = build(&["sh", "-c", "echo 'model exploded' >&2; exit 3"]);
        assert_eq!(p.retry_policy().max_retries, 0);
        let e = p.complete(request("")).await.unwrap_err();
        assert_eq!(
            e.message,
            "command exited with status 3: model exploded (after 1 attempt)"
        );
        assert_eq!(e.attempts, 1);
    }

    #[tokio::test]
    async fn timeout_kills_the_command() {
        let dir = tempfile::tempdir().unwrap();
        let pidfile = dir.path().join("pid");
        let mut c = config(&["sh"]);
        // `$0` is the first argument after the script.
        exec(&mut c).command = Some(vec![
            "sh".into(),
            "-c".into(),
            "echo $$ > \"$0\"; exec sleep 30".into(),
            pidfile.display().to_string(),
        ]);
        c.common.timeout = Some("300ms".into());
        let p = new(&c).unwrap();
        let e = p.complete(request("")).await.unwrap_err();
        assert!(
            e.message.starts_with("command timed out after 300ms"),
            "{}",
            e.message
        );
        let pid = std::fs::read_to_string(&pidfile)
            .unwrap()
            .trim()
            .to_string();
        // The killed process is gone (or a zombie about to be reaped).
        let mut gone = false;
        for _ in 0..100 {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
            if stat.is_empty() || stat.contains(") Z ") {
                gone = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert!(gone, "process {pid} still running");
    }

    #[tokio::test]
    async fn json_stdout_with_paths() {
        let mut c = config(&[
            "echo",
            r#"{"result": {"text": "Paris"}, "usage": {"in": 5, "out": 1}}"#,
        ]);
        exec(&mut c).output = Some("result.text".into());
        exec(&mut c).tokens_in = Some("/usage/in".into());
        exec(&mut c).tokens_out = Some("usage.out".into());
        let p = new(&c).unwrap();
        let r = p.complete(request("")).await.unwrap();
        assert_eq!(
            (r.output.as_str(), r.tokens_in, r.tokens_out),
            ("Paris", Some(5), Some(1))
        );
        exec(&mut c).output = Some("result.missing".into());
        let p = new(&c).unwrap();
        let e = p.complete(request("")).await.unwrap_err();
        assert!(
            e.message
                .starts_with("output path `result.missing` not found in stdout: {"),
            "{}",
            e.message
        );
    }

    #[test]
    fn configuration_errors() {
        let e = new(&config(&[])).unwrap_err();
        assert_eq!(e.message, "`command` is required for kind `exec`");
        let e = new(&config(&["surely-not-a-program-prompteval"])).unwrap_err();
        assert_eq!(
            e.message,
            "`command` program `surely-not-a-program-prompteval` not found"
        );
        let e = new(&config(&["./nope/model.py"])).unwrap_err();
        assert!(e.hint().unwrap().contains("project root"));
        let mut c = config(&["sh"]);
        c.common.max_retries = Some(2);
        assert_eq!(new(&c).unwrap().retry_policy().max_retries, 2);
    }
}
