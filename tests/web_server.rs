//! A small web site on loopback for the `web` tool's tests and benchmark.
//!
//! [`WebServer::start`] binds `127.0.0.1` on a free port and serves
//! HTTP/1.1 from its own thread and tokio runtime (as the model server
//! does). Routes:
//!
//! - `/hello`: `text/plain` `hello`
//! - `/json`: `{"ok": true, "n": 1}`
//! - `/echo`: the request as JSON `{method, path, query, host, content_type,
//!   api_key, body}` (`api_key`: the `x-api-key` header; the body as text)
//! - `/redirect/N`: 302 to `/redirect/N-1`, and `/redirect/0` to `/hello`
//! - `/to?url`: 302 to the URL after `?` (as written, not decoded)
//! - `/see-other`: 303 to `/echo`
//! - `/big/N`: N bytes of `a`, sent in chunks of 1000
//! - `/binary`: the 256 byte values, `application/octet-stream`
//! - `/slow`: answers after 5 s
//! - `/status/N`: status N with body `status N`
//!
//! Every request is recorded ([`WebServer::requests`]). Dropping the
//! server stops it.

#![allow(
    clippy::expect_used,
    reason = "test support: a server that cannot start fails the test that wanted it"
)]

use std::future::IntoFuture;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::response::Response;
use serde_json::json;
use tokio::sync::oneshot;

/// One request as the site saw it: `(method, path and query, host header)`.
pub type Seen = (String, String, String);

/// The running site; stopped on drop.
#[derive(Debug)]
pub struct WebServer {
    addr: SocketAddr,
    seen: Arc<Mutex<Vec<Seen>>>,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl WebServer {
    /// Starts the site on a free loopback port.
    pub fn start() -> WebServer {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("web server: bind");
        listener
            .set_nonblocking(true)
            .expect("web server: non-blocking socket");
        let addr = listener.local_addr().expect("web server: local address");
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("web server: tokio runtime");
        let seen = Arc::new(Mutex::new(Vec::new()));
        let (stop, stopped) = oneshot::channel::<()>();
        let app = Router::new().fallback(handle).with_state(Arc::clone(&seen));
        let thread = std::thread::Builder::new()
            .name(format!("web-server-{}", addr.port()))
            .spawn(move || {
                runtime.block_on(async move {
                    let listener =
                        tokio::net::TcpListener::from_std(listener).expect("web server: listen");
                    tokio::select! {
                        _ = axum::serve(listener, app).into_future() => {}
                        _ = stopped => {}
                    }
                });
                drop(runtime);
            })
            .expect("web server: spawn thread");
        WebServer {
            addr,
            seen,
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// `http://127.0.0.1:PORT`.
    pub fn origin(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Every request so far.
    pub fn requests(&self) -> Vec<Seen> {
        self.seen
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

impl Drop for WebServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn reply(status: u16, content_type: &str, body: impl Into<Body>) -> Response {
    Response::builder()
        .status(StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR))
        .header(header::CONTENT_TYPE, content_type)
        .body(body.into())
        .unwrap_or_default()
}

fn redirect(status: u16, to: &str) -> Response {
    Response::builder()
        .status(StatusCode::from_u16(status).unwrap_or(StatusCode::FOUND))
        .header(header::LOCATION, to)
        .body(Body::empty())
        .unwrap_or_default()
}

async fn handle(State(seen): State<Arc<Mutex<Vec<Seen>>>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let body = axum::body::to_bytes(body, 1 << 20)
        .await
        .unwrap_or_default();
    let path = parts.uri.path().to_owned();
    let query = parts.uri.query().unwrap_or("").to_owned();
    let host = parts
        .headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("")
        .to_owned();
    seen.lock().unwrap_or_else(PoisonError::into_inner).push((
        parts.method.to_string(),
        parts
            .uri
            .path_and_query()
            .map_or(path.clone(), |p| p.to_string()),
        host.clone(),
    ));
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    match segments.as_slice() {
        ["hello"] => reply(200, "text/plain", "hello"),
        ["json"] => reply(
            200,
            "application/json",
            json!({"ok": true, "n": 1}).to_string(),
        ),
        ["echo"] => {
            let content_type = parts
                .headers
                .get(header::CONTENT_TYPE)
                .and_then(|h| h.to_str().ok());
            let echo = json!({
                "method": parts.method.as_str(),
                "path": path,
                "query": query,
                "host": host,
                "content_type": content_type,
                "api_key": parts.headers.get("x-api-key").and_then(|h| h.to_str().ok()),
                "body": String::from_utf8_lossy(&body),
            });
            reply(200, "application/json", echo.to_string())
        }
        ["redirect", n] => match n.parse::<u32>() {
            Ok(0) => redirect(302, "/hello"),
            Ok(n) => redirect(302, &format!("/redirect/{}", n - 1)),
            Err(_) => reply(400, "text/plain", "bad count"),
        },
        ["to"] => redirect(302, &query),
        ["see-other"] => redirect(303, "/echo"),
        ["big", n] => {
            let n: usize = n.parse().unwrap_or(0);
            let chunks: Vec<Result<Bytes, std::io::Error>> = (0..n)
                .step_by(1000)
                .map(|i| Ok(Bytes::from(vec![b'a'; (n - i).min(1000)])))
                .collect();
            reply(
                200,
                "text/plain",
                Body::from_stream(futures_util::stream::iter(chunks)),
            )
        }
        ["binary"] => reply(
            200,
            "application/octet-stream",
            (0..=255u8).collect::<Vec<u8>>(),
        ),
        ["slow"] => {
            tokio::time::sleep(Duration::from_secs(5)).await;
            reply(200, "text/plain", "late")
        }
        ["status", n] => {
            let n: u16 = n.parse().unwrap_or(500);
            reply(n, "text/plain", format!("status {n}"))
        }
        _ => reply(404, "text/plain", "no such page"),
    }
}
