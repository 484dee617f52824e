//! [`OpenAiClient`]: chat completions over HTTP(S) from an
//! OpenAI-compatible server, with timeouts, retries and streaming.
//!
//! One call is one or more attempts. An attempt is retried when it failed
//! in a way another attempt may not: connection failures, connect and
//! first-byte timeouts, HTTP 429 and 5xx but 501, and a 200 whose body
//! broke off, was cut short or is not a valid reply. A reply over
//! `max_reply_bytes` is not retried (it would be over again), and neither
//! is a stream once some of its text has been handed to `on_text`: text
//! shown is never shown twice.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use reqwest::header::{ACCEPT, CONTENT_TYPE, RETRY_AFTER};

use crate::body::{BodyError, cause, invalid, read_start, read_stream, read_whole};
use crate::config::ClientConfig;
use crate::error::LlmError;
use crate::reply::{error_body, parse_completion};
use crate::retry::{backoff, parse_retry_after, status_has_retry_after, status_is_retryable};
use crate::types::{ChatRequest, ChatResponse};
use crate::{LlmClient, request};

/// Sent as `User-Agent`, so server logs can tell who called.
const USER_AGENT: &str = concat!("llmagent/", env!("CARGO_PKG_VERSION"));

/// A client for `POST {api_base}/chat/completions`.
#[derive(Debug, Clone)]
pub struct OpenAiClient {
    config: ClientConfig,
    /// `{api_base}/chat/completions`.
    url: String,
    http: reqwest::Client,
}

/// How an attempt failed.
enum Failure {
    /// Worth another attempt, after the server's `Retry-After` if it gave
    /// one (else a backoff).
    Retry {
        error: LlmError,
        status: Option<u16>,
        retry_after: Option<Duration>,
    },
    /// Final.
    Fatal(LlmError),
}

impl OpenAiClient {
    /// A client for `config`. Fails (as [`LlmError::Unreachable`] with 0
    /// attempts) when `api_base` is not an `http`/`https` URL or TLS
    /// cannot be set up.
    pub fn new(config: ClientConfig) -> Result<Self, LlmError> {
        let url = config.completions_url();
        let unusable = |message: String| LlmError::Unreachable {
            url: url.clone(),
            message,
            attempts: 0,
        };
        match reqwest::Url::parse(&url) {
            Ok(parsed) if matches!(parsed.scheme(), "http" | "https") => {}
            Ok(parsed) => {
                return Err(unusable(format!(
                    "the scheme `{}` is not http or https",
                    parsed.scheme()
                )));
            }
            Err(e) => return Err(unusable(format!("not a valid URL: {e}"))),
        }
        let tls = tls_config().map_err(|e| unusable(format!("cannot set up TLS: {e}")))?;
        let http = reqwest::Client::builder()
            .tls_backend_preconfigured(tls)
            .connect_timeout(config.connect_timeout)
            .user_agent(USER_AGENT)
            .build()
            .map_err(|e| unusable(format!("cannot build the HTTP client: {}", cause(&e))))?;
        Ok(Self { config, url, http })
    }

    /// The configuration it was built with.
    pub fn config(&self) -> &ClientConfig {
        &self.config
    }

    /// One call: attempts until one succeeds, fails for good or the
    /// retries run out.
    async fn call(
        &self,
        request: &ChatRequest,
        stream: bool,
        on_text: &mut (dyn for<'t> FnMut(&'t str) + Send),
    ) -> Result<ChatResponse, LlmError> {
        let body = request::body(request, stream);
        let mut attempts = 0;
        loop {
            attempts += 1;
            let total = self.config.total_timeout;
            let outcome = tokio::time::timeout(total, self.attempt(&body, stream, on_text))
                .await
                .unwrap_or_else(|_| Err(Failure::Fatal(self.timeout("total", total))));
            let (error, status, retry_after) = match outcome {
                Ok(reply) => return Ok(ChatResponse { attempts, ..reply }),
                Err(Failure::Fatal(error)) => return Err(with_attempts(error, attempts)),
                Err(Failure::Retry {
                    error,
                    status,
                    retry_after,
                }) => (error, status, retry_after),
            };
            if attempts > self.config.max_retries {
                return Err(with_attempts(error, attempts));
            }
            let delay = match retry_after {
                Some(wait) => wait.min(self.config.retry_after_max),
                None => backoff(
                    self.config.backoff_base,
                    self.config.backoff_max,
                    attempts - 1,
                ),
            };
            tracing::warn!(
                url = %self.url,
                status,
                delay_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
                attempt = attempts,
                "model request failed, retrying: {error}"
            );
            tokio::time::sleep(delay).await;
        }
    }

    /// One attempt: send, wait for the headers, read the reply.
    async fn attempt(
        &self,
        body: &[u8],
        stream: bool,
        on_text: &mut (dyn for<'t> FnMut(&'t str) + Send),
    ) -> Result<ChatResponse, Failure> {
        let mut builder = self
            .http
            .post(&self.url)
            .header(CONTENT_TYPE, "application/json")
            .header(
                ACCEPT,
                if stream {
                    "text/event-stream"
                } else {
                    "application/json"
                },
            )
            .body(body.to_vec());
        if let Some(key) = &self.config.api_key {
            builder = builder.bearer_auth(key);
        }
        let first_byte = self.config.first_byte_timeout;
        let response = match tokio::time::timeout(first_byte, builder.send()).await {
            Err(_) => return Err(self.retry(self.timeout("first byte", first_byte))),
            Ok(Err(e)) => return Err(self.retry(self.send_error(&e))),
            Ok(Ok(response)) => response,
        };
        let cap = self.config.max_reply_bytes;
        let status = response.status().as_u16();
        if !response.status().is_success() {
            let retry_after = response
                .headers()
                .get(RETRY_AFTER)
                .filter(|_| status_has_retry_after(status))
                .and_then(|value| value.to_str().ok())
                .and_then(|value| parse_retry_after(value, SystemTime::now()));
            let body = error_body(&read_start(response, cap).await);
            let error = LlmError::Status {
                status,
                body,
                attempts: 0,
            };
            return Err(if status_is_retryable(status) {
                Failure::Retry {
                    error,
                    status: Some(status),
                    retry_after,
                }
            } else {
                Failure::Fatal(error)
            });
        }
        if stream && !is_json(&response) {
            let mut shown = false;
            let mut show = |text: &str| {
                shown = true;
                on_text(text);
            };
            return read_stream(response, cap, &mut show).await.map_err(|e| {
                self.after_body(BodyError {
                    transient: e.transient && !shown,
                    ..e
                })
            });
        }
        let body = read_whole(response, cap)
            .await
            .map_err(|e| self.after_body(e))?;
        let reply = parse_completion(&body).map_err(|message| self.retry(invalid(message)))?;
        // A server that answers a stream request whole: one piece.
        if let Some(text) = reply.content.as_deref().filter(|_| stream)
            && !text.is_empty()
        {
            on_text(text);
        }
        Ok(reply)
    }

    /// A body that could not be read: retried when that may pass.
    fn after_body(&self, e: BodyError) -> Failure {
        if e.transient {
            self.retry(e.error)
        } else {
            Failure::Fatal(e.error)
        }
    }

    /// A retryable failure without a status.
    fn retry(&self, error: LlmError) -> Failure {
        Failure::Retry {
            error,
            status: None,
            retry_after: None,
        }
    }

    /// A [`LlmError::Timeout`] in `phase` after `limit`.
    fn timeout(&self, phase: &'static str, limit: Duration) -> LlmError {
        LlmError::Timeout {
            url: self.url.clone(),
            phase,
            limit,
            attempts: 0,
        }
    }

    /// The error for a request that got no response.
    fn send_error(&self, error: &reqwest::Error) -> LlmError {
        if error.is_timeout() {
            return self.timeout("connect", self.config.connect_timeout);
        }
        LlmError::Unreachable {
            url: self.url.clone(),
            message: cause(error),
            attempts: 0,
        }
    }
}

#[async_trait]
impl LlmClient for OpenAiClient {
    async fn chat(&self, request: &ChatRequest) -> Result<ChatResponse, LlmError> {
        self.call(request, false, &mut |_: &str| {}).await
    }

    async fn chat_stream(
        &self,
        request: &ChatRequest,
        on_text: &mut (dyn for<'t> FnMut(&'t str) + Send),
    ) -> Result<ChatResponse, LlmError> {
        self.call(request, true, on_text).await
    }

    fn endpoint(&self) -> String {
        self.config.api_base.clone()
    }
}

/// Whether the reply is a JSON document rather than an event stream.
fn is_json(response: &reqwest::Response) -> bool {
    response
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| {
            value
                .trim_start()
                .to_ascii_lowercase()
                .starts_with("application/json")
        })
}

/// `error` with its attempt count set.
fn with_attempts(mut error: LlmError, count: u32) -> LlmError {
    match &mut error {
        LlmError::Unreachable { attempts, .. }
        | LlmError::Timeout { attempts, .. }
        | LlmError::Status { attempts, .. } => *attempts = count,
        LlmError::InvalidReply { .. } => {}
    }
    error
}

/// An HTTP client builder with the TLS set-up the model client uses
/// (rustls on `ring`, the OS trust store), for other clients of the
/// runtime (MCP servers reached by URL).
pub fn http_client_builder() -> Result<reqwest::ClientBuilder, String> {
    let tls = tls_config().map_err(|e| format!("cannot set up TLS: {e}"))?;
    Ok(reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .user_agent(USER_AGENT))
}

/// rustls on the `ring` provider, verifying against the OS trust store,
/// HTTP/1.1 only. Built once per process: reading and parsing the trust
/// store took milliseconds, for each of a service's agents. (A trust store
/// changed while the process runs is seen after a restart.)
fn tls_config() -> Result<rustls::ClientConfig, String> {
    static CONFIG: std::sync::OnceLock<Result<rustls::ClientConfig, String>> =
        std::sync::OnceLock::new();
    CONFIG
        .get_or_init(|| new_tls_config().map_err(|e| e.to_string()))
        .clone()
}

fn new_tls_config() -> Result<rustls::ClientConfig, rustls::Error> {
    use rustls_platform_verifier::BuilderVerifierExt;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_platform_verifier()?
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_api_bases_are_refused_with_the_url() {
        let errors: Vec<LlmError> = ["ftp://h/v1", "not a url"]
            .iter()
            .map(|base| OpenAiClient::new(ClientConfig::new(*base)).unwrap_err())
            .collect();
        assert_eq!(
            errors,
            vec![
                LlmError::Unreachable {
                    url: "ftp://h/v1/chat/completions".to_owned(),
                    message: "the scheme `ftp` is not http or https".to_owned(),
                    attempts: 0,
                },
                LlmError::Unreachable {
                    url: "not a url/chat/completions".to_owned(),
                    message: "not a valid URL: relative URL without a base".to_owned(),
                    attempts: 0,
                },
            ]
        );
    }

    #[test]
    fn an_https_client_builds_and_reports_its_endpoint() {
        let client = OpenAiClient::new(ClientConfig::new("https://example.invalid/v1/")).unwrap();
        assert_eq!(client.endpoint(), "https://example.invalid/v1/");
        assert_eq!(client.url, "https://example.invalid/v1/chat/completions");
    }

    #[test]
    fn attempts_are_set_on_errors_that_carry_them() {
        let status = LlmError::Status {
            status: 500,
            body: "x".to_owned(),
            attempts: 0,
        };
        let invalid = LlmError::InvalidReply {
            message: "m".to_owned(),
        };
        assert_eq!(
            with_attempts(status, 4),
            LlmError::Status {
                status: 500,
                body: "x".to_owned(),
                attempts: 4
            }
        );
        assert_eq!(with_attempts(invalid.clone(), 4), invalid);
    }
}
