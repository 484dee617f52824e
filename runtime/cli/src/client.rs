//! The command line as a client of `llmagent serve`: HTTP/1.1 over the
//! service's Unix socket, JSON in and out, and server-sent events read as
//! they come.
//!
//! Which socket: `--socket`, else `$LLMAGENT_SOCKET`, else the default
//! `$XDG_RUNTIME_DIR/llmagent/llmagent.sock` (without `XDG_RUNTIME_DIR`:
//! `/tmp/llmagent-UID/llmagent.sock`). A command that finds the event store
//! owned by a service reads the socket from the store's `service.json`.

use std::path::{Path, PathBuf};

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::{Method, Request, Response};
use hyper_util::rt::TokioIo;
use serde_json::Value;
use tokio::net::UnixStream;

/// The file in the store directory that names the service owning it.
pub(crate) const SERVICE_FILE: &str = "service.json";

/// The default socket path.
pub(crate) fn default_socket() -> PathBuf {
    match std::env::var_os("XDG_RUNTIME_DIR").filter(|v| !v.is_empty()) {
        Some(dir) => PathBuf::from(dir).join("llmagent").join("llmagent.sock"),
        None => PathBuf::from(format!(
            "/tmp/llmagent-{}",
            rustix::process::geteuid().as_raw()
        ))
        .join("llmagent.sock"),
    }
}

/// `--socket`, else `$LLMAGENT_SOCKET`, else the default.
pub(crate) fn socket_path(flag: Option<&Path>) -> PathBuf {
    flag.map(Path::to_path_buf)
        .or_else(|| {
            std::env::var_os("LLMAGENT_SOCKET")
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
        })
        .unwrap_or_else(default_socket)
}

/// The service that owns the store at `store` — its socket — when the
/// store's owner (pid `holder`) is one.
pub(crate) fn service_of_store(store: &Path, holder: Option<u32>) -> Option<PathBuf> {
    let text = std::fs::read_to_string(store.join(SERVICE_FILE)).ok()?;
    let v: Value = serde_json::from_str(&text).ok()?;
    let pid = v["pid"].as_u64()?;
    if holder.is_some_and(|h| u64::from(h) != pid) {
        return None;
    }
    v["socket"].as_str().map(PathBuf::from)
}

/// Why a request to the service failed.
#[derive(Debug)]
pub(crate) enum ClientError {
    /// No service answers at the socket.
    Unreachable(String),
    /// The service answered an error: status, code, message.
    Api(u16, String, String),
}

impl std::fmt::Display for ClientError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Unreachable(m) => f.write_str(m),
            Self::Api(status, code, message) => write!(f, "{message} ({code}, HTTP {status})"),
        }
    }
}

/// A client of one service.
pub(crate) struct Client {
    socket: PathBuf,
}

impl Client {
    pub(crate) fn new(socket: PathBuf) -> Self {
        Self { socket }
    }

    async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Response<Incoming>, ClientError> {
        let unreachable = |e: &dyn std::fmt::Display| {
            ClientError::Unreachable(format!(
                "no llmagent service answers at {}: {e} (start one with `llmagent serve --policy P`, or pass --socket)",
                self.socket.display()
            ))
        };
        let stream = UnixStream::connect(&self.socket)
            .await
            .map_err(|e| unreachable(&e))?;
        let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|e| unreachable(&e))?;
        tokio::spawn(async move {
            let _ = conn.await;
        });
        let bytes = body.map(|b| Bytes::from(b.to_string())).unwrap_or_default();
        let request = Request::builder()
            .method(method)
            .uri(path)
            .header("host", "llmagent")
            .header("content-type", "application/json")
            .body(Full::new(bytes))
            .map_err(|e| unreachable(&e))?;
        sender
            .send_request(request)
            .await
            .map_err(|e| unreachable(&e))
    }

    /// One request, its JSON answer; an error answer as [`ClientError::Api`].
    pub(crate) async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Value, ClientError> {
        let response = self.send(method, path, body).await?;
        let status = response.status().as_u16();
        let bytes = response
            .into_body()
            .collect()
            .await
            .map_err(|e| ClientError::Unreachable(format!("the service's answer broke off: {e}")))?
            .to_bytes();
        let value: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        if status >= 400 {
            let code = value["error"]["code"]
                .as_str()
                .unwrap_or("error")
                .to_owned();
            let message = value["error"]["message"]
                .as_str()
                .map(str::to_owned)
                .unwrap_or_else(|| String::from_utf8_lossy(&bytes).into_owned());
            return Err(ClientError::Api(status, code, message));
        }
        Ok(value)
    }

    /// A request answered with server-sent events: `on_event(name, data)`
    /// for each as it arrives, until the stream ends or it returns false.
    pub(crate) async fn stream(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
        mut on_event: impl FnMut(&str, &str) -> bool,
    ) -> Result<(), ClientError> {
        let response = self.send(method, path, body).await?;
        let status = response.status().as_u16();
        let mut body = response.into_body();
        if status >= 400 {
            let bytes = body
                .collect()
                .await
                .map(|b| b.to_bytes())
                .unwrap_or_default();
            let value: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
            return Err(ClientError::Api(
                status,
                value["error"]["code"]
                    .as_str()
                    .unwrap_or("error")
                    .to_owned(),
                value["error"]["message"].as_str().unwrap_or("").to_owned(),
            ));
        }
        let mut buf = String::new();
        while let Some(frame) = body.frame().await {
            let frame = frame.map_err(|e| {
                ClientError::Unreachable(format!("the service's stream broke off: {e}"))
            })?;
            let Some(data) = frame.data_ref() else {
                continue;
            };
            buf.push_str(&String::from_utf8_lossy(data));
            while let Some(end) = buf.find("\n\n") {
                let block: String = buf.drain(..end + 2).collect();
                let mut name = "message";
                let mut lines = Vec::new();
                for line in block.lines() {
                    if let Some(n) = line.strip_prefix("event:") {
                        name = n.trim();
                    } else if let Some(d) = line.strip_prefix("data:") {
                        lines.push(d.strip_prefix(' ').unwrap_or(d));
                    }
                }
                if lines.is_empty() {
                    continue;
                }
                if !on_event(name, &lines.join("\n")) {
                    return Ok(());
                }
            }
        }
        Ok(())
    }
}

/// `s` for a URL path segment or query value: unreserved characters kept,
/// every other byte percent-encoded.
pub(crate) fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::encode;

    #[test]
    fn path_segments_are_percent_encoded() {
        assert_eq!(encode("ops-1_a.b~"), "ops-1_a.b~");
        assert_eq!(encode("a b/c?é"), "a%20b%2Fc%3F%C3%A9");
    }
}
