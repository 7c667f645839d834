//! The `ollama` provider: Ollama's native API, `/api/chat` for chat prompts and
//! `/api/generate` for plain prompts, unstreamed, with its token counts.

use std::sync::Arc;

use reqwest::{StatusCode, Url};
use serde::{Deserialize, Serialize};

use super::remote::transport::{parse_http_url, Transport};
use super::remote::{messages_json, Body, HttpApi, Remote};
use super::{
    required_model, AttemptFailure, Common, CommonSettings, Completion, Provider,
    ProviderConfigError, ProviderKind, ProviderRequest, Subject,
};
use crate::registry::Params;
use crate::template::message::RenderedPrompt;

/// The server used when `base_url` is not set.
pub const DEFAULT_OLLAMA_BASE_URL: &str = "http://127.0.0.1:11434";
/// Requests in flight at once when `concurrency` is not set (Ollama's own default
/// parallelism is small; more requests would only queue in the server).
const DEFAULT_CONCURRENCY: usize = 2;
/// Request fields that are not model options.
const TOP_LEVEL: &[&str] = &["format", "keep_alive", "raw", "think", "system", "template"];
/// The `mode` values.
const MODES: &[&str] = &["auto", "chat", "generate"];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    /// Chat prompts to `/api/chat`, plain prompts to `/api/generate`.
    Auto,
    /// Everything to `/api/chat` (plain text becomes one user message).
    Chat,
    /// Everything to `/api/generate` (chat prompts are flattened to text).
    Generate,
}

/// `kind: ollama`: an Ollama server's native API.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct OllamaSettings {
    /// The model id (`llama3.2`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// The server's root (`/api` may end it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_url: Option<String>,
    /// `auto` (the default), `chat` or `generate`: which endpoint prompts go to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<String>,
}

impl ProviderKind for OllamaSettings {
    fn build(
        &self,
        name: &str,
        common: &CommonSettings,
    ) -> Result<Arc<dyn Provider>, ProviderConfigError> {
        Ok(Arc::new(OllamaProvider::new(name, self, common)?))
    }
}

/// A provider of an Ollama server's native API.
pub type OllamaProvider = Remote<Ollama>;

/// An Ollama server.
///
/// Requests are sent with `stream: false`. Params become `options` (`max_tokens` is sent as
/// `num_predict`; `temperature`, `seed`, `stop`, `top_p` and any other option pass as they
/// are), except `format`, `keep_alive`, `raw`, `think`, `system` and `template`, which are
/// request fields. Tokens are `prompt_eval_count` and `eval_count`; latency is measured by
/// prompteval's own clock, like every provider.
#[derive(Debug)]
pub struct Ollama {
    model: String,
    mode: Mode,
    chat_url: Url,
    generate_url: Url,
    transport: Transport,
}

/// A request body and the endpoint it goes to.
pub struct OllamaBody {
    /// `/api/chat` (else `/api/generate`).
    chat: bool,
    json: String,
}

impl Body for OllamaBody {
    fn size(&self) -> usize {
        self.json.len()
    }
}

impl OllamaProvider {
    /// Builds the provider named `name`: checks the model, URL, mode, timeout and limits.
    pub fn new(
        name: &str,
        config: &OllamaSettings,
        shared: &CommonSettings,
    ) -> Result<Self, ProviderConfigError> {
        let model = config.model.as_deref();
        let who = Subject {
            name,
            kind: "ollama",
            model,
        };
        let common = Common::resolve(who, shared, DEFAULT_CONCURRENCY)?;
        let model = required_model(name, "ollama", model, "llama3.2")?;
        let mode = match config.mode.as_deref().map(str::trim) {
            None | Some("auto") => Mode::Auto,
            Some("chat") => Mode::Chat,
            Some("generate") => Mode::Generate,
            Some(other) => {
                return Err(ProviderConfigError::new(
                    name,
                    format!(
                        "unknown `mode` `{other}` for kind `ollama`. Choose from: {}",
                        MODES.join(", ")
                    ),
                    Some("remove `mode` to send chat prompts to /api/chat and plain prompts to /api/generate".into()),
                ))
            }
        };
        let base = config
            .base_url
            .as_deref()
            .unwrap_or(DEFAULT_OLLAMA_BASE_URL)
            .trim()
            .trim_end_matches('/');
        let base = base.strip_suffix("/api").unwrap_or(base);
        let hint = Some(format!(
            "write the server's root, e.g. `{DEFAULT_OLLAMA_BASE_URL}`"
        ));
        let root = parse_http_url(name, "base_url", base, hint.clone())?;
        let join = |path: &str| {
            Url::parse(&format!("{base}/{path}")).map_err(|err| {
                ProviderConfigError::new(
                    name,
                    format!("invalid `base_url` `{base}`: {err}"),
                    hint.clone(),
                )
            })
        };
        let api = Ollama {
            model,
            mode,
            chat_url: join("api/chat")?,
            generate_url: join("api/generate")?,
            transport: Transport::new(name, &root, common.timeout, Vec::new())?,
        };
        Ok(Remote::with_api(name, api, &common, shared.params.clone()))
    }
}

impl Ollama {
    fn uses_chat(&self, prompt: &RenderedPrompt) -> bool {
        match self.mode {
            Mode::Auto => matches!(prompt, RenderedPrompt::Chat(_)),
            Mode::Chat => true,
            Mode::Generate => false,
        }
    }

    /// The request body and whether it goes to `/api/chat`.
    fn body_json(&self, request: &ProviderRequest, defaults: &Params) -> (bool, serde_json::Value) {
        let chat = self.uses_chat(&request.prompt);
        let mut body = serde_json::Map::new();
        body.insert("model".into(), self.model.clone().into());
        if chat {
            body.insert("messages".into(), messages_json(request));
        } else {
            body.insert("prompt".into(), request.prompt.to_text().into());
        }
        body.insert("stream".into(), false.into());
        let mut options = serde_json::Map::new();
        for (key, value) in defaults.iter().chain(request.params.iter()) {
            match key.as_str() {
                "model" | "messages" | "prompt" | "stream" => {}
                "max_tokens" => {
                    options.insert("num_predict".into(), value.clone());
                }
                "stop" => {
                    let stops = match value {
                        serde_json::Value::String(s) => serde_json::json!([s]),
                        other => other.clone(),
                    };
                    options.insert("stop".into(), stops);
                }
                k if TOP_LEVEL.contains(&k) => {
                    body.insert(key.clone(), value.clone());
                }
                _ => {
                    options.insert(key.clone(), value.clone());
                }
            }
        }
        if !options.is_empty() {
            body.insert("options".into(), serde_json::Value::Object(options));
        }
        (chat, serde_json::Value::Object(body))
    }
}

impl HttpApi for Ollama {
    type Body = OllamaBody;

    fn body(&self, request: &ProviderRequest, defaults: &Params) -> Result<OllamaBody, String> {
        let (chat, json) = self.body_json(request, defaults);
        Ok(OllamaBody {
            chat,
            json: json.to_string(),
        })
    }

    fn transport(&self) -> &Transport {
        &self.transport
    }

    fn request(&self, client: &reqwest::Client, body: &OllamaBody) -> reqwest::RequestBuilder {
        let url = if body.chat {
            &self.chat_url
        } else {
            &self.generate_url
        };
        client.post(url.clone()).body(body.json.clone())
    }

    fn parse(
        &self,
        status: StatusCode,
        bytes: &[u8],
        body: &OllamaBody,
    ) -> Result<Completion, AttemptFailure> {
        let parsed: OllamaResponse = self.transport.parse_json(status, bytes)?;
        if let Some(error) = parsed.error {
            return Err(AttemptFailure::fatal(
                format!("server error: {}", self.transport.scrub(&error)),
                Some(status.as_u16()),
            ));
        }
        let output = if body.chat {
            parsed.message.and_then(|m| m.content)
        } else {
            parsed.response
        }
        .ok_or_else(|| {
            AttemptFailure::fatal(
                if body.chat {
                    "response had no `message.content`"
                } else {
                    "response had no `response` text"
                },
                Some(status.as_u16()),
            )
        })?;
        Ok(Completion {
            output,
            tokens_in: parsed.prompt_eval_count,
            tokens_out: parsed.eval_count,
            cache: Default::default(),
        })
    }
}

#[derive(Deserialize)]
struct OllamaResponse {
    #[serde(default)]
    message: Option<OllamaMessage>,
    #[serde(default)]
    response: Option<String>,
    #[serde(default)]
    prompt_eval_count: Option<u64>,
    #[serde(default)]
    eval_count: Option<u64>,
    #[serde(default)]
    error: Option<String>,
}

#[derive(Deserialize)]
struct OllamaMessage {
    #[serde(default)]
    content: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provider::Provider;
    use crate::template::message::{Message, Role};
    use serde_json::json;

    fn config(mode: Option<&str>) -> OllamaSettings {
        OllamaSettings {
            model: Some("llama3.2".into()),
            mode: mode.map(Into::into),
            ..Default::default()
        }
    }

    fn new(config: &OllamaSettings) -> Result<OllamaProvider, ProviderConfigError> {
        OllamaProvider::new("o", config, &CommonSettings::default())
    }

    fn request(prompt: RenderedPrompt, params: Params) -> ProviderRequest {
        ProviderRequest {
            prompt,
            params,
            vars: Default::default(),
            retries: None,
            tools: None,
        }
    }

    fn chat() -> RenderedPrompt {
        RenderedPrompt::Chat(vec![Message {
            role: Role::User,
            content: "Hi".into(),
        }])
    }

    #[test]
    fn plain_prompts_generate_and_chat_prompts_chat() {
        let p = new(&config(None)).unwrap();
        assert_eq!(p.api().chat_url.as_str(), "http://127.0.0.1:11434/api/chat");
        assert_eq!(
            p.api().generate_url.as_str(),
            "http://127.0.0.1:11434/api/generate"
        );
        let mut params = Params::new();
        params.insert("max_tokens".into(), json!(8));
        params.insert("temperature".into(), json!(0));
        params.insert("seed".into(), json!(1));
        params.insert("stop".into(), json!("\n"));
        params.insert("keep_alive".into(), json!("5m"));
        let (is_chat, body) = p.api().body_json(
            &request(RenderedPrompt::Text("Q: 1+1?\nA:".into()), params),
            p.params(),
        );
        assert!(!is_chat);
        assert_eq!(
            body,
            json!({
                "model": "llama3.2",
                "prompt": "Q: 1+1?\nA:",
                "stream": false,
                "keep_alive": "5m",
                "options": {"num_predict": 8, "temperature": 0, "seed": 1, "stop": ["\n"]},
            })
        );
        let (is_chat, body) = p
            .api()
            .body_json(&request(chat(), Params::new()), p.params());
        assert!(is_chat);
        assert_eq!(
            body,
            json!({"model": "llama3.2", "messages": [{"role": "user", "content": "Hi"}], "stream": false})
        );
    }

    #[test]
    fn mode_forces_an_endpoint() {
        let p = new(&config(Some("chat"))).unwrap();
        assert!(p.api().uses_chat(&RenderedPrompt::Text("x".into())));
        let p = new(&config(Some("generate"))).unwrap();
        assert!(!p.api().uses_chat(&chat()));
        let e = new(&config(Some("stream"))).unwrap_err();
        assert_eq!(
            e.message,
            "unknown `mode` `stream` for kind `ollama`. Choose from: auto, chat, generate"
        );
    }

    #[test]
    fn base_url_may_end_in_api() {
        let mut c = config(None);
        c.base_url = Some("http://localhost:9999/api/".into());
        let p = new(&c).unwrap();
        assert_eq!(p.api().chat_url.as_str(), "http://localhost:9999/api/chat");
    }

    #[test]
    fn local_models_have_no_catalog_price() {
        let mut c = config(None);
        c.model = Some("gpt-4o".into());
        assert_eq!(new(&c).unwrap().cost(Some(1), Some(1)), None);
    }
}
