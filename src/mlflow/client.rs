//! The MLflow REST client: the server, authentication, and one request with sorted errors.

use std::time::Duration;

use serde_json::Value;

use super::error::MlflowError;

/// The environment variable naming the tracking server.
pub const ENV_URI: &str = "MLFLOW_TRACKING_URI";
/// A bearer token.
pub const ENV_TOKEN: &str = "MLFLOW_TRACKING_TOKEN";
/// Basic-auth user.
pub const ENV_USERNAME: &str = "MLFLOW_TRACKING_USERNAME";
/// Basic-auth password.
pub const ENV_PASSWORD: &str = "MLFLOW_TRACKING_PASSWORD";

/// How requests authenticate.
#[derive(Clone, PartialEq, Eq)]
pub enum Auth {
    /// No credentials.
    None,
    /// `Authorization: Bearer <token>` from [`ENV_TOKEN`].
    Bearer(String),
    /// Basic auth from [`ENV_USERNAME`] and [`ENV_PASSWORD`].
    Basic {
        /// The user.
        username: String,
        /// The password.
        password: String,
    },
}

impl std::fmt::Debug for Auth {
    // Never print secrets.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Auth::None => f.write_str("None"),
            Auth::Bearer(_) => f.write_str("Bearer(***)"),
            Auth::Basic { username, .. } => write!(f, "Basic({username}, ***)"),
        }
    }
}

/// Where the tracking server is and how to talk to it, resolved once:
/// `--mlflow URI` > `MLFLOW_TRACKING_URI` > `tracking.mlflow` in `prompteval.yaml`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MlflowSettings {
    /// The server, without a trailing slash (`http://127.0.0.1:5000`).
    pub uri: String,
    /// Credentials.
    pub auth: Auth,
}

impl MlflowSettings {
    /// Resolves the server from the flag, the environment and the config file, in that
    /// order; `Ok(None)` when none names one. Credentials come from the environment.
    pub fn resolve(
        flag: Option<&str>,
        config: Option<&str>,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Option<MlflowSettings>, MlflowError> {
        let env_uri = env(ENV_URI).filter(|s| !s.trim().is_empty());
        let Some(uri) = flag
            .map(str::to_string)
            .or(env_uri)
            .or(config.map(str::to_string))
        else {
            return Ok(None);
        };
        let uri = uri.trim().trim_end_matches('/').to_string();
        if !(uri.starts_with("http://") || uri.starts_with("https://")) {
            return Err(MlflowError::BadUri { uri });
        }
        let auth = match (env(ENV_TOKEN), env(ENV_USERNAME), env(ENV_PASSWORD)) {
            (Some(token), _, _) if !token.is_empty() => Auth::Bearer(token),
            (_, Some(username), password) if !username.is_empty() => Auth::Basic {
                username,
                password: password.unwrap_or_default(),
            },
            _ => Auth::None,
        };
        Ok(Some(MlflowSettings { uri, auth }))
    }

    /// [`MlflowSettings::resolve`] with the process environment.
    pub fn from_env(
        flag: Option<&str>,
        config: Option<&str>,
    ) -> Result<Option<MlflowSettings>, MlflowError> {
        Self::resolve(flag, config, |k| std::env::var(k).ok())
    }
}

/// An MLflow REST client.
#[derive(Clone, Debug)]
pub struct Client {
    http: reqwest::Client,
    settings: MlflowSettings,
}

/// The HTTP methods the client uses.
#[derive(Clone, Copy, Debug)]
enum Method {
    Get,
    Post,
    Put,
}

impl Method {
    fn name(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Put => "PUT",
        }
    }
}

impl Client {
    /// A client for `settings`.
    pub fn new(settings: MlflowSettings) -> Client {
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(120))
            .user_agent(concat!("prompteval/", env!("CARGO_PKG_VERSION")))
            .build()
            .unwrap_or_default();
        Client { http, settings }
    }

    /// The server's address.
    pub fn uri(&self) -> &str {
        &self.settings.uri
    }

    /// `GET /api/2.0/mlflow/<endpoint>?query`.
    pub async fn get(&self, endpoint: &str, query: &[(&str, &str)]) -> Result<Value, MlflowError> {
        let path = format!("/api/2.0/mlflow/{endpoint}");
        let bytes = self.send(Method::Get, &path, query, None).await?;
        parse(Method::Get, &path, &bytes)
    }

    /// `POST /api/2.0/mlflow/<endpoint>` with a JSON body.
    pub async fn post(&self, endpoint: &str, body: &Value) -> Result<Value, MlflowError> {
        let path = format!("/api/2.0/mlflow/{endpoint}");
        let body = serde_json::to_vec(body).map_err(|e| MlflowError::BadResponse {
            method: "POST",
            endpoint: path.clone(),
            problem: format!("could not encode the request: {e}"),
        })?;
        let bytes = self.send(Method::Post, &path, &[], Some(body)).await?;
        parse(Method::Post, &path, &bytes)
    }

    /// Uploads an artifact through the server's proxy:
    /// `PUT /api/2.0/mlflow-artifacts/artifacts/<location>/<path>`, where `location` is the
    /// run's artifact URI without its `mlflow-artifacts:` scheme.
    pub async fn put_artifact(
        &self,
        location: &str,
        path: &str,
        bytes: Vec<u8>,
    ) -> Result<(), MlflowError> {
        let url_path = artifact_path(location, path);
        self.send(Method::Put, &url_path, &[], Some(bytes)).await?;
        Ok(())
    }

    /// Downloads an artifact through the server's proxy.
    pub async fn get_artifact(&self, location: &str, path: &str) -> Result<Vec<u8>, MlflowError> {
        let url_path = artifact_path(location, path);
        self.send(Method::Get, &url_path, &[], None).await
    }

    async fn send(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, &str)],
        body: Option<Vec<u8>>,
    ) -> Result<Vec<u8>, MlflowError> {
        let url = format!("{}{path}", self.settings.uri);
        let mut req = match method {
            Method::Get => self.http.get(&url),
            Method::Post => self.http.post(&url),
            Method::Put => self.http.put(&url),
        };
        if !query.is_empty() {
            req = req.query(query);
        }
        if let Some(body) = body {
            let content_type = match method {
                Method::Put => "application/octet-stream",
                _ => "application/json",
            };
            req = req
                .header(reqwest::header::CONTENT_TYPE, content_type)
                .body(body);
        }
        req = match &self.settings.auth {
            Auth::None => req,
            Auth::Bearer(token) => req.bearer_auth(token),
            Auth::Basic { username, password } => req.basic_auth(username, Some(password)),
        };
        let unreachable = |source| MlflowError::Unreachable {
            uri: self.settings.uri.clone(),
            method: method.name(),
            endpoint: path.to_string(),
            source,
        };
        let response = req.send().await.map_err(unreachable)?;
        let status = response.status();
        let bytes = response.bytes().await.map_err(unreachable)?;
        if status.is_success() {
            return Ok(bytes.to_vec());
        }
        let (code, message) = error_body(&bytes);
        Err(MlflowError::Rejected {
            uri: self.settings.uri.clone(),
            method: method.name(),
            endpoint: path.to_string(),
            status: status.as_u16(),
            code,
            message,
        })
    }
}

/// The URL path of an artifact under a run's proxied artifact location.
fn artifact_path(location: &str, path: &str) -> String {
    let encoded: Vec<String> = location
        .trim_matches('/')
        .split('/')
        .chain(path.split('/'))
        .filter(|s| !s.is_empty())
        .map(encode_segment)
        .collect();
    format!("/api/2.0/mlflow-artifacts/artifacts/{}", encoded.join("/"))
}

/// Percent-encodes one URL path segment (everything but unreserved characters).
fn encode_segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The location to give [`Client::put_artifact`] for a run whose `artifact_uri` is `uri`;
/// `None` when the server does not proxy that run's artifacts.
pub fn proxied_location(artifact_uri: &str) -> Option<String> {
    let rest = artifact_uri.strip_prefix("mlflow-artifacts:")?;
    // `mlflow-artifacts:/0/abc/artifacts` or `mlflow-artifacts://host:port/0/abc/artifacts`.
    let rest = match rest.strip_prefix("//") {
        Some(with_host) => with_host.split_once('/').map(|(_, p)| p).unwrap_or(""),
        None => rest,
    };
    Some(rest.trim_matches('/').to_string())
}

fn parse(method: Method, endpoint: &str, bytes: &[u8]) -> Result<Value, MlflowError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(Value::Object(Default::default()));
    }
    serde_json::from_slice(bytes).map_err(|e| MlflowError::BadResponse {
        method: method.name(),
        endpoint: endpoint.to_string(),
        problem: format!("not JSON ({e})"),
    })
}

/// MLflow's `{"error_code": …, "message": …}`, or the start of whatever came back.
fn error_body(bytes: &[u8]) -> (Option<String>, String) {
    if let Ok(v) = serde_json::from_slice::<Value>(bytes) {
        let code = v
            .get("error_code")
            .and_then(Value::as_str)
            .map(str::to_string);
        if let Some(message) = v.get("message").and_then(Value::as_str) {
            return (code, message.to_string());
        }
        if code.is_some() {
            return (code, String::new());
        }
    }
    let text = String::from_utf8_lossy(bytes);
    let text = text.trim();
    let short: String = text.chars().take(300).collect();
    let message = if short.is_empty() {
        "(empty body)".to_string()
    } else if short.len() < text.len() {
        format!("{short}…")
    } else {
        short
    };
    (None, message)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnostic::Diagnostic;
    use std::collections::HashMap;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| map.get(k).cloned()
    }

    #[test]
    fn flag_beats_environment_beats_config() {
        let e = env(&[(ENV_URI, "http://env:5000/")]);
        let r = |flag, config| {
            MlflowSettings::resolve(flag, config, &e)
                .unwrap()
                .unwrap()
                .uri
        };
        assert_eq!(
            r(Some("http://flag:1"), Some("http://file:2")),
            "http://flag:1"
        );
        assert_eq!(r(None, Some("http://file:2")), "http://env:5000");
        let none = env(&[]);
        assert_eq!(
            MlflowSettings::resolve(None, Some("https://file:2"), &none)
                .unwrap()
                .unwrap()
                .uri,
            "https://file:2"
        );
        assert_eq!(MlflowSettings::resolve(None, None, &none).unwrap(), None);
    }

    #[test]
    fn non_http_uris_are_refused() {
        let err = MlflowSettings::resolve(Some("file:./mlruns"), None, env(&[])).unwrap_err();
        assert!(matches!(err, MlflowError::BadUri { .. }));
        assert!(err.hint().unwrap().contains("http://"));
    }

    #[test]
    fn token_wins_over_basic_auth_and_is_never_printed() {
        let s = MlflowSettings::resolve(
            Some("http://x"),
            None,
            env(&[
                (ENV_TOKEN, "sekret"),
                (ENV_USERNAME, "u"),
                (ENV_PASSWORD, "p"),
            ]),
        )
        .unwrap()
        .unwrap();
        assert_eq!(s.auth, Auth::Bearer("sekret".into()));
        assert!(!format!("{s:?}").contains("sekret"));
        let s = MlflowSettings::resolve(
            Some("http://x"),
            None,
            env(&[(ENV_USERNAME, "u"), (ENV_PASSWORD, "pw")]),
        )
        .unwrap()
        .unwrap();
        assert!(matches!(s.auth, Auth::Basic { ref username, .. } if username == "u"));
        assert!(!format!("{s:?}").contains("pw"));
    }

    #[test]
    fn artifact_locations() {
        assert_eq!(
            proxied_location("mlflow-artifacts:/1/abc/artifacts").as_deref(),
            Some("1/abc/artifacts")
        );
        assert_eq!(
            proxied_location("mlflow-artifacts://h:5000/1/abc/artifacts").as_deref(),
            Some("1/abc/artifacts")
        );
        assert_eq!(proxied_location("s3://bucket/1/abc"), None);
        assert_eq!(
            artifact_path("1/abc/artifacts", "prompteval/run 1.json"),
            "/api/2.0/mlflow-artifacts/artifacts/1/abc/artifacts/prompteval/run%201.json"
        );
    }

    #[test]
    fn error_bodies() {
        assert_eq!(
            error_body(br#"{"error_code":"INVALID_PARAMETER_VALUE","message":"bad"}"#),
            (Some("INVALID_PARAMETER_VALUE".into()), "bad".into())
        );
        assert_eq!(
            error_body(b"<html>nope</html>"),
            (None, "<html>nope</html>".into())
        );
        assert_eq!(error_body(b""), (None, "(empty body)".into()));
    }
}
