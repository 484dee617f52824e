//! A `llmagent serve` process for tests, and small HTTP clients for its
//! Unix socket and TCP port.

#![allow(dead_code, clippy::expect_used, clippy::unwrap_used)]

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

#[path = "../common/mod.rs"]
mod common;

/// A policy with role `default` (crypto) and, for each of `agents`, an
/// `[agents.NAME]` on the scripted server at `base`.
pub fn agents_policy(base: &str, agents: &[&str], autostart: bool) -> String {
    let mut text = String::from(
        "version = 1\n[defaults]\nmax_steps = 4\n[roles.default]\ntools = [\"crypto\"]\n",
    );
    for a in agents {
        text.push_str(&format!(
            "[agents.{a}]\nrole = \"default\"\nmodel = \"scripted\"\napi_base = \"{base}\"\ntool_protocol = \"native\"\nautostart = {autostart}\n"
        ));
    }
    text
}

/// `llmagent ARGS` with a clean environment.
pub fn llmagent(args: &[&str]) -> Command {
    let mut cmd = common::command(args);
    cmd.env("COLUMNS", "300");
    cmd
}

/// Waits up to 30 s for `ready`.
pub fn wait_for(mut ready: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !ready() {
        assert!(Instant::now() < deadline, "timed out waiting");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A running service in a temporary directory; killed on drop.
pub struct Service {
    pub dir: tempfile::TempDir,
    pub policy: PathBuf,
    pub events: PathBuf,
    pub socket: PathBuf,
    pub tcp_port: Option<u16>,
    pub child: Option<Child>,
}

impl Service {
    /// Starts `llmagent serve` on `policy` with `extra` flags.
    pub fn start(policy: &str, extra: &[&str]) -> Service {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("policy.toml");
        std::fs::write(&path, policy).unwrap();
        let mut svc = Service {
            policy: path,
            events: dir.path().join("events"),
            socket: dir.path().join("run").join("llmagent.sock"),
            tcp_port: None,
            child: None,
            dir,
        };
        svc.spawn(extra);
        svc
    }

    /// Starts it with a TCP port and `token`.
    pub fn start_with_token(policy: &str, token: &str) -> Service {
        let port = free_port();
        let dir = tempfile::tempdir().unwrap();
        let token_file = dir.path().join("token");
        std::fs::write(&token_file, format!("{token}\n")).unwrap();
        let path = dir.path().join("policy.toml");
        std::fs::write(&path, policy).unwrap();
        let mut svc = Service {
            policy: path,
            events: dir.path().join("events"),
            socket: dir.path().join("run").join("llmagent.sock"),
            tcp_port: Some(port),
            child: None,
            dir,
        };
        let port = port.to_string();
        svc.spawn(&["--tcp", &port, "--token-file", token_file.to_str().unwrap()]);
        svc
    }

    /// (Re)starts the process and waits for its health.
    pub fn spawn(&mut self, extra: &[&str]) {
        let mut args = vec![
            "--events",
            self.events.to_str().unwrap(),
            "serve",
            "--policy",
            self.policy.to_str().unwrap(),
            "--socket",
            self.socket.to_str().unwrap(),
            "--retries",
            "0",
        ];
        args.extend_from_slice(extra);
        let child = llmagent(&args)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        self.child = Some(child);
        let socket = self.socket.clone();
        wait_for(|| {
            UnixStream::connect(&socket).is_ok()
                && http(&socket, "GET", "/v1/health", None).0 == 200
        });
    }

    /// `llmagent --events E ARGS --socket S` (the socket flag for the
    /// client commands only).
    pub fn cli(&self, args: &[&str]) -> Output {
        let mut all = vec!["--events", self.events.to_str().unwrap()];
        let client = matches!(args.first(), Some(&("agents" | "prompt" | "approvals")));
        if client {
            all.push(args[0]);
            all.push("--socket");
            all.push(self.socket.to_str().unwrap());
            all.extend_from_slice(&args[1..]);
        } else {
            all.extend_from_slice(args);
        }
        llmagent(&all).output().unwrap()
    }

    /// [`Service::cli`]'s stdout as JSON.
    pub fn cli_json(&self, args: &[&str]) -> Value {
        let out = self.cli(args);
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!(
                "{args:?}: {e}: {}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            )
        })
    }

    /// Sends `signal` to the service.
    pub fn signal(&self, signal: i32) {
        let pid = self.child.as_ref().unwrap().id();
        let status = Command::new("kill")
            .args([format!("-{signal}"), pid.to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// Waits for the process to exit; its exit code and stderr.
    pub fn wait(&mut self) -> (Option<i32>, String) {
        let child = self.child.take().unwrap();
        let out = child.wait_with_output().unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The body of an HTTP/1.1 response, chunked or not.
fn body_of(raw: &[u8]) -> (u16, Vec<u8>) {
    let text = String::from_utf8_lossy(raw);
    let status: u16 = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let Some(split) = raw.windows(4).position(|w| w == b"\r\n\r\n") else {
        return (status, Vec::new());
    };
    let head = text[..split].to_ascii_lowercase();
    let mut rest = &raw[split + 4..];
    if !head.contains("transfer-encoding: chunked") {
        return (status, rest.to_vec());
    }
    let mut body = Vec::new();
    while let Some(eol) = rest.windows(2).position(|w| w == b"\r\n") {
        let size =
            usize::from_str_radix(String::from_utf8_lossy(&rest[..eol]).trim(), 16).unwrap_or(0);
        if size == 0 {
            break;
        }
        body.extend_from_slice(&rest[eol + 2..eol + 2 + size]);
        rest = &rest[eol + 2 + size + 2..];
    }
    (status, body)
}

fn request_bytes(
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<&Value>,
) -> Vec<u8> {
    let body = body.map(Value::to_string).unwrap_or_default();
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    if !body.is_empty() {
        req.push_str("Content-Type: application/json\r\n");
    }
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    req.push_str(&body);
    req.into_bytes()
}

/// One request over the Unix socket: the status and the JSON body
/// (`Null` when not JSON).
pub fn http(socket: &Path, method: &str, path: &str, body: Option<&Value>) -> (u16, Value) {
    let (status, bytes) = http_raw(socket, method, path, body);
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

/// One request over the Unix socket: the status and the body's bytes.
pub fn http_raw(socket: &Path, method: &str, path: &str, body: Option<&Value>) -> (u16, Vec<u8>) {
    let mut stream = UnixStream::connect(socket).unwrap();
    stream
        .write_all(&request_bytes(method, path, &[("Host", "llmagent")], body))
        .unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).unwrap();
    body_of(&raw)
}

/// `GET path` on the TCP port with `headers`: the status and the body.
pub fn tcp_get(port: u16, path: &str, headers: &[(&str, &str)]) -> (u16, Vec<u8>) {
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream
        .write_all(&request_bytes("GET", path, headers, None))
        .unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).unwrap();
    body_of(&raw)
}

/// The server-sent events of a body: `(event, data)` in order.
pub fn sse_events(body: &[u8]) -> Vec<(String, String)> {
    String::from_utf8_lossy(body)
        .split("\n\n")
        .filter_map(|block| {
            let mut name = None;
            let mut data = Vec::new();
            for line in block.lines() {
                if let Some(n) = line.strip_prefix("event:") {
                    name = Some(n.trim().to_owned());
                } else if let Some(d) = line.strip_prefix("data:") {
                    data.push(d.strip_prefix(' ').unwrap_or(d).to_owned());
                }
            }
            (!data.is_empty()).then(|| (name.unwrap_or_else(|| "message".into()), data.join("\n")))
        })
        .collect()
}

/// Connects to `socket` as uid/gid 65534 (nobody) with python3 and sends
/// `GET /v1/agents`: what it got (the response's first bytes, or
/// `connect: ERROR`).
pub fn as_nobody(socket: &Path) -> String {
    use std::os::unix::process::CommandExt;
    let script = r#"
import socket, sys
s = socket.socket(socket.AF_UNIX)
try:
    s.connect(sys.argv[1])
except Exception as e:
    print("connect: " + type(e).__name__, end="")
    sys.exit(0)
s.sendall(b"GET /v1/agents HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
out = b""
while True:
    b = s.recv(4096)
    if not b:
        break
    out += b
print(out.decode(errors="replace"), end="")
"#;
    let out = Command::new("python3")
        .args(["-c", script, socket.to_str().unwrap()])
        .uid(65534)
        .gid(65534)
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Opens `GET path` on the Unix socket and collects the `data:` payloads
/// of its server-sent events until `done` says so (or 30 s pass).
pub fn stream_until(
    socket: &Path,
    path: &str,
    mut done: impl FnMut(&[Value]) -> bool,
) -> Vec<Value> {
    let mut stream = UnixStream::connect(socket).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    stream
        .write_all(&request_bytes("GET", path, &[("Host", "llmagent")], None))
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut raw = String::new();
    let mut seen = Vec::new();
    let mut buf = [0u8; 8192];
    while Instant::now() < deadline {
        match stream.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => raw.push_str(&String::from_utf8_lossy(&buf[..n])),
            Err(_) => {}
        }
        seen = raw
            .lines()
            .filter_map(|l| l.strip_prefix("data: "))
            .filter_map(|d| serde_json::from_str(d).ok())
            .collect();
        if done(&seen) {
            break;
        }
    }
    seen
}
