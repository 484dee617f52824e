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
mod rig;

use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group};
use llmagent_core::CallRequest;
use rig::{ROLE, turn_replies};

fn bench(c: &mut Criterion) {
    let rig = rig::rig();
    // The two requests of a turn, as the agent sends them.
    let requests = rig.captured_requests(1);
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
                    let mut agent = rig.agent(&format!("bench-{n}"), rig.client.clone(), record);
                    let started = Instant::now();
                    rig.turn(&mut agent);
                    total += started.elapsed();
                }
                total
            })
        });
    }
    // Each exchange with the reply the turn got to it.
    let replies = turn_replies();
    for (name, request, reply) in [
        ("model_http_exchange_call", &requests[0], &replies[0]),
        ("model_http_exchange_answer", &requests[1], &replies[1]),
    ] {
        c.bench_function(name, |b| {
            b.iter_custom(|iters| {
                (0..iters)
                    .map(|_| rig.exchange(request, reply.clone()))
                    .sum()
            })
        });
    }
    c.bench_function("sandbox_sha256_call", |b| {
        let call = CallRequest::new(ROLE, "crypto", "sha256", r#"{"data":"hello"}"#);
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
