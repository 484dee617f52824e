//! What the agent and serve benchmarks share: a runtime of one role that
//! may use `crypto`, recording into a fresh store; the scripted model
//! server; a model client; the turn they script (the model asks for
//! `crypto sha256` of "hello", then answers "done"); and a client that
//! captures the requests an agent sends, so that the model exchanges can
//! be timed alone with exactly those requests.

#![allow(dead_code)] // each benchmark uses a subset

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use llmagent_core::{
    Agent, AgentSettings, DenyApprovals, Runtime, RuntimeOptions, TurnEnd, builtin_names,
};
use llmagent_events::{EventStore, Events, StoreConfig};
use llmagent_llm::{ChatRequest, ChatResponse, ClientConfig, LlmClient, LlmError, OpenAiClient};
use llmagent_policy::{Policy, ToolProtocol};
use llmagent_tests::model_server::{ModelServer, Reply};
use tokio_util::sync::CancellationToken;

/// The role every benchmark agent runs under.
pub const ROLE: &str = "bench";
const POLICY: &str = "version = 1\n[roles.bench]\ntools = [\"crypto\"]\n";
/// The tool call of a scripted turn, and its arguments.
pub const CALL: (&str, &str, &str) = ("c", "crypto-sha256", r#"{"data":"hello"}"#);

pub struct Rig {
    _dir: tempfile::TempDir,
    pub runtime: Runtime,
    pub events: Events,
    pub server: ModelServer,
    pub client: Arc<OpenAiClient>,
    pub tokio: tokio::runtime::Runtime,
}

pub fn rig() -> Rig {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("policy.toml");
    std::fs::write(&path, POLICY).expect("policy");
    let policy = Policy::load(&path, &builtin_names()).expect("policy");
    let store = EventStore::open(StoreConfig::new(dir.path().join("events"))).expect("store");
    let events = Events::new(store);
    let options = RuntimeOptions {
        cache_dir: Some(PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("bench-cache")),
        events: Some(events.clone()),
        ..RuntimeOptions::default()
    };
    let runtime = Runtime::new(policy, options).expect("runtime");
    let server = ModelServer::start();
    let client = Arc::new(OpenAiClient::new(ClientConfig::new(server.base_url())).expect("client"));
    let tokio = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio");
    Rig {
        _dir: dir,
        runtime,
        events,
        server,
        client,
        tokio,
    }
}

/// The model's two replies of a turn: the tool call, then the answer.
pub fn turn_replies() -> [Reply; 2] {
    [Reply::tool_calls(&[CALL]), Reply::text("done")]
}

/// A client that adds up the time its requests take, so that a turn's own
/// model exchanges can be taken out of that very turn's time.
pub struct Timed {
    inner: Arc<OpenAiClient>,
    spent: Mutex<Duration>,
}

impl Timed {
    pub fn new(inner: Arc<OpenAiClient>) -> Self {
        Self {
            inner,
            spent: Mutex::new(Duration::ZERO),
        }
    }

    /// The time spent in requests since the last call, and starts again.
    pub fn take(&self) -> Duration {
        std::mem::take(&mut *self.spent.lock().unwrap())
    }

    fn add(&self, started: Instant) {
        *self.spent.lock().unwrap() += started.elapsed();
    }
}

#[async_trait::async_trait]
impl LlmClient for Timed {
    async fn chat(&self, request: &ChatRequest) -> Result<ChatResponse, LlmError> {
        let started = Instant::now();
        let answer = self.inner.chat(request).await;
        self.add(started);
        answer
    }

    async fn chat_stream(
        &self,
        request: &ChatRequest,
        on_text: &mut (dyn for<'t> FnMut(&'t str) + Send),
    ) -> Result<ChatResponse, LlmError> {
        let started = Instant::now();
        let answer = self.inner.chat_stream(request, on_text).await;
        self.add(started);
        answer
    }

    fn endpoint(&self) -> String {
        self.inner.endpoint()
    }
}

/// A client that keeps a copy of every request before sending it on.
pub struct Capture {
    inner: Arc<OpenAiClient>,
    requests: Mutex<Vec<ChatRequest>>,
}

#[async_trait::async_trait]
impl LlmClient for Capture {
    async fn chat(&self, request: &ChatRequest) -> Result<ChatResponse, LlmError> {
        self.requests.lock().unwrap().push(request.clone());
        self.inner.chat(request).await
    }

    async fn chat_stream(
        &self,
        request: &ChatRequest,
        on_text: &mut (dyn for<'t> FnMut(&'t str) + Send),
    ) -> Result<ChatResponse, LlmError> {
        self.requests.lock().unwrap().push(request.clone());
        self.inner.chat_stream(request, on_text).await
    }

    fn endpoint(&self) -> String {
        self.inner.endpoint()
    }
}

impl Rig {
    /// A fresh agent of the bench role on the native protocol, recording
    /// its events or not.
    pub fn agent(&self, name: &str, client: Arc<dyn LlmClient>, record: bool) -> Agent {
        let mut settings = AgentSettings::new(name, ROLE, "scripted");
        settings.protocol = ToolProtocol::Native;
        Agent::new(
            self.runtime.clone(),
            client,
            settings,
            record.then(|| self.events.clone()),
            Arc::new(DenyApprovals),
        )
        .expect("agent")
    }

    /// Scripts one turn and runs it on `agent`.
    pub fn turn(&self, agent: &mut Agent) {
        for reply in turn_replies() {
            self.server.push(reply);
        }
        let out =
            self.tokio
                .block_on(agent.prompt("hash hello", &mut |_| {}, &CancellationToken::new()));
        assert_eq!(out.end, TurnEnd::Answer("done".into()));
    }

    /// The requests a fresh agent sends in `turns` turns, in order (two
    /// per turn).
    pub fn captured_requests(&self, turns: usize) -> Vec<ChatRequest> {
        let capture = Arc::new(Capture {
            inner: self.client.clone(),
            requests: Mutex::new(Vec::new()),
        });
        let mut agent = self.agent("bench-capture", capture.clone(), false);
        for _ in 0..turns {
            self.turn(&mut agent);
        }
        let requests = capture.requests.lock().unwrap().clone();
        assert_eq!(requests.len(), 2 * turns, "a turn is two model requests");
        requests
    }

    /// One model exchange alone: `request` sent, `reply` scripted for it.
    pub fn exchange(&self, request: &ChatRequest, reply: Reply) -> Duration {
        self.server.push(reply);
        let started = Instant::now();
        self.tokio
            .block_on(self.client.chat(request))
            .expect("chat");
        started.elapsed()
    }
}
