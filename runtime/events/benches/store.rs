//! Event store benchmarks (issue 3, item 10).
//!
//! Criterion measures single and batched appends in both durability modes;
//! then a report phase measures the table of `bench/RESULTS.md` in the same
//! run: sustained append throughput, `messages_for` on an agent holding
//! 100k of 1M events, and reopen time after 1M events; and, for scale,
//! fjall alone writing the same records and entries. It rewrites only the
//! part of RESULTS.md between `<!-- events:start -->` and `<!-- events:end -->`.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use criterion::{BatchSize, Criterion, Throughput};
use llmagent_events::{Durability, EventStore, NewEvent, StoreConfig};
use serde_json::json;

#[path = "../../core/benches/report/mod.rs"]
mod report;

const GROUP: Durability = Durability::Group {
    max_delay: Duration::from_millis(5),
    max_events: 1000,
};

fn open(dir: &std::path::Path, durability: Durability) -> EventStore {
    let mut cfg = StoreConfig::new(dir);
    cfg.durability = durability;
    EventStore::open(cfg).unwrap()
}

/// A typical event of ~230 bytes of JSON.
fn event(agent: &str, i: u64) -> NewEvent {
    if i.is_multiple_of(4) {
        NewEvent::new(
            "agent.message",
            "message",
            json!({"agent_id": agent, "role": "assistant", "content": format!("reply {i}: the disk is 42% full, nothing to do")}),
        )
        .agent(agent)
        .source("agent")
    } else {
        NewEvent::new(
            "tool.fs",
            "invocation",
            json!({"agent_id": agent, "action": "read", "args": {"path": format!("/var/log/app/{i}.log")}, "result": "ok", "duration_ms": 3}),
        )
        .agent(agent)
        .source("sandbox")
    }
}

fn criterion_benches(c: &mut Criterion) {
    for (name, durability) in [("group", GROUP), ("sync", Durability::Sync)] {
        let dir = tempfile::tempdir().unwrap();
        let store = open(dir.path(), durability);
        let mut g = c.benchmark_group(format!("append/{name}"));
        if name == "sync" {
            g.sample_size(10).measurement_time(Duration::from_secs(3));
        }
        g.throughput(Throughput::Elements(1));
        let mut i = 0;
        g.bench_function("single", |b| {
            b.iter(|| {
                i += 1;
                store.append(event("a", i)).unwrap()
            })
        });
        g.throughput(Throughput::Elements(1000));
        g.bench_function("batch_1000", |b| {
            b.iter_batched(
                || (0..1000).map(|k| event("a", k)).collect::<Vec<_>>(),
                |batch| store.append_batch(batch).unwrap(),
                BatchSize::SmallInput,
            )
        });
        g.finish();
    }
}

fn rate(n: u64, d: Duration) -> f64 {
    n as f64 / d.as_secs_f64()
}

/// " — met" or " — missed", after a result with a target.
fn verdict(met: bool) -> &'static str {
    if met { " — met" } else { " — missed" }
}

fn fmt_rate(r: f64) -> String {
    if r >= 10_000.0 {
        format!("{:.0}k events/s", r / 1000.0)
    } else {
        format!("{r:.0} events/s")
    }
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

/// Appends per second, one at a time and in batches of 1000, each into a
/// fresh store, of events built before the clock starts
/// (building an event is its emitter's cost, not the store's).
fn throughput(durability: Durability, single_n: u64, batch_n: u64) -> (f64, f64) {
    let batches = |n: u64| -> Vec<Vec<NewEvent>> {
        (0..n / 1000)
            .map(|b| (0..1000).map(|k| event("a", b * 1000 + k)).collect())
            .collect()
    };
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path(), durability);
    let events: Vec<NewEvent> = batches(single_n).into_iter().flatten().collect();
    let t = Instant::now();
    for e in events {
        store.append(e).unwrap();
    }
    // Until every event's index entries are written too (group mode
    // writes them after the event) and the journal is on disk.
    store.sync().unwrap();
    let single = rate(single_n, t.elapsed());
    drop(store);
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path(), durability);
    let batches = batches(batch_n);
    let t = Instant::now();
    for b in batches {
        store.append_batch(b).unwrap();
    }
    store.sync().unwrap();
    (single, rate(batch_n, t.elapsed()))
}

/// What the store's own code costs, by difference: fjall alone writing
/// what the store writes for the same 300k events, with nothing of ours
/// in the loop. Each event's record (~230 B of JSON, as the store encodes
/// it) is committed and written to the OS one at a time or 1000 at a time,
/// and its entries — topic, time and agent keys of the store's sizes, each
/// kind in its own keyspace, plus a covering copy for every 4th event —
/// are queued for a second thread that writes them every 5 ms; the clock
/// stops after the last entry is written and the journal synced.
fn engine_floor() -> (String, String) {
    type Entry = (usize, Vec<u8>, Vec<u8>);
    let run = |batch: usize| -> String {
        let n = 300_000usize;
        let dir = tempfile::tempdir().unwrap();
        let db = fjall::Database::builder(dir.path().join("db"))
            .max_journaling_size(64 << 20)
            .open()
            .unwrap();
        let spaces: Vec<fjall::Keyspace> = ["events", "index", "by_time", "by_agent", "messages"]
            .into_iter()
            .map(|name| {
                db.keyspace(name, || {
                    fjall::KeyspaceCreateOptions::default()
                        .filter_policy(fjall::config::FilterPolicy::disabled())
                })
                .unwrap()
            })
            .collect();
        let records: Vec<Vec<u8>> = (0..n)
            .map(|i| {
                let seq = i as u64 + 1;
                let ev = event("a", seq);
                serde_json::to_vec(&json!({"v": 1, "seq": seq, "ts": "2026-12-05T00:00:00.000000Z",
                    "agent": ev.agent, "topic": ev.topic, "kind": ev.kind, "source": ev.source, "data": ev.data}))
                .unwrap()
            })
            .collect();
        let entries: Arc<Vec<Vec<Entry>>> = Arc::new(
            records
                .iter()
                .enumerate()
                .map(|(i, json)| {
                    let seq = (i as u64 + 1).to_be_bytes();
                    let key = |tag: &[u8], s: &[u8]| [tag, s, &[0], &seq].concat();
                    let (topic, kind): (&[u8], &[u8]) = if i % 4 == 3 {
                        (b"agent.message", b"message")
                    } else {
                        (b"tool.fs", b"invocation")
                    };
                    let micros = (1_795_593_662_000_000u64 + i as u64) ^ (1 << 63);
                    let mut out = vec![
                        (1, key(b"t", topic), kind.to_vec()),
                        (
                            2,
                            [&b"s"[..], &micros.to_be_bytes(), &seq].concat(),
                            Vec::new(),
                        ),
                        (3, key(b"a", b"a"), Vec::new()),
                    ];
                    if i % 4 == 3 {
                        out.push((4, [&b"a"[..], &[0], &seq].concat(), json.clone()));
                    }
                    out
                })
                .collect(),
        );
        let queue = Arc::new(Mutex::new(Vec::<usize>::new()));
        let write_queue = {
            let (db, spaces, queue, entries) = (
                db.clone(),
                spaces.clone(),
                Arc::clone(&queue),
                Arc::clone(&entries),
            );
            move || {
                let taken = std::mem::take(&mut *queue.lock().unwrap());
                let mut b = db.batch().durability(Some(fjall::PersistMode::Buffer));
                for i in taken {
                    for (ks, k, v) in &entries[i] {
                        b.insert(&spaces[*ks], k.as_slice(), v.as_slice());
                    }
                }
                b.commit().unwrap();
            }
        };
        let stop = Arc::new(AtomicBool::new(false));
        let started = Instant::now();
        let syncer = {
            let (stop, write_queue) = (Arc::clone(&stop), write_queue.clone());
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    std::thread::sleep(Duration::from_millis(5));
                    write_queue();
                }
            })
        };
        for (c, chunk) in records.chunks(batch).enumerate() {
            let mut b = db.batch().durability(Some(fjall::PersistMode::Buffer));
            for (k, json) in chunk.iter().enumerate() {
                let seq = (c * batch + k) as u64 + 1;
                b.insert(&spaces[0], seq.to_be_bytes(), json.as_slice());
            }
            b.commit().unwrap();
            queue
                .lock()
                .unwrap()
                .extend(c * batch..c * batch + chunk.len());
        }
        stop.store(true, Ordering::Relaxed);
        syncer.join().unwrap();
        write_queue();
        db.persist(fjall::PersistMode::SyncData).unwrap();
        fmt_rate(rate(n as u64, started.elapsed()))
    };
    (run(1), run(1000))
}

fn report() -> String {
    let (g1_rate, gb_rate) = throughput(GROUP, 300_000, 300_000);
    let (g1, gb) = (fmt_rate(g1_rate), fmt_rate(gb_rate));
    let (s1, sb) = throughput(Durability::Sync, 2_000, 100_000);
    let (s1, sb) = (fmt_rate(s1), fmt_rate(sb));
    let (f1, fb) = engine_floor();

    // 1M events: agent "mixed" holds 100k (25k of them messages), agent
    // "chatty" holds 100k messages, 800k belong to 80 other agents.
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path(), GROUP);
    let fill = Instant::now();
    for b in 0..1000u64 {
        let batch = (0..1000u64)
            .map(|k| {
                let i = b * 1000 + k;
                match i % 10 {
                    0 => event("mixed", i / 10),
                    1 => event("chatty", 0),
                    _ => event(&format!("agent{}", i % 80), i),
                }
            })
            .collect();
        store.append_batch(batch).unwrap();
    }
    store.sync().unwrap();
    let fill = fill.elapsed();
    let best = |f: &dyn Fn() -> usize| {
        (0..5)
            .map(|_| {
                let t = Instant::now();
                let n = f();
                (t.elapsed(), n)
            })
            .min()
            .unwrap()
    };
    let (mixed, mixed_n) = best(&|| store.messages_for("mixed").unwrap().len());
    let (chatty, chatty_n) = best(&|| store.messages_for("chatty").unwrap().len());
    let (events_for, events_n) = best(&|| store.events_for("mixed", None).unwrap().len());
    assert_eq!((mixed_n, chatty_n, events_n), (25_000, 100_000, 100_000));
    // A clean close flushes the memtables (so that the next open has no
    // journal to replay): that cost is the close's, reported beside.
    let close = Instant::now();
    drop(store);
    let close = close.elapsed();
    let reopen = (0..3)
        .map(|_| {
            let t = Instant::now();
            let s = open(dir.path(), GROUP);
            let d = t.elapsed();
            assert_eq!(s.last_seq(), 1_000_000);
            d
        })
        .min()
        .unwrap();

    let machine = report::machine();
    format!(
        "## Event store (`cargo bench -p llmagent-events`)\n\n\
         Machine: {}. Events of ~230 B JSON, built before the clock starts; each is a primary record plus 3 index entries, each kind in a keyspace of its own (plus a covering copy for `agent.message`), which group mode writes after the event, in batches, on the syncer thread (sync mode: in the event's own batch). In group mode single and batched appends write the same 300k events, each into a fresh store; every rate and the 1M fill count until the last event's index entries are written and the journal is synced (a final `sync`); the fill includes memtable flushes and compaction.\n\n\
         | measurement | result | target |\n|---|---|---|\n\
         | append, group mode (5 ms / 1000 events), one at a time | {g1}{} | ≥ 300k/s |\n\
         | append, group mode, batches of 1000 | {gb}{} | ≥ 300k/s |\n\
         | for scale: fjall alone writing the same records and entries, one at a time | {f1} | — |\n\
         | for scale: fjall alone, batches of 1000 | {fb} | — |\n\
         | append, sync mode (fdatasync per append), one at a time | {s1} | — |\n\
         | append, sync mode, batches of 1000 | {sb} | — |\n\
         | fill 1M events (group, batches of 1000) | {} | — |\n\
         | `messages_for` agent with 100k of 1M events, 25k of them messages | {}{} | ≤ 50 ms |\n\
         | `messages_for` agent with 100k messages of 1M events | {} | — |\n\
         | `events_for` agent with 100k of 1M events | {} | — |\n\
         | clean close after the 1M fill (flushes the memtables) | {} | — |\n\
         | reopen after 1M events and a clean close (best of 3) | {}{} | ≤ 1 s |\n",
        machine,
        verdict(g1_rate >= 300_000.0),
        verdict(gb_rate >= 300_000.0),
        ms(fill),
        ms(mixed),
        verdict(mixed <= Duration::from_millis(50)),
        ms(chatty),
        ms(events_for),
        ms(close),
        ms(reopen),
        verdict(reopen <= Duration::from_secs(1)),
    )
}

fn main() {
    let mut c = Criterion::default()
        .output_directory(&report::criterion_dir())
        .configure_from_args();
    criterion_benches(&mut c);
    c.final_summary();
    if std::env::args().any(|a| a == "--bench") {
        let section = report();
        print!("{section}");
        report::write_section("events", &section);
    }
}
