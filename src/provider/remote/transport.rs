//! HTTP plumbing shared by the remote providers: the client, API keys that never leak,
//! sending one attempt and classifying its failure, and error-body extraction.

use std::fmt;
use std::time::{Duration, SystemTime};

use reqwest::header::{HeaderMap, HeaderValue, CONTENT_TYPE};
use reqwest::{RequestBuilder, StatusCode, Url};

use super::retry::{parse_retry_after, parse_retry_after_ms, AttemptFailure, FailureClass};
use crate::provider::ProviderConfigError;

/// How much of an error body goes into a message.
const MAX_DETAIL_CHARS: usize = 200;

/// A secret (an API key) read once from the environment. Its `Debug` is `***`, and
/// [`Transport::scrub`] removes it from text a server sent back.
#[derive(Clone)]
pub struct Secret(String);

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl Secret {
    /// The secret's value, for building a header. Never put it in a message.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// A sensitive header value `{prefix}{secret}` (e.g. `Bearer `), or a configuration
    /// error naming the variable when the secret holds characters a header cannot.
    pub fn header(
        &self,
        provider: &str,
        var: &str,
        prefix: &str,
    ) -> Result<HeaderValue, ProviderConfigError> {
        let mut value = HeaderValue::from_str(&format!("{prefix}{}", self.0)).map_err(|_| {
            ProviderConfigError::new(
                provider,
                format!("the API key in environment variable `{var}` contains characters not allowed in an HTTP header"),
                Some(format!("check the value of {var} for stray quotes or line breaks")),
            )
        })?;
        value.set_sensitive(true);
        Ok(value)
    }
}

/// Reads the secret in environment variable `var` for provider `provider`: unset, empty
/// and non-UTF-8 values are configuration errors that name the variable, never a value.
pub fn read_secret(provider: &str, var: &str) -> Result<Secret, ProviderConfigError> {
    let hint = Some(format!("export {var}=..."));
    match std::env::var(var) {
        Ok(value) if !value.trim().is_empty() => Ok(Secret(value.trim().to_string())),
        Ok(_) => Err(ProviderConfigError::new(
            provider,
            format!("environment variable `{var}` (the API key) is empty"),
            hint,
        )),
        Err(std::env::VarError::NotPresent) => Err(ProviderConfigError::new(
            provider,
            format!("environment variable `{var}` (the API key) is not set"),
            hint,
        )),
        Err(std::env::VarError::NotUnicode(_)) => Err(ProviderConfigError::new(
            provider,
            format!("environment variable `{var}` (the API key) is not valid UTF-8"),
            hint,
        )),
    }
}

/// The API key of provider `provider` and the header carrying it (`{prefix}{key}`): read
/// from `api_key_env` when set, else from `default_var` (given only when the provider
/// talks to its vendor's default URL); neither means no key and no header (a local
/// server or proxy).
pub fn api_key(
    provider: &str,
    api_key_env: Option<&str>,
    default_var: Option<&str>,
    prefix: &str,
) -> Result<(Option<Secret>, Option<HeaderValue>), ProviderConfigError> {
    let Some(var) = api_key_env.or(default_var) else {
        return Ok((None, None));
    };
    let key = read_secret(provider, var)?;
    let header = key.header(provider, var, prefix)?;
    Ok((Some(key), Some(header)))
}

/// Parses an `http://` or `https://` base URL from setting `key` of provider `provider`.
pub fn parse_http_url(
    provider: &str,
    key: &str,
    text: &str,
    hint: Option<String>,
) -> Result<Url, ProviderConfigError> {
    let url = Url::parse(text).map_err(|err| {
        ProviderConfigError::new(
            provider,
            format!("invalid `{key}` `{text}`: {err}"),
            hint.clone(),
        )
    })?;
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
        return Err(ProviderConfigError::new(
            provider,
            format!("invalid `{key}` `{text}`: expected an http:// or https:// URL"),
            hint,
        ));
    }
    Ok(url)
}

/// One provider's HTTP client: pooled connections, a per-request timeout, JSON content
/// type, and the secrets to scrub from what servers send back.
#[derive(Clone)]
pub struct Transport {
    client: reqwest::Client,
    timeout: Duration,
    secrets: Vec<Secret>,
}

impl fmt::Debug for Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Transport")
            .field("timeout", &self.timeout)
            .field("secrets", &self.secrets)
            .finish_non_exhaustive()
    }
}

impl Transport {
    /// A client for provider `provider` talking to `url` with `timeout` per request. A
    /// server on this machine is never reached through a proxy from the environment.
    pub fn new(
        provider: &str,
        url: &Url,
        timeout: Duration,
        secrets: Vec<Secret>,
    ) -> Result<Self, ProviderConfigError> {
        let mut headers = HeaderMap::new();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        let mut builder = reqwest::Client::builder()
            .timeout(timeout)
            .default_headers(headers)
            .user_agent(concat!("prompteval/", env!("CARGO_PKG_VERSION")));
        if is_loopback(url) {
            builder = builder.no_proxy();
        }
        let client = builder.build().map_err(|err| {
            ProviderConfigError::new(
                provider,
                format!("cannot create the HTTP client: {}", root_cause(&err)),
                None,
            )
        })?;
        Ok(Transport {
            client,
            timeout,
            secrets: secrets.into_iter().filter(|s| !s.0.is_empty()).collect(),
        })
    }

    /// The client, to build requests with.
    pub fn client(&self) -> &reqwest::Client {
        &self.client
    }

    /// The per-request timeout.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// Sends one attempt. A success status gives the status and body; anything else is a
    /// classified [`AttemptFailure`]: the status line and the server's (scrubbed)
    /// explanation, the `Retry-After` it asked for; timeouts and connection errors are
    /// transient.
    pub async fn send(
        &self,
        request: RequestBuilder,
    ) -> Result<(StatusCode, bytes::Bytes), AttemptFailure> {
        self.send_classified(request, |_, _| None).await
    }

    /// [`Transport::send`], letting `classify` override the class of an error response from
    /// its status and body (an API whose error body names an overload, say); `None` keeps
    /// the class the status gives.
    pub async fn send_classified(
        &self,
        request: RequestBuilder,
        classify: impl Fn(u16, &[u8]) -> Option<FailureClass>,
    ) -> Result<(StatusCode, bytes::Bytes), AttemptFailure> {
        let response = request.send().await.map_err(|err| self.transport(&err))?;
        let status = response.status();
        let retry_after = retry_after(response.headers());
        let bytes = response.bytes().await.map_err(|err| self.transport(&err))?;
        if status.is_success() {
            return Ok((status, bytes));
        }
        let mut message = status_line(status);
        if let Some(detail) = error_detail(&bytes) {
            message = format!("{message}: {}", self.scrub(&detail));
        }
        Err(AttemptFailure {
            message,
            status: Some(status.as_u16()),
            class: classify(status.as_u16(), &bytes)
                .unwrap_or_else(|| FailureClass::of_status(status.as_u16())),
            retry_after,
        })
    }

    /// Parses a success body as JSON. A body that is not JSON at all (cut short, garbled,
    /// an HTML error page from a proxy) is retried like a truncated body: the next attempt
    /// usually reads fine. JSON of the wrong shape is the API's answer, so it is fatal.
    pub fn parse_json<T: serde::de::DeserializeOwned>(
        &self,
        status: StatusCode,
        bytes: &[u8],
    ) -> Result<T, AttemptFailure> {
        serde_json::from_slice(bytes).map_err(|err| AttemptFailure {
            message: format!(
                "malformed response: {}",
                self.scrub(&one_line(&err.to_string()))
            ),
            status: Some(status.as_u16()),
            class: if err.is_data() {
                FailureClass::Fatal
            } else {
                FailureClass::Transient
            },
            retry_after: None,
        })
    }

    /// A failure to send or receive: timeouts and connection errors are worth retrying.
    fn transport(&self, err: &reqwest::Error) -> AttemptFailure {
        let message = if err.is_timeout() {
            format!(
                "request timed out after {}",
                humantime::format_duration(self.timeout)
            )
        } else if err.is_connect() {
            format!("connection failed: {}", self.scrub(&root_cause(err)))
        } else {
            format!("request failed: {}", self.scrub(&root_cause(err)))
        };
        AttemptFailure {
            message,
            status: None,
            class: FailureClass::Transient,
            retry_after: None,
        }
    }

    /// Removes every secret from text a server sent back.
    pub fn scrub(&self, text: &str) -> String {
        let mut text = text.to_string();
        for secret in &self.secrets {
            text = text.replace(&secret.0, "***");
        }
        text
    }
}

/// Whether `url` points at this machine.
pub fn is_loopback(url: &Url) -> bool {
    let Some(host) = url.host_str() else {
        return false;
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// `HTTP 429 Too Many Requests`.
pub fn status_line(status: StatusCode) -> String {
    match status.canonical_reason() {
        Some(reason) => format!("HTTP {} {reason}", status.as_u16()),
        None => format!("HTTP {}", status.as_u16()),
    }
}

/// The wait a server asked for: `retry-after-ms` (OpenAI) or `Retry-After`.
pub fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    header("retry-after-ms")
        .and_then(parse_retry_after_ms)
        .or_else(|| header("retry-after").and_then(|v| parse_retry_after(v, SystemTime::now())))
}

/// The server's explanation of an error: `error.message` (OpenAI, Anthropic), `error` or
/// `message` or `detail` when the body is JSON, else the body itself; one line, truncated.
pub fn error_detail(body: &[u8]) -> Option<String> {
    let text = match serde_json::from_slice::<serde_json::Value>(body) {
        Ok(json) => {
            let found = json
                .pointer("/error/message")
                .or_else(|| json.get("error"))
                .or_else(|| json.get("message"))
                .or_else(|| json.get("detail"));
            match found {
                Some(serde_json::Value::String(s)) => s.clone(),
                Some(other) => other.to_string(),
                None => json.to_string(),
            }
        }
        Err(_) => String::from_utf8_lossy(body).into_owned(),
    };
    let text = one_line(&text);
    if text.is_empty() {
        return None;
    }
    Some(truncate(&text, MAX_DETAIL_CHARS))
}

/// Collapses all whitespace runs to single spaces.
pub fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// At most `max` characters, with `…` when cut.
pub fn truncate(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text.to_string(),
    }
}

/// The innermost cause of an error, which says what happened without reqwest's URL
/// preamble ("error sending request for url …").
pub fn root_cause(err: &(dyn std::error::Error + 'static)) -> String {
    let mut cause = err;
    while let Some(next) = cause.source() {
        cause = next;
    }
    one_line(&cause.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_details() {
        assert_eq!(
            error_detail(br#"{"error": {"message": "Incorrect API key provided", "type": "x"}}"#)
                .as_deref(),
            Some("Incorrect API key provided")
        );
        assert_eq!(
            error_detail(br#"{"error": "model not loaded"}"#).as_deref(),
            Some("model not loaded")
        );
        assert_eq!(error_detail(b"  \n").as_deref(), None);
        assert_eq!(
            error_detail(b"<html>\n<body>Bad\nGateway</body></html>").as_deref(),
            Some("<html> <body>Bad Gateway</body></html>")
        );
        let long = "x".repeat(500);
        let detail = error_detail(long.as_bytes()).unwrap();
        assert_eq!(detail.chars().count(), MAX_DETAIL_CHARS + 1);
    }

    #[test]
    fn secrets_are_scrubbed_and_hidden() {
        let url = Url::parse("http://127.0.0.1:1/v1").unwrap();
        let secret = Secret("sk-123".into());
        assert_eq!(format!("{secret:?}"), "***");
        let t = Transport::new("p", &url, Duration::from_secs(1), vec![secret]).unwrap();
        assert_eq!(t.scrub("bad key sk-123!"), "bad key ***!");
    }

    #[test]
    fn status_lines() {
        assert_eq!(
            status_line(StatusCode::UNAUTHORIZED),
            "HTTP 401 Unauthorized"
        );
        assert_eq!(status_line(StatusCode::from_u16(529).unwrap()), "HTTP 529");
    }

    #[test]
    fn loopback_hosts() {
        for u in [
            "http://127.0.0.1:8080",
            "http://localhost/x",
            "http://[::1]:1",
        ] {
            assert!(is_loopback(&Url::parse(u).unwrap()), "{u}");
        }
        assert!(!is_loopback(
            &Url::parse("https://api.openai.com/v1").unwrap()
        ));
    }
}
