//! What can go wrong talking to a model.

use std::time::Duration;

/// A model request that failed (after any retries).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum LlmError {
    /// No connection could be made (refused, DNS, TLS).
    #[error("cannot reach the model server at {url}: {message}")]
    Unreachable {
        /// The URL tried.
        url: String,
        /// What the network said.
        message: String,
        /// Attempts made.
        attempts: u32,
    },
    /// The server did not answer in time.
    #[error("the model server at {url} did not answer within {} ms ({phase})", limit.as_millis())]
    Timeout {
        /// The URL tried.
        url: String,
        /// `connect`, `first byte` or `total`.
        phase: &'static str,
        /// The limit that passed.
        limit: Duration,
        /// Attempts made.
        attempts: u32,
    },
    /// The server answered with a non-2xx status.
    #[error("the model server answered HTTP {status}: {body}")]
    Status {
        /// The HTTP status.
        status: u16,
        /// The start of the response body (at most 2 KiB, lossy UTF-8),
        /// or the API's `error.message` when it sent one.
        body: String,
        /// Attempts made.
        attempts: u32,
    },
    /// The server answered 2xx with something that is not a usable
    /// completion (not JSON, no choices, too large, a stream cut short).
    #[error("the model server sent an invalid reply: {message}")]
    InvalidReply {
        /// What was wrong.
        message: String,
    },
}

impl LlmError {
    /// Every code [`LlmError::code`] gives, in variant order.
    pub const CODES: &[&str] = &[
        "llm_unreachable",
        "llm_timeout",
        "llm_http_error",
        "llm_invalid_reply",
    ];

    /// A stable code: `llm_unreachable`, `llm_timeout`, `llm_http_error`,
    /// `llm_invalid_reply`. It is the `code` of the `agent.error` event a
    /// failed model request records.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Unreachable { .. } => "llm_unreachable",
            Self::Timeout { .. } => "llm_timeout",
            Self::Status { .. } => "llm_http_error",
            Self::InvalidReply { .. } => "llm_invalid_reply",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_variant_has_its_listed_code() {
        let errors = [
            LlmError::Unreachable {
                url: "u".into(),
                message: "m".into(),
                attempts: 1,
            },
            LlmError::Timeout {
                url: "u".into(),
                phase: "total",
                limit: Duration::from_secs(1),
                attempts: 1,
            },
            LlmError::Status {
                status: 500,
                body: "b".into(),
                attempts: 1,
            },
            LlmError::InvalidReply {
                message: "m".into(),
            },
        ];
        let codes: Vec<&str> = errors.iter().map(LlmError::code).collect();
        assert_eq!(codes, LlmError::CODES);
    }
}
