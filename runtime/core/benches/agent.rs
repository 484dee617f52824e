//! Agent overhead per tool round-trip, against the local scripted model
//! server (`llmagent_tests::model_server`), with events recorded as in
//! production. One turn = model request → `crypto sha256` in the sandbox →
//! model request → final answer. The tool call and the turn's two HTTP
//! exchanges are measured on their own too — the exchanges with the very
//! requests the agent sent (captured from one turn), so that the server's
//! work on the system prompt and the tool schemas counts as the model's,
//! not the agent's — and the agent's own share is what remains. Writes its
//! section of `bench/RESULTS.md`.

#![allow(missing_docs, clippy::expect_used, clippy::unwrap_used)]

mod report;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group};
use llmagent_core::{
    Agent, AgentSettings, CallRequest, DenyApprovals, Runtime, RuntimeOptions, TurnEnd,
    builtin_names,
};
use llmagent_events::{EventStore, Events, StoreConfig};
use llmagent_llm::{ChatRequest, ChatResponse, ClientConfig, LlmClient, LlmError, OpenAiClient};
use llmagent_policy::{Policy, ToolProtocol};
use llmagent_tests::model_server::{ModelServer, Reply};
use tokio_util::sync::CancellationToken;

const POLICY: &str = "version = 1\n[roles.bench]\ntools = [\"crypto\"]\n";

struct Rig {
    _dir: tempfile::TempDir,
    runtime: Runtime,
    events: Events,
    server: ModelServer,
    client: Arc<OpenAiClient>,
    tokio: tokio::runtime::Runtime,
}

fn rig() -> Rig {
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

/// A client that keeps a copy of every request the agent sends.
struct Capture {
    inner: Arc<OpenAiClient>,
    requests: std::sync::Mutex<Vec<ChatRequest>>,
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

/// A fresh agent of the bench role on the native protocol.
fn agent(rig: &Rig, name: &str, client: Arc<dyn LlmClient>, record: bool) -> Agent {
    let mut settings = AgentSettings::new(name, "bench", "scripted");
    settings.protocol = ToolProtocol::Native;
    Agent::new(
        rig.runtime.clone(),
        client,
        settings,
        record.then(|| rig.events.clone()),
        Arc::new(DenyApprovals),
    )
    .expect("agent")
}

/// Scripts one turn's two replies: the tool call, then the answer.
fn script_turn(rig: &Rig) {
    rig.server.push(Reply::tool_calls(&[(
        "c",
        "crypto-sha256",
        r#"{"data":"hello"}"#,
    )]));
    rig.server.push(Reply::text("done"));
}

fn bench(c: &mut Criterion) {
    let rig = rig();
    // The two requests of a turn, as the agent sends them.
    let capture = Arc::new(Capture {
        inner: rig.client.clone(),
        requests: std::sync::Mutex::new(Vec::new()),
    });
    script_turn(&rig);
    let mut probe = agent(&rig, "bench-capture", capture.clone(), false);
    let out =
        rig.tokio
            .block_on(probe.prompt("hash hello", &mut |_| {}, &CancellationToken::new()));
    assert_eq!(out.end, TurnEnd::Answer("done".into()));
    let requests = capture.requests.lock().unwrap().clone();
    assert_eq!(requests.len(), 2, "a turn is two model requests");
    let mut n = 0u64;
    for (name, record) in [
        ("agent_turn_one_tool", true),
        ("agent_turn_one_tool_unrecorded", false),
    ] {
        c.bench_function(name, |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    n += 1;
                    let mut agent = agent(&rig, &format!("bench-{n}"), rig.client.clone(), record);
                    script_turn(&rig);
                    let started = Instant::now();
                    let out = rig.tokio.block_on(agent.prompt(
                        "hash hello",
                        &mut |_| {},
                        &CancellationToken::new(),
                    ));
                    total += started.elapsed();
                    assert_eq!(out.end, TurnEnd::Answer("done".into()));
                }
                total
            })
        });
    }
    // Each exchange with the reply the turn got to it.
    for (name, request, reply) in [
        (
            "model_http_exchange_call",
            &requests[0],
            Reply::tool_calls(&[("c", "crypto-sha256", r#"{"data":"hello"}"#)]),
        ),
        (
            "model_http_exchange_answer",
            &requests[1],
            Reply::text("done"),
        ),
    ] {
        c.bench_function(name, |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    rig.server.push(reply.clone());
                    let started = Instant::now();
                    rig.tokio.block_on(rig.client.chat(request)).expect("chat");
                    total += started.elapsed();
                }
                total
            })
        });
    }
    c.bench_function("sandbox_sha256_call", |b| {
        let call = CallRequest::new("bench", "crypto", "sha256", r#"{"data":"hello"}"#);
        b.iter(|| rig.runtime.call_blocking(&call).expect("call"))
    });
}

fn write_results() {
    let (Some(turn), Some(quiet), Some(call_http), Some(answer_http), Some(tool)) = (
        report::median_ns("agent_turn_one_tool"),
        report::median_ns("agent_turn_one_tool_unrecorded"),
        report::median_ns("model_http_exchange_call"),
        report::median_ns("model_http_exchange_answer"),
        report::median_ns("sandbox_sha256_call"),
    ) else {
        eprintln!("no criterion estimates found; results not written");
        return;
    };
    let http = call_http + answer_http;
    let agent_only = (turn - http - tool).max(0.0);
    let agent_quiet = (quiet - http - tool).max(0.0);
    let body = format!(
        "## Agent (`cargo bench -p llmagent-core --bench agent`)\n\n\
         Machine: {}. Criterion medians, one run. A turn: model asks for `crypto sha256` (native \
         protocol) → the call runs in the sandbox → model answers; every event recorded (group durability).\n\n\
         | measurement | median | target |\n|---|---|---|\n\
         | whole turn with one tool round-trip (2 HTTP exchanges with the scripted server, 1 sandboxed call, 11 events) | {} | — |\n\
         | the turn's two HTTP exchanges, replayed alone with the agent's own requests (client, loopback, server) | {} + {} | — |\n\
         | the sandboxed `crypto sha256` call alone (`Runtime::call_blocking`, with its events) | {} | — |\n\
         | **agent overhead per tool round-trip** (turn − the 2 exchanges − call: prompt, sealing, history, tool dispatch, agent events) | **{}** | ≤ 1 ms |\n\
         | the same turn, the agent's own events not recorded (the sandbox's still are) | {} | — |\n\
         | agent overhead per tool round-trip without its events | {} | — |\n\
         | turn − call (agent overhead *with* the model's HTTP, model time ≈ 0) | {} | — |\n",
        report::machine(),
        report::fmt_ns(turn),
        report::fmt_ns(call_http),
        report::fmt_ns(answer_http),
        report::fmt_ns(tool),
        report::fmt_ns(agent_only),
        report::fmt_ns(quiet),
        report::fmt_ns(agent_quiet),
        report::fmt_ns(turn - tool),
    );
    report::write_section("agent", &body);
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(50).measurement_time(Duration::from_secs(5));
    targets = bench
}

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
    write_results();
}
