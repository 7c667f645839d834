//! [`LlamaCppProvider`]: the `llamacpp` kind, an OpenAI-compatible client in front of a
//! managed (or given) `llama-server`.

use std::fmt;
use std::sync::Arc;

use super::config::{Mode, Settings, Target};
use super::discover::LookupEnv;
use super::kind::LlamaCppSettings;
use super::registry::shared_server;
use super::server::ManagedServer;
use crate::provider::{
    BoxFuture, CommonSettings, OpenAiProvider, OpenAiSettings, Provider, ProviderConfigError,
    ProviderError, ProviderRequest, ProviderResponse,
};

/// A local llama.cpp model. With `base_url` it talks to a server someone else runs;
/// otherwise [`Provider::start`] starts (or joins) a `llama-server` for `model_path`, and
/// the server stops when the last provider using it is dropped. Requests go through
/// [`OpenAiProvider`] (retries, timeout, concurrency limit); responses cost nothing.
pub struct LlamaCppProvider {
    name: String,
    settings: Settings,
    state: tokio::sync::OnceCell<Ready>,
}

/// A provider that can take requests.
struct Ready {
    client: OpenAiProvider,
    server: Option<Arc<ManagedServer>>,
}

impl fmt::Debug for LlamaCppProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LlamaCppProvider")
            .field("name", &self.name)
            .field("mode", &self.settings.mode)
            .field("target", &self.settings.target)
            .field("started", &self.state.initialized())
            .finish_non_exhaustive()
    }
}

impl LlamaCppProvider {
    /// Checks the settings of provider `name`, finding the binary and checking that the
    /// model file exists (see [`LookupEnv::from_process`] for the environment read).
    /// Starts nothing.
    pub fn new(
        name: &str,
        config: &LlamaCppSettings,
        common: &CommonSettings,
    ) -> Result<Self, ProviderConfigError> {
        Self::with_env(name, config, common, &LookupEnv::from_process())
    }

    /// Like [`LlamaCppProvider::new`], with the environment given.
    pub fn with_env(
        name: &str,
        config: &LlamaCppSettings,
        common: &CommonSettings,
        env: &LookupEnv,
    ) -> Result<Self, ProviderConfigError> {
        let settings = Settings::resolve(name, config, common, env)?;
        let state = tokio::sync::OnceCell::new();
        if settings.target == Target::Remote {
            let client = OpenAiProvider::with_endpoint(
                name,
                &settings.client,
                &settings.shared,
                settings.mode.endpoint(),
            )?;
            let _ = state.set(Ready {
                client,
                server: None,
            });
        }
        Ok(LlamaCppProvider {
            name: name.to_string(),
            settings,
            state,
        })
    }

    /// The checked settings.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// Completion or chat.
    pub fn mode(&self) -> Mode {
        self.settings.mode
    }

    /// The managed server, once started.
    pub fn server(&self) -> Option<&Arc<ManagedServer>> {
        self.state.get().and_then(|ready| ready.server.as_ref())
    }

    async fn launch(&self) -> Result<Ready, ProviderError> {
        let Target::Managed {
            server,
            startup_timeout,
        } = &self.settings.target
        else {
            // Remote providers are ready from the start; this is not reached.
            let client = self.client_for(self.settings.client.base_url.clone())?;
            return Ok(Ready {
                client,
                server: None,
            });
        };
        let server = shared_server(server)?;
        server.wait_ready(*startup_timeout).await?;
        let client = self.client_for(Some(server.base_url()))?;
        Ok(Ready {
            client,
            server: Some(server),
        })
    }

    fn client_for(&self, base_url: Option<String>) -> Result<OpenAiProvider, ProviderError> {
        let config = OpenAiSettings {
            base_url,
            ..self.settings.client.clone()
        };
        let (shared, endpoint) = (&self.settings.shared, self.settings.mode.endpoint());
        OpenAiProvider::with_endpoint(&self.name, &config, shared, endpoint).map_err(|e| {
            ProviderError {
                message: e.to_string(),
                status: None,
                attempts: 0,
            }
        })
    }
}

impl LlamaCppProvider {
    /// The error of a request made before [`Provider::start`].
    fn not_started(&self) -> ProviderError {
        ProviderError {
            message: format!(
                "provider `{}` was not started before its first request",
                self.name
            ),
            status: None,
            attempts: 0,
        }
    }
}

impl Provider for LlamaCppProvider {
    fn complete(
        &self,
        request: ProviderRequest,
    ) -> BoxFuture<'_, Result<ProviderResponse, ProviderError>> {
        match self.state.get() {
            Some(ready) => ready.client.complete(request),
            None => Box::pin(std::future::ready(Err(self.not_started()))),
        }
    }

    fn concurrency(&self) -> usize {
        self.settings.shared.concurrency.unwrap_or(1)
    }

    fn cost(&self, _tokens_in: Option<u64>, _tokens_out: Option<u64>) -> Option<f64> {
        Some(0.0)
    }

    fn start(&self) -> BoxFuture<'_, Result<(), ProviderError>> {
        Box::pin(async move {
            self.state.get_or_try_init(|| self.launch()).await?;
            Ok(())
        })
    }

    fn embed(&self, texts: Vec<String>) -> BoxFuture<'_, Result<Vec<Vec<f32>>, ProviderError>> {
        match self.state.get() {
            Some(ready) => ready.client.embed(texts),
            None => Box::pin(std::future::ready(Err(self.not_started()))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::template::message::RenderedPrompt;

    fn fake_server() -> std::path::PathBuf {
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/fake-llama-server.py")
    }

    fn env(dir: &std::path::Path) -> LookupEnv {
        LookupEnv {
            llama_server: None,
            path: None,
            cache_dir: dir.join("cache"),
        }
    }

    fn managed(dir: &std::path::Path, ctx_size: u32) -> LlamaCppProvider {
        let model = dir.join("m.gguf");
        std::fs::write(&model, "GGUF").unwrap();
        let config = LlamaCppSettings {
            binary: Some(fake_server()),
            model_path: Some(model),
            ctx_size: Some(ctx_size),
            ..LlamaCppSettings::default()
        };
        LlamaCppProvider::with_env("local", &config, &CommonSettings::default(), &env(dir)).unwrap()
    }

    fn request(text: &str) -> ProviderRequest {
        ProviderRequest {
            prompt: RenderedPrompt::Text(text.into()),
            params: Default::default(),
            vars: Default::default(),
            retries: None,
            tools: None,
        }
    }

    fn alive(pid: u32) -> bool {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        let state = stat
            .rsplit(')')
            .next()
            .and_then(|s| s.split_whitespace().next());
        !matches!(state, Some("Z") | Some("X") | None)
    }

    #[tokio::test]
    async fn requests_before_start_fail() {
        let dir = tempfile::tempdir().unwrap();
        let p = managed(dir.path(), 512);
        let err = p.complete(request("hi")).await.unwrap_err();
        assert_eq!(
            err.message,
            "provider `local` was not started before its first request"
        );
        assert!(p.server().is_none());
        assert_eq!(p.cost(Some(100), Some(100)), Some(0.0));
        assert_eq!(p.concurrency(), 2);
    }

    #[tokio::test]
    async fn base_url_is_ready_without_start() {
        let config = LlamaCppSettings {
            base_url: Some("http://127.0.0.1:9/v1".into()),
            ..LlamaCppSettings::default()
        };
        let dir = tempfile::tempdir().unwrap();
        let common = CommonSettings::default();
        let p = LlamaCppProvider::with_env("remote", &config, &common, &env(dir.path())).unwrap();
        p.start().await.unwrap();
        assert!(p.server().is_none());
        assert_eq!(p.mode(), Mode::Completion);
    }

    #[cfg(target_os = "linux")]
    #[tokio::test]
    async fn start_shares_the_server_and_drop_stops_it() {
        let dir = tempfile::tempdir().unwrap();
        // A context size no other test uses, so no server of another test is shared.
        let a = managed(dir.path(), 777);
        let b = managed(dir.path(), 777);
        a.start().await.unwrap();
        b.start().await.unwrap();
        let server = a.server().unwrap().clone();
        assert!(Arc::ptr_eq(&server, b.server().unwrap()));
        let response = a.complete(request("say hi")).await.unwrap();
        assert_eq!(response.output, "SAY HI");
        assert_eq!(response.tokens_in, Some(2));
        let pid = server.pid();
        drop(server);
        drop(a);
        assert!(alive(pid), "b still uses the server");
        drop(b);
        assert!(!alive(pid), "the last provider stops the server");
    }
}
