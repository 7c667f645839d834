//! The `http` provider: any JSON endpoint, described in `prompteval.yaml` by its URL,
//! method, headers, a body template, and paths to the output and token counts in the
//! response.

use std::collections::BTreeMap;
use std::fmt;

use minijinja::{Environment, UndefinedBehavior};
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use reqwest::{Method, Url};

use super::limiter::{estimate_tokens, Limiter};
use super::retry::{run_with_retries_estimated, AttemptFailure, Completion};
use super::transport::{one_line, parse_http_url, read_secret, truncate, Secret, Transport};
use super::{
    missing, price_cost, BoxFuture, Common, Price, Provider, ProviderConfig, ProviderConfigError,
    ProviderError, ProviderRequest, ProviderResponse, RetryPolicy,
};

/// Requests in flight at once when `concurrency` is not set.
const DEFAULT_CONCURRENCY: usize = 4;
/// The methods an endpoint may use.
const METHODS: &[&str] = &["POST", "PUT", "PATCH", "GET"];
/// How much of a response a "not found" message quotes.
const SNIPPET_CHARS: usize = 160;

/// A place in a JSON document: a JSON pointer (`/choices/0/text`) or a path
/// (`choices[0].text`, `data.items.0.name`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResponsePath {
    source: String,
    steps: Vec<Step>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Step {
    Key(String),
    Index(usize),
}

impl ResponsePath {
    /// Parses a pointer (starting with `/`) or a dotted path with `[n]` indexes.
    ///
    /// ```
    /// use prompteval::provider::ResponsePath;
    /// let v = serde_json::json!({"choices": [{"text": "hi"}]});
    /// let p = ResponsePath::parse("choices[0].text").unwrap();
    /// assert_eq!(p.find(&v), Some(&serde_json::json!("hi")));
    /// assert_eq!(ResponsePath::parse("/choices/0/text").unwrap().find(&v), p.find(&v));
    /// assert!(ResponsePath::parse("choices[x]").is_err());
    /// ```
    pub fn parse(text: &str) -> Result<ResponsePath, String> {
        let source = text.trim().to_string();
        if source.is_empty() {
            return Err("the path is empty".into());
        }
        if let Some(pointer) = source.strip_prefix('/') {
            // JSON pointer: steps are resolved against objects or arrays at lookup time.
            let steps = pointer
                .split('/')
                .map(|s| Step::Key(s.replace("~1", "/").replace("~0", "~")))
                .collect();
            return Ok(ResponsePath { source, steps });
        }
        let mut steps = Vec::new();
        for part in source.split('.') {
            let (key, mut rest) = match part.find('[') {
                Some(i) => (&part[..i], &part[i..]),
                None => (part, ""),
            };
            if key.is_empty() && (rest.is_empty() || steps.is_empty() && part.is_empty()) {
                return Err(format!("empty segment in `{source}`"));
            }
            if !key.is_empty() {
                steps.push(Step::Key(key.to_string()));
            }
            while !rest.is_empty() {
                let close = rest
                    .find(']')
                    .ok_or_else(|| format!("unclosed `[` in `{source}`"))?;
                let index = rest[1..close].trim().parse::<usize>().map_err(|_| {
                    format!("`{}` is not an array index in `{source}`", &rest[1..close])
                })?;
                steps.push(Step::Index(index));
                rest = &rest[close + 1..];
                if !rest.is_empty() && !rest.starts_with('[') {
                    return Err(format!("unexpected `{rest}` after `]` in `{source}`"));
                }
            }
        }
        Ok(ResponsePath { source, steps })
    }

    /// The value at this place, if there is one. A key step also indexes an array when it
    /// is a number (`choices.0.text`).
    pub fn find<'a>(&self, value: &'a serde_json::Value) -> Option<&'a serde_json::Value> {
        let mut current = value;
        for step in &self.steps {
            current = match (step, current) {
                (Step::Key(k), serde_json::Value::Object(map)) => map.get(k)?,
                (Step::Key(k), serde_json::Value::Array(items)) => {
                    items.get(k.parse::<usize>().ok()?)?
                }
                (Step::Index(i), serde_json::Value::Array(items)) => items.get(*i)?,
                _ => return None,
            };
        }
        Some(current)
    }

    /// The expression as written.
    pub fn as_str(&self) -> &str {
        &self.source
    }
}

/// A generic JSON endpoint.
///
/// The body is the `body:` setting with every string rendered as a minijinja template
/// (strict undefined) with `prompt` (the prompt as text), `messages` (a list of
/// `{role, content}`), `vars` (the row) and each of the row's variables by name. A string
/// that is exactly one `{{ … | tojson }}` expression is replaced by the JSON value it
/// renders, so `messages: "{{ messages | tojson }}"` sends an array. Without `body:`, the
/// body is `{"prompt": …, "messages": …, "vars": …}`. Header values may name environment
/// variables as `${VAR}`; those are read once when the provider is built, marked sensitive,
/// never shown by `Debug`, and scrubbed from error messages.
pub struct HttpProvider {
    name: String,
    url: Url,
    method: Method,
    headers: HeaderMap,
    header_names: Vec<String>,
    body: Option<BodyTemplate>,
    output: ResponsePath,
    tokens_in: Option<ResponsePath>,
    tokens_out: Option<ResponsePath>,
    transport: Transport,
    policy: RetryPolicy,
    price: Option<Price>,
    limiter: Limiter,
}

impl fmt::Debug for HttpProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpProvider")
            .field("name", &self.name)
            .field("url", &self.url.as_str())
            .field("method", &self.method)
            .field("headers", &self.header_names)
            .field("output", &self.output.as_str())
            .field("concurrency", &self.limiter.limit())
            .finish_non_exhaustive()
    }
}

/// The body value with its string leaves compiled as templates.
struct BodyTemplate {
    env: Environment<'static>,
    value: serde_json::Value,
    /// Template name for each string leaf, by its JSON pointer.
    leaves: BTreeMap<String, Leaf>,
}

struct Leaf {
    name: String,
    /// The string is one `{{ … | tojson }}`: insert the parsed JSON, not a string.
    json: bool,
}

impl BodyTemplate {
    fn compile(provider: &str, value: &serde_json::Value) -> Result<Self, ProviderConfigError> {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        let mut leaves = BTreeMap::new();
        let mut strings = Vec::new();
        collect_strings(value, String::new(), &mut strings);
        for (pointer, source) in strings {
            let name = format!("body{pointer}");
            env.add_template_owned(name.clone(), source.clone())
                .map_err(|err| {
                    ProviderConfigError::new(
                        provider,
                        format!(
                            "invalid template in `body{}`: {}",
                            pointer.replace('/', "."),
                            err.detail().unwrap_or(&err.to_string())
                        ),
                        Some(
                            "body strings are minijinja templates, e.g. `\"{{ prompt }}\"`".into(),
                        ),
                    )
                })?;
            leaves.insert(
                pointer,
                Leaf {
                    name,
                    json: is_single_tojson(&source),
                },
            );
        }
        Ok(BodyTemplate {
            env,
            value: value.clone(),
            leaves,
        })
    }

    fn render(&self, context: &minijinja::Value) -> Result<serde_json::Value, String> {
        let mut value = self.value.clone();
        for (pointer, leaf) in &self.leaves {
            let template = self
                .env
                .get_template(&leaf.name)
                .map_err(|e| e.to_string())?;
            let rendered = template.render(context).map_err(|err| {
                format!(
                    "cannot render `body{}`: {}",
                    pointer.replace('/', "."),
                    err.detail()
                        .map(str::to_string)
                        .unwrap_or_else(|| err.to_string())
                )
            })?;
            let new = if leaf.json {
                serde_json::from_str(&rendered).unwrap_or(serde_json::Value::String(rendered))
            } else {
                serde_json::Value::String(rendered)
            };
            if let Some(slot) = value.pointer_mut(pointer) {
                *slot = new;
            }
        }
        Ok(value)
    }
}

fn collect_strings(value: &serde_json::Value, at: String, out: &mut Vec<(String, String)>) {
    match value {
        serde_json::Value::String(s) => out.push((at, s.clone())),
        serde_json::Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                collect_strings(item, format!("{at}/{i}"), out);
            }
        }
        serde_json::Value::Object(map) => {
            for (k, v) in map {
                let escaped = k.replace('~', "~0").replace('/', "~1");
                collect_strings(v, format!("{at}/{escaped}"), out);
            }
        }
        _ => {}
    }
}

fn is_single_tojson(source: &str) -> bool {
    let s = source.trim();
    let Some(inner) = s.strip_prefix("{{").and_then(|s| s.strip_suffix("}}")) else {
        return false;
    };
    !inner.contains("{{") && !inner.contains("}}") && inner.trim_end().ends_with("tojson")
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

impl HttpProvider {
    /// Builds the provider named `name`: checks the URL, method, headers (reading the
    /// environment variables they name), body templates and response paths.
    pub fn new(name: &str, config: &ProviderConfig) -> Result<Self, ProviderConfigError> {
        let common = Common::resolve(name, config, DEFAULT_CONCURRENCY)?;
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
        let method_text = config
            .method
            .as_deref()
            .unwrap_or("POST")
            .trim()
            .to_ascii_uppercase();
        if !METHODS.contains(&method_text.as_str()) {
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
        let method = Method::from_bytes(method_text.as_bytes()).unwrap_or(Method::POST);
        let mut secrets = Vec::new();
        let mut headers = HeaderMap::new();
        let mut header_names = Vec::new();
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
                    format!("header `{key}`: its value contains characters not allowed in an HTTP header"),
                    Some("check the value and any environment variable it names for line breaks".into()),
                )
            })?;
            // Any header may carry a credential; treat them all as sensitive.
            header_value.set_sensitive(secret || is_credential_header(key));
            headers.insert(header_name, header_value);
            header_names.push(key.clone());
        }
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
        let output = parse_path(name, "output", output_text)?;
        let tokens_in = config
            .tokens_in
            .as_deref()
            .map(|t| parse_path(name, "tokens_in", t))
            .transpose()?;
        let tokens_out = config
            .tokens_out
            .as_deref()
            .map(|t| parse_path(name, "tokens_out", t))
            .transpose()?;
        let transport = Transport::new(name, &url, common.timeout, secrets)?;
        Ok(HttpProvider {
            name: name.to_string(),
            url,
            method,
            headers,
            header_names,
            body,
            output,
            tokens_in,
            tokens_out,
            transport,
            policy: common.policy,
            price: common.price,
            limiter: common.limiter(),
        })
    }

    /// Replaces the retry policy (tests use a base of a few milliseconds).
    pub fn with_retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.policy = policy;
        self
    }

    fn context(request: &ProviderRequest) -> (serde_json::Value, minijinja::Value) {
        let messages: Vec<serde_json::Value> = request
            .prompt
            .to_messages()
            .into_iter()
            .map(|m| serde_json::json!({"role": m.role.as_str(), "content": m.content}))
            .collect();
        let prompt = request.prompt.to_text();
        let mut map = serde_json::Map::new();
        for (k, v) in request.vars.iter() {
            map.insert(k.clone(), v.clone());
        }
        map.insert(
            "vars".into(),
            serde_json::Value::Object((*request.vars).clone()),
        );
        map.insert("prompt".into(), prompt.clone().into());
        map.insert(
            "messages".into(),
            serde_json::Value::Array(messages.clone()),
        );
        let default_body = serde_json::json!({
            "prompt": prompt,
            "messages": messages,
            "vars": serde_json::Value::Object((*request.vars).clone()),
        });
        (default_body, minijinja::Value::from_serialize(&map))
    }

    fn body(&self, request: &ProviderRequest) -> Result<Option<String>, String> {
        if self.method == Method::GET {
            return Ok(None);
        }
        let (default_body, context) = Self::context(request);
        let value = match &self.body {
            Some(template) => template.render(&context)?,
            None => default_body,
        };
        Ok(Some(value.to_string()))
    }

    async fn run(&self, request: ProviderRequest) -> Result<ProviderResponse, ProviderError> {
        let body = self.body(&request).map_err(|message| ProviderError {
            message,
            status: None,
            attempts: 0,
        })?;
        let estimate = estimate_tokens(body.as_ref().map_or(0, String::len));
        run_with_retries_estimated(
            &self.limiter,
            &self.policy,
            request.retries.as_ref(),
            estimate,
            || self.attempt(body.as_deref()),
        )
        .await
    }

    async fn attempt(&self, body: Option<&str>) -> Result<Completion, AttemptFailure> {
        let mut request = self
            .transport
            .client()
            .request(self.method.clone(), self.url.clone())
            .headers(self.headers.clone());
        if let Some(body) = body {
            request = request.body(body.to_string());
        }
        let (status, bytes) = self.transport.send(request).await?;
        let json: serde_json::Value = self.transport.parse_json(status, &bytes)?;
        let output = match self.output.find(&json) {
            Some(serde_json::Value::String(s)) => s.clone(),
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
        })
    }
}

fn is_credential_header(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    name == "authorization" || name.contains("key") || name.contains("token")
}

impl Provider for HttpProvider {
    fn complete(
        &self,
        request: ProviderRequest,
    ) -> BoxFuture<'_, Result<ProviderResponse, ProviderError>> {
        Box::pin(self.run(request))
    }

    fn concurrency(&self) -> usize {
        self.limiter.limit()
    }

    fn cost(&self, tokens_in: Option<u64>, tokens_out: Option<u64>) -> Option<f64> {
        price_cost(self.price, tokens_in, tokens_out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::template::message::{Message, RenderedPrompt, Role};
    use serde_json::json;
    use std::sync::Arc;

    fn config() -> ProviderConfig {
        ProviderConfig {
            kind: "http".into(),
            url: Some("http://127.0.0.1:1/generate".into()),
            output: Some("choices[0].text".into()),
            ..Default::default()
        }
    }

    fn err(config: &ProviderConfig) -> ProviderConfigError {
        match HttpProvider::new("h", config) {
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
        }
    }

    #[test]
    fn paths_and_pointers() {
        let v = json!({"a": {"b": [10, {"c": "x"}]}, "k/ey": 1});
        let find = |p: &str| ResponsePath::parse(p).unwrap().find(&v).cloned();
        assert_eq!(find("a.b[1].c"), Some(json!("x")));
        assert_eq!(find("a.b.1.c"), Some(json!("x")));
        assert_eq!(find("/a/b/1/c"), Some(json!("x")));
        assert_eq!(find("/k~1ey"), Some(json!(1)));
        assert_eq!(find("a.b[0]"), Some(json!(10)));
        assert_eq!(find("a.b[5]"), None);
        assert_eq!(find("a.z"), None);
        for bad in ["", "a..b", "a[1", "a[x]", "a[1]b", ".a"] {
            assert!(ResponsePath::parse(bad).is_err(), "{bad:?}");
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
        let p = HttpProvider::new("h", &c).unwrap();
        let chat = RenderedPrompt::Chat(vec![
            Message {
                role: Role::System,
                content: "S".into(),
            },
            Message {
                role: Role::User,
                content: "say \"hi\"".into(),
            },
        ]);
        let body = p
            .body(&request(chat, json!({"city": "Oslo"})))
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
        let p = HttpProvider::new("h", &c).unwrap();
        let e = p
            .body(&request(RenderedPrompt::Text("x".into()), json!({})))
            .unwrap_err();
        assert!(e.starts_with("cannot render `body.q`"), "{e}");
    }

    #[test]
    fn default_body_without_template() {
        let p = HttpProvider::new("h", &config()).unwrap();
        let body = p
            .body(&request(RenderedPrompt::Text("hi".into()), json!({"a": 1})))
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
        let p = HttpProvider::new("h", &c).unwrap();
        let debug = format!("{p:?}");
        assert!(!debug.contains("tok-secret-42"), "{debug}");
        assert_eq!(p.transport.scrub("echo tok-secret-42"), "echo ***");
        assert!(p.headers["authorization"].is_sensitive());
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

    #[test]
    fn single_tojson_detection() {
        assert!(is_single_tojson("{{ messages | tojson }}"));
        assert!(is_single_tojson(" {{ vars|tojson }} "));
        assert!(!is_single_tojson("x {{ vars | tojson }}"));
        assert!(!is_single_tojson("{{ a | tojson }}{{ b | tojson }}"));
        assert!(!is_single_tojson("{{ prompt }}"));
    }
}
