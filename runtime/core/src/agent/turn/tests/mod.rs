//! Turns driven by a scripted model (no HTTP) against the real runtime and
//! tools: each way a turn ends, with the whole outcome, the conversation
//! and what was recorded.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use host_capabilities::NullSink;
use llmagent_events::{EventStore, Events, StoreConfig};
use llmagent_llm::{
    ChatRequest, ChatResponse, FunctionCall, LlmClient, LlmError, Message, MessageRole, ToolCall,
    Usage,
};
use llmagent_policy::{Policy, ToolProtocol};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use crate::agent::{Agent, AgentSettings, ApprovalRequest, Approver, DenyApprovals};
use crate::runtime::{Runtime, RuntimeOptions};

use super::{TurnEnd, TurnEvent, TurnOutcome};

mod calls;
mod ends;

const POLICY: &str = r#"
version = 1
[defaults]
max_steps = 2
[roles.default]
tools = ["crypto"]
[roles.careful]
tools = ["crypto"]
approve = ["crypto.sha256"]
"#;

/// SHA-256 of "hello".
const HELLO_SHA: &str = "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824";

/// What the scripted model does for one request.
enum Turnout {
    /// Answers this.
    Reply(ChatResponse),
    /// Fails so.
    Fail(LlmError),
    /// Cancels the turn (with the token) and never answers.
    Hang(CancellationToken),
}

/// A model that plays a script and keeps the requests it was sent.
#[derive(Default)]
struct Scripted {
    script: Mutex<VecDeque<Turnout>>,
    requests: Mutex<Vec<ChatRequest>>,
}

impl Scripted {
    fn new(script: Vec<Turnout>) -> Arc<Self> {
        Arc::new(Self {
            script: Mutex::new(script.into()),
            requests: Mutex::default(),
        })
    }

    fn requests(&self) -> Vec<ChatRequest> {
        self.requests.lock().unwrap().clone()
    }
}

#[async_trait]
impl LlmClient for Scripted {
    async fn chat(&self, request: &ChatRequest) -> Result<ChatResponse, LlmError> {
        self.requests.lock().unwrap().push(request.clone());
        let next = self.script.lock().unwrap().pop_front();
        match next {
            Some(Turnout::Reply(r)) => Ok(r),
            Some(Turnout::Fail(e)) => Err(e),
            Some(Turnout::Hang(cancel)) => {
                cancel.cancel();
                std::future::pending().await
            }
            None => Err(LlmError::InvalidReply {
                message: "the script ran out".into(),
            }),
        }
    }

    async fn chat_stream(
        &self,
        request: &ChatRequest,
        on_text: &mut (dyn for<'t> FnMut(&'t str) + Send),
    ) -> Result<ChatResponse, LlmError> {
        let reply = self.chat(request).await?;
        on_text(reply.content.as_deref().unwrap_or_default());
        Ok(reply)
    }

    fn endpoint(&self) -> String {
        "scripted".into()
    }
}

fn text(content: &str) -> Turnout {
    Turnout::Reply(ChatResponse {
        content: Some(content.into()),
        finish_reason: Some("stop".into()),
        usage: Some(Usage {
            prompt_tokens: 10,
            completion_tokens: 2,
            total_tokens: 12,
        }),
        attempts: 1,
        ..ChatResponse::default()
    })
}

fn tool_call(id: &str, function: &str, arguments: &str) -> ToolCall {
    ToolCall {
        id: id.into(),
        kind: "function".into(),
        function: FunctionCall {
            name: function.into(),
            arguments: arguments.into(),
        },
    }
}

fn calls(calls: &[ToolCall]) -> Turnout {
    Turnout::Reply(ChatResponse {
        tool_calls: calls.to_vec(),
        finish_reason: Some("tool_calls".into()),
        attempts: 1,
        ..ChatResponse::default()
    })
}

fn asked(calls: &[ToolCall]) -> Message {
    Message {
        role: MessageRole::Assistant,
        content: None,
        tool_calls: calls.to_vec(),
        tool_call_id: None,
    }
}

fn sha_of_hello() -> String {
    json!({
        "metadata": {"algorithm": "sha256", "binary": false, "encoding": "base16"},
        "output": HELLO_SHA,
        "status": "ok",
    })
    .to_string()
}

fn failure(reason: &str, message: &str, field: Option<&str>, suggestion: Option<&str>) -> String {
    json!({
        "error": {"field": field, "message": message, "reason": reason, "suggestion": suggestion},
        "status": "error",
    })
    .to_string()
}

/// Answers every approval question with `yes` and keeps the questions.
struct Answer {
    yes: bool,
    asked: Mutex<Vec<ApprovalRequest>>,
}

#[async_trait]
impl Approver for Answer {
    async fn approve(&self, request: &ApprovalRequest) -> bool {
        self.asked.lock().unwrap().push(request.clone());
        self.yes
    }
}

/// A runtime over [`POLICY`] recording into its own store.
struct Rig {
    _dir: tempfile::TempDir,
    runtime: Runtime,
    store: EventStore,
}

impl Rig {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let policy = Policy::parse(
            POLICY,
            &dir.path().join("policy.toml"),
            &crate::builtin_names(),
        )
        .unwrap();
        let store = EventStore::open(StoreConfig::new(dir.path().join("events"))).unwrap();
        let options = RuntimeOptions {
            // Shared with the end-to-end tests: components compile once.
            cache_dir: Some(
                PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/tmp/component-cache"),
            ),
            sink: Arc::new(NullSink),
            events: Some(Events::new(store.clone())),
            ..RuntimeOptions::default()
        };
        let runtime = Runtime::new(policy, options).unwrap();
        Self {
            _dir: dir,
            runtime,
            store,
        }
    }

    fn agent(
        &self,
        role: &str,
        protocol: ToolProtocol,
        client: Arc<Scripted>,
        approver: Arc<dyn Approver>,
    ) -> Agent {
        let mut settings = AgentSettings::new("tester", role, "scripted");
        settings.protocol = protocol;
        let events = Events::new(self.store.clone());
        Agent::new(
            self.runtime.clone(),
            client,
            settings,
            Some(events),
            approver,
        )
        .unwrap()
    }

    fn data_of(&self, topic: &str) -> Vec<Value> {
        self.store
            .for_topic(topic)
            .unwrap()
            .into_iter()
            .map(|e| e.data)
            .collect()
    }

    /// The `policy.decision` events about tools (not capabilities).
    fn tool_decisions(&self) -> Vec<Value> {
        self.data_of("policy.decision")
            .into_iter()
            .filter(|d| d.get("tool").is_some())
            .collect()
    }
}

async fn ask(agent: &mut Agent, text: &str) -> (TurnOutcome, Vec<TurnEvent>) {
    let mut seen = Vec::new();
    let out = agent
        .prompt(text, &mut |e| seen.push(e), &CancellationToken::new())
        .await;
    (out, seen)
}

/// The outcome expected of a turn, with the trace id it was given (which
/// is random, but never empty).
fn outcome(end: TurnEnd, counts: [u32; 4], usage: Usage, trace_id: &str) -> TurnOutcome {
    assert!(!trace_id.is_empty());
    let [steps, tool_calls, tool_errors, requests] = counts;
    TurnOutcome {
        end,
        steps,
        tool_calls,
        tool_errors,
        requests,
        usage,
        trace_id: trace_id.into(),
    }
}

const USAGE_ONCE: Usage = Usage {
    prompt_tokens: 10,
    completion_tokens: 2,
    total_tokens: 12,
};
