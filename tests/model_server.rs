//! A scripted OpenAI-compatible model server for tests and benchmarks.
//!
//! [`ModelServer::start`] binds `127.0.0.1` on a free port and serves real
//! HTTP/1.1 from its own thread and tokio runtime, so sync tests, async
//! tests of any flavour, benchmarks and separate processes can all talk
//! to it. Each `POST /v1/chat/completions` gets the next [`Reply`] pushed
//! with [`ModelServer::push`], or the [`ModelServer::always`] reply when
//! none is left. Every request, on any path, is recorded
//! ([`ModelServer::requests`]). Dropping the server stops it: open
//! connections and hanging replies are cut, the port is closed, the
//! thread is joined.
//!
//! ```no_run
//! use llmagent_tests::model_server::{ModelServer, Reply};
//! let server = ModelServer::start();
//! server.push(Reply::text("hello"));
//! // … point a client at server.base_url() …
//! assert_eq!(server.requests()[0].messages().len(), 1);
//! ```

#![allow(
    clippy::expect_used,
    reason = "test support: a server that cannot start fails the test that wanted it"
)]

use std::collections::VecDeque;
use std::future::IntoFuture;
use std::net::SocketAddr;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::response::Response;
use futures_util::StreamExt;
use serde_json::Value;
use tokio::sync::oneshot;

mod reply;

pub use reply::Reply;

/// The path replies are served on (the others answer 404).
const COMPLETIONS_PATH: &str = "/v1/chat/completions";

/// A running scripted server; stops on drop.
#[derive(Debug)]
pub struct ModelServer {
    addr: SocketAddr,
    shared: Arc<Shared>,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

/// One request the server received.
#[derive(Debug, Clone, PartialEq)]
pub struct Recorded {
    /// `POST`, `GET` …
    pub method: String,
    /// The path, without the query (`/v1/chat/completions`).
    pub path: String,
    /// Headers in arrival order; names lower-case, values lossy UTF-8.
    pub headers: Vec<(String, String)>,
    /// The body as JSON; `Null` when it is not JSON.
    pub body: Value,
}

impl Recorded {
    /// The first value of header `name` (any case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// `body["messages"]`; empty when there is none.
    pub fn messages(&self) -> &[Value] {
        self.body
            .get("messages")
            .and_then(Value::as_array)
            .map_or(&[], Vec::as_slice)
    }
}

/// State shared by the handle and the server thread.
#[derive(Debug)]
struct Shared {
    script: Mutex<Script>,
    /// Signalled whenever a request is recorded.
    arrived: Condvar,
}

#[derive(Debug)]
struct Script {
    queue: VecDeque<Reply>,
    always: Reply,
    requests: Vec<Recorded>,
}

impl Shared {
    /// The script; a panic elsewhere while holding it does not matter here.
    fn lock(&self) -> MutexGuard<'_, Script> {
        self.script.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl ModelServer {
    /// Starts a server on `127.0.0.1` and a free port. Panics if it cannot.
    pub fn start() -> ModelServer {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("model server: bind");
        listener
            .set_nonblocking(true)
            .expect("model server: non-blocking socket");
        let addr = listener.local_addr().expect("model server: local address");
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("model server: tokio runtime");
        let shared = Arc::new(Shared {
            script: Mutex::new(Script {
                queue: VecDeque::new(),
                always: Reply::status(500, "model script exhausted"),
                requests: Vec::new(),
            }),
            arrived: Condvar::new(),
        });
        let (stop, stopped) = oneshot::channel::<()>();
        let (ready, is_ready) = std::sync::mpsc::channel();
        let app = Router::new()
            .fallback(handle)
            .with_state(Arc::clone(&shared));
        let thread = std::thread::Builder::new()
            .name(format!("model-server-{}", addr.port()))
            .spawn(move || {
                runtime.block_on(async move {
                    let listener = match tokio::net::TcpListener::from_std(listener) {
                        Ok(listener) => listener,
                        Err(e) => {
                            let _ = ready.send(Err(e));
                            return;
                        }
                    };
                    let _ = ready.send(Ok(()));
                    tokio::select! {
                        _ = axum::serve(listener, app).into_future() => {}
                        _ = stopped => {}
                    }
                });
                // Dropping the runtime cancels open connections and
                // hanging replies.
                drop(runtime);
            })
            .expect("model server: spawn thread");
        is_ready
            .recv()
            .expect("model server: thread died starting")
            .expect("model server: listen");
        ModelServer {
            addr,
            shared,
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    /// `http://127.0.0.1:PORT/v1`.
    pub fn base_url(&self) -> String {
        format!("http://{}/v1", self.addr)
    }

    /// Queues `reply` for the next completion request.
    pub fn push(&self, reply: Reply) {
        self.shared.lock().queue.push_back(reply);
    }

    /// Serves `reply` whenever the queue is empty (initially a 500 saying
    /// `model script exhausted`).
    pub fn always(&self, reply: Reply) {
        self.shared.lock().always = reply;
    }

    /// Every request so far, in arrival order.
    pub fn requests(&self) -> Vec<Recorded> {
        self.shared.lock().requests.clone()
    }

    /// The requests once there are at least `n`, or those there are when
    /// `timeout` has passed.
    pub fn wait_for_requests(&self, n: usize, timeout: Duration) -> Vec<Recorded> {
        let deadline = Instant::now() + timeout;
        let mut script = self.shared.lock();
        while script.requests.len() < n {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            script = match self.shared.arrived.wait_timeout(script, left) {
                Ok((script, _)) => script,
                Err(poisoned) => poisoned.into_inner().0,
            };
        }
        script.requests.clone()
    }
}

impl Drop for ModelServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Every request: recorded, then answered from the script (completions)
/// or with 404.
async fn handle(State(shared): State<Arc<Shared>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    // A body that breaks off is recorded as far as it came (as not JSON).
    let body = axum::body::to_bytes(body, usize::MAX)
        .await
        .unwrap_or_default();
    let recorded = Recorded {
        method: parts.method.to_string(),
        path: parts.uri.path().to_owned(),
        headers: parts
            .headers
            .iter()
            .map(|(name, value)| {
                let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
                (name.as_str().to_owned(), value)
            })
            .collect(),
        body: serde_json::from_slice(&body).unwrap_or(Value::Null),
    };
    let is_completion = recorded.method == "POST" && recorded.path == COMPLETIONS_PATH;
    let not_found = format!(
        "model server: no route for {} {}",
        recorded.method, recorded.path
    );
    let reply = {
        let mut script = shared.lock();
        script.requests.push(recorded);
        shared.arrived.notify_all();
        if is_completion {
            let next = script.queue.pop_front();
            let body = script
                .requests
                .last()
                .map(|r| r.body.clone())
                .unwrap_or_default();
            next.unwrap_or_else(|| script.always.clone())
                .for_request(&body)
        } else {
            Reply::status(404, &not_found)
        }
    };
    respond(reply).await
}

/// Plays one reply.
async fn respond(mut reply: Reply) -> Response {
    loop {
        return match reply {
            Reply::Delay(wait, inner) => {
                tokio::time::sleep(wait).await;
                reply = *inner;
                continue;
            }
            Reply::Json {
                status,
                body,
                headers,
            } => {
                let mut response = build(status, "application/json", Body::from(body.to_string()));
                for (name, value) in headers {
                    let (Ok(name), Ok(value)) =
                        (HeaderName::try_from(name), HeaderValue::try_from(value))
                    else {
                        return build(500, "text/plain", Body::from("model server: bad header"));
                    };
                    response.headers_mut().append(name, value);
                }
                response
            }
            Reply::Raw {
                status,
                content_type,
                body,
            } => build(status, &content_type, Body::from(body)),
            Reply::Sse { events, done, cut } => sse(events, done, cut),
            Reply::Hang => std::future::pending::<Response>().await,
            // Resolved per request before it gets here.
            Reply::ToolTurn { answer, .. } => {
                reply = Reply::text(&answer);
                continue;
            }
        };
    }
}

/// A `200 text/event-stream` response of `events`.
fn sse(events: Vec<String>, done: bool, cut: bool) -> Response {
    let mut frames: Vec<Result<Bytes, std::io::Error>> = events
        .into_iter()
        .map(|event| Ok(Bytes::from(format!("data: {event}\n\n"))))
        .collect();
    if done {
        frames.push(Ok(Bytes::from_static(b"data: [DONE]\n\n")));
    }
    if cut {
        // A body error makes hyper drop the connection without the
        // chunked encoding's last chunk.
        frames.push(Err(std::io::Error::other("scripted cut")));
    }
    // Yielding between frames lets hyper flush each one on its own.
    let stream = futures_util::stream::iter(frames).then(|frame| async move {
        tokio::task::yield_now().await;
        frame
    });
    let mut response = build(200, "text/event-stream", Body::from_stream(stream));
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}

/// A response with `status` (500 if invalid) and `Content-Type`.
fn build(status: u16, content_type: &str, body: Body) -> Response {
    let mut response = Response::new(body);
    *response.status_mut() =
        StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    if let Ok(value) = HeaderValue::try_from(content_type) {
        response.headers_mut().insert(header::CONTENT_TYPE, value);
    }
    response
}
