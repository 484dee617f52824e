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

mod failures;
mod hostile;
mod inotify;
mod protocols;
mod session;

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
pub(super) const HELLO_SHA: &str =
    "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824";

pub(super) struct Rig {
    pub(super) env: Env,
    pub(super) server: ModelServer,
}

impl Rig {
    pub(super) fn new() -> Self {
        Self::with_policy(POLICY)
    }

    /// A rig over another policy (same placeholders as [`Env::new`]).
    pub(super) fn with_policy(policy: &str) -> Self {
        Self {
            env: Env::new(policy),
            server: ModelServer::start(),
        }
    }

    pub(super) fn config(&self) -> ClientConfig {
        let mut c = ClientConfig::new(self.server.base_url());
        c.max_retries = 2;
        c.backoff_base = Duration::from_millis(10);
        c.backoff_max = Duration::from_millis(50);
        c.first_byte_timeout = Duration::from_secs(5);
        c
    }

    pub(super) fn agent(&self, role: &str, protocol: ToolProtocol) -> Agent {
        self.agent_with(
            role,
            protocol,
            self.config(),
            Arc::new(DenyApprovals),
            false,
        )
    }

    pub(super) fn agent_with(
        &self,
        role: &str,
        protocol: ToolProtocol,
        config: ClientConfig,
        approver: Arc<dyn Approver>,
        stream: bool,
    ) -> Agent {
        let mut settings = AgentSettings::new("tester", role, "scripted-model");
        settings.protocol = protocol;
        settings.stream = stream;
        self.agent_from(settings, config, approver)
    }

    /// An agent with exactly these settings.
    pub(super) fn agent_from(
        &self,
        settings: AgentSettings,
        config: ClientConfig,
        approver: Arc<dyn Approver>,
    ) -> Agent {
        let client = OpenAiClient::new(config).expect("client");
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

    pub(super) fn bodies(&self) -> Vec<Value> {
        self.server.requests().into_iter().map(|r| r.body).collect()
    }

    /// Topics of the agent's events, in order, without `policy.decision`.
    pub(super) fn topics(&self) -> Vec<String> {
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

    /// The `policy.decision` events about tools (not capabilities).
    pub(super) fn tool_decisions(&self) -> Vec<Value> {
        self.events_of("policy.decision")
            .into_iter()
            .filter(|d| d.get("tool").is_some())
            .collect()
    }

    pub(super) fn events_of(&self, topic: &str) -> Vec<Value> {
        self.env
            .store
            .for_topic(topic)
            .expect("query")
            .into_iter()
            .map(|e| e.data)
            .collect()
    }
}

pub(super) async fn ask(agent: &mut Agent, text: &str) -> TurnOutcome {
    agent
        .prompt(text, &mut |_| {}, &CancellationToken::new())
        .await
}

/// The next prompt after whatever happened gets a plain answer.
pub(super) async fn next_prompt_works(rig: &Rig, agent: &mut Agent) {
    rig.server.push(Reply::text("still here"));
    let out = ask(agent, "are you there?").await;
    assert_eq!(out.end, TurnEnd::Answer("still here".into()));
}

/// The seed's success feedback for a result.
pub(super) fn ok_feedback(output: Value, metadata: Value) -> String {
    json!({"metadata": metadata, "output": output, "status": "ok"}).to_string()
}

pub(super) fn sha_feedback() -> String {
    ok_feedback(
        json!(HELLO_SHA),
        json!({"algorithm": "sha256", "binary": false, "encoding": "base16"}),
    )
}

/// The `reason` of an error result as the model was shown it.
pub(super) fn error_reason(result: &str) -> String {
    let v: Value = serde_json::from_str(result).expect("feedback is JSON");
    assert_eq!(v["status"], "error", "{result}");
    v["error"]["reason"].as_str().unwrap_or("").to_owned()
}
