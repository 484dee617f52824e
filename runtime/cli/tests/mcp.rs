//! `llmagent mcp` with real peers: the `rmcp` client over stdio and over
//! streamable HTTP (list, call, a denied call, approval by elicitation and
//! without it, a timeout, a trapping component, the recorded events), the
//! HTTP transport's DNS-rebinding and token checks, the official Python
//! SDK as a client, and `llmagent run` with an agent whose role attaches
//! an external MCP server written with the Python SDK.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::process::{Command, Stdio};
use std::time::Duration;

use llmagent_tests::components::testbed_path;
use llmagent_tests::model_server::{ModelServer, Reply};
use llmagent_tests::python_mcp;
use rmcp::model::{
    CallToolRequestParams, CallToolResult, ClientCapabilities, ClientConfig, ElicitRequestParams,
    ElicitResult, ElicitationAction, ElicitationCapability, Implementation,
};
use rmcp::service::{RequestContext, RunningService};
use rmcp::{ClientHandler, ErrorData, RoleClient, ServiceExt};
use serde_json::{Value, json};

mod common;
use common::{cache_home, command, llmagent, root};

/// SHA-256 of "hello".
const HELLO_SHA: &str = "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824";

const POLICY: &str = r#"
version = 1
[defaults]
timeout_ms = 2000
[tools.testbed]
path = "{testbed}"
[roles.default]
tools = ["crypto", "file.read", "testbed"]
approve = ["crypto.encode"]
[roles.default.fs]
read = ["/tmp/llmagent/**"]
"#;

/// A temporary directory with the policy and the event store.
struct Dir(tempfile::TempDir);

impl Dir {
    fn new(policy: &str) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let text = policy.replace("{testbed}", &testbed_path().display().to_string());
        std::fs::write(dir.path().join("policy.toml"), text).expect("policy");
        Self(dir)
    }

    fn policy(&self) -> String {
        self.0.path().join("policy.toml").display().to_string()
    }

    fn events(&self) -> String {
        self.0.path().join("events").display().to_string()
    }

    /// `llmagent --events … mcp --policy … --role default` plus `extra`.
    fn mcp_command(&self, extra: &[&str]) -> Command {
        let mut cmd = command(&[]);
        cmd.args([
            "--events",
            &self.events(),
            "mcp",
            "--policy",
            &self.policy(),
        ])
        .args(["--role", "default"])
        .args(extra)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
        cmd
    }

    /// `llmagent events --json` of this directory's store, one value per event.
    fn recorded(&self) -> Vec<Value> {
        let out = llmagent(&["--events", &self.events(), "events", "--json"]);
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    }
}

/// The test's MCP client: says who it is, and answers approval questions
/// (elicitation) with `approve` when it offers elicitation at all.
#[derive(Clone)]
struct Client {
    elicitation: bool,
    approve: bool,
}

impl ClientHandler for Client {
    async fn create_elicitation(
        &self,
        _request: ElicitRequestParams,
        _context: RequestContext<RoleClient>,
    ) -> Result<ElicitResult, ErrorData> {
        Ok(ElicitResult::new(ElicitationAction::Accept)
            .with_content(json!({"approve": self.approve})))
    }

    fn get_info(&self) -> ClientConfig {
        let mut caps = ClientCapabilities::default();
        if self.elicitation {
            caps.elicitation = Some(ElicitationCapability::new());
        }
        ClientConfig::new(caps, Implementation::new("rmcp-test-client", "1.0"))
    }
}

type Session = RunningService<RoleClient, Client>;

/// A child process killed when dropped.
struct Kill(std::process::Child);

impl Kill {
    /// Waits up to `limit` for it to exit by itself.
    async fn exit_within(&mut self, limit: Duration) {
        let until = std::time::Instant::now() + limit;
        while std::time::Instant::now() < until {
            if self.0.try_wait().ok().flatten().is_some() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Drop for Kill {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `llmagent mcp` over stdio, with the rmcp client connected.
async fn stdio(dir: &Dir, client: Client) -> (Session, Kill) {
    use std::os::fd::OwnedFd;
    use tokio::net::unix::pipe;
    let mut child = Kill(dir.mcp_command(&[]).spawn().expect("start llmagent mcp"));
    let stdin = child.0.stdin.take().expect("stdin");
    let stdout = child.0.stdout.take().expect("stdout");
    let writer = pipe::Sender::from_owned_fd(OwnedFd::from(stdin)).expect("stdin pipe");
    let reader = pipe::Receiver::from_owned_fd(OwnedFd::from(stdout)).expect("stdout pipe");
    let session = client.serve((reader, writer)).await.expect("MCP handshake");
    (session, child)
}

async fn call(session: &Session, name: &str, args: Value) -> CallToolResult {
    let Value::Object(args) = args else {
        panic!("arguments must be an object")
    };
    session
        .peer()
        .call_tool(CallToolRequestParams::new(name.to_owned()).with_arguments(args))
        .await
        .expect("tools/call answered")
}

/// `(is_error, structured content)`.
fn answer(result: &CallToolResult) -> (bool, Value) {
    (
        result.is_error == Some(true),
        result.structured_content.clone().unwrap_or(Value::Null),
    )
}

fn reason(result: &CallToolResult) -> String {
    answer(result).1["error"]["reason"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

fn default_client() -> Client {
    Client {
        elicitation: false,
        approve: false,
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn mcp_stdio_lists_the_roles_actions_with_their_schemas() {
    let dir = Dir::new(POLICY);
    let (session, _child) = stdio(&dir, default_client()).await;
    let tools = session.peer().list_all_tools().await.expect("tools/list");
    let names: Vec<&str> = tools.iter().map(|t| t.name.as_ref()).collect();
    let mut crypto: Vec<&str> = names
        .iter()
        .copied()
        .filter(|n| n.starts_with("crypto-"))
        .collect();
    crypto.sort_unstable();
    assert!(crypto.contains(&"crypto-sha256"), "{names:?}");
    assert!(names.contains(&"file-read"), "{names:?}");
    // Only what the role grants: file.read, not file.write; no bash.
    assert!(!names.contains(&"file-write"), "{names:?}");
    assert!(!names.iter().any(|n| n.starts_with("bash-")), "{names:?}");
    let sha = tools.iter().find(|t| t.name == "crypto-sha256").unwrap();
    assert_eq!(sha.input_schema.get("type"), Some(&json!("object")));
    assert!(
        sha.description
            .as_deref()
            .is_some_and(|d| d.starts_with("crypto tool: ")),
        "{:?}",
        sha.description
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn mcp_stdio_calls_and_records_with_the_clients_name() {
    let dir = Dir::new(POLICY);
    let (session, mut child) = stdio(&dir, default_client()).await;
    let result = call(&session, "crypto-sha256", json!({"data": "hello"})).await;
    assert_eq!(
        answer(&result),
        (
            false,
            json!({"status": "ok", "output": HELLO_SHA, "metadata": {"algorithm": "sha256", "binary": false, "encoding": "base16"}})
        )
    );
    // The text content is the same envelope.
    let text = result.content[0].as_text().unwrap().text.clone();
    assert_eq!(
        serde_json::from_str::<Value>(&text).unwrap(),
        answer(&result).1
    );
    session.cancel().await.expect("close");
    child.exit_within(Duration::from_secs(10)).await;
    let invocation = dir
        .recorded()
        .into_iter()
        .find(|e| e["topic"] == "tool.crypto" && e["kind"] == "invocation")
        .expect("the call is recorded");
    assert_eq!(invocation["agent"], "mcp/rmcp-test-client");
    assert!(
        invocation["context"]["correlation_id"]
            .as_str()
            .is_some_and(|c| c.starts_with("mcp_")),
        "{invocation}"
    );
    assert!(
        invocation["context"]["request_id"]
            .as_str()
            .is_some_and(|c| c.starts_with("req_")),
        "{invocation}"
    );
}

/// Standard input and output that are not pipes (here one socket, as some
/// clients connect their servers) go through rmcp's blocking stdio
/// transport instead of the non-blocking pipes: the session works the same.
#[tokio::test(flavor = "multi_thread")]
async fn mcp_stdio_over_a_socket_instead_of_pipes_calls_the_same() {
    use std::os::fd::OwnedFd;
    let dir = Dir::new(POLICY);
    let (ours, theirs) = std::os::unix::net::UnixStream::pair().expect("socket pair");
    let mut cmd = dir.mcp_command(&[]);
    cmd.stdin(Stdio::from(OwnedFd::from(theirs.try_clone().expect("dup"))))
        .stdout(Stdio::from(OwnedFd::from(theirs)));
    let _child = Kill(cmd.spawn().expect("start llmagent mcp"));
    ours.set_nonblocking(true).expect("non-blocking");
    let stream = tokio::net::UnixStream::from_std(ours).expect("tokio socket");
    let (reader, writer) = stream.into_split();
    let session = default_client()
        .serve((reader, writer))
        .await
        .expect("MCP handshake");
    let result = call(&session, "crypto-sha256", json!({"data": "hello"})).await;
    let (is_error, body) = answer(&result);
    assert!(!is_error, "{body}");
    assert_eq!(body["output"], json!(HELLO_SHA));
}

#[tokio::test(flavor = "multi_thread")]
async fn mcp_stdio_denials_are_tool_errors_naming_the_policy_key() {
    let dir = Dir::new(POLICY);
    let (session, _child) = stdio(&dir, default_client()).await;
    let shadow = call(&session, "file-read", json!({"path": "/etc/shadow"})).await;
    let (is_error, body) = answer(&shadow);
    assert!(is_error);
    assert_eq!(body["status"], "error");
    assert_eq!(body["error"]["reason"], "denied");
    assert!(
        body.to_string().contains("[roles.default.fs].read"),
        "{body}"
    );
    // A tool the role lacks, named by a client that guesses.
    let bash = call(&session, "bash-exec", json!({"command": "id"})).await;
    assert_eq!(
        answer(&bash),
        (
            true,
            json!({"status": "error", "error": {
                "reason": "tool_not_permitted",
                "message": "role `default` may not use `bash.exec`",
                "field": null,
                "suggestion": "add \"bash.exec\" to [roles.default].tools",
            }})
        )
    );
    let unknown = call(&session, "nosuch", json!({})).await;
    assert_eq!(reason(&unknown), "invalid_tool");
    let no_action = call(&session, "crypto-nosuch", json!({})).await;
    assert_eq!(reason(&no_action), "unknown_command");
    // `tool.action`, as models sometimes write it, names the same action.
    let dotted = call(&session, "crypto.sha256", json!({"data": "hello"})).await;
    assert_eq!(answer(&dotted).1["output"], json!(HELLO_SHA));
}

/// `crypto-encode` (an `approve` action of the test policy) called by
/// `client` through a fresh `llmagent mcp`.
async fn encode_as(client: Client) -> CallToolResult {
    let dir = Dir::new(POLICY);
    let (session, _child) = stdio(&dir, client).await;
    call(
        &session,
        "crypto-encode",
        json!({"data": "hi", "encoding": "base64"}),
    )
    .await
}

#[tokio::test(flavor = "multi_thread")]
async fn mcp_stdio_approval_asks_by_elicitation_or_answers_approval_required() {
    let refused = encode_as(default_client()).await;
    assert_eq!(reason(&refused), "approval_required");
    let approved = encode_as(Client {
        elicitation: true,
        approve: true,
    })
    .await;
    assert!(!answer(&approved).0, "{:?}", answer(&approved));
    assert_eq!(answer(&approved).1["status"], "ok");
    let declined = encode_as(Client {
        elicitation: true,
        approve: false,
    })
    .await;
    assert_eq!(reason(&declined), "approval_required");
}

#[tokio::test(flavor = "multi_thread")]
async fn mcp_stdio_timeout_and_trapping_component_are_tool_errors() {
    let dir = Dir::new(POLICY);
    let (session, _child) = stdio(&dir, default_client()).await;
    let spin = call(&session, "testbed-spin", json!({})).await;
    assert_eq!(reason(&spin), "timeout");
    let panic = call(&session, "testbed-panic", json!({})).await;
    assert_eq!(reason(&panic), "tool_crashed");
    // The server carries on.
    let sha = call(&session, "crypto-sha256", json!({"data": "hello"})).await;
    assert_eq!(answer(&sha).1["output"], HELLO_SHA);
}

/// `llmagent mcp --http` on a free loopback port, with `token` in the
/// environment; the base URL once it listens.
async fn http_server(dir: &Dir, token: Option<&str>, extra: &[&str]) -> (String, Kill) {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let addr = format!("127.0.0.1:{port}");
    let mut args = vec!["--http", addr.as_str()];
    args.extend_from_slice(extra);
    let mut cmd = dir.mcp_command(&args);
    cmd.stdin(Stdio::null()).stdout(Stdio::null());
    match token {
        Some(t) => cmd.env("LLMAGENT_MCP_TOKEN", t),
        None => cmd.env_remove("LLMAGENT_MCP_TOKEN"),
    };
    let child = Kill(cmd.spawn().expect("start llmagent mcp --http"));
    for _ in 0..600 {
        if tokio::net::TcpStream::connect(&addr).await.is_ok() {
            return (format!("http://{addr}/mcp"), child);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("llmagent mcp --http did not listen on {addr}");
}

async fn http_client(url: &str, token: Option<&str>) -> Result<Session, String> {
    use rmcp::transport::StreamableHttpClientTransport;
    use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
    let mut config = StreamableHttpClientTransportConfig::with_uri(url.to_owned());
    if let Some(t) = token {
        config = config.auth_header(t.to_owned());
    }
    let transport = StreamableHttpClientTransport::with_client(http(), config);
    default_client()
        .serve(transport)
        .await
        .map_err(|e| e.to_string())
}

/// An HTTP client with the TLS set-up of llmagent's own (reqwest is built
/// without a default crypto provider).
fn http() -> reqwest::Client {
    llmagent_llm::http_client_builder()
        .unwrap()
        .build()
        .unwrap()
}

const TOKEN: &str = "0123456789abcdef0123456789abcdef";

#[tokio::test(flavor = "multi_thread")]
async fn mcp_http_lists_calls_and_refuses_denied_calls() {
    let dir = Dir::new(POLICY);
    let (url, _server) = http_server(&dir, Some(TOKEN), &[]).await;
    let session = http_client(&url, Some(TOKEN)).await.expect("connect");
    let tools = session.peer().list_all_tools().await.expect("tools/list");
    assert!(tools.iter().any(|t| t.name == "crypto-sha256"));
    let sha = call(&session, "crypto-sha256", json!({"data": "hello"})).await;
    assert_eq!(answer(&sha).1["output"], HELLO_SHA);
    let shadow = call(&session, "file-read", json!({"path": "/etc/shadow"})).await;
    assert_eq!(reason(&shadow), "denied");
    assert!(
        answer(&shadow)
            .1
            .to_string()
            .contains("[roles.default.fs].read")
    );
    let uuid = call(
        &session,
        "crypto-encode",
        json!({"data": "hi", "encoding": "base64"}),
    )
    .await;
    assert_eq!(reason(&uuid), "approval_required");
    let spin = call(&session, "testbed-spin", json!({})).await;
    assert_eq!(reason(&spin), "timeout");
}

/// One raw POST of an `initialize` request: its status.
async fn raw_initialize(url: &str, headers: &[(&str, &str)]) -> u16 {
    let mut req = http()
        .post(url)
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream");
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-06-18", "capabilities": {},
        "clientInfo": {"name": "raw", "version": "1"}}});
    req.body(body.to_string())
        .send()
        .await
        .expect("HTTP answer")
        .status()
        .as_u16()
}

#[tokio::test(flavor = "multi_thread")]
async fn mcp_http_refuses_bad_hosts_origins_and_tokens() {
    let dir = Dir::new(POLICY);
    let (url, _server) = http_server(&dir, Some(TOKEN), &[]).await;
    let bearer = format!("Bearer {TOKEN}");
    assert_eq!(
        raw_initialize(&url, &[("authorization", &bearer)]).await,
        200
    );
    // No token, a wrong one, another scheme.
    assert_eq!(raw_initialize(&url, &[]).await, 401);
    assert_eq!(
        raw_initialize(&url, &[("authorization", "Bearer wrong-token-0123456789")]).await,
        401
    );
    assert_eq!(
        raw_initialize(&url, &[("authorization", &format!("Basic {TOKEN}"))]).await,
        401
    );
    // DNS rebinding: a page of another site reaching the loopback server.
    assert_eq!(
        raw_initialize(
            &url,
            &[("authorization", &bearer), ("host", "evil.example:80")]
        )
        .await,
        403
    );
    assert_eq!(
        raw_initialize(
            &url,
            &[
                ("authorization", &bearer),
                ("origin", "http://evil.example")
            ]
        )
        .await,
        403
    );
    assert_eq!(
        raw_initialize(
            &url,
            &[
                ("authorization", &bearer),
                ("origin", "http://localhost:3000")
            ]
        )
        .await,
        200
    );
    // The rmcp client without the token cannot connect.
    assert!(http_client(&url, None).await.is_err());
}

#[tokio::test(flavor = "multi_thread")]
async fn mcp_http_serves_the_stateless_revision_too() {
    let dir = Dir::new(POLICY);
    let (url, _server) = http_server(&dir, None, &[]).await;
    // The 2026-07-28 revision: no initialize, no session; each request
    // says who the client is and which revision it speaks.
    let body = json!({"jsonrpc": "2.0", "id": 7, "method": "tools/call", "params": {
    "name": "crypto-sha256", "arguments": {"data": "hello"},
    "_meta": {
        "io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientInfo": {"name": "stateless-client", "version": "1"},
        "io.modelcontextprotocol/clientCapabilities": {}
    }}});
    let answer = http()
        .post(&url)
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .header("mcp-protocol-version", "2026-07-28")
        .header("mcp-method", "tools/call")
        .header("mcp-name", "crypto-sha256")
        .body(body.to_string())
        .send()
        .await
        .expect("answer");
    let status = answer.status().as_u16();
    let text = answer.text().await.unwrap_or_default();
    assert_eq!(status, 200, "{text}");
    assert!(text.contains(HELLO_SHA), "{text}");
}

#[test]
fn mcp_http_off_loopback_needs_a_token() {
    let dir = Dir::new(POLICY);
    let out = command(&["--events", &dir.events(), "mcp", "--policy", &dir.policy()])
        .args(["--role", "default", "--http", "0.0.0.0:0"])
        .env_remove("LLMAGENT_MCP_TOKEN")
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("is not a loopback address: set $LLMAGENT_MCP_TOKEN"),
        "{err}"
    );
}

/// The issue's first "done when": the official Python SDK starts
/// `llmagent mcp --policy examples/policy.toml --role default` over stdio,
/// lists the tools, gets the sha256 of "hello" and a tool error naming
/// `[roles.default.fs].read` for /etc/shadow.
#[test]
#[cfg_attr(not(llmagent_mcp_python), ignore = "needs the MCP Python SDK venv")]
fn mcp_python_sdk_lists_and_calls_the_example_policy() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(python_mcp::python())
        .arg(python_mcp::script("sdk_client.py"))
        .arg(env!("CARGO_BIN_EXE_llmagent"))
        .arg("examples/policy.toml")
        .arg("default")
        .current_dir(root())
        .env("XDG_CACHE_HOME", cache_home())
        .env("LLMAGENT_EVENTS", dir.path().join("events"))
        .stdin(Stdio::null())
        .output()
        .expect("run the Python client");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let seen: Value = serde_json::from_str(stdout.trim()).expect("one JSON object");
    let tools: Vec<&str> = seen["tools"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(
        tools.contains(&"crypto-sha256") && tools.contains(&"file-read"),
        "{tools:?}"
    );
    assert_eq!(
        seen["sha256"],
        json!({"is_error": false, "structured": {"status": "ok", "output": HELLO_SHA, "metadata": {"algorithm": "sha256", "binary": false, "encoding": "base16"}}})
    );
    assert_eq!(seen["shadow"]["is_error"], true);
    assert_eq!(seen["shadow"]["structured"]["error"]["reason"], "denied");
    assert!(
        seen["shadow"]["text"]
            .as_str()
            .is_some_and(|t| t.contains("[roles.default.fs].read")),
        "{seen}"
    );
}

/// The policy of the tests below: role `default` attaches the Python SDK
/// server `notes` and may use two of its three tools.
fn notes_policy() -> String {
    let read: Vec<String> = python_mcp::readable().unwrap();
    format!(
        r#"
version = 1
[defaults]
max_steps = 3
[roles.default]
tools = ["crypto"]
[roles.default.fs]
read = {read:?}
[roles.default.mcp.notes]
command = ["{python}", "{script}"]
tools = ["add", "echo"]
"#,
        python = python_mcp::python().display(),
        script = python_mcp::script("notes_server.py").display(),
    )
}

/// `tools list --role R` starts R's MCP servers and lists the tools R may
/// use; without a role it names the servers and starts nothing.
#[test]
#[cfg_attr(not(llmagent_mcp_python), ignore = "needs the MCP Python SDK venv")]
fn tools_list_shows_a_roles_mcp_tools_and_names_servers_without_a_role() {
    let dir = Dir::new(&notes_policy());
    let policy = dir.policy();
    let list = |extra: &[&str]| -> Value {
        let mut args = vec!["tools", "list", "--policy", &policy, "--json"];
        args.extend_from_slice(extra);
        let out = llmagent(&args);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    };
    let listed = list(&["--role", "default"]);
    let names: Vec<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|t| t["name"].as_str())
        .collect();
    assert_eq!(names, ["crypto", "notes"]);
    let notes = &listed[1];
    assert_eq!(
        notes["actions"],
        json!([{"name": "add", "approve": false}, {"name": "echo", "approve": false}])
    );
    assert_eq!(
        notes["origin"],
        format!("mcp {}", python_mcp::python().display())
    );

    let listed = list(&[]);
    let notes: Vec<&Value> = listed
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["name"] == "notes")
        .collect();
    assert_eq!(
        notes,
        [&json!({
            "name": "notes",
            "role": "default",
            "origin": format!("mcp {}", python_mcp::python().display()),
            "description": "tools of the MCP server `notes`",
            "actions": null,
        })]
    );
}

/// The issue's second "done when": an agent whose role attaches an
/// external MCP server (the Python SDK's `MCPServer`) calls one of its
/// tools through the policy, and the call is in `llmagent events`.
#[test]
#[cfg_attr(not(llmagent_mcp_python), ignore = "needs the MCP Python SDK venv")]
fn mcp_run_calls_an_attached_server_and_events_show_it() {
    let dir = Dir::new(&notes_policy());
    let model = ModelServer::start();
    model.push(Reply::tool_calls(&[(
        "c1",
        "notes-add",
        r#"{"a": 2, "b": 40}"#,
    )]));
    model.push(Reply::text("The sum is 42."));
    let out = command(&["--events", &dir.events(), "run", "--policy", &dir.policy()])
        .args(["--role", "default", "--model", "scripted", "--retries", "0"])
        .args(["--api-base", &model.base_url(), "what is 2 + 40?"])
        .output()
        .expect("run");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "The sum is 42.",
        "{stderr}"
    );
    // The model was offered the server's granted tools, not `secret`.
    let first = &model.requests()[0].body;
    let offered: Vec<&str> = first["tools"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|t| t["function"]["name"].as_str())
        .collect();
    assert!(
        offered.contains(&"notes-add") && offered.contains(&"notes-echo"),
        "{offered:?}"
    );
    assert!(!offered.contains(&"notes-secret"), "{offered:?}");
    let events = dir.recorded();
    let invocation = events
        .iter()
        .find(|e| e["topic"] == "tool.notes" && e["kind"] == "invocation")
        .unwrap_or_else(|| panic!("no tool.notes invocation in {events:#?}"));
    assert_eq!(invocation["data"]["action"], "add");
    assert_eq!(invocation["data"]["result"], "ok");
    let decision = events
        .iter()
        .find(|e| e["topic"] == "policy.decision" && e["data"]["tool"] == "notes")
        .expect("the decision is recorded");
    assert_eq!(decision["data"]["verdict"], "allow");
    assert!(
        events
            .iter()
            .any(|e| e["topic"] == "tool.notes" && e["kind"] == "mcp_server_started"),
        "{events:#?}"
    );
}
