//! The `http` provider: any JSON endpoint, described in `prompteval.yaml` by its URL,
//! method, headers, a body template, and paths to the output and token counts.

pub(super) mod body;
mod path;

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use reqwest::{Method, StatusCode, Url};
use serde::{Deserialize, Serialize};

use self::body::BodyTemplate;
pub use self::path::ResponsePath;
use super::remote::transport::{
    one_line, parse_http_url, read_secret, truncate, Secret, Transport,
};
use super::remote::{HttpApi, Remote};
use super::tool_json;
use super::{
    missing, AttemptFailure, Common, CommonSettings, Completion, Provider, ProviderConfigError,
    ProviderKind, ProviderRequest, Subject,
};
use crate::registry::Params;

/// Requests in flight at once when `concurrency` is not set.
const DEFAULT_CONCURRENCY: usize = 4;
/// The methods an endpoint may use.
const METHODS: &[&str] = &["POST", "PUT", "PATCH", "GET"];
/// How much of a response a "not found" message quotes.
const SNIPPET_CHARS: usize = 160;

/// `kind: http`: any JSON endpoint.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct HttpSettings {
    /// The model id, for the price catalog (the endpoint does not see it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// The endpoint's full URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// The HTTP method (`POST`, the default, `PUT`, `PATCH` or `GET`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    /// Request headers; values may name environment variables as `${VAR}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub headers: Option<BTreeMap<String, String>>,
    /// The request body, a JSON value whose strings are templates rendered with `prompt`,
    /// `messages` and the row's variables.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<serde_json::Value>,
    /// Where the output is in the response: a JSON pointer (`/choices/0/text`) or a path
    /// (`choices[0].text`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output: Option<String>,
    /// Where the prompt token count is in the response.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tokens_in: Option<String>,
    /// Where the completion token count is in the response.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tokens_out: Option<String>,
    /// Where the tool calls are in the response: a list of calls, each
    /// `{"function": {"name", "arguments"}}` (OpenAI's shape) or `{"name", "arguments"}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_calls: Option<String>,
}

impl ProviderKind for HttpSettings {
    fn build(
        &self,
        name: &str,
        common: &CommonSettings,
    ) -> Result<Arc<dyn Provider>, ProviderConfigError> {
        Ok(Arc::new(HttpProvider::new(name, self, common)?))
    }
}

/// A provider of a generic JSON endpoint.
pub type HttpProvider = Remote<HttpEndpoint>;

/// A generic JSON endpoint.
///
/// The body is the `body:` setting with every string rendered as a minijinja template
/// (strict undefined) with `prompt` (the prompt as text), `messages` (a list of
/// `{role, content}`), `vars` (the row) and each of the row's variables by name. A string
/// that is exactly one `{{ … | tojson }}` expression is replaced by the JSON value it
/// renders, so `messages: "{{ messages | tojson }}"` sends an array. Without `body:`, the
/// body is `{"prompt": …, "messages": …, "vars": …}` (and `tools`, `tool_choice` when the
/// request offers tools). Templates also see `tools` (OpenAI's function shape, `[]` when
/// none) and `tool_choice` (OpenAI's, `none` when unset); `tool_calls:` reads the answer's
/// calls, and then an answer without text is the empty output. Header values may name environment
/// variables as `${VAR}`; those are read once when the provider is built, marked sensitive,
/// never shown by `Debug`, and scrubbed from error messages.
pub struct HttpEndpoint {
    url: Url,
    method: Method,
    headers: HeaderMap,
    header_names: Vec<String>,
    body: Option<BodyTemplate>,
    output: ResponsePath,
    tokens_in: Option<ResponsePath>,
    tokens_out: Option<ResponsePath>,
    tool_calls: Option<ResponsePath>,
    transport: Transport,
}

impl fmt::Debug for HttpEndpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpEndpoint")
            .field("url", &self.url.as_str())
            .field("method", &self.method)
            .field("headers", &self.header_names)
            .field("output", &self.output.as_str())
            .finish_non_exhaustive()
    }
}

/// Expands `${VAR}` in a header value from the environment; the values read are secrets.
fn expand_env(
    provider: &str,
    header: &str,
    value: &str,
    secrets: &mut Vec<Secret>,
) -> Result<(String, bool), ProviderConfigError> {
    let mut out = String::new();
    let mut rest = value;
    let mut used = false;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after.find('}').ok_or_else(|| {
            ProviderConfigError::new(
                provider,
                format!("header `{header}`: unclosed `${{` in its value"),
                Some("write `${VAR}` to use environment variable VAR".into()),
            )
        })?;
        let var = &after[..end];
        if var.is_empty() || !var.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(ProviderConfigError::new(
                provider,
                format!("header `{header}`: `${{{var}}}` is not an environment variable name"),
                Some("use letters, digits and `_`, e.g. `${MY_API_KEY}`".into()),
            ));
        }
        let secret = read_secret(provider, var)?;
        out.push_str(secret.expose());
        secrets.push(secret);
        used = true;
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok((out, used))
}

fn parse_path(provider: &str, key: &str, text: &str) -> Result<ResponsePath, ProviderConfigError> {
    ResponsePath::parse(text).map_err(|err| {
        ProviderConfigError::new(
            provider,
            format!("invalid `{key}` path `{text}`: {err}"),
            Some(
                "write a JSON pointer like `/choices/0/text` or a path like `choices[0].text`"
                    .into(),
            ),
        )
    })
}

/// The checked `headers:` of provider `name`, their names, and the secrets they read.
fn headers(
    name: &str,
    config: &HttpSettings,
) -> Result<(HeaderMap, Vec<String>, Vec<Secret>), ProviderConfigError> {
    let mut secrets = Vec::new();
    let mut headers = HeaderMap::new();
    let mut names = Vec::new();
    for (key, value) in config.headers.iter().flatten() {
        let header_name = HeaderName::from_bytes(key.trim().as_bytes()).map_err(|_| {
            ProviderConfigError::new(
                name,
                format!("`headers`: `{key}` is not a valid header name"),
                None,
            )
        })?;
        let (expanded, secret) = expand_env(name, key, value, &mut secrets)?;
        let mut header_value = HeaderValue::from_str(&expanded).map_err(|_| {
            ProviderConfigError::new(
                name,
                format!(
                    "header `{key}`: its value contains characters not allowed in an HTTP header"
                ),
                Some(
                    "check the value and any environment variable it names for line breaks".into(),
                ),
            )
        })?;
        // Any header may carry a credential; treat them all as sensitive.
        header_value.set_sensitive(secret || is_credential_header(key));
        headers.insert(header_name, header_value);
        names.push(key.clone());
    }
    Ok((headers, names, secrets))
}

fn is_credential_header(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    name == "authorization" || name.contains("key") || name.contains("token")
}

/// The checked `method:` of provider `name` (`POST` when not set).
fn method(name: &str, config: &HttpSettings) -> Result<Method, ProviderConfigError> {
    let text = config
        .method
        .as_deref()
        .unwrap_or("POST")
        .trim()
        .to_ascii_uppercase();
    if !METHODS.contains(&text.as_str()) {
        return Err(ProviderConfigError::new(
            name,
            format!(
                "unknown `method` `{}`. Choose from: {}",
                config.method.as_deref().unwrap_or_default(),
                METHODS.join(", ")
            ),
            None,
        ));
    }
    Ok(Method::from_bytes(text.as_bytes()).unwrap_or(Method::POST))
}

impl HttpProvider {
    /// Builds the provider named `name`: checks the URL, method, headers (reading the
    /// environment variables they name), body templates and response paths.
    pub fn new(
        name: &str,
        config: &HttpSettings,
        shared: &CommonSettings,
    ) -> Result<Self, ProviderConfigError> {
        let who = Subject {
            name,
            kind: "http",
            model: config.model.as_deref(),
        };
        let common = Common::resolve(who, shared, DEFAULT_CONCURRENCY)?;
        let url_text = config
            .url
            .as_deref()
            .ok_or_else(|| missing(name, "http", "url", "https://example.com/generate"))?;
        let url = parse_http_url(
            name,
            "url",
            url_text.trim(),
            Some("write the endpoint's full URL, e.g. `http://127.0.0.1:8000/generate`".into()),
        )?;
        let method = method(name, config)?;
        let (headers, header_names, secrets) = headers(name, config)?;
        let body = match &config.body {
            None => None,
            Some(value) => Some(BodyTemplate::compile(name, value)?),
        };
        if method == Method::GET && body.is_some() {
            return Err(ProviderConfigError::new(
                name,
                "`body` cannot be sent with `method: GET`",
                Some("use `method: POST`, or remove `body`".into()),
            ));
        }
        let output_text = config
            .output
            .as_deref()
            .ok_or_else(|| missing(name, "http", "output", "/choices/0/text"))?;
        let path = |key: &str, text: &Option<String>| {
            text.as_deref()
                .map(|t| parse_path(name, key, t))
                .transpose()
        };
        let api = HttpEndpoint {
            output: parse_path(name, "output", output_text)?,
            tokens_in: path("tokens_in", &config.tokens_in)?,
            tokens_out: path("tokens_out", &config.tokens_out)?,
            tool_calls: path("tool_calls", &config.tool_calls)?,
            transport: Transport::new(name, &url, common.timeout, secrets)?,
            url,
            method,
            headers,
            header_names,
            body,
        };
        Ok(Remote::with_api(name, api, &common, shared.params.clone()))
    }
}

impl HttpApi for HttpEndpoint {
    /// `None` for a GET.
    type Body = Option<String>;

    fn body(
        &self,
        request: &ProviderRequest,
        _defaults: &Params,
    ) -> Result<Option<String>, String> {
        if self.method == Method::GET {
            return Ok(None);
        }
        body::render(self.body.as_ref(), request).map(Some)
    }

    fn transport(&self) -> &Transport {
        &self.transport
    }

    fn request(&self, client: &reqwest::Client, body: &Option<String>) -> reqwest::RequestBuilder {
        let request = client
            .request(self.method.clone(), self.url.clone())
            .headers(self.headers.clone());
        match body {
            Some(body) => request.body(body.clone()),
            None => request,
        }
    }

    fn parse(
        &self,
        status: StatusCode,
        bytes: &[u8],
        _body: &Option<String>,
    ) -> Result<Completion, AttemptFailure> {
        let json: serde_json::Value = self.transport.parse_json(status, bytes)?;
        let tool_calls = match &self.tool_calls {
            None => Vec::new(),
            Some(path) => read_tool_calls(path, &json).map_err(|message| {
                AttemptFailure::fatal(self.transport.scrub(&message), Some(status.as_u16()))
            })?,
        };
        let output = match self.output.find(&json) {
            Some(serde_json::Value::String(s)) => s.clone(),
            // An answer that only calls tools may have no text.
            Some(serde_json::Value::Null) | None if !tool_calls.is_empty() => String::new(),
            Some(serde_json::Value::Null) | None => {
                let snippet = truncate(&one_line(&json.to_string()), SNIPPET_CHARS);
                return Err(AttemptFailure::fatal(
                    format!(
                        "output path `{}` not found in the response: {}",
                        self.output.as_str(),
                        self.transport.scrub(&snippet)
                    ),
                    Some(status.as_u16()),
                ));
            }
            Some(other) => other.to_string(),
        };
        let count = |path: &Option<ResponsePath>| {
            let value = path.as_ref()?.find(&json)?;
            value
                .as_u64()
                .or_else(|| value.as_f64().filter(|f| *f >= 0.0).map(|f| f as u64))
                .or_else(|| value.as_str()?.trim().parse().ok())
        };
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

/// The tool calls at `path` in `json` (none when the path is absent), for `http` and
/// `exec`; the error names the path.
pub(super) fn read_tool_calls(
    path: &ResponsePath,
    json: &serde_json::Value,
) -> Result<Vec<crate::tools::ToolCall>, String> {
    match path.find(json) {
        None => Ok(Vec::new()),
        Some(calls) => tool_json::read_calls(calls)
            .map_err(|e| format!("`tool_calls` path `{}`: {e}", path.as_str())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::template::message::{Message, RenderedPrompt, Role};
    use serde_json::json;
    use std::sync::Arc;

    /// The body `p` sends for `request`.
    fn body(p: &HttpProvider, request: &ProviderRequest) -> Result<Option<String>, String> {
        p.api().body(request, p.params())
    }

    fn config() -> HttpSettings {
        HttpSettings {
            url: Some("http://127.0.0.1:1/generate".into()),
            output: Some("choices[0].text".into()),
            ..Default::default()
        }
    }

    fn new(config: &HttpSettings) -> Result<HttpProvider, ProviderConfigError> {
        HttpProvider::new("h", config, &CommonSettings::default())
    }

    fn err(config: &HttpSettings) -> ProviderConfigError {
        match new(config) {
            Ok(p) => panic!("expected an error, built {p:?}"),
            Err(e) => e,
        }
    }

    fn request(prompt: RenderedPrompt, vars: serde_json::Value) -> ProviderRequest {
        ProviderRequest {
            prompt,
            params: Default::default(),
            vars: Arc::new(vars.as_object().cloned().unwrap_or_default()),
            retries: None,
            tools: None,
        }
    }

    #[test]
    fn required_settings_and_bad_expressions() {
        let mut c = config();
        c.url = None;
        assert_eq!(err(&c).message, "`url` is required for kind `http`");
        let mut c = config();
        c.output = None;
        assert_eq!(err(&c).message, "`output` is required for kind `http`");
        let mut c = config();
        c.output = Some("choices[zero].text".into());
        assert!(err(&c)
            .message
            .starts_with("invalid `output` path `choices[zero].text`"));
        let mut c = config();
        c.method = Some("YELL".into());
        assert_eq!(
            err(&c).message,
            "unknown `method` `YELL`. Choose from: POST, PUT, PATCH, GET"
        );
        let mut c = config();
        c.body = Some(json!({"prompt": "{{ prompt "}));
        assert!(
            err(&c)
                .message
                .starts_with("invalid template in `body.prompt`"),
            "{}",
            err(&c)
        );
    }

    #[test]
    fn body_renders_templates_and_json_values() {
        let mut c = config();
        c.body = Some(json!({
            "input": "Q: {{ prompt }}",
            "msgs": "{{ messages | tojson }}",
            "meta": {"city": "{{ city }}", "n": 3, "all": "{{ vars | tojson }}"},
            "list": ["{{ city | upper }}", true],
        }));
        let p = new(&c).unwrap();
        let chat = RenderedPrompt::Chat(vec![
            Message::new(Role::System, "S"),
            Message::new(Role::User, "say \"hi\""),
        ]);
        let body = body(&p, &request(chat, json!({"city": "Oslo"})))
            .unwrap()
            .unwrap();
        let body: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(
            body,
            json!({
                "input": "Q: system: S\nuser: say \"hi\"",
                "msgs": [{"role": "system", "content": "S"}, {"role": "user", "content": "say \"hi\""}],
                "meta": {"city": "Oslo", "n": 3, "all": {"city": "Oslo"}},
                "list": ["OSLO", true],
            })
        );
    }

    #[test]
    fn undefined_variables_fail_the_request_not_the_build() {
        let mut c = config();
        c.body = Some(json!({"q": "{{ nope }}"}));
        let p = new(&c).unwrap();
        let e = body(&p, &request(RenderedPrompt::Text("x".into()), json!({}))).unwrap_err();
        assert!(e.starts_with("cannot render `body.q`"), "{e}");
    }

    #[test]
    fn default_body_without_template() {
        let p = new(&config()).unwrap();
        let body = body(
            &p,
            &request(RenderedPrompt::Text("hi".into()), json!({"a": 1})),
        )
        .unwrap()
        .unwrap();
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(&body).unwrap(),
            json!({"prompt": "hi", "messages": [{"role": "user", "content": "hi"}], "vars": {"a": 1}})
        );
    }

    #[test]
    fn header_env_vars_are_secret() {
        std::env::set_var("PROMPTEVAL_TEST_HTTP_KEY", "tok-secret-42");
        let mut c = config();
        c.headers = Some(BTreeMap::from([
            (
                "Authorization".into(),
                "Bearer ${PROMPTEVAL_TEST_HTTP_KEY}".into(),
            ),
            ("X-Plain".into(), "v".into()),
        ]));
        let p = new(&c).unwrap();
        let debug = format!("{p:?}");
        assert!(!debug.contains("tok-secret-42"), "{debug}");
        assert_eq!(p.api().transport.scrub("echo tok-secret-42"), "echo ***");
        assert!(p.api().headers["authorization"].is_sensitive());
        c.headers = Some(BTreeMap::from([(
            "Authorization".into(),
            "Bearer ${PROMPTEVAL_TEST_SURELY_UNSET_HTTP}".into(),
        )]));
        assert!(err(&c)
            .message
            .contains("`PROMPTEVAL_TEST_SURELY_UNSET_HTTP`"));
        c.headers = Some(BTreeMap::from([("A".into(), "${BAD NAME}".into())]));
        assert!(err(&c).message.contains("not an environment variable name"));
    }
}
