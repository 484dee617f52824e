//! What the sandbox puts on record, through the real runtime into a real
//! event store: decisions, invocations with `duration_ms`, traps, the
//! caller's request context, and redacted secrets.

use llmagent_core::CallRequest;
use llmagent_events::{Context, Event, Scope, with_scope};
use serde_json::{Value, json};

use crate::harness::Env;

const POLICY: &str = r#"
version = 1
[tools.testbed]
path = "{testbed}"
[roles.ops]
tools = ["crypto", "file.read", "testbed"]
timeout_ms = 200
[roles.ops.fs]
read = ["{dir}/allowed/**"]
"#;

/// `(topic, kind, data)` of each event, for whole-value comparison.
fn summary(events: &[Event]) -> Vec<(String, String, Value)> {
    events
        .iter()
        .map(|e| (e.topic.clone(), e.kind.clone(), e.data.clone()))
        .collect()
}

fn call_in_turn(env: &Env, agent: &str, request: CallRequest) -> Context {
    let context = Context::new_request();
    let scope = Scope {
        agent: Some(agent.to_owned()),
        context: context.clone(),
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(with_scope(scope, env.runtime.call(request)))
        .unwrap();
    context
}

#[test]
fn a_call_records_its_decision_and_invocation_with_the_turns_context() {
    let env = Env::new(POLICY);
    let ctx = call_in_turn(
        &env,
        "helper",
        CallRequest::new("ops", "crypto", "sha256", r#"{"data":"hello"}"#),
    );
    let events = env.events();
    let mut got = summary(&events);
    let duration = got[1].2["duration_ms"].take();
    assert!(
        duration.is_u64(),
        "duration_ms must be an integer: {duration}"
    );
    got[1].2["duration_ms"] = json!(0);
    assert_eq!(
        got,
        vec![
            (
                "policy.decision".into(),
                "decision".into(),
                json!({"tool": "crypto", "operation": "sha256", "target": "", "verdict": "allow",
                       "rule": "[roles.ops].tools \"crypto\""}),
            ),
            (
                "tool.crypto".into(),
                "invocation".into(),
                json!({"agent_id": "helper", "action": "sha256", "args": {"data": "hello"},
                       "result": "ok", "duration_ms": 0}),
            ),
        ]
    );
    for e in &events {
        assert_eq!(e.agent.as_deref(), Some("helper"));
        assert_eq!(e.context, ctx);
        assert_eq!(e.source, "sandbox");
    }
}

#[test]
fn a_capability_denial_is_recorded_with_the_key_that_would_allow_it() {
    let env = Env::new(POLICY);
    call_in_turn(
        &env,
        "helper",
        CallRequest::new("ops", "file", "read", r#"{"path":"/etc/shadow"}"#),
    );
    let events = env.events();
    let denial = events
        .iter()
        .find(|e| e.topic == "policy.decision" && e.data.get("capability").is_some())
        .expect("a capability decision");
    assert_eq!(
        denial.data,
        json!({"capability": "fs", "operation": "read", "target": "/etc/shadow", "verdict": "deny",
               "rule": null, "hint": "add \"/etc/shadow\" (or a glob matching it) to [roles.ops.fs].read"})
    );
    let invocation = events
        .iter()
        .find(|e| e.topic == "tool.file")
        .expect("invocation");
    assert_eq!(invocation.data["result"], json!("error"));
    assert_eq!(invocation.data["error"]["reason"], json!("denied"));
}

#[test]
fn a_trap_is_recorded_as_tool_trap() {
    let env = Env::new(POLICY);
    call_in_turn(
        &env,
        "helper",
        CallRequest::new("ops", "testbed", "spin", "{}"),
    );
    let trap = env
        .events()
        .into_iter()
        .find(|e| e.topic == "tool.trap")
        .expect("a tool.trap event");
    assert_eq!(
        trap.data,
        json!({"tool": "testbed", "action": "spin", "reason": "timeout",
               "message": "the tool did not finish within 200 ms and was stopped"})
    );
}

#[test]
fn a_refused_tool_is_recorded_as_a_deny_decision() {
    let env = Env::new(POLICY);
    call_in_turn(
        &env,
        "helper",
        CallRequest::new("ops", "file", "write", r#"{"path":"/x","content":"y"}"#),
    );
    let got = summary(&env.events());
    assert_eq!(
        got[0],
        (
            "policy.decision".into(),
            "decision".into(),
            json!({"tool": "file", "operation": "write", "target": "", "verdict": "deny", "rule": null,
                   "hint": "add \"file.write\" to [roles.ops].tools"}),
        )
    );
    assert_eq!(got[1].2["error"]["reason"], json!("tool_not_permitted"));
}

#[test]
fn secrets_in_arguments_are_redacted_in_the_store() {
    let env = Env::new(POLICY);
    call_in_turn(
        &env,
        "helper",
        CallRequest::new("ops", "crypto", "hmac", r#"{"key":"hunter2","data":"x"}"#),
    );
    let invocation = env
        .events()
        .into_iter()
        .find(|e| e.topic == "tool.crypto")
        .unwrap();
    assert_eq!(
        invocation.data["args"],
        json!({"key": "[redacted]", "data": "x"})
    );
}
