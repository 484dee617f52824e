//! The `web` tool: `get`, `head`, `post`, `put`, `patch` and `delete`
//! `{url, headers?, params?, body?}` through the standard
//! `wasi:http/outgoing-handler`, which the host decides by the role's
//! `[roles.R.http]` section.
//!
//! Kept from the predecessor (reference §1.3): the `get` and `post`
//! actions and their arguments (`params` become the query string; an
//! object `body` is sent as JSON), any HTTP status is a success, `output`
//! is the body decoded (JSON when the response says JSON, else text), and
//! `metadata` has `{status, url}`; transport failures are `http_error`
//! with field `url`.
//!
//! Improved: `put`, `patch`, `delete`, `head`; an object or array body
//! gets `content-type: application/json` unless one is given; a binary
//! body is answered as base64 (metadata `encoding: "base64"`); metadata
//! adds `final_url`, the response `headers` and `truncated` (the host cut
//! the body at the role's `max_response_bytes`). Redirects (at most
//! [`MAX_REDIRECTS`]) are followed here, each hop a new request the host
//! decides again; a hop to a refused destination is `denied` at that hop.
//! A refused destination is `denied` with the key to add as suggestion; a
//! header the runtime sets itself (`Host`: it always names the URL's host)
//! is `denied` with field `headers`.

#![deny(missing_docs)]

mod answer;
mod spec;
mod url;

use llmagent_guest::http::{self, Failure, Request};
use llmagent_guest::{Args, Output, Spec, Tool, ToolError};
use serde_json::Value;

use crate::url::Url;

/// Redirects followed at most, as browsers and curl's default policy do
/// roughly; each is a request the policy decides again.
pub const MAX_REDIRECTS: usize = 5;

/// The web tool.
pub struct WebTool;

impl Tool for WebTool {
    fn spec() -> Spec {
        spec::spec()
    }

    fn invoke(action: &str, args: Args) -> Result<Output, ToolError> {
        let method = match action {
            "get" | "head" | "post" | "put" | "patch" | "delete" => action.to_ascii_uppercase(),
            other => return Err(ToolError::unknown_action_of(&spec::spec(), other)),
        };
        let requested = args.str("url")?;
        let mut url =
            Url::parse(requested).map_err(|m| ToolError::new("http_error", m).field("url"))?;
        url.add_params(&params(&args)?);
        let mut headers = headers(&args)?;
        let mut body = body(&args, &mut headers)?;
        let follow = args.opt_bool("follow_redirects")?.unwrap_or(true);

        let mut method = method;
        let mut hops = 0;
        loop {
            let response = http::send(&Request {
                method: &method,
                scheme: &url.scheme,
                authority: &url.authority,
                path_with_query: &url.path_with_query,
                headers: headers.clone(),
                body: body.clone(),
            })
            .map_err(|f| failure(f, &url, hops))?;
            let location = answer::header(&response.headers, "location");
            let redirect = matches!(response.status, 301 | 302 | 303 | 307 | 308);
            match location {
                Some(location) if follow && redirect => {
                    if hops == MAX_REDIRECTS {
                        return Err(ToolError::new(
                            "http_error",
                            format!("more than {MAX_REDIRECTS} redirects, the last to {location}"),
                        )
                        .field("url"));
                    }
                    let next = url.join(&location).map_err(|m| {
                        ToolError::new("http_error", format!("redirect to a bad URL: {m}"))
                            .field("url")
                    })?;
                    // 303, and 301/302 after a POST, continue as GET without
                    // a body, as browsers do; 307 and 308 keep both.
                    if response.status == 303
                        || (matches!(response.status, 301 | 302) && method == "POST")
                    {
                        if method != "HEAD" {
                            method = "GET".into();
                        }
                        body = None;
                        headers.retain(|(n, _)| {
                            !n.eq_ignore_ascii_case("content-type")
                                && !n.eq_ignore_ascii_case("content-length")
                        });
                    }
                    // Credentials the tool was given stay with their origin.
                    if next.origin() != url.origin() {
                        headers.retain(|(n, _)| {
                            !["authorization", "cookie", "proxy-authorization"]
                                .iter()
                                .any(|c| n.eq_ignore_ascii_case(c))
                        });
                    }
                    url = next;
                    hops += 1;
                }
                _ => return Ok(answer::answer(requested, &url.text(), &response)),
            }
        }
    }
}

fn params(args: &Args) -> Result<Vec<(String, String)>, ToolError> {
    let Some(value) = args.value("params") else {
        return Ok(Vec::new());
    };
    let Value::Object(map) = value else {
        return Err(ToolError::invalid_args(
            "params",
            "params is an object of name → value",
        ));
    };
    map.iter()
        .map(|(k, v)| match v {
            Value::String(s) => Ok((k.clone(), s.clone())),
            Value::Number(_) | Value::Bool(_) => Ok((k.clone(), v.to_string())),
            _ => Err(ToolError::invalid_args(
                "params",
                format!("params.{k} is not a string, number or boolean"),
            )),
        })
        .collect()
}

fn headers(args: &Args) -> Result<Vec<(String, String)>, ToolError> {
    let Some(value) = args.value("headers") else {
        return Ok(Vec::new());
    };
    let Value::Object(map) = value else {
        return Err(ToolError::invalid_args(
            "headers",
            "headers is an object of name → value",
        ));
    };
    map.iter()
        .map(|(k, v)| match v {
            Value::String(s) => Ok((k.clone(), s.clone())),
            _ => Err(ToolError::invalid_args(
                "headers",
                format!("headers.{k} is not a string"),
            )),
        })
        .collect()
}

/// The body as bytes; an object or array is JSON with its content type.
fn body(args: &Args, headers: &mut Vec<(String, String)>) -> Result<Option<Vec<u8>>, ToolError> {
    match args.value("body") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone().into_bytes())),
        Some(v @ (Value::Object(_) | Value::Array(_))) => {
            if !headers
                .iter()
                .any(|(n, _)| n.eq_ignore_ascii_case("content-type"))
            {
                headers.push(("content-type".into(), "application/json".into()));
            }
            Ok(Some(v.to_string().into_bytes()))
        }
        Some(_) => Err(ToolError::invalid_args(
            "body",
            "body is an object or array (sent as JSON) or a string",
        )),
    }
}

fn failure(f: Failure, url: &Url, hops: usize) -> ToolError {
    let at = if hops == 0 {
        String::new()
    } else {
        format!(" (redirect {hops})")
    };
    match f {
        Failure::Denied(d) => ToolError::new(
            "denied",
            format!("{} denied the request to {}{at}", d.capability, d.target),
        )
        .field("url")
        .suggestion(d.hint),
        Failure::ForbiddenHeader(name) => ToolError::new(
            "denied",
            format!("the header {name} is set by the runtime, not by the tool"),
        )
        .field("headers")
        .suggestion(
            "leave it out: Host (and TLS SNI) always name the URL's host; to reach another site, put it in the URL",
        ),
        Failure::Invalid(m) => ToolError::new("http_error", m).field("url"),
        Failure::Transport(m) => {
            ToolError::new("http_error", format!("{}{at}: {m}", url.text())).field("url")
        }
    }
}

llmagent_guest::export_tool!(WebTool);
