//! How an [`OpenAiClient`](crate::OpenAiClient) talks to its server: where,
//! with which key, and the limits on time, retries and size.

use std::time::Duration;

/// Default for [`ClientConfig::connect_timeout`]: a local or LAN server
/// accepts in milliseconds; ten seconds covers a slow DNS or TLS
/// handshake to a remote API without hanging on a dead host.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Default for [`ClientConfig::first_byte_timeout`]: a small model on a
/// CPU can take minutes to read a long prompt before it writes anything
/// (and a non-streaming server sends its headers only with the whole
/// reply).
pub const DEFAULT_FIRST_BYTE_TIMEOUT: Duration = Duration::from_secs(300);

/// Default for [`ClientConfig::total_timeout`]: twice the first-byte
/// allowance, so a slow model that started answering can finish.
pub const DEFAULT_TOTAL_TIMEOUT: Duration = Duration::from_secs(600);

/// Default for [`ClientConfig::max_retries`]: three retries ride out a
/// server restart or a short rate-limit window without turning a dead
/// server into minutes of waiting.
pub const DEFAULT_MAX_RETRIES: u32 = 3;

/// Default for [`ClientConfig::backoff_base`]: the first retry comes
/// within half a second, the usual time for a restarting server.
pub const DEFAULT_BACKOFF_BASE: Duration = Duration::from_millis(500);

/// Default for [`ClientConfig::backoff_max`]: no single backoff waits
/// longer than this, however many retries are configured.
pub const DEFAULT_BACKOFF_MAX: Duration = Duration::from_secs(10);

/// Default for [`ClientConfig::retry_after_max`]: a server may ask for a
/// pause with `Retry-After`; longer than a minute and the agent is better
/// off failing and saying so than sitting silent.
pub const DEFAULT_RETRY_AFTER_MAX: Duration = Duration::from_secs(60);

/// Default for [`ClientConfig::max_reply_bytes`]: a completion is at most
/// some tens of thousands of tokens (a few hundred KiB of JSON, more when
/// streamed as one chunk per token); 4 MiB leaves room for that and stops
/// a broken server from filling memory.
pub const DEFAULT_MAX_REPLY_BYTES: usize = 4 * 1024 * 1024;

/// Where an [`OpenAiClient`](crate::OpenAiClient) sends requests and the
/// limits it keeps. Build with [`ClientConfig::new`] and change fields.
#[derive(Clone, PartialEq, Eq)]
pub struct ClientConfig {
    /// The API base, e.g. `http://127.0.0.1:8080/v1`; requests go to
    /// `{api_base}/chat/completions` (a trailing `/` is ignored).
    pub api_base: String,
    /// Sent as `Authorization: Bearer <key>` when set.
    pub api_key: Option<String>,
    /// Limit on opening the TCP (and TLS) connection.
    pub connect_timeout: Duration,
    /// Limit from sending the request to receiving the response headers.
    pub first_byte_timeout: Duration,
    /// Limit on one attempt as a whole (connect, headers and body). It
    /// bounds each attempt, not the call: with retries a call can take up
    /// to `(max_retries + 1) × total_timeout` plus the backoffs.
    pub total_timeout: Duration,
    /// Extra attempts after the first, for connection failures, connect
    /// and first-byte timeouts, HTTP 429 and 5xx other than 501.
    pub max_retries: u32,
    /// Backoff before retry `n` (0-based) is a uniform random duration in
    /// `[0, min(backoff_max, backoff_base × 2^n)]` ("full jitter").
    pub backoff_base: Duration,
    /// Upper bound of any one backoff.
    pub backoff_max: Duration,
    /// Upper bound on a server's `Retry-After` (on 429 and 503).
    pub retry_after_max: Duration,
    /// Upper bound on the bytes of one reply (whole or streamed), counted
    /// as they arrive.
    pub max_reply_bytes: usize,
}

impl std::fmt::Debug for ClientConfig {
    // The key never reaches a log or a `{:?}`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientConfig")
            .field("api_base", &self.api_base)
            .field("api_key", &self.api_key.as_ref().map(|_| "[redacted]"))
            .field("connect_timeout", &self.connect_timeout)
            .field("first_byte_timeout", &self.first_byte_timeout)
            .field("total_timeout", &self.total_timeout)
            .field("max_retries", &self.max_retries)
            .field("backoff_base", &self.backoff_base)
            .field("backoff_max", &self.backoff_max)
            .field("retry_after_max", &self.retry_after_max)
            .field("max_reply_bytes", &self.max_reply_bytes)
            .finish()
    }
}

impl ClientConfig {
    /// A configuration for `api_base` with no key and the default limits.
    pub fn new(api_base: impl Into<String>) -> Self {
        Self {
            api_base: api_base.into(),
            api_key: None,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            first_byte_timeout: DEFAULT_FIRST_BYTE_TIMEOUT,
            total_timeout: DEFAULT_TOTAL_TIMEOUT,
            max_retries: DEFAULT_MAX_RETRIES,
            backoff_base: DEFAULT_BACKOFF_BASE,
            backoff_max: DEFAULT_BACKOFF_MAX,
            retry_after_max: DEFAULT_RETRY_AFTER_MAX,
            max_reply_bytes: DEFAULT_MAX_REPLY_BYTES,
        }
    }

    /// The same configuration with `api_key` set.
    pub fn with_api_key(mut self, key: impl Into<String>) -> Self {
        self.api_key = Some(key.into());
        self
    }

    /// `{api_base}/chat/completions`, without a doubled `/`.
    pub fn completions_url(&self) -> String {
        format!("{}/chat/completions", self.api_base.trim_end_matches('/'))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn completions_url_ignores_a_trailing_slash() {
        assert_eq!(
            ClientConfig::new("http://h:1/v1/").completions_url(),
            "http://h:1/v1/chat/completions"
        );
        assert_eq!(
            ClientConfig::new("http://h:1/v1").completions_url(),
            "http://h:1/v1/chat/completions"
        );
    }

    #[test]
    fn new_has_the_documented_defaults() {
        assert_eq!(
            ClientConfig::new("http://h/v1").with_api_key("k"),
            ClientConfig {
                api_base: "http://h/v1".to_owned(),
                api_key: Some("k".to_owned()),
                connect_timeout: Duration::from_secs(10),
                first_byte_timeout: Duration::from_secs(300),
                total_timeout: Duration::from_secs(600),
                max_retries: 3,
                backoff_base: Duration::from_millis(500),
                backoff_max: Duration::from_secs(10),
                retry_after_max: Duration::from_secs(60),
                max_reply_bytes: 4 * 1024 * 1024,
            }
        );
    }
}
