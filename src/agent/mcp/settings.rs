//! The settings of an `mcp` handler as written in `tool_handlers:`, checked before anything
//! starts.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// How long a server may take to start and answer `initialize` when `startup_timeout` is not
/// set (an `npx` or `uvx` server may install itself first).
pub const DEFAULT_STARTUP_TIMEOUT: Duration = Duration::from_secs(60);
/// How long one `tools/call` may take when `timeout` is not set.
pub const DEFAULT_CALL_TIMEOUT: Duration = Duration::from_secs(60);

/// `kind: mcp`: an MCP server started for the run over stdio (`command`, `args`, `env`) or
/// reached over streamable HTTP (`url`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct McpSettings {
    /// The server's program, started once per run with its stdin and stdout as the MCP
    /// channel. A path (with a `/`) is resolved against the project root.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<String>,
    /// The program's arguments.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub args: Vec<String>,
    /// Variables added to the server's environment (the rest is inherited).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub env: BTreeMap<String, String>,
    /// The streamable HTTP endpoint of a server that is already running
    /// (`http://127.0.0.1:3001/mcp`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// The longest one call may take (`30s`, `2m`); a call that runs longer is an error
    /// result for the model.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<String>,
    /// The longest the server may take to start and initialize.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub startup_timeout: Option<String>,
    /// The name of a server under `mcp_servers:` whose settings these are; the plan puts
    /// that server's settings in place of the entry before it is checked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server: Option<String>,
}

/// The keys of an `mcp` handler, for did-you-mean suggestions.
pub const MCP_KEYS: &[&str] = &[
    "command",
    "args",
    "env",
    "url",
    "timeout",
    "startup_timeout",
    "server",
];

/// Where the server is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Endpoint {
    /// A program started per run, speaking MCP on its stdin and stdout.
    Stdio {
        /// The program (resolved against the project root when a path).
        program: PathBuf,
        /// Its arguments.
        args: Vec<String>,
        /// Variables added to its environment.
        env: BTreeMap<String, String>,
    },
    /// A streamable HTTP endpoint.
    Http {
        /// The endpoint's URL.
        url: String,
    },
}

/// A handler's settings, checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct McpConfig {
    /// The handler's name in `tool_handlers:` (messages name it).
    pub name: String,
    /// Where the server is.
    pub endpoint: Endpoint,
    /// The longest one call may take.
    pub timeout: Duration,
    /// The longest the server may take to start and initialize.
    pub startup_timeout: Duration,
}

/// Settings that cannot work, found before anything starts.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("mcp handler `{name}`: {message}")]
pub struct McpConfigError {
    /// The handler's name.
    pub name: String,
    /// The key at fault; `None` for the entry as a whole.
    pub key: Option<&'static str>,
    /// What is wrong.
    pub message: String,
    /// What to do about it.
    pub hint: Option<String>,
}

impl McpSettings {
    /// Checks the settings of the handler `name`; a relative program path is resolved
    /// against `root`.
    pub fn check(&self, name: &str, root: &Path) -> Result<McpConfig, McpConfigError> {
        let fail = |key: Option<&'static str>, message: String, hint: &str| McpConfigError {
            name: name.to_string(),
            key,
            message,
            hint: Some(hint.to_string()),
        };
        if let Some(server) = &self.server {
            return Err(fail(
                Some("server"),
                format!("`server: {server}` is not resolved here"),
                "`server` names an entry of `mcp_servers:` in a `tool_handlers:` entry, with no other keys",
            ));
        }
        let endpoint = match (&self.command, &self.url) {
            (Some(_), Some(_)) => {
                return Err(fail(
                    Some("url"),
                    "`command` and `url` are both set".into(),
                    "give `command` (a server started per run over stdio) or `url` (a running server over streamable HTTP), not both",
                ))
            }
            (None, None) => {
                return Err(fail(
                    None,
                    "neither `command` nor `url` is set".into(),
                    "e.g. `command: uvx` with `args: [mcp-server-time]`, or `url: http://127.0.0.1:3001/mcp`",
                ))
            }
            (Some(command), None) => self.stdio(command, root).map_err(|m| fail(Some("command"), m.0, m.1))?,
            (None, Some(url)) => {
                if !(url.starts_with("http://") || url.starts_with("https://")) {
                    return Err(fail(
                        Some("url"),
                        format!("`url` `{url}` is not an http:// or https:// URL"),
                        "give the server's streamable HTTP endpoint, e.g. http://127.0.0.1:3001/mcp",
                    ));
                }
                Endpoint::Http { url: url.clone() }
            }
        };
        if matches!(endpoint, Endpoint::Http { .. })
            && !(self.args.is_empty() && self.env.is_empty())
        {
            let key = if self.args.is_empty() { "env" } else { "args" };
            return Err(fail(
                Some(key),
                "`args` and `env` need `command` (a server reached by `url` is not started here)"
                    .into(),
                "remove them, or start the server with `command`",
            ));
        }
        let duration = |key: &'static str, text: &Option<String>, default: Duration| match text {
            None => Ok(default),
            Some(t) => humantime::parse_duration(t).map_err(|e| {
                fail(
                    Some(key),
                    format!("`{key}` `{t}` is not a duration: {e}"),
                    "write e.g. `30s` or `2m`",
                )
            }),
        };
        Ok(McpConfig {
            name: name.to_string(),
            endpoint,
            timeout: duration("timeout", &self.timeout, DEFAULT_CALL_TIMEOUT)?,
            startup_timeout: duration(
                "startup_timeout",
                &self.startup_timeout,
                DEFAULT_STARTUP_TIMEOUT,
            )?,
        })
    }

    fn stdio(&self, command: &str, root: &Path) -> Result<Endpoint, Bad> {
        if command.trim().is_empty() {
            return Err(Bad(
                "`command` is empty".into(),
                "name the server's program, e.g. `command: uvx`",
            ));
        }
        let path = Path::new(command);
        let program = if command.contains('/') && path.is_relative() {
            root.join(path)
        } else {
            path.to_path_buf()
        };
        Ok(Endpoint::Stdio {
            program,
            args: self.args.clone(),
            env: self.env.clone(),
        })
    }
}

/// A message and its hint, before the handler's name is added.
struct Bad(String, &'static str);

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(yaml: &str) -> McpSettings {
        serde_yaml::from_str(yaml).unwrap()
    }

    #[test]
    fn a_command_is_a_stdio_server_and_a_relative_path_is_the_projects() {
        let root = Path::new("/project");
        let config = settings("{command: ./bin/server, args: [--x], env: {A: b}, timeout: 5s}")
            .check("time", root)
            .unwrap();
        assert_eq!(
            config.endpoint,
            Endpoint::Stdio {
                program: PathBuf::from("/project/./bin/server"),
                args: vec!["--x".into()],
                env: [("A".to_string(), "b".to_string())].into(),
            }
        );
        assert_eq!(config.timeout, Duration::from_secs(5));
        assert_eq!(config.startup_timeout, DEFAULT_STARTUP_TIMEOUT);
        let bare = settings("{command: uvx}").check("t", root).unwrap();
        assert!(
            matches!(bare.endpoint, Endpoint::Stdio { program, .. } if program == Path::new("uvx"))
        );
    }

    #[test]
    fn a_url_is_a_streamable_http_server() {
        let config = settings("{url: 'http://127.0.0.1:3001/mcp'}")
            .check("e", Path::new("/"))
            .unwrap();
        assert_eq!(
            config.endpoint,
            Endpoint::Http {
                url: "http://127.0.0.1:3001/mcp".into()
            }
        );
    }

    #[test]
    fn settings_that_cannot_work_are_errors_naming_the_handler() {
        let err = |yaml: &str| settings(yaml).check("time", Path::new("/")).unwrap_err();
        let both = err("{command: x, url: 'http://h/mcp'}");
        assert_eq!(
            both.to_string(),
            "mcp handler `time`: `command` and `url` are both set"
        );
        assert!(both.hint.unwrap().contains("not both"));
        assert_eq!(
            err("{}").to_string(),
            "mcp handler `time`: neither `command` nor `url` is set"
        );
        assert_eq!(
            err("{url: 'ftp://h'}").to_string(),
            "mcp handler `time`: `url` `ftp://h` is not an http:// or https:// URL"
        );
        assert!(err("{url: 'http://h', args: [a]}")
            .message
            .contains("need `command`"));
        assert!(err("{command: x, timeout: soon}")
            .to_string()
            .starts_with("mcp handler `time`: `timeout` `soon` is not a duration"));
        assert_eq!(err("{command: ' '}").message, "`command` is empty");
    }

    #[test]
    fn unknown_keys_are_refused() {
        let err = serde_yaml::from_str::<McpSettings>("{comand: x}").unwrap_err();
        assert!(err.to_string().contains("unknown field `comand`"), "{err}");
        assert!(MCP_KEYS.contains(&"command"));
    }
}
