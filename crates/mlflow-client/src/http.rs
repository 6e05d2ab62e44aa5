//! The HTTP layer: one reqwest client with MLflow's auth, headers, error
//! decoding and retries.

use std::path::Path;
use std::time::Duration;

use reqwest::header::{CONTENT_LENGTH, CONTENT_TYPE, HeaderMap, RETRY_AFTER};
use reqwest::{Method, RequestBuilder, Response, StatusCode};
use serde::de::DeserializeOwned;
use serde_json::Value;
use url::Url;

use crate::config::{Config, Credentials};
use crate::error::{Error, ErrorCode, Result};
use crate::retry::{Failure, RetryPolicy, is_retryable_status, parse_retry_after, retry};

/// Route prefix of the tracking, model and registry APIs.
pub(crate) const API: &str = "api/2.0/mlflow";

/// A configured connection to one MLflow server.
#[derive(Clone, Debug)]
pub(crate) struct Http {
    client: reqwest::Client,
    base: Url,
    credentials: Credentials,
    retry: RetryPolicy,
}

impl Http {
    /// `base` is the tracking URI (any path prefix is kept). Credentials in
    /// its user-info become basic auth and are removed from the URL, so they
    /// never reach error messages.
    pub(crate) fn new(config: &Config, mut base: Url) -> Result<Http> {
        let mut credentials = config.credentials.clone();
        if !base.username().is_empty() {
            let decode = |s: &str| {
                percent_encoding::percent_decode_str(s)
                    .decode_utf8_lossy()
                    .into_owned()
            };
            credentials = Credentials::Basic {
                username: decode(base.username()),
                password: crate::config::Secret::new(decode(base.password().unwrap_or(""))),
            };
            // Infallible for http(s) URLs, which is all this is built for.
            let _ = base.set_username("");
            let _ = base.set_password(None);
        }
        let path = base.path().trim_end_matches('/').to_owned();
        base.set_path(&format!("{path}/"));
        base.set_query(None);
        // Like MLflow's (requests') timeout, this bounds connecting and each
        // wait for data, not the whole exchange: a 200 MB upload may take
        // longer than the timeout without being stuck.
        let mut builder = reqwest::Client::builder()
            .read_timeout(config.timeout)
            .connect_timeout(config.timeout.min(Duration::from_secs(30)))
            .user_agent(concat!("tandem-mlflow-client/", env!("CARGO_PKG_VERSION")))
            .pool_idle_timeout(Duration::from_secs(30));
        if config.insecure_tls {
            builder = builder.tls_danger_accept_invalid_certs(true);
        }
        if let Some(path) = &config.server_cert_path {
            let pem = std::fs::read(path).map_err(|e| Error::io(path, e))?;
            let certs = reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| Error::Config {
                message: format!("{}: not a PEM certificate bundle: {e}", path.display()),
            })?;
            builder = builder.tls_certs_merge(certs);
        }
        let client = builder.build().map_err(|e| Error::Config {
            message: format!("cannot build the HTTP client: {}", error_chain(&e)),
        })?;
        Ok(Http {
            client,
            base,
            credentials,
            retry: config.retry.clone(),
        })
    }

    /// The server's base URL (ends with `/`).
    pub(crate) fn base(&self) -> &Url {
        &self.base
    }

    pub(crate) fn retry_policy(&self) -> &RetryPolicy {
        &self.retry
    }

    /// The URL of `path` (already percent-encoded) under the base URL.
    pub(crate) fn url(&self, path: &str) -> Result<Url> {
        self.base
            .join(path)
            .map_err(|e| Error::invalid_uri(path, e.to_string()))
    }

    /// A request with this server's credentials when `url` is on the
    /// tracking URI's scheme, host and port; anywhere else (a host named in
    /// a server-provided artifact URI) it goes without them. Redirects to
    /// another origin drop them too (reqwest strips `Authorization` then).
    pub(crate) fn request(&self, method: Method, url: Url) -> RequestBuilder {
        let same_origin = url.scheme() == self.base.scheme()
            && url.host_str() == self.base.host_str()
            && url.port_or_known_default() == self.base.port_or_known_default();
        let rb = self.client.request(method, url);
        if !same_origin {
            return rb;
        }
        match &self.credentials {
            Credentials::None => rb,
            Credentials::Basic { username, password } => {
                rb.basic_auth(username, Some(password.expose()))
            }
            Credentials::Bearer(token) => rb.bearer_auth(token.expose()),
        }
    }

    /// A request without credentials, for presigned storage URLs that must
    /// not receive the tracking server's secrets.
    pub(crate) fn request_bare(&self, method: Method, url: Url) -> RequestBuilder {
        self.client.request(method, url)
    }

    /// Calls an MLflow API route (`runs/get`, `logged-models/m-…`) with
    /// retries. GET sends `body`'s fields as query parameters.
    pub(crate) async fn call<T: DeserializeOwned>(
        &self,
        method: Method,
        route: &str,
        body: &Value,
    ) -> Result<T> {
        let endpoint = format!("{method} /{API}/{route}");
        retry(&self.retry, &endpoint, |_| {
            self.call_once(method.clone(), route, body)
        })
        .await
    }

    /// One attempt of [`Http::call`], for callers with their own retry loop.
    pub(crate) async fn call_once<T: DeserializeOwned>(
        &self,
        method: Method,
        route: &str,
        body: &Value,
    ) -> Result<T, Failure> {
        let mut url = self.url(&format!("{API}/{route}"))?;
        let endpoint = format!("{method} {}", url.path());
        // Absent optional fields are left out rather than sent as null.
        let body = match body {
            Value::Object(fields) => Value::Object(
                fields
                    .iter()
                    .filter(|(_, v)| !v.is_null())
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect(),
            ),
            other => other.clone(),
        };
        let rb = if method == Method::GET {
            append_query(&mut url, &body);
            self.request(method, url)
        } else {
            // MLflow rejects bodies without this exact content type, and
            // DELETE takes its arguments in the body too.
            self.request(method, url)
                .header(CONTENT_TYPE, "application/json")
                .body(body.to_string())
        };
        let response = self.send(rb, &endpoint).await?;
        read_json(response, &endpoint).await
    }

    /// Sends one request; non-success statuses become typed failures.
    pub(crate) async fn send(
        &self,
        rb: RequestBuilder,
        endpoint: &str,
    ) -> Result<Response, Failure> {
        let response = rb.send().await.map_err(|e| transport(endpoint, &e))?;
        if response.status().is_success() {
            return Ok(response);
        }
        Err(error_response(response, endpoint).await)
    }

    /// PUTs a local file to `url` (streamed), with retries.
    pub(crate) async fn put_file(
        &self,
        url: Url,
        file: &Path,
        authorized: bool,
    ) -> Result<HeaderMap> {
        let endpoint = format!("PUT {}", url.path());
        retry(&self.retry, &endpoint, |_| async {
            let f = tokio::fs::File::open(file)
                .await
                .map_err(|e| Error::io(file, e))?;
            let len = f.metadata().await.map_err(|e| Error::io(file, e))?.len();
            let rb = if authorized {
                self.request(Method::PUT, url.clone())
            } else {
                self.request_bare(Method::PUT, url.clone())
            };
            let rb = rb.header(CONTENT_LENGTH, len).body(reqwest::Body::from(f));
            let response = self.send(rb, &endpoint).await?;
            Ok(response.headers().clone())
        })
        .await
    }
}

/// Reads a success response as JSON; MLflow answers `{}` or nothing for
/// mutations, which both parse as an empty object.
pub(crate) async fn read_json<T: DeserializeOwned>(
    response: Response,
    endpoint: &str,
) -> Result<T, Failure> {
    let bytes = response
        .bytes()
        .await
        .map_err(|e| transport(endpoint, &e))?;
    let text: &[u8] = if bytes.iter().all(u8::is_ascii_whitespace) {
        b"{}"
    } else {
        &bytes
    };
    serde_json::from_slice(text).map_err(|e| {
        Failure::fatal(Error::Protocol {
            endpoint: endpoint.to_owned(),
            message: format!("{e}; body starts with {:?}", snippet(&bytes)),
        })
    })
}

/// Turns an error response into a failure: MLflow's JSON error when there is
/// one, otherwise the status mapped to a code (HTML 404s, proxies' 502s,
/// basic-auth's 401 page).
pub(crate) async fn error_response(response: Response, endpoint: &str) -> Failure {
    let status = response.status();
    let retry_after = matches!(
        status,
        StatusCode::TOO_MANY_REQUESTS | StatusCode::SERVICE_UNAVAILABLE
    )
    .then(|| response.headers().get(RETRY_AFTER))
    .flatten()
    .and_then(|v| v.to_str().ok())
    .and_then(parse_retry_after);
    let retryable = is_retryable_status(status.as_u16());
    let bytes = match response.bytes().await {
        Ok(bytes) => bytes,
        Err(e) => return transport(endpoint, &e),
    };
    #[derive(serde::Deserialize)]
    struct Body {
        error_code: Option<String>,
        message: Option<String>,
    }
    let parsed = serde_json::from_slice::<Body>(&bytes).ok();
    let (code, message) = match parsed {
        Some(Body {
            error_code: Some(code),
            message,
        }) => (ErrorCode::from_code(&code), message.unwrap_or_default()),
        _ => {
            let reason = status.canonical_reason().unwrap_or("error");
            let body = snippet(&bytes);
            let message = if body.is_empty() {
                reason.to_owned()
            } else {
                format!("{reason}: {body}")
            };
            (ErrorCode::from_status(status.as_u16()), message)
        }
    };
    Failure {
        error: Error::Mlflow {
            code,
            message,
            status: Some(status.as_u16()),
            endpoint: Some(endpoint.to_owned()),
        },
        retryable,
        retry_after,
        // A 429 or 503 is the server declining the request; any other
        // status may come after it acted (a 500 after a write, a proxy's 504).
        may_have_applied: !matches!(
            status,
            StatusCode::TOO_MANY_REQUESTS | StatusCode::SERVICE_UNAVAILABLE
        ),
    }
}

/// A connection-level failure; always worth retrying.
pub(crate) fn transport(endpoint: &str, e: &reqwest::Error) -> Failure {
    let error = Error::Transport {
        endpoint: endpoint.to_owned(),
        message: error_chain(e),
    };
    // A connection never made carried no request.
    if e.is_connect() {
        Failure::refused(error)
    } else {
        Failure::transient(error)
    }
}

/// The error and its causes on one line, without the request URL.
fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut parts = Vec::new();
    let mut current = Some(e);
    while let Some(err) = current {
        let text = err.to_string();
        // reqwest's top-level text embeds the URL; the endpoint names it already.
        let text = match text.find(" for url (") {
            Some(i) => text[..i].to_owned(),
            None => text,
        };
        if parts.last() != Some(&text) {
            parts.push(text);
        }
        current = err.source();
    }
    parts.join(": ")
}

/// The start of a body as one line of text: tags and whitespace runs
/// collapsed, at most 300 characters.
fn snippet(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let mut out = String::new();
    let mut in_tag = false;
    for c in text.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => {
                in_tag = false;
                out.push(' ');
            }
            _ if in_tag => {}
            c if c.is_whitespace() => out.push(' '),
            c => out.push(c),
        }
    }
    let words: Vec<&str> = out.split_whitespace().collect();
    let line = words.join(" ");
    match line.char_indices().nth(300) {
        Some((i, _)) => format!("{}…", &line[..i]),
        None => line,
    }
}

/// Adds a JSON object's fields as query parameters; arrays repeat the key.
fn append_query(url: &mut Url, body: &Value) {
    let Some(fields) = body.as_object() else {
        return;
    };
    let mut pairs = url.query_pairs_mut();
    for (key, value) in fields {
        let values = match value {
            Value::Array(items) => items.iter().collect(),
            Value::Null => Vec::new(),
            v => vec![v],
        };
        for v in values {
            match v {
                Value::String(s) => pairs.append_pair(key, s),
                other => pairs.append_pair(key, &other.to_string()),
            };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_and_snippets() {
        let mut url = Url::parse("http://h/api?x=1").unwrap();
        url.set_query(None);
        append_query(
            &mut url,
            &serde_json::json!({"run_id": "a b", "n": 3, "ids": ["1", "2"], "none": null}),
        );
        assert_eq!(url.query(), Some("run_id=a+b&n=3&ids=1&ids=2"));
        assert_eq!(
            snippet(b"<html><title>404 Not Found</title>\n<h1>Not   Found</h1></html>"),
            "404 Not Found Not Found"
        );
    }

    #[test]
    fn credentials_in_the_uri_move_to_basic_auth() {
        let http = Http::new(
            &Config::default(),
            Url::parse("http://ann:s%3Acret@127.0.0.1:5000/prefix").unwrap(),
        )
        .unwrap();
        assert_eq!(http.base().as_str(), "http://127.0.0.1:5000/prefix/");
        assert!(
            matches!(&http.credentials, Credentials::Basic { username, password }
            if username == "ann" && password.expose() == "s:cret")
        );
        assert!(!format!("{http:?}").contains("s:cret"));
        assert_eq!(
            http.url("api/2.0/mlflow/runs/get").unwrap().as_str(),
            "http://127.0.0.1:5000/prefix/api/2.0/mlflow/runs/get"
        );
    }
}
