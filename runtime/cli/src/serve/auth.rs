//! Who may talk to the service.
//!
//! On the Unix socket: the peer's uid (`SO_PEERCRED`, from the kernel,
//! not from anything the peer says) must be the service's own or one of
//! `--allow-uid`; the socket file is 0600 as well. On loopback TCP (only
//! with `--tcp`): a bearer token read from a file, compared in constant
//! time; a `Host` that is not the loopback address and port is refused (a
//! page of another site that rebinds its name to 127.0.0.1 sends its own
//! host name), and so is a request whose `Origin` is not this service (a
//! page elsewhere cannot make the browser send the token, and the token is
//! never in a cookie, but it is refused before anything else anyway).

use std::sync::Arc;

use axum::extract::connect_info::{ConnectInfo, Connected};
use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::Response;
use axum::serve::IncomingStream;
use tokio::net::UnixListener;

use super::api::error_response;

/// The peer of a Unix-socket connection.
#[derive(Debug, Clone, Copy)]
pub(crate) struct UnixPeer {
    /// Its uid, when the kernel said.
    pub(crate) uid: Option<u32>,
}

impl Connected<IncomingStream<'_, UnixListener>> for UnixPeer {
    fn connect_info(stream: IncomingStream<'_, UnixListener>) -> Self {
        Self {
            uid: stream.io().peer_cred().ok().map(|c| c.uid()),
        }
    }
}

/// Refuses a Unix-socket peer whose uid is not allowed.
pub(crate) async fn unix_peer(
    State(allowed): State<Arc<Vec<u32>>>,
    ConnectInfo(peer): ConnectInfo<UnixPeer>,
    request: Request,
    next: Next,
) -> Response {
    match peer.uid {
        Some(uid) if allowed.contains(&uid) => next.run(request).await,
        Some(uid) => error_response(
            StatusCode::FORBIDDEN,
            "forbidden",
            &format!(
                "uid {uid} may not use this service; it allows uid {} (add --allow-uid {uid} to serve)",
                allowed
                    .iter()
                    .map(u32::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ),
        None => error_response(
            StatusCode::FORBIDDEN,
            "forbidden",
            "the peer's credentials could not be read",
        ),
    }
}

/// What the TCP listener checks.
#[derive(Debug)]
pub(crate) struct TcpGuard {
    /// The bearer token.
    pub(crate) token: String,
    /// The `Host` values accepted: `127.0.0.1:PORT`, `localhost:PORT`.
    pub(crate) hosts: Vec<String>,
}

/// Constant-time equality of two byte strings (the length is not secret).
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Refuses a TCP request with a foreign `Host` or `Origin`, or without
/// the token. The web page (`/`) itself holds no data and is served to a
/// right `Host` without a token; it asks for the token.
pub(crate) async fn tcp_guard(
    State(guard): State<Arc<TcpGuard>>,
    request: Request,
    next: Next,
) -> Response {
    let headers = request.headers();
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("");
    if !guard.hosts.iter().any(|h| h == host) {
        return error_response(
            StatusCode::FORBIDDEN,
            "forbidden",
            "this Host is not the service's loopback address (DNS rebinding is refused)",
        );
    }
    if let Some(origin) = headers.get(header::ORIGIN) {
        let origin = origin.to_str().unwrap_or("");
        let ours = guard.hosts.iter().any(|h| origin == format!("http://{h}"));
        if !ours {
            return error_response(
                StatusCode::FORBIDDEN,
                "forbidden",
                "requests from another origin are refused",
            );
        }
    }
    let path = request.uri().path();
    if path == "/" || path.starts_with("/ui/") {
        return next.run(request).await;
    }
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|h| h.to_str().ok())
        .and_then(|h| h.strip_prefix("Bearer "))
        .unwrap_or("");
    if given.is_empty() {
        return error_response(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "send the service's token: Authorization: Bearer TOKEN",
        );
    }
    if !same(given.as_bytes(), guard.token.as_bytes()) {
        return error_response(StatusCode::UNAUTHORIZED, "unauthorized", "wrong token");
    }
    next.run(request).await
}

#[cfg(test)]
mod tests {
    use super::same;

    #[test]
    fn tokens_compare_whole() {
        assert!(same(b"abc", b"abc"));
        assert!(!same(b"abc", b"abd"));
        assert!(!same(b"abc", b"ab"));
        assert!(!same(b"", b"a"));
    }
}
