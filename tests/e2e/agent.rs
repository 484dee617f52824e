//! The agent loop against a real HTTP model server playing scripted
//! replies (`llmagent_tests::model_server`), with the real sandbox and
//! tools. Each test asserts what the agent sent, how the turn ended, what
//! was recorded, and that the next prompt still works.

use std::sync::Arc;
use std::time::Duration;

use llmagent_core::{
    Agent, AgentSettings, ApprovalRequest, Approver, DenyApprovals, TurnEnd, TurnOutcome,
};
use llmagent_events::{Events, Query};
use llmagent_llm::{ClientConfig, LlmError, OpenAiClient};
use llmagent_policy::ToolProtocol;
use llmagent_tests::model_server::{ModelServer, Reply};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use crate::harness::Env;

const POLICY: &str = r#"
version = 1
[defaults]
max_steps = 3
[roles.default]
tools = ["crypto", "file.read"]
[roles.default.fs]
read = ["{dir}/**"]
[roles.careful]
tools = ["crypto"]
approve = ["crypto.sha256"]
"#;

/// SHA-256 of "hello".
const HELLO_SHA: &str = "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824";

struct Rig {
    env: Env,
    server: ModelServer,
}

impl Rig {
    fn new() -> Self {
        Self {
            env: Env::new(POLICY),
            server: ModelServer::start(),
        }
    }

    fn config(&self) -> ClientConfig {
        let mut c = ClientConfig::new(self.server.base_url());
        c.max_retries = 2;
        c.backoff_base = Duration::from_millis(10);
        c.backoff_max = Duration::from_millis(50);
        c.first_byte_timeout = Duration::from_secs(5);
        c
    }

    fn agent(&self, role: &str, protocol: ToolProtocol) -> Agent {
        self.agent_with(
            role,
            protocol,
            self.config(),
            Arc::new(DenyApprovals),
            false,
        )
    }

    fn agent_with(
        &self,
        role: &str,
        protocol: ToolProtocol,
        config: ClientConfig,
        approver: Arc<dyn Approver>,
        stream: bool,
    ) -> Agent {
        let client = OpenAiClient::new(config).expect("client");
        let mut settings = AgentSettings::new("tester", role, "scripted-model");
        settings.protocol = protocol;
        settings.stream = stream;
        let events = Events::new(self.env.store.clone());
        Agent::new(
            self.env.runtime.clone(),
            Arc::new(client),
            settings,
            Some(events),
            approver,
        )
        .expect("agent")
    }

    fn bodies(&self) -> Vec<Value> {
        self.server.requests().into_iter().map(|r| r.body).collect()
    }

    /// Topics of the agent's events, in order, without `policy.decision`.
    fn topics(&self) -> Vec<String> {
        self.env
            .store
            .query(&Query {
                agent: Some("tester".into()),
                ..Query::default()
            })
            .expect("query")
            .into_iter()
            .map(|e| e.topic)
            .filter(|t| t != "policy.decision")
            .collect()
    }

    fn events_of(&self, topic: &str) -> Vec<Value> {
        self.env
            .store
            .for_topic(topic)
            .expect("query")
            .into_iter()
            .map(|e| e.data)
            .collect()
    }
}

async fn ask(agent: &mut Agent, text: &str) -> TurnOutcome {
    agent
        .prompt(text, &mut |_| {}, &CancellationToken::new())
        .await
}

/// The next prompt after whatever happened gets a plain answer.
async fn next_prompt_works(rig: &Rig, agent: &mut Agent) {
    rig.server.push(Reply::text("still here"));
    let out = ask(agent, "are you there?").await;
    assert_eq!(out.end, TurnEnd::Answer("still here".into()));
}

/// The seed's success feedback for a result.
fn ok_feedback(output: Value, metadata: Value) -> String {
    json!({"metadata": metadata, "output": output, "status": "ok"}).to_string()
}

fn sha_feedback() -> String {
    ok_feedback(
        json!(HELLO_SHA),
        json!({"algorithm": "sha256", "binary": false, "encoding": "base16"}),
    )
}

fn error_feedback(reason: &str, result: &str) -> (String, String) {
    let v: Value = serde_json::from_str(result).expect("feedback is JSON");
    assert_eq!(v["status"], "error", "{result}");
    (
        reason.to_owned(),
        v["error"]["reason"].as_str().unwrap_or("").to_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_direct_answer() {
    let rig = Rig::new();
    let mut agent = rig.agent("default", ToolProtocol::Native);
    rig.server.push(Reply::text("Hello!"));
    let out = ask(&mut agent, "hi").await;
    assert_eq!(out.end, TurnEnd::Answer("Hello!".into()));
    assert_eq!((out.steps, out.tool_calls, out.requests), (0, 0, 1));
    assert_eq!(out.usage.total_tokens, 15);
    let body = &rig.bodies()[0];
    assert_eq!(body["model"], "scripted-model");
    assert_eq!(
        body["messages"],
        json!([
            {"role": "system", "content": "You are a helpful assistant."},
            {"role": "user", "content": "hi"},
        ])
    );
    let names: Vec<&str> = body["tools"]
        .as_array()
        .expect("tools offered")
        .iter()
        .map(|t| t["function"]["name"].as_str().unwrap_or(""))
        .collect();
    assert!(names.contains(&"crypto-sha256") && names.contains(&"file-read"));
    assert!(!names.contains(&"file-write"), "only what the role allows");
    assert_eq!(
        rig.topics(),
        [
            "agent.prompt",
            "agent.message",
            "agent.message",
            "agent.llm_response",
            "agent.message"
        ]
    );
    next_prompt_works(&rig, &mut agent).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_native_tool_call_reaches_the_next_request() {
    let rig = Rig::new();
    let mut agent = rig.agent("default", ToolProtocol::Native);
    rig.server.push(Reply::tool_calls(&[(
        "call_1",
        "crypto-sha256",
        r#"{"data":"hello"}"#,
    )]));
    rig.server.push(Reply::text("The hash is 2cf2…"));
    let out = ask(&mut agent, "hash hello").await;
    assert_eq!(out.end, TurnEnd::Answer("The hash is 2cf2…".into()));
    assert_eq!((out.steps, out.tool_calls, out.requests), (1, 1, 2));
    let second = &rig.bodies()[1];
    assert_eq!(
        second["messages"].as_array().expect("messages")[2..],
        [
            json!({"role": "assistant", "content": null, "tool_calls": [
                {"id": "call_1", "type": "function", "function": {"name": "crypto-sha256", "arguments": "{\"data\":\"hello\"}"}}
            ]}),
            json!({"role": "tool", "content": sha_feedback(), "tool_call_id": "call_1"}),
        ]
    );
    assert_eq!(
        rig.topics(),
        [
            "agent.prompt",
            "agent.message",
            "agent.message",
            "agent.llm_response",
            "agent.message",
            "agent.tool_dispatch",
            "tool.crypto",
            "agent.message",
            "agent.llm_response",
            "agent.message",
        ]
    );
    // One trace for the whole turn; each model request its own request id.
    let events = rig
        .env
        .store
        .query(&Query {
            agent: Some("tester".into()),
            ..Query::default()
        })
        .expect("query");
    let traces: std::collections::BTreeSet<_> = events
        .iter()
        .filter_map(|e| e.context.trace_id.clone())
        .collect();
    assert_eq!(traces.len(), 1);
    let responses: Vec<_> = events
        .iter()
        .filter(|e| e.topic == "agent.llm_response")
        .collect();
    assert_ne!(
        responses[0].context.request_id,
        responses[1].context.request_id
    );
    assert_eq!(
        responses[1].context.correlation_id,
        responses[0].context.request_id
    );
    next_prompt_works(&rig, &mut agent).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_calls_in_one_reply_run_in_order() {
    let rig = Rig::new();
    let mut agent = rig.agent("default", ToolProtocol::Native);
    rig.server.push(Reply::tool_calls(&[
        ("a", "crypto-sha256", r#"{"data":"hello"}"#),
        ("b", "crypto-encode", r#"{"data":"hi","encoding":"base64"}"#),
    ]));
    rig.server.push(Reply::text("done"));
    let out = ask(&mut agent, "two things").await;
    assert_eq!(out.end, TurnEnd::Answer("done".into()));
    assert_eq!((out.steps, out.tool_calls), (1, 2));
    let msgs = rig.bodies()[1]["messages"].clone();
    let tail = &msgs.as_array().expect("messages")[3..];
    assert_eq!(
        tail[0],
        json!({"role": "tool", "content": sha_feedback(), "tool_call_id": "a"})
    );
    assert_eq!(tail[1]["tool_call_id"], "b");
    let b: Value =
        serde_json::from_str(tail[1]["content"].as_str().expect("content")).expect("json");
    assert_eq!(b["output"], "aGk=");
    next_prompt_works(&rig, &mut agent).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_json_protocol_with_a_fenced_reply() {
    let rig = Rig::new();
    let mut agent = rig.agent("default", ToolProtocol::Json);
    let fenced = "```json\n{\"tool\": \"crypto\", \"action\": \"sha256\", \"args\": {\"data\": \"hello\"}}\n```";
    rig.server.push(Reply::text(fenced));
    rig.server.push(Reply::text("The hash is 2cf2…"));
    let out = ask(&mut agent, "hash hello").await;
    assert_eq!(out.end, TurnEnd::Answer("The hash is 2cf2…".into()));
    let bodies = rig.bodies();
    assert!(
        bodies[0].get("tools").is_none(),
        "no tools array in the json protocol"
    );
    let system = bodies[0]["messages"][0]["content"]
        .as_str()
        .expect("system");
    assert!(
        system.starts_with("You are a helpful assistant.\n\n=== Available Tools ===\n"),
        "{system}"
    );
    assert!(system.contains(
        "{\"tool\": \"crypto\", \"action\": \"sha256\", \"args\": {\"data\":\"hello\"}}"
    ));
    assert_eq!(
        bodies[1]["messages"].as_array().expect("messages")[2..],
        [
            json!({"role": "assistant", "content": fenced}),
            json!({"role": "user", "content": sha_feedback()}),
        ]
    );
    next_prompt_works(&rig, &mut agent).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_and_partial_json_replies_are_answers() {
    let rig = Rig::new();
    let mut agent = rig.agent("default", ToolProtocol::Json);
    for text in [
        r#"{"tool": "crypto", "action": "sha256", "args": {"data": "#,
        r#"{"tool": "bash"}"#,
        r#"[{"tool": "crypto"}]"#,
    ] {
        rig.server.push(Reply::text(text));
        let out = ask(&mut agent, "go").await;
        assert_eq!(out.end, TurnEnd::Answer(text.trim().into()));
        assert_eq!(out.tool_calls, 0);
    }
    next_prompt_works(&rig, &mut agent).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_non_string_tool_is_reported_to_the_model() {
    let rig = Rig::new();
    let mut agent = rig.agent("default", ToolProtocol::Json);
    rig.server.push(Reply::text(
        r#"{"tool": 42, "action": "sha256", "args": {}}"#,
    ));
    rig.server.push(Reply::text("sorry"));
    let out = ask(&mut agent, "go").await;
    assert_eq!(out.end, TurnEnd::Answer("sorry".into()));
    let fed = rig.bodies()[1]["messages"][3].clone();
    assert_eq!(fed["role"], "user");
    let v: Value = serde_json::from_str(fed["content"].as_str().expect("content")).expect("json");
    assert_eq!(
        v,
        json!({"status": "error", "error": {
            "reason": "invalid_tool", "field": "tool",
            "message": "\"tool\" must be a tool's name as a string, not a number",
            "suggestion": "write the call as {\"tool\": \"<tool name>\", \"action\": \"<action name>\", \"args\": {…}}"}})
    );
    next_prompt_works(&rig, &mut agent).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn null_and_empty_content_end_with_an_empty_answer() {
    let rig = Rig::new();
    for protocol in [ToolProtocol::Native, ToolProtocol::Json] {
        let mut agent = rig.agent("default", protocol);
        rig.server.push(Reply::null_content());
        assert_eq!(
            ask(&mut agent, "x").await.end,
            TurnEnd::Answer(String::new())
        );
        rig.server.push(Reply::text(""));
        assert_eq!(
            ask(&mut agent, "y").await.end,
            TurnEnd::Answer(String::new())
        );
        next_prompt_works(&rig, &mut agent).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_tools_and_tools_outside_the_role_are_refused_to_the_model() {
    let rig = Rig::new();
    let mut agent = rig.agent("default", ToolProtocol::Native);
    rig.server.push(Reply::tool_calls(&[
        ("u", "weather-forecast", "{}"),
        ("w", "file-write", r#"{"path":"/tmp/x","content":"y"}"#),
        ("j", "crypto-sha256", "{not json"),
    ]));
    rig.server.push(Reply::text("ok"));
    let out = ask(&mut agent, "try").await;
    assert_eq!(out.end, TurnEnd::Answer("ok".into()));
    let msgs = rig.bodies()[1]["messages"].clone();
    let results: Vec<(String, String)> = msgs.as_array().expect("messages")[3..]
        .iter()
        .map(|m| {
            let v: Value = serde_json::from_str(m["content"].as_str().unwrap_or("")).expect("json");
            (
                m["tool_call_id"].as_str().unwrap_or("").to_owned(),
                v["error"]["reason"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect();
    assert_eq!(
        results,
        [
            ("u".to_owned(), "invalid_tool".to_owned()),
            ("w".to_owned(), "tool_not_permitted".to_owned()),
            ("j".to_owned(), "invalid_args".to_owned()),
        ]
    );
    let write = rig.events_of("tool.file");
    assert_eq!(write.len(), 1);
    assert_eq!(write[0]["error"]["reason"], "tool_not_permitted");
    next_prompt_works(&rig, &mut agent).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_five_megabyte_reply_is_a_clear_error() {
    let rig = Rig::new();
    let mut agent = rig.agent("default", ToolProtocol::Native);
    rig.server.push(Reply::text(&"x".repeat(5 << 20)));
    let out = ask(&mut agent, "write a lot").await;
    let TurnEnd::ModelError(LlmError::InvalidReply { message }) = &out.end else {
        panic!("expected an invalid reply, got {:?}", out.end)
    };
    assert!(message.contains("4194304"), "{message}");
    let errors = rig.events_of("agent.error");
    assert_eq!(errors[0]["code"], "llm_invalid_reply");
    next_prompt_works(&rig, &mut agent).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_utf8_in_a_reply_is_replaced_not_fatal() {
    let rig = Rig::new();
    let mut agent = rig.agent("default", ToolProtocol::Native);
    let mut body = br#"{"choices":[{"message":{"role":"assistant","content":"caf"#.to_vec();
    body.extend_from_slice(&[0xff, 0xfe]);
    body.extend_from_slice(br#" ok"},"finish_reason":"stop"}]}"#);
    rig.server.push(Reply::Raw {
        status: 200,
        content_type: "application/json".into(),
        body,
    });
    let out = ask(&mut agent, "x").await;
    assert_eq!(out.end, TurnEnd::Answer("caf\u{fffd}\u{fffd} ok".into()));
    next_prompt_works(&rig, &mut agent).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_cut_mid_way_is_a_clear_error() {
    let rig = Rig::new();
    let mut agent = rig.agent_with(
        "default",
        ToolProtocol::Native,
        rig.config(),
        Arc::new(DenyApprovals),
        true,
    );
    rig.server.push(Reply::stream_text(&["Hel", "lo"]));
    let mut pieces = Vec::new();
    let out = agent
        .prompt(
            "hi",
            &mut |e| {
                if let llmagent_core::TurnEvent::Text(t) = e {
                    pieces.push(t)
                }
            },
            &CancellationToken::new(),
        )
        .await;
    assert_eq!(out.end, TurnEnd::Answer("Hello".into()));
    assert_eq!(pieces, ["Hel", "lo"]);
    assert_eq!(rig.bodies()[0]["stream"], true);
    rig.server.push(Reply::stream_cut(&["Hal", "f"]));
    let out = ask(&mut agent, "again").await;
    assert!(
        matches!(&out.end, TurnEnd::ModelError(LlmError::InvalidReply { message }) if message.contains("cut off")),
        "{:?}",
        out.end
    );
    next_prompt_works(&rig, &mut agent).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limited_then_answered() {
    let rig = Rig::new();
    let mut agent = rig.agent("default", ToolProtocol::Native);
    rig.server
        .push(Reply::status(429, "slow down").with_header("retry-after", "1"));
    rig.server.push(Reply::text("finally"));
    let started = std::time::Instant::now();
    let out = ask(&mut agent, "x").await;
    assert_eq!(out.end, TurnEnd::Answer("finally".into()));
    assert!(
        started.elapsed() >= Duration::from_millis(900),
        "Retry-After honoured"
    );
    assert_eq!(rig.server.requests().len(), 2);
    assert_eq!(rig.events_of("agent.llm_response")[0]["attempts"], 2);
    next_prompt_works(&rig, &mut agent).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repeated_server_errors_end_the_turn() {
    let rig = Rig::new();
    let mut agent = rig.agent("default", ToolProtocol::Native);
    for _ in 0..3 {
        rig.server.push(Reply::status(500, "boom"));
    }
    let out = ask(&mut agent, "x").await;
    assert_eq!(
        out.end,
        TurnEnd::ModelError(LlmError::Status {
            status: 500,
            body: "boom".into(),
            attempts: 3
        })
    );
    let errors = rig.events_of("agent.error");
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0]["code"], "llm_http_error");
    assert_eq!(errors[0]["source"], "llm_request");
    next_prompt_works(&rig, &mut agent).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_never_answers_times_out() {
    let rig = Rig::new();
    let mut config = rig.config();
    config.first_byte_timeout = Duration::from_millis(300);
    config.max_retries = 1;
    let mut agent = rig.agent_with(
        "default",
        ToolProtocol::Native,
        config,
        Arc::new(DenyApprovals),
        false,
    );
    rig.server.push(Reply::Hang);
    rig.server.push(Reply::Hang);
    let out = ask(&mut agent, "x").await;
    assert!(
        matches!(
            out.end,
            TurnEnd::ModelError(LlmError::Timeout { attempts: 2, .. })
        ),
        "{:?}",
        out.end
    );
    next_prompt_works(&rig, &mut agent).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_model_that_calls_tools_forever_stops_at_max_steps() {
    let rig = Rig::new();
    let mut agent = rig.agent("default", ToolProtocol::Native);
    rig.server.always(Reply::tool_calls(&[(
        "again",
        "crypto-sha256",
        r#"{"data":"hello"}"#,
    )]));
    let out = ask(&mut agent, "loop").await;
    let TurnEnd::StepLimit { max_steps, message } = &out.end else {
        panic!("expected the step limit, got {:?}", out.end)
    };
    assert_eq!(*max_steps, 3);
    assert!(
        message.starts_with("I stopped after 3 tool steps"),
        "{message}"
    );
    // The same call straight after itself runs once; every request after
    // the first answers `repeated_call`, and each still counts as a step.
    assert_eq!((out.steps, out.tool_calls, out.requests), (3, 1, 4));
    assert_eq!(
        agent.history().last().and_then(|m| m.content.clone()),
        Some(message.clone())
    );
    assert_eq!(
        rig.events_of("agent.error")
            .last()
            .map(|e| e["code"].clone()),
        Some(json!("max_steps"))
    );
    rig.server
        .always(Reply::status(500, "model script exhausted"));
    next_prompt_works(&rig, &mut agent).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auto_falls_back_to_json_when_the_server_refuses_tools() {
    let rig = Rig::new();
    let mut agent = rig.agent("default", ToolProtocol::Auto);
    rig.server
        .push(Reply::status(400, "this model does not support tools"));
    rig.server.push(Reply::text(
        r#"{"tool": "crypto", "action": "sha256", "args": {"data": "hello"}}"#,
    ));
    rig.server.push(Reply::text("hashed"));
    let out = ask(&mut agent, "hash hello").await;
    assert_eq!(out.end, TurnEnd::Answer("hashed".into()));
    assert_eq!(agent.protocol(), "json");
    let bodies = rig.bodies();
    assert!(bodies[0].get("tools").is_some());
    assert!(bodies[1].get("tools").is_none());
    assert_eq!(
        bodies[2]["messages"][3],
        json!({"role": "user", "content": sha_feedback()})
    );
    let fallback = rig.events_of("agent.protocol");
    assert_eq!(fallback.len(), 1);
    assert_eq!(
        (fallback[0]["from"].as_str(), fallback[0]["to"].as_str()),
        (Some("native"), Some("json"))
    );
    next_prompt_works(&rig, &mut agent).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_constrained_protocol_sends_a_schema_and_unwraps_answers() {
    let rig = Rig::new();
    let mut agent = rig.agent("default", ToolProtocol::Constrained);
    rig.server.push(Reply::text(
        r#"{"tool": "crypto", "action": "sha256", "args": {"data": "hello"}}"#,
    ));
    rig.server.push(Reply::text(
        r#"{"tool": "none", "answer": "the hash is 2cf2…"}"#,
    ));
    let out = ask(&mut agent, "hash hello").await;
    assert_eq!(out.end, TurnEnd::Answer("the hash is 2cf2…".into()));
    let format = rig.bodies()[0]["response_format"].clone();
    assert_eq!(format["type"], "json_schema");
    let branches = format["json_schema"]["schema"]["anyOf"]
        .as_array()
        .expect("anyOf")
        .clone();
    assert!(
        branches
            .iter()
            .any(|b| b["properties"]["action"]["enum"] == json!(["sha256"]))
    );
    assert_eq!(
        branches.last().map(|b| b["required"].clone()),
        Some(json!(["tool", "answer"]))
    );
    // A reply cut by the token limit is neither a call nor an answer.
    rig.server.push(Reply::Json {
        status: 200,
        body: json!({"choices": [{"message": {"role": "assistant", "content": "{\"tool\": \"none\", \"answer\": \"aaaa"}, "finish_reason": "length"}]}),
        headers: vec![],
    });
    let out = ask(&mut agent, "go on").await;
    assert!(
        matches!(&out.end, TurnEnd::ModelError(LlmError::InvalidReply { message }) if message.contains("token limit")),
        "{:?}",
        out.end
    );
    next_prompt_works(&rig, &mut agent).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_approval_in_a_non_interactive_session_is_denied() {
    let rig = Rig::new();
    let mut agent = rig.agent("careful", ToolProtocol::Native);
    rig.server.push(Reply::tool_calls(&[(
        "c",
        "crypto-sha256",
        r#"{"data":"hello"}"#,
    )]));
    rig.server.push(Reply::text("not allowed"));
    let out = ask(&mut agent, "hash").await;
    assert_eq!(out.end, TurnEnd::Answer("not allowed".into()));
    let result = rig.bodies()[1]["messages"][3]["content"]
        .as_str()
        .unwrap_or("")
        .to_owned();
    let (want, got) = error_feedback("approval_required", &result);
    assert_eq!(got, want);
    let decisions = rig.events_of("policy.decision");
    assert_eq!(decisions[0]["verdict"], "approve");
    assert_eq!(decisions[0]["approved"], false);
    next_prompt_works(&rig, &mut agent).await;
}

struct Yes;

#[async_trait::async_trait]
impl Approver for Yes {
    async fn approve(&self, request: &ApprovalRequest) -> bool {
        request.tool == "crypto" && request.args == json!({"data": "hello"})
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_approved_call_runs() {
    let rig = Rig::new();
    let mut agent = rig.agent_with(
        "careful",
        ToolProtocol::Native,
        rig.config(),
        Arc::new(Yes),
        false,
    );
    rig.server.push(Reply::tool_calls(&[(
        "c",
        "crypto-sha256",
        r#"{"data":"hello"}"#,
    )]));
    rig.server.push(Reply::text("done"));
    ask(&mut agent, "hash").await;
    assert_eq!(rig.bodies()[1]["messages"][3]["content"], sha_feedback());
    assert_eq!(rig.events_of("policy.decision")[0]["approved"], true);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn private_keys_never_reach_the_model_but_can_be_used() {
    let rig = Rig::new();
    let mut agent = rig.agent("default", ToolProtocol::Native);
    rig.server.push(Reply::tool_calls(&[(
        "k",
        "crypto-generate_keypair",
        r#"{"type":"ed25519"}"#,
    )]));
    rig.server.push(Reply::text("made a key"));
    ask(&mut agent, "make a key").await;
    let result = rig.bodies()[1]["messages"][3]["content"]
        .as_str()
        .unwrap_or("")
        .to_owned();
    let v: Value = serde_json::from_str(&result).expect("json");
    let handle = v["output"]["private_key"]
        .as_str()
        .expect("a handle")
        .to_owned();
    assert!(handle.starts_with("[secret:sec_"), "{handle}");
    let public = v["output"]["public_key"]
        .as_str()
        .expect("public key shown");
    assert!(
        !public.is_empty() && !public.starts_with("[secret:"),
        "{public}"
    );
    let sign = json!({"type": "ed25519", "data": "hi", "private_key": handle}).to_string();
    rig.server
        .push(Reply::tool_calls(&[("s", "crypto-sign", &sign)]));
    rig.server.push(Reply::text("signed"));
    ask(&mut agent, "sign hi").await;
    let signed = rig.bodies()[3]["messages"]
        .as_array()
        .expect("messages")
        .last()
        .cloned()
        .expect("last");
    let v: Value = serde_json::from_str(signed["content"].as_str().unwrap_or("")).expect("json");
    assert_eq!(v["status"], "ok", "{v}");
    // Wherever a private key appears — on disk, or in what the model was
    // sent (tool_calls arguments and results are JSON text) — it is a
    // handle or redacted.
    let mut texts: Vec<String> = rig
        .env
        .events()
        .iter()
        .map(|e| e.data.to_string())
        .collect();
    texts.extend(rig.bodies().iter().map(Value::to_string));
    for text in texts {
        for (i, _) in text.match_indices("private_key") {
            // Only a field holding a string (not prose in a description,
            // not a schema property) can hold a key.
            let after: String = text[i + 11..].chars().take(40).collect();
            let Some(value) = after
                .strip_prefix("\":\"")
                .or_else(|| after.strip_prefix("\\\":\\\""))
            else {
                continue;
            };
            assert!(
                value.starts_with("[secret:sec_") || value.starts_with("[redacted]"),
                "a private key leaked: …{after}"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_agent_continues_its_conversation() {
    let rig = Rig::new();
    let mut agent = rig.agent("default", ToolProtocol::Native);
    rig.server.push(Reply::tool_calls(&[(
        "c",
        "crypto-sha256",
        r#"{"data":"hello"}"#,
    )]));
    rig.server.push(Reply::text("hashed"));
    ask(&mut agent, "hash hello").await;
    let before = agent.history().to_vec();
    drop(agent);
    let mut again = rig.agent("default", ToolProtocol::Native);
    assert_eq!(again.history(), before.as_slice());
    rig.server.push(Reply::text("yes"));
    ask(&mut again, "remember?").await;
    let msgs = rig.bodies()[2]["messages"]
        .as_array()
        .expect("messages")
        .len();
    assert_eq!(msgs, 1 + before.len() + 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prompts_to_one_agent_run_in_order() {
    let rig = Rig::new();
    let handle = rig.agent("default", ToolProtocol::Native).spawn();
    rig.server.push(Reply::Delay(
        Duration::from_millis(200),
        Box::new(Reply::text("first")),
    ));
    rig.server.push(Reply::text("second"));
    let (a, b) = tokio::join!(
        handle.prompt("one", None, CancellationToken::new()),
        async {
            tokio::time::sleep(Duration::from_millis(50)).await;
            handle.prompt("two", None, CancellationToken::new()).await
        }
    );
    assert_eq!(a.expect("first").end, TurnEnd::Answer("first".into()));
    assert_eq!(b.expect("second").end, TurnEnd::Answer("second".into()));
    let bodies = rig.bodies();
    assert_eq!(bodies[1]["messages"][1]["content"], "one");
    assert_eq!(bodies[1]["messages"][2]["content"], "first");
    assert_eq!(bodies[1]["messages"][3]["content"], "two");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancelling_ends_a_turn_waiting_for_the_model() {
    let rig = Rig::new();
    let mut agent = rig.agent("default", ToolProtocol::Native);
    rig.server.push(Reply::Hang);
    let cancel = CancellationToken::new();
    let trigger = cancel.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(100)).await;
        trigger.cancel();
    });
    let out = agent.prompt("x", &mut |_| {}, &cancel).await;
    assert_eq!(out.end, TurnEnd::Cancelled);
    assert_eq!(
        rig.events_of("agent.error")
            .last()
            .map(|e| e["code"].clone()),
        Some(json!("cancelled"))
    );
    next_prompt_works(&rig, &mut agent).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_repeated_straight_away_is_not_run_twice() {
    let rig = Rig::new();
    let mut agent = rig.agent("default", ToolProtocol::Json);
    let call = r#"{"tool": "crypto", "action": "sha256", "args": {"data": "hello"}}"#;
    rig.server.push(Reply::text(call));
    rig.server.push(Reply::text(call));
    rig.server.push(Reply::text("done"));
    let out = ask(&mut agent, "hash hello").await;
    assert_eq!(out.end, TurnEnd::Answer("done".into()));
    assert_eq!((out.steps, out.tool_calls, out.requests), (2, 1, 3));
    assert_eq!(rig.events_of("tool.crypto").len(), 1);
    let last = rig.bodies()[2]["messages"]
        .as_array()
        .expect("messages")
        .last()
        .cloned()
        .expect("a last message");
    let v: Value = serde_json::from_str(last["content"].as_str().unwrap_or("")).expect("json");
    assert_eq!(v["error"]["reason"], "repeated_call");
    next_prompt_works(&rig, &mut agent).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_constrained_model_that_repeats_itself_is_asked_only_for_the_answer() {
    let rig = Rig::new();
    let mut agent = rig.agent("default", ToolProtocol::Constrained);
    let call = r#"{"tool": "crypto", "action": "sha256", "args": {"data": "hello"}}"#;
    rig.server.push(Reply::text(call));
    rig.server.push(Reply::text(call));
    rig.server
        .push(Reply::text(r#"{"tool": "none", "answer": "2cf24dba"}"#));
    let out = ask(&mut agent, "hash hello").await;
    assert_eq!(out.end, TurnEnd::Answer("2cf24dba".into()));
    assert_eq!(out.tool_calls, 1);
    let third = &rig.bodies()[2];
    let branches = third["response_format"]["json_schema"]["schema"]["anyOf"]
        .as_array()
        .expect("anyOf")
        .clone();
    assert_eq!(branches.len(), 1, "only the answer is allowed");
    assert_eq!(branches[0]["required"], json!(["tool", "answer"]));
    // The repeat is not in the conversation: system, user, call, result.
    assert_eq!(third["messages"].as_array().map(Vec::len), Some(4));
    assert_eq!(
        rig.events_of("agent.error")
            .last()
            .map(|e| e["code"].clone()),
        Some(json!("repeated_call"))
    );
    next_prompt_works(&rig, &mut agent).await;
}
