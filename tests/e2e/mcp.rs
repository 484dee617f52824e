//! llmagent's MCP client against a third-party server written with the
//! official Python SDK (`tests/mcp/notes_server.py`), started by the
//! runtime under `[roles.R.mcp.notes]` and confined like an exec child:
//! only the tools the section's globs grant are offered or callable;
//! calls are decided by the policy (with `approve`), bounded by the role's
//! timeout and output cap, recorded like any call; a server that exits
//! mid-call is reported and started again; a changed tool list is read
//! again; the server cannot read outside the role's fs grants nor open a
//! socket.

use llmagent_core::{CallOutcome, CallRequest};
use llmagent_tests::python_mcp;
use serde_json::{Value, json};

use crate::harness::Env;

fn policy(extra_role: &str) -> String {
    let read = python_mcp::readable().expect("the venv's prefix");
    format!(
        r#"
version = 1
[roles.default]
tools = ["crypto"]
approve = ["notes.echo"]
timeout_ms = 3000
max_output_bytes = 4096
{extra_role}
[roles.default.fs]
read = {read:?}
[roles.default.mcp.notes]
command = ["{python}", "{script}"]
tools = ["add", "echo", "b?g", "slow", "die", "pid", "read_file", "open_socket", "grow", "note"]
"#,
        python = python_mcp::python().display(),
        script = python_mcp::script("notes_server.py").display(),
    )
}

async fn call(env: &Env, tool: &str, action: &str, args: Value, approved: bool) -> CallOutcome {
    let mut request = CallRequest::new("default", tool, action, &args.to_string());
    request.approved = approved;
    env.runtime
        .call(request)
        .await
        .expect("the call reaches the runtime")
}

fn failure(outcome: &CallOutcome) -> (String, String, Option<String>) {
    match &outcome.result {
        Ok(ok) => panic!("expected a failure, got {ok:?}"),
        Err(f) => (f.reason.clone(), f.message.clone(), f.suggestion.clone()),
    }
}

fn output(outcome: &CallOutcome) -> Value {
    match &outcome.result {
        Ok(ok) => ok.output.clone(),
        Err(f) => panic!("the call failed: {f:?}"),
    }
}

#[tokio::test(flavor = "multi_thread")]
#[cfg_attr(not(llmagent_mcp_python), ignore = "needs the MCP Python SDK venv")]
async fn mcp_client_offers_only_the_granted_tools_and_calls_them() {
    let env = Env::new(&policy(""));
    let attached = env.runtime.attach_mcp(None).await;
    assert_eq!(attached.len(), 1);
    let mut tools = attached[0].tools.clone().expect("the server answers");
    tools.sort();
    // `secret` is listed by the server but granted by no glob.
    assert_eq!(
        tools,
        [
            "add",
            "big",
            "die",
            "echo",
            "grow",
            "open_socket",
            "pid",
            "read_file",
            "slow"
        ]
    );
    let offered = env.runtime.tools_for("default");
    let notes = offered.iter().find(|t| t.name == "notes").expect("offered");
    assert_eq!(
        notes.action("add").map(|a| a.description.as_str()),
        Some("Adds two integers.")
    );
    let sum = call(&env, "notes", "add", json!({"a": 2, "b": 3}), false).await;
    assert_eq!(output(&sum), json!({"result": 5}));
    let invocations: Vec<_> = env
        .events()
        .into_iter()
        .filter(|e| e.topic == "tool.notes" && e.kind == "invocation")
        .collect();
    assert_eq!(invocations.len(), 1);
    assert_eq!(invocations[0].data["action"], "add");
}

#[tokio::test(flavor = "multi_thread")]
#[cfg_attr(not(llmagent_mcp_python), ignore = "needs the MCP Python SDK venv")]
async fn mcp_client_denies_ungranted_tools_and_asks_for_approval() {
    let env = Env::new(&policy(""));
    let secret = call(&env, "notes", "secret", json!({}), false).await;
    assert_eq!(
        failure(&secret),
        (
            "tool_not_permitted".into(),
            "role `default` may not use `notes.secret`".into(),
            Some("add \"secret\" to [roles.default.mcp.notes].tools".into())
        )
    );
    let unapproved = call(&env, "notes", "echo", json!({"text": "hi"}), false).await;
    assert_eq!(failure(&unapproved).0, "approval_required");
    let approved = call(&env, "notes", "echo", json!({"text": "hi"}), true).await;
    assert_eq!(output(&approved), json!({"result": "hi"}));
}

#[tokio::test(flavor = "multi_thread")]
#[cfg_attr(not(llmagent_mcp_python), ignore = "needs the MCP Python SDK venv")]
async fn mcp_client_bounds_output_and_time() {
    let env = Env::new(&policy(""));
    let big = call(&env, "notes", "big", json!({"n": 100_000}), false).await;
    assert_eq!(failure(&big).0, "output_too_large");
    let slow = call(&env, "notes", "slow", json!({"ms": 10_000}), false).await;
    let (reason, message, _) = failure(&slow);
    assert_eq!(
        (reason.as_str(), message.as_str()),
        (
            "timeout",
            "MCP server `notes` did not answer within 3000 ms"
        )
    );
    // The server is still usable afterwards.
    let sum = call(&env, "notes", "add", json!({"a": 1, "b": 1}), false).await;
    assert_eq!(output(&sum), json!({"result": 2}));
}

#[tokio::test(flavor = "multi_thread")]
#[cfg_attr(not(llmagent_mcp_python), ignore = "needs the MCP Python SDK venv")]
async fn mcp_client_restarts_a_server_that_exits_mid_call() {
    let env = Env::new(&policy(""));
    let first = output(&call(&env, "notes", "pid", json!({}), false).await);
    let died = call(&env, "notes", "die", json!({}), false).await;
    let (reason, message, _) = failure(&died);
    assert_eq!(reason, "tool_crashed");
    assert!(
        message.starts_with(
            "MCP server `notes` stopped during the call: the server process exited with status 3"
        ),
        "{message}"
    );
    let again = call(&env, "notes", "pid", json!({}), false).await;
    let second = output(&again);
    assert_ne!(first, second, "a new process answers");
    let Ok(ok) = &again.result else {
        unreachable!()
    };
    assert!(
        ok.metadata["server_restarted"].is_string(),
        "{:?}",
        ok.metadata
    );
    let kinds: Vec<String> = env
        .events()
        .into_iter()
        .filter(|e| e.topic == "tool.notes" && e.kind.starts_with("mcp_server"))
        .map(|e| e.kind)
        .collect();
    assert_eq!(kinds, ["mcp_server_started", "mcp_server_restarted"]);
}

#[tokio::test(flavor = "multi_thread")]
#[cfg_attr(not(llmagent_mcp_python), ignore = "needs the MCP Python SDK venv")]
async fn mcp_client_rereads_the_tool_list_when_it_changes() {
    let env = Env::new(&policy(""));
    env.runtime.attach_mcp(None).await;
    let before = env.runtime.tools_for("default");
    let notes = before.iter().find(|t| t.name == "notes").unwrap();
    assert!(notes.action("note").is_none());
    assert_eq!(
        output(&call(&env, "notes", "grow", json!({}), false).await),
        json!({"result": "grown"})
    );
    // The notification makes the runtime read the list again by itself.
    let mut listed = false;
    for _ in 0..100 {
        let now = env.runtime.tools_for("default");
        if now
            .iter()
            .any(|t| t.name == "notes" && t.action("note").is_some())
        {
            listed = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(listed, "the new tool is listed after tools/list_changed");
    let note = call(&env, "notes", "note", json!({}), false).await;
    assert_eq!(output(&note), json!({"result": "a note"}));
}

#[tokio::test(flavor = "multi_thread")]
#[cfg_attr(not(llmagent_mcp_python), ignore = "needs the MCP Python SDK venv")]
#[cfg_attr(not(llmagent_landlock), ignore = "needs a kernel with Landlock")]
async fn mcp_client_server_is_confined_like_an_exec_child() {
    let env = Env::new(&policy(""));
    let hostname = call(
        &env,
        "notes",
        "read_file",
        json!({"path": "/etc/hostname"}),
        false,
    )
    .await;
    assert_eq!(
        output(&hostname),
        json!({"result": "refused: Permission denied"})
    );
    let socket = call(&env, "notes", "open_socket", json!({}), false).await;
    assert_eq!(
        output(&socket),
        json!({"result": "refused: Operation not permitted"})
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn mcp_client_reports_a_server_that_cannot_start() {
    let env = Env::new(
        r#"
version = 1
[roles.default]
tools = ["crypto"]
[roles.default.mcp.broken]
command = ["/bin/false"]
tools = ["*"]
"#,
    );
    let attached = env.runtime.attach_mcp(None).await;
    let why = attached[0].tools.clone().expect_err("it cannot start");
    assert!(
        why.starts_with("MCP server `broken` (/bin/false) is not available: "),
        "{why}"
    );
    let outcome = call(&env, "broken", "anything", json!({}), false).await;
    assert_eq!(failure(&outcome).0, "tool_crashed");
}
