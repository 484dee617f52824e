//! A role's tools served over MCP ([`McpService`], for `llmagent mcp`).
//!
//! Every action the role may call (allowed or needing approval) is one MCP
//! tool named `tool-action`, with the action's description and argument
//! schema; `tools/list` is answered from what the runtime read when it
//! loaded the components (nothing is instantiated). A `tools/call` is
//! bounded like a model's call, decided by the role's policy, run and
//! recorded through the same runtime calls an agent makes, with the
//! client's name as the events' agent (`mcp/NAME`) and its request id as
//! their `correlation_id` (`mcp_ID`; each call gets its own `request_id`). An action in the role's `approve` asks
//! the client's user through elicitation when the client offers it, and is
//! answered `approval_required` otherwise. The answer is the seed's
//! envelope as structured content and as text; a failure is a tool error
//! (`isError`) carrying `reason`, `message`, `field` and `suggestion`.

use std::time::Duration;

use llmagent_events::{Context, Scope, with_scope};
use llmagent_policy::Verdict;
use rmcp::handler::server::ServerHandler;
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, Implementation, ListToolsResult,
    PaginatedRequestParams, ServerCapabilities, ServerConfig, Tool,
};
use rmcp::service::RequestContext;
use rmcp::{ErrorData, RoleServer};
use serde_json::Value;
use tokio::net::unix::pipe;

use crate::agent::{bounds, protocol};
use crate::outcome::{CallRequest, ToolFailure, envelope};
use crate::reason::Reason;
use crate::runtime::Runtime;

/// How long a client's user has to answer an approval question.
const APPROVAL_WAIT: Duration = Duration::from_secs(300);

/// Arguments larger than this are refused, as an agent's are by default.
const MAX_ARGS_BYTES: usize = llmagent_policy::DEFAULT_MAX_ARGS_BYTES;

/// A client name is cut to this many characters in the events' agent.
const MAX_CLIENT_NAME: usize = 64;

/// The MCP server of one role of a runtime.
#[derive(Clone)]
pub struct McpService {
    runtime: Runtime,
    role: String,
}

/// The answer to an approval question, as the client's form returns it.
#[derive(Debug, serde::Deserialize, rmcp::schemars::JsonSchema)]
#[schemars(crate = "rmcp::schemars")]
struct Approval {
    /// Whether the call may run.
    approve: bool,
}

rmcp::elicit_safe!(Approval);

impl McpService {
    /// Serves `role`'s actions. Fails when the policy has no such role.
    pub fn new(runtime: Runtime, role: &str) -> Result<Self, crate::RuntimeError> {
        runtime.policy().role(role)?;
        Ok(Self {
            runtime,
            role: role.to_owned(),
        })
    }

    /// The MCP tools: every action the role does not deny.
    pub fn tools(&self) -> Vec<Tool> {
        self.offered()
            .iter()
            .map(|o| {
                let schema = match protocol::object_schema(&o.schema) {
                    Value::Object(m) => m,
                    _ => serde_json::Map::new(),
                };
                Tool::new(
                    protocol::function_name(&o.tool, &o.action),
                    format!("{} tool: {}", o.tool, o.description),
                    schema,
                )
            })
            .collect()
    }

    fn offered(&self) -> Vec<protocol::Offered> {
        let Ok(role) = self.runtime.policy().role(&self.role) else {
            return Vec::new();
        };
        protocol::offered(
            self.runtime.tools_for(&self.role).iter().map(|t| &**t),
            |tool, action| role.decide(tool, action).verdict() != Verdict::Deny,
        )
    }

    /// One call, as the client asked for it.
    async fn call(
        &self,
        request: CallToolRequestParams,
        context: &RequestContext<RoleServer>,
    ) -> Result<crate::ToolSuccess, ToolFailure> {
        // No table of the offered names: the split is exact for each of
        // them, and any other name is refused by the decision or the
        // runtime (denied, no such tool or action) as it would be anyway.
        let (tool, action) = protocol::split_function_name(&request.name);
        bounds::check_names(&tool, &action)?;
        let args = Value::Object(request.arguments.unwrap_or_default());
        bounds::check_depth(&args)?;
        let args_json = args.to_string();
        bounds::check_size(args_json.len(), MAX_ARGS_BYTES)?;
        let call = CallRequest::new(&self.role, &tool, &action, &args_json);
        let mut call = self
            .runtime
            .decide_call(call)
            .map_err(|e| ToolFailure::new(Reason::RuntimeError, e.to_string()))?;
        if call.ruling().verdict() == Verdict::Approve {
            call.approve(ask(context, &self.role, &tool, &action, &args_json).await);
        }
        self.runtime
            .call_decided(call)
            .await
            .map_err(|e| ToolFailure::new(Reason::RuntimeError, e.to_string()))?
            .result
    }
}

/// Asks the client's user through elicitation; no when the client cannot
/// be asked (no elicitation, or a protocol revision without
/// server-to-client requests), declines, or does not answer in time.
async fn ask(
    context: &RequestContext<RoleServer>,
    role: &str,
    tool: &str,
    action: &str,
    args: &str,
) -> bool {
    let shown: String = args.chars().take(500).collect();
    let question = format!(
        "llmagent role `{role}` needs your approval to run {tool}.{action} with {shown}. Approve?"
    );
    matches!(
        context
            .peer
            .elicit_with_timeout::<Approval>(question, Some(APPROVAL_WAIT))
            .await,
        Ok(Some(Approval { approve: true }))
    )
}

/// Who is calling, for the events: `mcp/<client name>`.
fn caller(context: &RequestContext<RoleServer>) -> String {
    let name = context
        .client_info()
        .map(|i| i.name)
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| "client".to_owned());
    let name: String = name
        .chars()
        .filter(|c| !c.is_control())
        .take(MAX_CLIENT_NAME)
        .collect();
    format!("mcp/{name}")
}

impl ServerHandler for McpService {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
            .with_server_info(Implementation::new("llmagent", env!("CARGO_PKG_VERSION")))
            .with_instructions(format!(
                "llmagent's sandboxed tools under role `{}`: each tool is `tool-action`; every call is decided by the role's policy and recorded.",
                self.role
            ))
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        Ok(ListToolsResult::with_all_items(self.tools()))
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        let id: String = match &context.id {
            rmcp::model::NumberOrString::Number(n) => n.to_string(),
            rmcp::model::NumberOrString::String(s) => s.chars().take(64).collect(),
        };
        let scope = Scope {
            agent: Some(caller(&context)),
            context: Context {
                correlation_id: Some(format!("mcp_{id}")),
                ..Context::new_request()
            },
        };
        let result = with_scope(scope, self.call(request, &context)).await;
        let answer = match &result {
            Ok(_) => CallToolResult::structured(envelope(&result)),
            Err(_) => CallToolResult::structured_error(envelope(&result)),
        };
        Ok(CallToolResponse::Complete(answer))
    }
}

/// Standard input and output as non-blocking pipes, when both are pipes (as
/// MCP clients start their servers). tokio's `stdin()` and `stdout()`
/// read and write on the blocking pool, a hand-off between threads for
/// every message each way; pipes are polled by the runtime's own I/O
/// driver. Anything else (a terminal, a file, a socket) is left to rmcp's
/// stdio transport and keeps its blocking mode. Call it inside a tokio
/// runtime.
pub fn stdio_pipes() -> Option<(pipe::Receiver, pipe::Sender)> {
    use std::os::fd::AsFd;
    use std::os::unix::fs::FileTypeExt;
    let fifo = |fd: std::os::fd::BorrowedFd<'_>| {
        let file = std::fs::File::from(fd.try_clone_to_owned().ok()?);
        let is_fifo = file.metadata().ok()?.file_type().is_fifo();
        is_fifo.then_some(file)
    };
    // Both are checked before either is made non-blocking, so a fallback to
    // rmcp's transport always finds them as they were.
    let input = fifo(std::io::stdin().as_fd())?;
    let output = fifo(std::io::stdout().as_fd())?;
    Some((
        pipe::Receiver::from_file(input).ok()?,
        pipe::Sender::from_file(output).ok()?,
    ))
}
