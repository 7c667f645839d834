//! The `llamacpp` settings, checked and with defaults applied, and the command line of the
//! server they describe.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::discover::{find_binary, LookupEnv};
use super::kind::LlamaCppSettings;
use crate::provider::llamacpp::install;
use crate::provider::{
    CommonSettings, Endpoint, OpenAiProvider, OpenAiSettings, ProviderConfigError,
};

/// The values of `mode:`.
pub const MODES: &[&str] = &["completion", "chat"];
/// The server's context size when `ctx_size` is not set.
pub const DEFAULT_CTX_SIZE: u32 = 2048;
/// The server's slots (and the provider's concurrency) when `parallel` is not set.
pub const DEFAULT_PARALLEL: usize = 2;
/// How long the server may take to answer `/health` when `startup_timeout` is not set.
pub const DEFAULT_STARTUP_TIMEOUT: Duration = Duration::from_secs(120);
/// The per-request timeout when `timeout` is not set: a small CPU can take minutes for a
/// long answer while other requests hold the slots.
const DEFAULT_REQUEST_TIMEOUT: &str = "5m";
/// The values of `pooling:`. llama-server's own default for most generative models is
/// `none`, which its OpenAI-compatible `/v1/embeddings` refuses ("Pooling type 'none' is not
/// OAI compatible"), so embeddings need one of these.
pub const POOLINGS: &[&str] = &["mean", "cls", "last"];
/// The pooling of a server started with `embeddings: true` when `pooling` is not set.
pub const DEFAULT_POOLING: &str = "mean";
/// Settings that only apply to a server prompteval starts.
const MANAGED_ONLY: &[&str] = &[
    "model_path",
    "binary",
    "ctx_size",
    "threads",
    "startup_timeout",
    "pooling",
    "chat_template_file",
];
/// Flags that keep the server lean and its output predictable: no web UI (nobody browses
/// it), no warm-up generation (it only slows start-up), and the model's own chat template.
const FIXED_FLAGS: &[&str] = &["--no-webui", "--no-warmup", "--jinja"];

/// Which endpoint prompts go to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// `POST /v1/completions` with the prompt as plain text (the default).
    Completion,
    /// `POST /v1/chat/completions` with messages, formatted by the model's chat template.
    Chat,
}

impl Mode {
    /// The OpenAI-compatible endpoint this mode uses.
    pub fn endpoint(self) -> Endpoint {
        match self {
            Mode::Completion => Endpoint::Completions,
            Mode::Chat => Endpoint::Chat,
        }
    }
}

/// Everything that decides which server process serves a model; providers with equal
/// settings share one server.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ServerSettings {
    /// The `llama-server` binary.
    pub binary: PathBuf,
    /// The GGUF model file.
    pub model: PathBuf,
    /// The chat template file that replaces the model's own (`--chat-template-file`).
    pub chat_template: Option<PathBuf>,
    /// Context size in tokens (`--ctx-size`), shared by the slots.
    pub ctx_size: u32,
    /// Parallel slots (`--parallel`).
    pub parallel: usize,
    /// CPU threads (`--threads`).
    pub threads: usize,
    /// Whether the server also serves `/v1/embeddings` (`--embeddings`), and with which
    /// `--pooling` (one of [`POOLINGS`]).
    pub embeddings: bool,
    /// The pooling, when `embeddings` is on.
    pub pooling: Option<&'static str>,
}

impl ServerSettings {
    /// The server's arguments when it listens on `127.0.0.1:port`.
    pub fn args(&self, port: u16) -> Vec<OsString> {
        let mut args: Vec<OsString> = vec![
            "-m".into(),
            self.model.clone().into_os_string(),
            "--host".into(),
            "127.0.0.1".into(),
            "--port".into(),
            port.to_string().into(),
            "--ctx-size".into(),
            self.ctx_size.to_string().into(),
            "--parallel".into(),
            self.parallel.to_string().into(),
            "--threads".into(),
            self.threads.to_string().into(),
        ];
        args.extend(FIXED_FLAGS.iter().map(OsString::from));
        // After `--jinja`: before it, llama-server only accepts its built-in templates.
        if let Some(template) = &self.chat_template {
            args.push("--chat-template-file".into());
            args.push(template.clone().into_os_string());
        }
        if self.embeddings {
            args.push("--embeddings".into());
            let pooling = self.pooling.unwrap_or(DEFAULT_POOLING);
            args.extend(["--pooling".into(), pooling.into()]);
        }
        args
    }
}

/// Where requests go.
#[derive(Clone, Debug, PartialEq)]
pub enum Target {
    /// A server prompteval starts and stops.
    Managed {
        /// The server to start (or share).
        server: ServerSettings,
        /// How long it may take to become healthy.
        startup_timeout: Duration,
    },
    /// A server someone else runs, at the configured `base_url`.
    Remote,
}

/// A `llamacpp` provider's settings, checked.
#[derive(Clone, Debug)]
pub struct Settings {
    /// Completion or chat.
    pub mode: Mode,
    /// Managed server or `base_url`.
    pub target: Target,
    /// The settings of the OpenAI-compatible client; for a managed server, `base_url` is
    /// filled in once the server's port is known.
    pub client: OpenAiSettings,
    /// The client's shared settings (concurrency, timeout, retries, params).
    pub shared: CommonSettings,
}

impl Settings {
    /// Checks the settings of provider `name`: the mode and numbers, the binary (found as
    /// [`find_binary`] says) and the model file (which must exist), and everything the
    /// HTTP client checks.
    pub fn resolve(
        name: &str,
        config: &LlamaCppSettings,
        common: &CommonSettings,
        env: &LookupEnv,
    ) -> Result<Settings, ProviderConfigError> {
        let err = |message: String, hint: &str| {
            ProviderConfigError::new(name, message, Some(hint.to_string()))
        };
        let mode = match config.mode.as_deref().map(str::trim) {
            None | Some("completion") => Mode::Completion,
            Some("chat") => Mode::Chat,
            Some(other) => {
                return Err(err(
                    format!(
                        "unknown `mode` `{other}`. Choose from: {}",
                        MODES.join(", ")
                    ),
                    "use `completion` for plain prompts or `chat` for chat prompts",
                ))
            }
        };
        if mode == Mode::Completion && config.chat_template_file.is_some() {
            return Err(err(
                "`chat_template_file` applies only to `mode: chat`; completion prompts are sent as they are".into(),
                "set `mode: chat`, or remove `chat_template_file`",
            )
            .for_key("chat_template_file"));
        }
        let parallel = positive(name, "parallel", config.parallel, DEFAULT_PARALLEL)?;
        let mut client = OpenAiSettings {
            model: config.model.clone(),
            base_url: config.base_url.clone(),
            api_key_env: config.api_key_env.clone(),
        };
        let shared = CommonSettings {
            concurrency: Some(common.concurrency.unwrap_or(parallel)),
            timeout: Some(
                common
                    .timeout
                    .clone()
                    .unwrap_or(DEFAULT_REQUEST_TIMEOUT.into()),
            ),
            max_retries: common.max_retries,
            params: common.params.clone(),
            ..CommonSettings::default()
        };

        let target = if config.base_url.is_some() {
            if let Some(key) = managed_only_set(config) {
                return Err(err(
                    format!(
                        "`{key}` applies only to a server prompteval starts, but `base_url` is set"
                    ),
                    &format!(
                        "remove `{key}`, or remove `base_url` to let prompteval start the server"
                    ),
                )
                .for_key(key));
            }
            client.model.get_or_insert_with(|| "llamacpp".into());
            Target::Remote
        } else {
            let target = managed(name, config, parallel, env)?;
            if let Target::Managed { server, .. } = &target {
                if client.model.is_none() {
                    let stem = server.model.file_stem();
                    let stem = stem.map(|s| s.to_string_lossy().into_owned());
                    client.model = Some(stem.unwrap_or_else(|| "llamacpp".into()));
                }
            }
            client.base_url = Some("http://127.0.0.1:1/v1".into());
            target
        };
        // Everything the HTTP client checks (timeout, concurrency, URL, key) fails now.
        OpenAiProvider::with_endpoint(name, &client, &shared, mode.endpoint())?;
        Ok(Settings {
            mode,
            target,
            client,
            shared,
        })
    }
}

/// The server prompteval starts for provider `name`, with `parallel` slots.
fn managed(
    name: &str,
    config: &LlamaCppSettings,
    parallel: usize,
    env: &LookupEnv,
) -> Result<Target, ProviderConfigError> {
    let err = |message: String, hint: String| ProviderConfigError::new(name, message, Some(hint));
    let ctx_size = config.ctx_size.unwrap_or(DEFAULT_CTX_SIZE);
    if ctx_size == 0 {
        return Err(err(
            "`ctx_size` must be at least 1".into(),
            format!("remove `ctx_size` to use the default of {DEFAULT_CTX_SIZE} tokens"),
        ));
    }
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    let threads = positive(name, "threads", config.threads, cpus)?;
    let startup_timeout = startup_timeout(name, config.startup_timeout.as_deref())?;
    let model = model_file(name, config.model_path.as_deref(), &env.cache_dir)?;
    let chat_template = config
        .chat_template_file
        .as_deref()
        .map(|path| chat_template_file(name, path))
        .transpose()?;
    let binary = find_binary(config.binary.as_deref(), env).map_err(|e| {
        err(
            e.to_string(),
            format!(
                "run `{}` to install it, or set `binary:` (or {}) to its path",
                install::SETUP_SCRIPT,
                super::discover::LLAMA_SERVER_ENV
            ),
        )
    })?;
    Ok(Target::Managed {
        server: ServerSettings {
            binary,
            model,
            chat_template,
            ctx_size,
            parallel,
            threads,
            embeddings: config.embeddings.unwrap_or(false),
            pooling: pooling(name, config)?,
        },
        startup_timeout,
    })
}

/// The checked `pooling:`, which only means something with `embeddings: true`.
fn pooling(
    name: &str,
    config: &LlamaCppSettings,
) -> Result<Option<&'static str>, ProviderConfigError> {
    let Some(text) = config.pooling.as_deref() else {
        return Ok(None);
    };
    let hint = |h: &str| Some(h.to_string());
    if config.embeddings != Some(true) {
        return Err(ProviderConfigError::new(
            name,
            "`pooling` is set, but `embeddings` is not `true`",
            hint("add `embeddings: true` (for the `similar` assertion), or remove `pooling`"),
        ));
    }
    match POOLINGS.iter().find(|p| **p == text) {
        Some(p) => Ok(Some(p)),
        None => Err(ProviderConfigError::new(
            name,
            format!(
                "invalid `pooling` `{text}`. Choose from: {}",
                POOLINGS.join(", ")
            ),
            hint("`mean` (the default) suits most models; `none` is refused by /v1/embeddings"),
        )),
    }
}

fn managed_only_set(config: &LlamaCppSettings) -> Option<&'static str> {
    let set = [
        config.model_path.is_some(),
        config.binary.is_some(),
        config.ctx_size.is_some(),
        config.threads.is_some(),
        config.startup_timeout.is_some(),
        config.pooling.is_some(),
        config.chat_template_file.is_some(),
    ];
    MANAGED_ONLY
        .iter()
        .zip(set)
        .find(|(_, set)| *set)
        .map(|(key, _)| *key)
}

fn positive(
    name: &str,
    key: &str,
    value: Option<usize>,
    default: usize,
) -> Result<usize, ProviderConfigError> {
    match value {
        Some(0) => Err(ProviderConfigError::new(
            name,
            format!("`{key}` must be at least 1"),
            Some(format!("remove `{key}` to use the default of {default}")),
        )),
        Some(n) => Ok(n),
        None => Ok(default),
    }
}

fn startup_timeout(name: &str, text: Option<&str>) -> Result<Duration, ProviderConfigError> {
    let Some(text) = text else {
        return Ok(DEFAULT_STARTUP_TIMEOUT);
    };
    let hint = Some("write a duration such as `120s` or `5m`".to_string());
    match humantime::parse_duration(text.trim()) {
        Ok(d) if d.is_zero() => Err(ProviderConfigError::new(
            name,
            "`startup_timeout` must be longer than zero",
            hint,
        )),
        Ok(d) => Ok(d),
        Err(e) => Err(ProviderConfigError::new(
            name,
            format!("invalid `startup_timeout` `{text}`: {e}"),
            hint,
        )),
    }
}

/// The chat template file (already made absolute by the project), which must be a file.
fn chat_template_file(name: &str, path: &Path) -> Result<PathBuf, ProviderConfigError> {
    if path.is_file() {
        return Ok(path.to_path_buf());
    }
    let what = if path.exists() {
        "is not a file"
    } else {
        "does not exist"
    };
    Err(ProviderConfigError::new(
        name,
        format!(
            "chat template file {} (`chat_template_file`) {what}",
            path.display()
        ),
        Some(
            "fix `chat_template_file` (relative paths start at the project root); the repository ships templates/chat/hermes-tools.jinja".into(),
        ),
    )
    .for_key("chat_template_file"))
}

/// The model file: `model_path` (already made absolute by the project) or the default
/// model in the cache. It must exist.
fn model_file(
    name: &str,
    model_path: Option<&Path>,
    cache_dir: &Path,
) -> Result<PathBuf, ProviderConfigError> {
    let (path, is_default) = match model_path {
        Some(p) => (p.to_path_buf(), false),
        None => (install::default_model(cache_dir), true),
    };
    if path.is_file() {
        return Ok(path);
    }
    let what = if path.exists() {
        "is not a file"
    } else {
        "does not exist"
    };
    let (message, hint) = if is_default {
        (
            format!("the default model {} {what}", path.display()),
            format!(
                "run `{}` to install it, or set `model_path:` to a GGUF file",
                install::SETUP_SCRIPT
            ),
        )
    } else {
        (
            format!("model file {} (`model_path`) {what}", path.display()),
            format!(
                "fix `model_path` (relative paths start at the project root), or remove it and run `{}` to use the default model",
                install::SETUP_SCRIPT
            ),
        )
    };
    let error = ProviderConfigError::new(name, message, Some(hint));
    Err(if is_default {
        error
    } else {
        error.for_key("model_path")
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnostic::Diagnostic;
    use crate::provider::{KindSettings, ProviderConfig};

    struct Fixture {
        dir: tempfile::TempDir,
        env: LookupEnv,
    }

    /// A temp dir with an executable `llama-server` and a model file in its cache.
    fn fixture() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let cache_dir = dir.path().join("cache");
        let bin = install::cached_binary(&cache_dir);
        std::fs::create_dir_all(bin.parent().unwrap()).unwrap();
        std::fs::write(&bin, "#!/bin/sh\n").unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&bin, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        let model = install::default_model(&cache_dir);
        std::fs::create_dir_all(model.parent().unwrap()).unwrap();
        std::fs::write(&model, "GGUF").unwrap();
        Fixture {
            env: LookupEnv {
                llama_server: None,
                path: None,
                cache_dir,
            },
            dir,
        }
    }

    fn config() -> ProviderConfig {
        ProviderConfig::new(LlamaCppSettings::default())
    }

    fn llama(config: &mut ProviderConfig) -> &mut LlamaCppSettings {
        match &mut config.kind {
            KindSettings::LlamaCpp(settings) => settings,
            other => panic!("not llamacpp: {other:?}"),
        }
    }

    fn resolve(f: &Fixture, c: &ProviderConfig) -> Result<Settings, ProviderConfigError> {
        match &c.kind {
            KindSettings::LlamaCpp(settings) => {
                Settings::resolve("local", settings, &c.common, &f.env)
            }
            other => panic!("not llamacpp: {other:?}"),
        }
    }

    #[test]
    fn defaults_use_the_cached_binary_and_model() {
        let f = fixture();
        let s = resolve(&f, &config()).unwrap();
        assert_eq!(s.mode, Mode::Completion);
        let Target::Managed {
            server,
            startup_timeout,
        } = s.target
        else {
            panic!("expected a managed server")
        };
        assert_eq!(server.binary, install::cached_binary(&f.env.cache_dir));
        assert_eq!(server.model, install::default_model(&f.env.cache_dir));
        assert_eq!((server.ctx_size, server.parallel), (2048, 2));
        assert!(server.threads >= 1);
        assert_eq!(startup_timeout, Duration::from_secs(120));
        assert_eq!(s.shared.concurrency, Some(2));
        assert_eq!(s.client.model.as_deref(), Some("gemma-3-270m-q4_k_m"));
        assert_eq!(s.shared.timeout.as_deref(), Some("5m"));
    }

    #[test]
    fn server_arguments() {
        let server = ServerSettings {
            binary: "/bin/llama-server".into(),
            model: "/m/model.gguf".into(),
            chat_template: None,
            ctx_size: 4096,
            parallel: 3,
            threads: 2,
            embeddings: false,
            pooling: None,
        };
        let args: Vec<String> = server
            .args(8123)
            .into_iter()
            .map(|a| a.into_string().unwrap())
            .collect();
        assert_eq!(
            args.join(" "),
            "-m /m/model.gguf --host 127.0.0.1 --port 8123 --ctx-size 4096 --parallel 3 \
             --threads 2 --no-webui --no-warmup --jinja"
        );
    }

    #[test]
    fn a_chat_template_file_follows_jinja() {
        let f = fixture();
        let template = f.dir.path().join("tools.jinja");
        std::fs::write(&template, "{{ messages }}").unwrap();
        let mut c = config();
        llama(&mut c).mode = Some("chat".into());
        llama(&mut c).chat_template_file = Some(template.clone());
        let Target::Managed { server, .. } = resolve(&f, &c).unwrap().target else {
            panic!("expected a managed server")
        };
        assert_eq!(server.chat_template.as_deref(), Some(template.as_path()));
        let args: Vec<String> = server
            .args(8123)
            .into_iter()
            .map(|a| a.into_string().unwrap())
            .collect();
        let tail = args[args.len() - 3..].join(" ");
        assert_eq!(
            tail,
            format!("--jinja --chat-template-file {}", template.display())
        );
    }

    #[test]
    fn a_missing_chat_template_file_names_it() {
        let f = fixture();
        let mut c = config();
        llama(&mut c).mode = Some("chat".into());
        llama(&mut c).chat_template_file = Some(f.dir.path().join("nope.jinja"));
        let e = resolve(&f, &c).unwrap_err();
        assert!(
            e.message
                .contains("nope.jinja (`chat_template_file`) does not exist"),
            "{e}"
        );
        assert!(e.hint().unwrap().starts_with("fix `chat_template_file`"));
        llama(&mut c).chat_template_file = Some(f.dir.path().to_path_buf());
        assert!(resolve(&f, &c)
            .unwrap_err()
            .message
            .ends_with("(`chat_template_file`) is not a file"));
    }

    #[test]
    fn a_chat_template_file_needs_chat_mode_and_a_managed_server() {
        let f = fixture();
        let template = f.dir.path().join("tools.jinja");
        std::fs::write(&template, "{{ messages }}").unwrap();
        let mut c = config();
        llama(&mut c).chat_template_file = Some(template);
        let e = resolve(&f, &c).unwrap_err();
        assert!(
            e.message
                .starts_with("`chat_template_file` applies only to `mode: chat`"),
            "{e}"
        );
        assert_eq!(
            e.hint().as_deref(),
            Some("set `mode: chat`, or remove `chat_template_file`")
        );
        llama(&mut c).mode = Some("chat".into());
        llama(&mut c).base_url = Some("http://127.0.0.1:8080/v1".into());
        assert_eq!(
            resolve(&f, &c).unwrap_err().message,
            "`chat_template_file` applies only to a server prompteval starts, but `base_url` is set"
        );
    }

    #[test]
    fn missing_default_model_points_at_the_setup_script() {
        let f = fixture();
        std::fs::remove_file(install::default_model(&f.env.cache_dir)).unwrap();
        let e = resolve(&f, &config()).unwrap_err();
        assert!(e.message.starts_with("the default model "), "{e}");
        assert!(
            e.message
                .ends_with("gemma-3-270m-q4_k_m.gguf does not exist"),
            "{e}"
        );
        assert!(e.hint().unwrap().contains("scripts/setup-local-model.sh"));
    }

    #[test]
    fn missing_model_path_names_it() {
        let f = fixture();
        let mut c = config();
        llama(&mut c).model_path = Some(f.dir.path().join("nope.gguf"));
        let e = resolve(&f, &c).unwrap_err();
        assert!(
            e.message
                .contains("nope.gguf (`model_path`) does not exist"),
            "{e}"
        );
        assert!(e.hint().unwrap().starts_with("fix `model_path`"));
        llama(&mut c).model_path = Some(f.dir.path().to_path_buf());
        assert!(resolve(&f, &c)
            .unwrap_err()
            .message
            .ends_with("is not a file"));
    }

    #[test]
    fn missing_binary_lists_where_it_looked() {
        let f = fixture();
        std::fs::remove_file(install::cached_binary(&f.env.cache_dir)).unwrap();
        let e = resolve(&f, &config()).unwrap_err();
        assert!(
            e.message
                .starts_with("cannot find `llama-server`; looked at:"),
            "{e}"
        );
        assert!(e.message.contains("bin/llama-server: not found"), "{e}");
        assert!(e.hint().unwrap().contains("scripts/setup-local-model.sh"));
    }

    #[test]
    fn bad_values_are_rejected() {
        let f = fixture();
        type Change = fn(&mut ProviderConfig);
        let cases: Vec<(Change, &str)> = vec![
            (
                |c| llama(c).mode = Some("instruct".into()),
                "unknown `mode` `instruct`. Choose from: completion, chat",
            ),
            (
                |c| llama(c).parallel = Some(0),
                "`parallel` must be at least 1",
            ),
            (
                |c| llama(c).threads = Some(0),
                "`threads` must be at least 1",
            ),
            (
                |c| llama(c).ctx_size = Some(0),
                "`ctx_size` must be at least 1",
            ),
            (
                |c| llama(c).startup_timeout = Some("0s".into()),
                "`startup_timeout` must be longer than zero",
            ),
            (
                |c| llama(c).startup_timeout = Some("later".into()),
                "invalid `startup_timeout` `later`",
            ),
            (
                |c| c.common.timeout = Some("later".into()),
                "invalid `timeout` `later`",
            ),
            (
                |c| c.common.concurrency = Some(0),
                "`concurrency` must be at least 1",
            ),
        ];
        for (change, expected) in cases {
            let mut c = config();
            change(&mut c);
            let e = resolve(&f, &c).unwrap_err();
            assert!(e.message.starts_with(expected), "{e} (expected {expected})");
            assert!(e.hint().is_some(), "{e}");
        }
    }

    #[test]
    fn base_url_needs_no_binary_or_model() {
        let f = fixture();
        std::fs::remove_dir_all(&f.env.cache_dir).unwrap();
        let mut c = config();
        llama(&mut c).base_url = Some("http://127.0.0.1:8080/v1".into());
        llama(&mut c).mode = Some("chat".into());
        let s = resolve(&f, &c).unwrap();
        assert_eq!(s.target, Target::Remote);
        assert_eq!(s.mode, Mode::Chat);
        assert_eq!(
            s.client.base_url.as_deref(),
            Some("http://127.0.0.1:8080/v1")
        );
        llama(&mut c).ctx_size = Some(512);
        let e = resolve(&f, &c).unwrap_err();
        assert_eq!(
            e.message,
            "`ctx_size` applies only to a server prompteval starts, but `base_url` is set"
        );
        llama(&mut c).ctx_size = None;
        llama(&mut c).base_url = Some("nope".into());
        assert!(resolve(&f, &c)
            .unwrap_err()
            .message
            .starts_with("invalid `base_url`"));
    }

    #[test]
    fn concurrency_defaults_to_parallel() {
        let f = fixture();
        let mut c = config();
        llama(&mut c).parallel = Some(4);
        assert_eq!(resolve(&f, &c).unwrap().shared.concurrency, Some(4));
        c.common.concurrency = Some(1);
        assert_eq!(resolve(&f, &c).unwrap().shared.concurrency, Some(1));
    }

    /// Issue 13, item 22: `embeddings: true` started the server without a pooling, so
    /// every `/v1/embeddings` call failed with HTTP 400 "Pooling type 'none' is not OAI
    /// compatible".
    #[test]
    fn embeddings_without_a_pooling_failed_every_call_with_http_400() {
        let f = fixture();
        let args = |c: &ProviderConfig| {
            let Target::Managed { server, .. } = resolve(&f, c).unwrap().target else {
                panic!("expected a managed server")
            };
            let args: Vec<String> = server
                .args(1)
                .into_iter()
                .map(|a| a.into_string().unwrap())
                .collect();
            args.join(" ")
        };
        let mut c = config();
        llama(&mut c).embeddings = Some(true);
        assert!(
            args(&c).ends_with(" --embeddings --pooling mean"),
            "{}",
            args(&c)
        );
        llama(&mut c).pooling = Some("cls".into());
        assert!(
            args(&c).ends_with(" --embeddings --pooling cls"),
            "{}",
            args(&c)
        );
        llama(&mut c).pooling = Some("none".into());
        let err = resolve(&f, &c).unwrap_err();
        assert_eq!(
            err.to_string(),
            "provider `local`: invalid `pooling` `none`. Choose from: mean, cls, last"
        );
        assert!(err.hint().is_some());
        llama(&mut c).embeddings = None;
        llama(&mut c).pooling = Some("mean".into());
        let err = resolve(&f, &c).unwrap_err().to_string();
        assert!(err.contains("`embeddings` is not `true`"), "{err}");
        assert!(!args(&config()).contains("--pooling"));
    }
}
