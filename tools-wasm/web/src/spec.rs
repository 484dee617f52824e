//! What the web tool tells the model about itself.

use llmagent_guest::{Action, Spec};
use serde_json::json;

fn common(action: Action) -> Action {
    action
        .required(
            "url",
            || json!({"type": "string", "minLength": 1, "maxLength": 8192}),
            "http:// or https:// URL (no scheme means https)",
        )
        .optional(
            "headers",
            || json!({"type": "object", "additionalProperties": {"type": "string"}}),
            "Request headers, name → value (Host is set from the URL)",
        )
        .optional(
            "params",
            || json!({"type": "object", "additionalProperties": {"type": ["string", "number", "boolean"]}}),
            "Query parameters added to the URL, name → value",
        )
        .optional(
            "follow_redirects",
            || json!({"type": "boolean"}),
            "Follow up to 5 redirects, each allowed by the policy again (default true)",
        )
}

fn with_body(action: Action) -> Action {
    common(action).optional(
        "body",
        || json!({"type": ["object", "array", "string"]}),
        "Request body: an object or array is sent as JSON (content-type application/json), a string as is",
    )
}

/// What every action answers: a literal, so that each action's
/// description is one too (`concat!`), not built on every call.
macro_rules! answer {
    () => {
        "Output: the body (JSON decoded when the response is JSON, text when text, \
         base64 when binary); metadata {status, url, final_url, headers, truncated, encoding}. \
         Any HTTP status is an answer; a destination the role may not reach is denied."
    };
}

/// The tool's self-description.
pub fn spec() -> Spec {
    Spec::new(
        "web",
        "Makes HTTP requests to the destinations the role's policy allows.",
        env!("CARGO_PKG_VERSION"),
    )
    .action(common(Action::new("get", concat!("HTTP GET. ", answer!()))))
    .action(common(Action::new(
        "head",
        concat!("HTTP HEAD (status and headers only). ", answer!()),
    )))
    .action(with_body(Action::new(
        "post",
        concat!("HTTP POST. ", answer!()),
    )))
    .action(with_body(Action::new(
        "put",
        concat!("HTTP PUT. ", answer!()),
    )))
    .action(with_body(Action::new(
        "patch",
        concat!("HTTP PATCH. ", answer!()),
    )))
    .action(with_body(Action::new(
        "delete",
        concat!("HTTP DELETE. ", answer!()),
    )))
}
