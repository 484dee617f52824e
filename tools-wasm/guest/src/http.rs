//! Outgoing HTTP as a tool sees it: one blocking request through the
//! standard `wasi:http/outgoing-handler`, which the host decides by the
//! role's `[roles.R.http]` section. Redirects are not followed here: a
//! tool follows them, and each hop is a new request, decided again.

use crate::bindings::llmagent::tools::http::last_denial;
use crate::bindings::llmagent::tools::types::Denial;
use crate::bindings::wasi::http::outgoing_handler::handle;
use crate::bindings::wasi::http::types::{
    ErrorCode, Fields, HeaderError, IncomingBody, Method, OutgoingBody, OutgoingRequest, Scheme,
    http_error_code,
};
use crate::bindings::wasi::io::streams::StreamError;

/// Bytes written to a request body per call (the stream's own limit is
/// 4096 for `blocking-write-and-flush`).
const WRITE_CHUNK: usize = 4096;
/// The trailer the host ends a body it cut with.
const TRUNCATED: &str = "llmagent-truncated";
/// Bytes asked for per read of a response body.
const READ_CHUNK: u64 = 64 * 1024;

/// One request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request<'a> {
    /// `GET`, `POST` …
    pub method: &'a str,
    /// `http` or `https`.
    pub scheme: &'a str,
    /// `host[:port]`.
    pub authority: &'a str,
    /// `/path?query`.
    pub path_with_query: &'a str,
    /// Headers as given.
    pub headers: Vec<(String, String)>,
    /// The body, if any.
    pub body: Option<Vec<u8>>,
}

/// A response, its body read to the end or to the host's cap.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// The status code.
    pub status: u16,
    /// Headers as received, in order.
    pub headers: Vec<(String, Vec<u8>)>,
    /// The body (what the host let through).
    pub body: Vec<u8>,
    /// Whether the host cut the body at the role's `max_response_bytes`.
    pub truncated: bool,
}

/// Why a request failed.
#[derive(Debug, Clone)]
pub enum Failure {
    /// The role's policy refused it; the denial names the key to add.
    Denied(Denial),
    /// A header a tool may not set (`Host`, hop-by-hop headers, one the
    /// runtime adds itself).
    ForbiddenHeader(String),
    /// An argument `wasi:http` refused (a bad header, method, URL part).
    Invalid(String),
    /// The request or its response failed on the way.
    Transport(String),
}

/// Sends `req` and reads the whole response.
pub fn send(req: &Request<'_>) -> Result<Response, Failure> {
    let headers = Fields::new();
    for (name, value) in &req.headers {
        headers
            .append(name, value.as_bytes())
            .map_err(|e| match e {
                HeaderError::Forbidden | HeaderError::Immutable => {
                    Failure::ForbiddenHeader(name.clone())
                }
                HeaderError::InvalidSyntax => {
                    Failure::Invalid(format!("the header {name:?} is not valid"))
                }
            })?;
    }
    let request = OutgoingRequest::new(headers);
    let method = match req.method {
        "GET" => Method::Get,
        "HEAD" => Method::Head,
        "POST" => Method::Post,
        "PUT" => Method::Put,
        "PATCH" => Method::Patch,
        "DELETE" => Method::Delete,
        "OPTIONS" => Method::Options,
        other => Method::Other(other.to_owned()),
    };
    let scheme = match req.scheme {
        "http" => Scheme::Http,
        "https" => Scheme::Https,
        other => Scheme::Other(other.to_owned()),
    };
    request
        .set_method(&method)
        .map_err(|()| Failure::Invalid(format!("{} is not a method", req.method)))?;
    request
        .set_scheme(Some(&scheme))
        .map_err(|()| Failure::Invalid(format!("{} is not a scheme", req.scheme)))?;
    request
        .set_authority(Some(req.authority))
        .map_err(|()| Failure::Invalid(format!("{:?} is not a host", req.authority)))?;
    request
        .set_path_with_query(Some(req.path_with_query))
        .map_err(|()| Failure::Invalid(format!("{:?} is not a path", req.path_with_query)))?;
    let body = request
        .body()
        .map_err(|()| Failure::Transport("the request body is unavailable".into()))?;

    let future = handle(request, None).map_err(|e| failure(&e))?;
    write_body(body, req.body.as_deref())?;

    future.subscribe().block();
    let response = match future.get() {
        Some(Ok(Ok(response))) => response,
        Some(Ok(Err(e))) => return Err(failure(&e)),
        Some(Err(())) | None => {
            return Err(Failure::Transport("the response was lost".into()));
        }
    };
    let status = response.status();
    let headers = response.headers().entries();
    let incoming = response
        .consume()
        .map_err(|()| Failure::Transport("the response body is unavailable".into()))?;
    let body = read_body(&incoming)?;
    let truncated = cut_by_the_host(incoming);
    Ok(Response {
        status,
        headers,
        body,
        truncated,
    })
}

fn write_body(body: OutgoingBody, bytes: Option<&[u8]>) -> Result<(), Failure> {
    if let Some(bytes) = bytes {
        let stream = body
            .write()
            .map_err(|()| Failure::Transport("the request body is unavailable".into()))?;
        for chunk in bytes.chunks(WRITE_CHUNK) {
            stream
                .blocking_write_and_flush(chunk)
                .map_err(|e| stream_failure(e, "sending the request body"))?;
        }
        drop(stream);
    }
    OutgoingBody::finish(body, None).map_err(|e| failure(&e))
}

/// Whether the body ended with the host's `llmagent-truncated` trailer:
/// the host cut it at the role's `max_response_bytes`.
fn cut_by_the_host(incoming: IncomingBody) -> bool {
    let trailers = IncomingBody::finish(incoming);
    trailers.subscribe().block();
    match trailers.get() {
        Some(Ok(Ok(Some(fields)))) => !fields.get(TRUNCATED).is_empty(),
        _ => false,
    }
}

/// Reads to the end (or to the host's cut).
fn read_body(incoming: &IncomingBody) -> Result<Vec<u8>, Failure> {
    let stream = incoming
        .stream()
        .map_err(|()| Failure::Transport("the response body is unavailable".into()))?;
    let mut body = Vec::new();
    loop {
        match stream.blocking_read(READ_CHUNK) {
            Ok(chunk) => body.extend_from_slice(&chunk),
            Err(StreamError::Closed) => return Ok(body),
            Err(StreamError::LastOperationFailed(e)) => {
                return match http_error_code(&e) {
                    Some(code) => Err(failure(&code)),
                    None => Err(Failure::Transport(format!(
                        "reading the response body failed: {}",
                        e.to_debug_string()
                    ))),
                };
            }
        }
    }
}

fn stream_failure(e: StreamError, doing: &str) -> Failure {
    match e {
        StreamError::Closed => Failure::Transport(format!("{doing}: the connection closed")),
        StreamError::LastOperationFailed(e) => match http_error_code(&e) {
            Some(code) => failure(&code),
            None => Failure::Transport(format!("{doing}: {}", e.to_debug_string())),
        },
    }
}

fn failure(code: &ErrorCode) -> Failure {
    if matches!(code, ErrorCode::HttpRequestDenied)
        && let Some(denial) = last_denial()
    {
        return Failure::Denied(denial);
    }
    Failure::Transport(describe(code))
}

/// What an error code means, in words.
pub fn describe(code: &ErrorCode) -> String {
    match code {
        ErrorCode::DnsTimeout => "the name did not resolve in time".into(),
        ErrorCode::DnsError(p) => match &p.rcode {
            Some(r) => format!("name resolution failed: {r}"),
            None => "name resolution failed".into(),
        },
        ErrorCode::DestinationNotFound => "the host was not found".into(),
        ErrorCode::ConnectionRefused => "the connection was refused".into(),
        ErrorCode::ConnectionTimeout => "the connection timed out".into(),
        ErrorCode::ConnectionReadTimeout => "no response came in time".into(),
        ErrorCode::HttpResponseTimeout => "the response did not finish in time".into(),
        ErrorCode::ConnectionTerminated => "the connection was closed".into(),
        ErrorCode::TlsCertificateError => "the server's certificate was not accepted".into(),
        ErrorCode::TlsProtocolError => "TLS failed".into(),
        ErrorCode::HttpRequestDenied => "the request was refused by the policy".into(),
        ErrorCode::HttpProtocolError => "the server broke the HTTP protocol".into(),
        ErrorCode::InternalError(Some(m)) => m.clone(),
        other => format!("{other:?}"),
    }
}
