//! Many agents under one supervisor (`llmagent serve`'s core), against the
//! local scripted model server: 100 agents × 10 tool turns at once, and
//! agents alone (one at a time, 10 turns each), in one run. Each turn:
//! model asks for `crypto sha256` → the call runs in the sandbox → model
//! answers, every event recorded. The agent's overhead per tool round-trip
//! is the turn's time less its two HTTP exchanges and one sandboxed call,
//! each measured alone — the exchanges with the requests an agent sends at
//! that turn of its conversation (captured once), since the conversation,
//! and so each request, grows turn by turn. Writes the `serve` section of
//! `bench/RESULTS.md`.

#![allow(missing_docs, clippy::expect_used, clippy::unwrap_used)]

mod report;
mod rig;

use std::time::{Duration, Instant};

use llmagent_core::{CallRequest, StartRequest, Supervisor, SupervisorOptions};
use llmagent_policy::ToolProtocol;
use llmagent_tests::model_server::Reply;
use rig::{CALL, ROLE};

const AGENTS: usize = 100;
const TURNS: usize = 10;
/// Agents run alone, one after another, `TURNS` turns each.
const ALONE: usize = 20;

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

/// p50 and p99.
fn stats(mut xs: Vec<f64>) -> (f64, f64) {
    xs.sort_by(f64::total_cmp);
    (percentile(&xs, 0.5), percentile(&xs, 0.99))
}

async fn start(sup: &Supervisor, name: &str, base: &str) {
    sup.start(StartRequest {
        name: name.into(),
        role: Some(ROLE.into()),
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
            .prompt(&name, "hash hello", None, None)
            .await
            .expect("prompt");
        assert_eq!(outcome.tool_calls, 1, "{:?}", outcome.end);
        out.push(started.elapsed().as_nanos() as f64);
    }
    out
}

fn main() {
    let rig = rig::rig();
    // The parts alone: each turn's two exchanges (with the requests an
    // agent sends at that turn), one sandboxed call.
    let requests = rig.captured_requests(TURNS);
    let replies = rig::turn_replies();
    let http: Vec<f64> = requests
        .chunks(2)
        .map(|pair| {
            median(
                (0..50)
                    .map(|_| {
                        pair.iter()
                            .zip(&replies)
                            .map(|(request, reply)| rig.exchange(request, reply.clone()))
                            .sum::<Duration>()
                            .as_nanos() as f64
                    })
                    .collect(),
            )
        })
        .collect();
    let call = CallRequest::new(ROLE, "crypto", "sha256", CALL.2);
    let call = median(
        (0..200)
            .map(|_| {
                let t = Instant::now();
                rig.runtime.call_blocking(&call).expect("call");
                t.elapsed().as_nanos() as f64
            })
            .collect(),
    );
    // A turn's overhead: its time less its turn's exchanges and the call.
    let overheads = |times: &[Vec<f64>]| -> Vec<f64> {
        times
            .iter()
            .flat_map(|agent| {
                agent
                    .iter()
                    .zip(&http)
                    .map(|(t, h)| (t - h - call).max(0.0))
            })
            .collect()
    };

    rig.server.always(Reply::tool_turn(CALL, "done"));
    let base = rig.server.base_url();
    let tokio = &rig.tokio;
    let sup = Supervisor::new(
        rig.runtime.clone(),
        SupervisorOptions {
            events: Some(rig.events.clone()),
            ..SupervisorOptions::default()
        },
    );
    // Agents alone, one after another (the first, unmeasured, warms up).
    let alone: Vec<Vec<f64>> = tokio.block_on(async {
        start(&sup, "warm", &base).await;
        turns(sup.clone(), "warm".into(), TURNS).await;
        let mut all = Vec::new();
        for i in 0..ALONE {
            let name = format!("alone{i}");
            start(&sup, &name, &base).await;
            all.push(turns(sup.clone(), name, TURNS).await);
        }
        all
    });
    let rss_alone = peak_rss_mib();
    // 100 agents × 10 turns at once.
    let started = Instant::now();
    let many: Vec<Vec<f64>> = tokio.block_on(async {
        for i in 0..AGENTS {
            start(&sup, &format!("a{i}"), &base).await;
        }
        let tasks: Vec<_> = (0..AGENTS)
            .map(|i| tokio::spawn(turns(sup.clone(), format!("a{i}"), TURNS)))
            .collect();
        let mut all = Vec::new();
        for t in tasks {
            all.push(t.await.expect("task"));
        }
        all
    });
    let wall = started.elapsed().as_secs_f64();
    let rss_many = peak_rss_mib();

    let (a50, a99) = stats(alone.concat());
    let (ao50, ao99) = stats(overheads(&alone));
    let alone_turns = ALONE * TURNS;
    let alone_tput = alone_turns as f64 / (alone.concat().iter().sum::<f64>() / 1e9);
    let (m50, m99) = stats(many.concat());
    let (mo50, mo99) = stats(overheads(&many));
    let many_turns = AGENTS * TURNS;
    let many_tput = many_turns as f64 / wall;
    let body = format!(
        "## Many agents (`cargo bench -p llmagent-core --bench serve`)\n\n\
         Machine: {}. One run. The supervisor of `llmagent serve` (in process, no API), every \
         event recorded (group durability); each turn is one tool round-trip: model asks for \
         `crypto sha256` (native) → sandboxed call → model answers; each agent has {TURNS} turns, \
         so its conversation grows to {} messages. Overhead = turn − that turn's two HTTP \
         exchanges ({} at the first turn, {} at the last, replayed alone with an agent's own \
         requests) − the sandboxed call ({}); under load the exchanges and the call also wait \
         for the 2 cores, so the 100-agent overhead includes queueing.\n\n\
         | run | turns | p50 turn | p99 turn | p50 overhead | p99 overhead | throughput | peak RSS |\n\
         |---|---|---|---|---|---|---|---|\n\
         | {ALONE} agents alone, one after another | {alone_turns} | {} | {} | {} | {} | {:.0} round-trips/s | {:.0} MiB |\n\
         | {AGENTS} agents at once | {many_turns} | {} | {} | {} | {} | {:.0} round-trips/s | {:.0} MiB |\n",
        report::machine(),
        requests.last().map_or(0, |r| r.messages.len()) + 2,
        report::fmt_ns(http[0]),
        report::fmt_ns(http[TURNS - 1]),
        report::fmt_ns(call),
        report::fmt_ns(a50),
        report::fmt_ns(a99),
        report::fmt_ns(ao50),
        report::fmt_ns(ao99),
        alone_tput,
        rss_alone,
        report::fmt_ns(m50),
        report::fmt_ns(m99),
        report::fmt_ns(mo50),
        report::fmt_ns(mo99),
        many_tput,
        rss_many,
    );
    print!("{body}");
    report::write_section("serve", &body);
    tokio.block_on(sup.shutdown(Duration::from_secs(5)));
}
