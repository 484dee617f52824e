//! Many agents under one supervisor (`llmagent serve`'s core), against the
//! local scripted model server: 100 agents × 10 tool turns at once, and one
//! agent alone, in one run. Each turn: model asks for `crypto sha256` →
//! the call runs in the sandbox → model answers, every event recorded.
//! The agent's overhead per tool round-trip is the turn's time less two
//! HTTP exchanges and one sandboxed call, each measured alone. Writes the
//! `serve` section of `bench/RESULTS.md`.

#![allow(missing_docs, clippy::expect_used, clippy::unwrap_used)]

mod report;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use llmagent_core::{
    CallRequest, Runtime, RuntimeOptions, StartRequest, Supervisor, SupervisorOptions,
    builtin_names,
};
use llmagent_events::{EventStore, Events, StoreConfig};
use llmagent_llm::{ChatRequest, ClientConfig, LlmClient, Message, OpenAiClient};
use llmagent_policy::{Policy, ToolProtocol};
use llmagent_tests::model_server::{ModelServer, Reply};

const POLICY: &str = "version = 1\n[roles.bench]\ntools = [\"crypto\"]\n";
const AGENTS: usize = 100;
const TURNS: usize = 10;
const ALONE_TURNS: usize = 200;

/// Peak resident memory of this process so far, in MiB (`VmHWM`).
fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.split_whitespace().next()?.parse::<f64>().ok())
        })
        .map_or(0.0, |kib| kib / 1024.0)
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    percentile(&xs, 0.5)
}

async fn start(sup: &Supervisor, name: &str, base: &str) {
    sup.start(StartRequest {
        name: name.into(),
        role: Some("bench".into()),
        model: Some("scripted".into()),
        api_base: Some(base.into()),
        protocol: Some(ToolProtocol::Native),
    })
    .await
    .expect("start");
}

/// `turns` turns of agent `name`, one after another: each one's time in ns.
async fn turns(sup: Supervisor, name: String, turns: usize) -> Vec<f64> {
    let mut out = Vec::with_capacity(turns);
    for _ in 0..turns {
        let started = Instant::now();
        let outcome = sup
            .prompt(&name, "hash hi", None, None)
            .await
            .expect("prompt");
        assert_eq!(outcome.tool_calls, 1, "{:?}", outcome.end);
        out.push(started.elapsed().as_nanos() as f64);
    }
    out
}

fn main() {
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
    server.always(Reply::tool_turn(
        ("c1", "crypto-sha256", r#"{"data":"hi"}"#),
        "done",
    ));
    let base = server.base_url();
    let tokio = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio");

    // The parts alone: one HTTP exchange, one sandboxed call.
    let client = Arc::new(OpenAiClient::new(ClientConfig::new(&base)).expect("client"));
    let request = ChatRequest {
        model: "scripted".into(),
        messages: vec![Message::system("s"), Message::user("hash hi")],
        ..ChatRequest::default()
    };
    let http: Vec<f64> = (0..200)
        .map(|_| {
            let t = Instant::now();
            tokio.block_on(client.chat(&request)).expect("chat");
            t.elapsed().as_nanos() as f64
        })
        .collect();
    let call = CallRequest::new("bench", "crypto", "sha256", r#"{"data":"hi"}"#);
    let calls: Vec<f64> = (0..200)
        .map(|_| {
            let t = Instant::now();
            runtime.call_blocking(&call).expect("call");
            t.elapsed().as_nanos() as f64
        })
        .collect();
    let (http, call) = (median(http), median(calls));
    let parts = 2.0 * http + call;

    let sup = Supervisor::new(
        runtime,
        SupervisorOptions {
            events: Some(events),
            ..SupervisorOptions::default()
        },
    );
    // One agent alone.
    let alone = tokio.block_on(async {
        start(&sup, "alone", &base).await;
        turns(sup.clone(), "alone".into(), 10).await;
        turns(sup.clone(), "alone".into(), ALONE_TURNS).await
    });
    let rss_alone = peak_rss_mib();
    // 100 agents × 10 turns at once.
    let started = Instant::now();
    let many: Vec<f64> = tokio.block_on(async {
        for i in 0..AGENTS {
            start(&sup, &format!("a{i}"), &base).await;
        }
        let tasks: Vec<_> = (0..AGENTS)
            .map(|i| tokio::spawn(turns(sup.clone(), format!("a{i}"), TURNS)))
            .collect();
        let mut all = Vec::new();
        for t in tasks {
            all.extend(t.await.expect("task"));
        }
        all
    });
    let wall = started.elapsed().as_secs_f64();
    let rss_many = peak_rss_mib();

    let stats = |mut xs: Vec<f64>| {
        xs.sort_by(f64::total_cmp);
        (percentile(&xs, 0.5), percentile(&xs, 0.99))
    };
    let overhead = |x: f64| report::fmt_ns((x - parts).max(0.0));
    let (a50, a99) = stats(alone.clone());
    let alone_tput = ALONE_TURNS as f64 / (alone.iter().sum::<f64>() / 1e9);
    let (m50, m99) = stats(many.clone());
    let many_tput = many.len() as f64 / wall;
    let body = format!(
        "## Many agents (`cargo bench -p llmagent-core --bench serve`)\n\n\
         Machine: {}. One run. The supervisor of `llmagent serve` (in process, no API), every \
         event recorded (group durability); each turn is one tool round-trip: model asks for \
         `crypto sha256` (native) → sandboxed call → model answers. Overhead = turn − 2 × HTTP \
         exchange ({}) − sandboxed call ({}), both measured alone; under load the two exchanges \
         and the call also wait for the 2 cores, so the 100-agent overhead includes queueing.\n\n\
         | run | turns | p50 turn | p99 turn | p50 overhead | p99 overhead | throughput | peak RSS |\n\
         |---|---|---|---|---|---|---|---|\n\
         | one agent alone | {ALONE_TURNS} | {} | {} | {} | {} | {:.0} round-trips/s | {:.0} MiB |\n\
         | {AGENTS} agents × {TURNS} turns at once | {} | {} | {} | {} | {} | {:.0} round-trips/s | {:.0} MiB |\n",
        report::machine(),
        report::fmt_ns(http),
        report::fmt_ns(call),
        report::fmt_ns(a50),
        report::fmt_ns(a99),
        overhead(a50),
        overhead(a99),
        alone_tput,
        rss_alone,
        many.len(),
        report::fmt_ns(m50),
        report::fmt_ns(m99),
        overhead(m50),
        overhead(m99),
        many_tput,
        rss_many,
    );
    print!("{body}");
    report::write_section("serve", &body);
    tokio.block_on(sup.shutdown(Duration::from_secs(5)));
}
