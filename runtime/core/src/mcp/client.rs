//! External MCP servers as tools (`[roles.R.mcp.NAME]`).
//!
//! Each server of each role is one [`Server`]: connected on first use (a
//! `command` server is started confined like an exec child of the role, a
//! `url` server reached over streamable HTTP), its tool list read then and
//! again after a `notifications/tools/list_changed`, and kept only where
//! the section's `tools` globs match (what a server lists beyond them is
//! never offered). A call is bounded by the role's `timeout_ms` and
//! `max_output_bytes`; a server found dead is started again on the next
//! call, and the restart is recorded (`tool.NAME` / `mcp_server_restarted`)
//! and said in the answer's metadata.

use std::collections::BTreeMap;
use std::os::fd::OwnedFd;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use host_capabilities::Grants;
use host_capabilities::exec::{ServerProcess, spawn_server};
use llmagent_events::Events;
use llmagent_policy::{McpServer, McpTransport, Policy};
use rmcp::model::{CallToolRequestParams, CallToolResult, ClientConfig, Implementation};
use rmcp::service::{NotificationContext, Peer, RunningService};
use rmcp::{ClientHandler, RoleClient, ServiceExt};
use serde_json::{Value, json};

use crate::outcome::{ToolFailure, ToolSuccess};
use crate::reason::Reason;
use crate::registry::{ActionInfo, ToolInfo, ToolOrigin};

/// A server's tool list may take this many bytes (names, descriptions,
/// schemas): it is offered to the model with every request, as a
/// component's `describe()` is, under the same bound.
const MAX_LIST_BYTES: usize = 1 << 20;
/// …and this many tools.
const MAX_TOOLS: usize = 256;
/// Starting a server and its `initialize` handshake get this long at most
/// (or the role's `timeout_ms`, if longer): interpreters start slowly.
const MIN_CONNECT: Duration = Duration::from_secs(10);
/// The reason code of a tool error a server answered (`isError`) without
/// one of its own: the predecessor's code for a command that failed.
const SERVER_ERROR: &str = "execution_error";

/// Every role's MCP servers, by (role, name).
pub(crate) struct McpClients {
    servers: BTreeMap<(String, String), Arc<Server>>,
    /// The async runtime the connections live on (the first one used).
    handle: Mutex<Option<tokio::runtime::Handle>>,
}

impl McpClients {
    /// The servers of `policy`'s roles, none connected yet.
    pub(crate) fn new(policy: &Policy, events: Option<Events>) -> Self {
        let mut servers = BTreeMap::new();
        for role in policy.roles.values() {
            for server in role.mcp.values() {
                servers.insert(
                    (role.name.clone(), server.name.clone()),
                    Arc::new(Server {
                        config: server.clone(),
                        grants: Arc::clone(&role.grants),
                        connect_timeout: Duration::from_millis(role.limits.timeout_ms)
                            .max(MIN_CONNECT),
                        events: events.clone(),
                        conn: tokio::sync::Mutex::new(None),
                        tools: Arc::new(Mutex::new(None)),
                        stale: Arc::new(AtomicBool::new(true)),
                        starts: AtomicU64::new(0),
                    }),
                );
            }
        }
        Self {
            servers,
            handle: Mutex::new(tokio::runtime::Handle::try_current().ok()),
        }
    }

    /// The server `name` of `role`.
    pub(crate) fn get(&self, role: &str, name: &str) -> Option<&Arc<Server>> {
        self.servers.get(&(role.to_owned(), name.to_owned()))
    }

    /// Every server, with its role.
    pub(crate) fn all(&self) -> impl Iterator<Item = (&str, &Arc<Server>)> {
        self.servers.iter().map(|((r, _), s)| (r.as_str(), s))
    }

    /// Remembers the async runtime to run calls on, if none yet.
    pub(crate) fn adopt_runtime(&self) {
        if let Ok(mut h) = self.handle.lock()
            && h.is_none()
        {
            *h = tokio::runtime::Handle::try_current().ok();
        }
    }

    /// The async runtime the connections live on.
    pub(crate) fn handle(&self) -> Option<tokio::runtime::Handle> {
        self.handle.lock().ok().and_then(|h| h.clone())
    }
}

/// One server of one role.
pub(crate) struct Server {
    config: McpServer,
    grants: Arc<Grants>,
    connect_timeout: Duration,
    events: Option<Events>,
    conn: tokio::sync::Mutex<Option<Conn>>,
    /// The tools the role may use, as last listed.
    tools: Arc<Mutex<Option<Arc<ToolInfo>>>>,
    /// Set by a `tools/list_changed` notification (and before the first
    /// listing): the list is read again before it is next used.
    stale: Arc<AtomicBool>,
    /// How many times it was connected (a start after the first is a
    /// restart).
    starts: AtomicU64,
}

/// A live connection.
struct Conn {
    service: RunningService<RoleClient, Handler>,
    /// The process, for a `command` server (dropping it kills the tree).
    process: Option<ServerProcess>,
}

impl Conn {
    /// Why it is no longer usable, if it is not.
    fn dead(&self) -> Option<String> {
        if let Some(p) = &self.process
            && let Some(how) = p.exited()
        {
            return Some(format!("the server process {how}"));
        }
        self.service
            .is_closed()
            .then(|| "the connection to the server closed".to_owned())
    }
}

/// What llmagent tells a server about itself, and how it hears of a
/// changed tool list: the list is marked stale and read again in a task
/// of its own (a request awaited inside the notification's handler would
/// wait for the loop that runs it).
struct Handler {
    config: McpServer,
    tools: Arc<Mutex<Option<Arc<ToolInfo>>>>,
    stale: Arc<AtomicBool>,
}

impl ClientHandler for Handler {
    async fn on_tool_list_changed(&self, context: NotificationContext<RoleClient>) {
        self.stale.store(true, Ordering::Release);
        let (config, tools, stale) = (
            self.config.clone(),
            Arc::clone(&self.tools),
            Arc::clone(&self.stale),
        );
        tokio::spawn(async move {
            if let Ok(Ok(listed)) =
                tokio::time::timeout(MIN_CONNECT, context.peer.list_all_tools()).await
            {
                let info = tool_info(&config, &listed, &context.peer);
                if let Ok(mut t) = tools.lock() {
                    *t = Some(Arc::new(info));
                }
                stale.store(false, Ordering::Release);
            }
        });
    }

    fn get_info(&self) -> ClientConfig {
        ClientConfig::new(
            Default::default(),
            Implementation::new("llmagent", env!("CARGO_PKG_VERSION")),
        )
    }
}

impl Server {
    /// The server's name (its tool name).
    pub(crate) fn name(&self) -> &str {
        &self.config.name
    }

    /// The tools the role may use, as last listed (nothing before the
    /// first connection).
    pub(crate) fn cached(&self) -> Option<Arc<ToolInfo>> {
        self.tools.lock().ok().and_then(|t| t.clone())
    }

    /// Connects if needed and lists the tools again if the list is stale.
    pub(crate) async fn refresh(&self) -> Result<Arc<ToolInfo>, String> {
        let mut conn = self.conn.lock().await;
        let restarted = self.ensure(&mut conn).await?;
        if self.stale.swap(false, Ordering::AcqRel)
            || restarted.is_some()
            || self.cached().is_none()
        {
            let Some(c) = conn.as_ref() else {
                return Err("not connected".into());
            };
            let listed = tokio::time::timeout(self.connect_timeout, c.service.list_all_tools())
                .await
                .map_err(|_| "the server did not list its tools in time".to_owned())?
                .map_err(|e| format!("the server could not list its tools: {e}"))?;
            let info = tool_info(&self.config, &listed, c.service.peer());
            if let Ok(mut t) = self.tools.lock() {
                *t = Some(Arc::new(info));
            }
        }
        self.cached().ok_or_else(|| "no tool list".to_owned())
    }

    /// Makes sure a live connection is in `slot`; `Some(why)` when the
    /// previous one was dead and has been replaced.
    async fn ensure(&self, slot: &mut Option<Conn>) -> Result<Option<String>, String> {
        let mut why = None;
        if let Some(c) = slot.as_ref() {
            match c.dead() {
                None => return Ok(None),
                Some(w) => why = Some(w),
            }
        }
        if let Some(old) = slot.take() {
            let _ = old.service.cancel().await;
        }
        let conn = self.connect().await?;
        let starts = self.starts.fetch_add(1, Ordering::AcqRel);
        self.stale.store(true, Ordering::Release);
        let pid = conn.process.as_ref().map(|p| p.pid);
        let protection = conn.process.as_ref().map(|p| p.protection.clone());
        let (kind, note) = match (&why, starts) {
            (Some(w), _) => ("mcp_server_restarted", Some(w.clone())),
            (None, 0) => ("mcp_server_started", None),
            (None, _) => ("mcp_server_restarted", None),
        };
        if let Some(w) = &why {
            tracing::warn!(server = %self.config.name, role = %self.config.role, "MCP server restarted: {w}");
        }
        self.emit(
            kind,
            json!({"server": self.config.name, "role": self.config.role, "pid": pid, "protection": protection, "previous_end": note}),
        );
        *slot = Some(conn);
        Ok(why)
    }

    async fn connect(&self) -> Result<Conn, String> {
        let handler = Handler {
            config: self.config.clone(),
            tools: Arc::clone(&self.tools),
            stale: Arc::clone(&self.stale),
        };
        let started = tokio::time::timeout(self.connect_timeout, async {
            match &self.config.transport {
                McpTransport::Command { program, args, env } => {
                    let vars: Vec<(String, String)> = env
                        .iter()
                        .filter_map(|k| std::env::var(k).ok().map(|v| (k.clone(), v)))
                        .collect();
                    let grants = Arc::clone(&self.grants);
                    let (program, args) = (program.clone(), args.clone());
                    let mut process = tokio::task::spawn_blocking(move || {
                        spawn_server(&grants, &program, &args, vars)
                    })
                    .await
                    .map_err(|e| format!("cannot start the server: {e}"))??;
                    let (Some(stdin), Some(stdout)) = (process.stdin.take(), process.stdout.take())
                    else {
                        return Err("the server has no stdin or stdout".to_owned());
                    };
                    let writer =
                        tokio::net::unix::pipe::Sender::from_owned_fd(OwnedFd::from(stdin))
                            .map_err(|e| format!("cannot use the server's stdin: {e}"))?;
                    let reader =
                        tokio::net::unix::pipe::Receiver::from_owned_fd(OwnedFd::from(stdout))
                            .map_err(|e| format!("cannot use the server's stdout: {e}"))?;
                    match handler.serve((reader, writer)).await {
                        Ok(service) => Ok(Conn {
                            service,
                            process: Some(process),
                        }),
                        Err(e) => {
                            // Give a dying server a moment to be reaped, so
                            // that its exit and stderr explain the failure.
                            tokio::time::sleep(Duration::from_millis(50)).await;
                            Err(match process.exited() {
                                Some(how) => format!("the server process {how}"),
                                None => format!("the MCP handshake failed: {e}"),
                            })
                        }
                    }
                }
                McpTransport::Url { url, token_env } => {
                    use rmcp::transport::StreamableHttpClientTransport;
                    use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
                    let mut config = StreamableHttpClientTransportConfig::with_uri(url.as_str());
                    if let Some(var) = token_env {
                        let token = std::env::var(var).map_err(|_| {
                            format!(
                                "{} names ${var}, which is not set",
                                self.config.key("token_env")
                            )
                        })?;
                        config = config.auth_header(token);
                    }
                    let client = llmagent_llm::http_client_builder()
                        .and_then(|b| b.build().map_err(|e| e.to_string()))
                        .map_err(|e| format!("cannot build the HTTP client: {e}"))?;
                    let transport = StreamableHttpClientTransport::with_client(client, config);
                    let service = handler
                        .serve(transport)
                        .await
                        .map_err(|e| format!("cannot connect to {url}: {e}"))?;
                    Ok(Conn {
                        service,
                        process: None,
                    })
                }
            }
        })
        .await;
        match started {
            Ok(Ok(conn)) => Ok(conn),
            Ok(Err(e)) => Err(format!(
                "MCP server `{}` ({}) is not available: {e}",
                self.config.name, self.config.transport
            )),
            Err(_) => Err(format!(
                "MCP server `{}` ({}) did not complete its start within {} ms",
                self.config.name,
                self.config.transport,
                self.connect_timeout.as_millis()
            )),
        }
    }

    /// Calls `tool` with `args` (a JSON object), within `timeout`, its
    /// answer at most `max_output` bytes.
    pub(crate) async fn call(
        &self,
        tool: &str,
        args: &str,
        timeout: Duration,
        max_output: usize,
    ) -> (Result<ToolSuccess, ToolFailure>, Duration) {
        let started = Instant::now();
        let arguments = match serde_json::from_str::<Value>(args) {
            Ok(Value::Object(m)) => m,
            _ => {
                let f =
                    ToolFailure::new(Reason::InvalidArgs, "the arguments are not a JSON object")
                        .field("arguments");
                return (Err(f), started.elapsed());
            }
        };
        let mut conn = match tokio::time::timeout(timeout, self.conn.lock()).await {
            Ok(c) => c,
            Err(_) => return (Err(self.timed_out(timeout)), started.elapsed()),
        };
        let restarted = match self.ensure(&mut conn).await {
            Ok(r) => r,
            Err(e) => {
                let f = ToolFailure::new(Reason::ToolCrashed, e)
                    .suggestion("the operator must fix the server (see its section in the policy); it is started again on the next call");
                return (Err(f), started.elapsed());
            }
        };
        let Some(c) = conn.as_ref() else {
            let f = ToolFailure::new(Reason::RuntimeError, "not connected");
            return (Err(f), started.elapsed());
        };
        // Starting a server has its own bound; the call's starts now.
        let deadline = Instant::now() + timeout;
        let peer = c.service.peer().clone();
        let params = CallToolRequestParams::new(tool.to_owned()).with_arguments(arguments);
        let answered = tokio::time::timeout_at(deadline.into(), peer.call_tool(params)).await;
        let result = match answered {
            Err(_) => Err(self.timed_out(timeout)),
            Ok(Err(e)) => {
                // Give a dying process a moment to be reaped, so that the
                // message says how it ended.
                tokio::time::sleep(Duration::from_millis(20)).await;
                let why = c.dead().unwrap_or_else(|| format!("the call failed: {e}"));
                if c.dead().is_some() {
                    // Left in place: the next call finds it dead, starts
                    // another and says why.
                    Err(ToolFailure::new(
                        Reason::ToolCrashed,
                        format!(
                            "MCP server `{}` stopped during the call: {why}",
                            self.config.name
                        ),
                    )
                    .suggestion("retry: the server is started again on the next call"))
                } else {
                    Err(ToolFailure::new(
                        Reason::RuntimeError,
                        format!("MCP server `{}`: {why}", self.config.name),
                    ))
                }
            }
            Ok(Ok(answer)) => convert(answer, max_output, &self.config.name),
        };
        let result = result.map(|mut ok| {
            if let (Some(w), Value::Object(m)) = (restarted, &mut ok.metadata) {
                m.insert("server_restarted".into(), Value::String(w));
            }
            ok
        });
        (result, started.elapsed())
    }

    fn timed_out(&self, timeout: Duration) -> ToolFailure {
        ToolFailure::new(
            Reason::Timeout,
            format!(
                "MCP server `{}` did not answer within {} ms",
                self.config.name,
                timeout.as_millis()
            ),
        )
        .suggestion(format!(
            "ask for less work in one call, or raise [roles.{}].timeout_ms",
            self.config.role
        ))
    }

    fn emit(&self, kind: &str, data: Value) {
        if let Some(events) = &self.events {
            events.emit(kind, &format!("tool.{}", self.config.name), data);
        }
    }
}

/// The listed tools the role may use, bounded, as a [`ToolInfo`].
fn tool_info(
    config: &McpServer,
    listed: &[rmcp::model::Tool],
    peer: &Peer<RoleClient>,
) -> ToolInfo {
    let mut actions: Vec<ActionInfo> = Vec::new();
    let mut bytes = 0usize;
    for t in listed {
        let name = t.name.as_ref();
        if config.permits(name).is_none() {
            continue;
        }
        if !usable_name(name) || actions.iter().any(|a| a.name == name) {
            tracing::warn!(server = %config.name, tool = %name.chars().take(64).collect::<String>(), "MCP tool skipped: its name is not [A-Za-z0-9_-]{{1,64}} or is listed twice");
            continue;
        }
        let description = t.description.as_deref().unwrap_or_default().to_owned();
        let schema = Value::Object((*t.input_schema).clone());
        bytes += name.len() + description.len() + schema.to_string().len();
        if bytes > MAX_LIST_BYTES || actions.len() >= MAX_TOOLS {
            tracing::warn!(server = %config.name, "MCP tool list cut at {} tools: it exceeds {MAX_TOOLS} tools or {MAX_LIST_BYTES} bytes", actions.len());
            break;
        }
        actions.push(ActionInfo {
            name: name.to_owned(),
            description,
            schema,
        });
    }
    let server = peer.peer_info();
    let version = server
        .as_ref()
        .and_then(|i| i.server_info.as_ref())
        .map(|s| s.version.chars().take(64).collect())
        .unwrap_or_default();
    ToolInfo {
        name: config.name.clone(),
        description: format!("tools of the MCP server `{}`", config.name),
        version,
        origin: ToolOrigin::Mcp(config.transport.to_string()),
        actions,
    }
}

/// A tool name usable as an action and a function name.
fn usable_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// A server's answer as a call's result: the structured content (else the
/// text, parsed as JSON when it is JSON) as `output`; `isError` as a
/// failure; anything over `max_output` bytes as `output_too_large`.
fn convert(
    answer: CallToolResult,
    max_output: usize,
    server: &str,
) -> Result<ToolSuccess, ToolFailure> {
    let text: String = answer
        .content
        .iter()
        .filter_map(|c| c.as_text().map(|t| t.text.as_str()))
        .collect::<Vec<_>>()
        .join("\n");
    let size = text.len()
        + answer
            .structured_content
            .as_ref()
            .map_or(0, |v| v.to_string().len());
    if size > max_output {
        return Err(ToolFailure::new(
            Reason::OutputTooLarge,
            format!("MCP server `{server}` answered {size} bytes; the role allows {max_output} (max_output_bytes)"),
        )
        .suggestion("ask for less in one call"));
    }
    let output = match answer.structured_content {
        Some(v) => v,
        None => serde_json::from_str::<Value>(&text).unwrap_or(Value::String(text.clone())),
    };
    if answer.is_error == Some(true) {
        let message = if text.is_empty() {
            output.to_string()
        } else {
            text
        };
        return Err(ToolFailure {
            reason: SERVER_ERROR.to_owned(),
            message,
            field: None,
            suggestion: None,
        });
    }
    Ok(ToolSuccess {
        output,
        metadata: json!({"mcp_server": server}),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rmcp::model::ContentBlock;

    #[test]
    fn answers_become_results() {
        let ok = convert(
            CallToolResult::success(vec![ContentBlock::text("{\"n\":1}")]),
            1000,
            "s",
        );
        assert_eq!(
            ok,
            Ok(ToolSuccess {
                output: json!({"n": 1}),
                metadata: json!({"mcp_server": "s"})
            })
        );
        let err = convert(
            CallToolResult::error(vec![ContentBlock::text("boom")]),
            1000,
            "s",
        );
        assert_eq!(
            err,
            Err(ToolFailure {
                reason: "execution_error".into(),
                message: "boom".into(),
                field: None,
                suggestion: None
            })
        );
        let big = convert(
            CallToolResult::success(vec![ContentBlock::text("x".repeat(2000))]),
            1000,
            "s",
        );
        assert_eq!(
            big.map_err(|f| f.reason),
            Err("output_too_large".to_owned())
        );
        assert!(usable_name("get_weather-2"));
        assert!(!usable_name("a.b"));
        assert!(!usable_name(""));
    }
}
