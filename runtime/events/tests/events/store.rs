//! Appending, the JSON form, clearing, reopening, ownership and spooling.

use std::time::{Duration, Instant};

use llmagent_events::{Context, Event, EventStore, EventsError, NewEvent, StoreConfig, StoreRole};
use serde_json::json;

use crate::{invocation, message, open};

#[test]
fn append_returns_the_stored_event_redacted() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let ctx = Context {
        request_id: Some("req_0000000000000001".into()),
        trace_id: Some("trace_0000000000000002".into()),
        correlation_id: None,
    };
    let got = store
        .append(
            NewEvent::new("tool.crypto", "invocation", json!({"agent_id": "a1", "action": "sign", "args": {"data": "x", "private_key": "c2VlZA=="}, "result": "ok", "duration_ms": 4}))
                .agent("a1")
                .source("sandbox")
                .context(ctx.clone()),
        )
        .unwrap();
    let expected = Event {
        v: 1,
        seq: 1,
        ts: got.ts.clone(),
        agent: Some("a1".into()),
        topic: "tool.crypto".into(),
        kind: "invocation".into(),
        source: "sandbox".into(),
        context: ctx,
        data: json!({"agent_id": "a1", "action": "sign", "args": {"data": "x", "private_key": "[redacted]"}, "result": "ok", "duration_ms": 4}),
    };
    assert_eq!(got, expected);
    assert_eq!(got.ts.len(), 27, "{}", got.ts);
    assert!(got.ts.ends_with('Z'));
    assert_eq!(store.get(1).unwrap(), Some(expected));
}

#[test]
fn json_form_omits_absent_fields() {
    let ev = Event {
        v: 1,
        seq: 7,
        ts: "2026-11-25T08:01:02.123456Z".into(),
        agent: None,
        topic: "tool.inotify.event".into(),
        kind: "fs_event".into(),
        source: "inotify".into(),
        context: Context::default(),
        data: json!({"watch_id": 1, "event": "CREATE", "path": "/tmp/x"}),
    };
    let text = serde_json::to_string(&ev).unwrap();
    assert_eq!(
        text,
        r#"{"v":1,"seq":7,"ts":"2026-11-25T08:01:02.123456Z","topic":"tool.inotify.event","kind":"fs_event","source":"inotify","data":{"event":"CREATE","path":"/tmp/x","watch_id":1}}"#
    );
    assert_eq!(serde_json::from_str::<Event>(&text).unwrap(), ev);
    let with_ctx = Event {
        context: Context {
            correlation_id: Some("req_1".into()),
            ..Context::default()
        },
        ..ev
    };
    assert!(
        serde_json::to_string(&with_ctx)
            .unwrap()
            .contains(r#""context":{"correlation_id":"req_1"}"#)
    );
}

#[test]
fn clear_agent_and_clear_keep_seq_monotonic() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    store
        .append_batch(vec![
            message("a", "user", "1"),
            message("b", "user", "2"),
            invocation("a", "fs", "read"),
        ])
        .unwrap();
    assert_eq!(store.clear_agent("a").unwrap(), 2);
    assert_eq!(store.messages_for("a").unwrap(), vec![]);
    assert_eq!(store.events_for("a", None).unwrap(), vec![]);
    assert_eq!(store.for_topic("tool.fs").unwrap(), vec![]);
    assert_eq!(
        store
            .all(10)
            .unwrap()
            .iter()
            .map(|e| e.seq)
            .collect::<Vec<_>>(),
        vec![2]
    );
    store.clear().unwrap();
    assert_eq!(store.all(10).unwrap(), vec![]);
    assert_eq!(store.stored_bytes(), 0);
    assert_eq!(store.append(message("a", "user", "3")).unwrap().seq, 4);
}

#[test]
fn reopen_keeps_everything_and_seq_continues() {
    let dir = tempfile::tempdir().unwrap();
    let before = {
        let store = EventStore::open(StoreConfig::new(dir.path())).unwrap();
        store
            .append_batch(
                (0..50)
                    .map(|i| message(if i % 2 == 0 { "a" } else { "b" }, "user", &i.to_string()))
                    .collect(),
            )
            .unwrap();
        store.clear_agent("b").unwrap();
        store.all(1000).unwrap()
    };
    let store = open(dir.path());
    assert_eq!(store.all(1000).unwrap(), before);
    assert_eq!(store.messages_for("a").unwrap(), before);
    assert_eq!(store.last_seq(), 50);
    assert_eq!(store.append(message("a", "user", "x")).unwrap().seq, 51);
    store.clear().unwrap();
    drop(store);
    assert_eq!(
        open(dir.path())
            .append(message("a", "user", "y"))
            .unwrap()
            .seq,
        52
    );
}

#[test]
fn a_second_owner_is_refused_and_a_spool_writer_is_ingested() {
    let dir = tempfile::tempdir().unwrap();
    let owner = open(dir.path());
    let err = EventStore::open(StoreConfig::new(dir.path()))
        .err()
        .unwrap();
    assert_eq!(err.code(), "events.locked");
    assert!(
        matches!(err, EventsError::Locked { holder: Some(pid), .. } if pid == std::process::id())
    );
    let guest = EventStore::open_or_spool(StoreConfig::new(dir.path())).unwrap();
    assert_eq!(guest.role(), StoreRole::SpoolWriter);
    assert_eq!(guest.all(1).unwrap_err().code(), "events.not_owner");
    let spooled = guest
        .append_batch(vec![
            message("g", "user", "hi"),
            invocation("g", "fs", "read"),
        ])
        .unwrap();
    assert_eq!(
        spooled.iter().map(|e| e.seq).collect::<Vec<_>>(),
        vec![0, 0]
    );
    owner.append(message("o", "user", "mine")).unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    while owner.events_for("g", None).unwrap().len() < 2 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    let got = owner.events_for("g", None).unwrap();
    let expected: Vec<Event> = spooled
        .iter()
        .zip([2, 3])
        .map(|(e, seq)| Event { seq, ..e.clone() })
        .collect();
    assert_eq!(got, expected);
    drop(guest);
    // The writer is gone: its file is deleted once read, and nothing is ingested twice.
    let deadline = Instant::now() + Duration::from_secs(5);
    while std::fs::read_dir(dir.path().join("spool")).unwrap().count() > 0
        && Instant::now() < deadline
    {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(
        std::fs::read_dir(dir.path().join("spool")).unwrap().count(),
        0
    );
    drop(owner);
    assert_eq!(open(dir.path()).all(10).unwrap().len(), 3);
}

#[test]
fn spooled_events_wait_for_the_next_owner() {
    let dir = tempfile::tempdir().unwrap();
    let owner = open(dir.path());
    let guest = EventStore::open_or_spool(StoreConfig::new(dir.path())).unwrap();
    drop(owner);
    guest
        .append(message("g", "user", "while nobody owns"))
        .unwrap();
    drop(guest);
    let owner = open(dir.path());
    assert_eq!(
        owner
            .messages_for("g")
            .unwrap()
            .iter()
            .map(|e| e.data["content"].clone())
            .collect::<Vec<_>>(),
        vec![json!("while nobody owns")]
    );
}

#[test]
fn retention_by_age_and_by_size() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = StoreConfig::new(dir.path());
    cfg.retention.max_age = Some(Duration::from_millis(300));
    let store = EventStore::open(cfg).unwrap();
    store
        .append_batch(
            (0..10)
                .map(|i| message("a", "user", &i.to_string()))
                .collect(),
        )
        .unwrap();
    std::thread::sleep(Duration::from_millis(400));
    let young = store.append(message("a", "user", "young")).unwrap();
    let report = store.enforce_retention().unwrap();
    assert_eq!((report.by_age, report.by_size), (10, 0));
    assert_eq!(store.all(100).unwrap(), vec![young.clone()]);
    assert_eq!(store.messages_for("a").unwrap(), vec![young]);
    drop(store);

    let dir = tempfile::tempdir().unwrap();
    let mut cfg = StoreConfig::new(dir.path());
    let store = EventStore::open(cfg.clone()).unwrap();
    let evs = store
        .append_batch(
            (0..100)
                .map(|i| message("a", "user", &format!("{i:04}")))
                .collect(),
        )
        .unwrap();
    let size = |e: &Event| serde_json::to_vec(e).unwrap().len() as u64;
    assert_eq!(store.stored_bytes(), evs.iter().map(size).sum::<u64>());
    let budget: u64 = evs[70..].iter().map(size).sum();
    drop(store);
    cfg.retention.max_bytes = Some(budget);
    let store = EventStore::open(cfg).unwrap();
    let report = store.enforce_retention().unwrap();
    assert_eq!(report.by_size, 70);
    assert_eq!(store.stored_bytes(), budget);
    assert_eq!(store.all(1000).unwrap(), evs[70..].to_vec());
}

#[test]
fn a_bad_spool_line_is_counted_and_skipped() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("spool")).unwrap();
    let good = serde_json::to_string(&Event {
        v: 1,
        seq: 0,
        ts: "2026-11-25T08:01:02.123456Z".into(),
        agent: Some("g".into()),
        topic: "agent.error".into(),
        kind: "error".into(),
        source: "agent".into(),
        context: Context::default(),
        data: json!({"reason": "timeout", "source": "llm_request"}),
    })
    .unwrap();
    std::fs::write(
        dir.path().join("spool/1-bad.jsonl"),
        format!("not json\n{good}\n{{\"partial"),
    )
    .unwrap();
    let store = open(dir.path());
    assert_eq!(store.failures(), 1);
    assert!(
        store.last_failure().unwrap().contains("bad line"),
        "{:?}",
        store.last_failure()
    );
    let got = store.all(10).unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!(
        (got[0].seq, got[0].ts.as_str(), got[0].topic.as_str()),
        (1, "2026-11-25T08:01:02.123456Z", "agent.error")
    );
    assert!(!dir.path().join("spool/1-bad.jsonl").exists());
}

/// Issue 16: a 70,000-character tool name from a model became a topic
/// longer than fjall's 64 KiB key limit, panicked inside the store and
/// closed it for the rest of the process.
#[test]
fn names_longer_than_a_key_are_stored_whole_and_found_and_the_store_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let name = "x".repeat(70_000);
    let topic = format!("tool.{name}");
    let agent = "a".repeat(70_000);
    let got = store
        .append(NewEvent::new(topic.clone(), "invocation", json!({"action": "go"})).agent(&agent))
        .unwrap();
    assert_eq!(
        (got.topic.len(), got.agent.as_ref().map(String::len)),
        (70_005, Some(70_000))
    );
    // A near twin differing only past the bound is another name.
    store
        .append(
            NewEvent::new(format!("{topic}y"), "invocation", json!({})).agent(format!("{agent}b")),
        )
        .unwrap();
    store
        .append(
            NewEvent::new(
                "agent.message",
                "message",
                json!({"role": "user", "content": "hi"}),
            )
            .agent(&agent),
        )
        .unwrap();
    let seqs = |events: Vec<Event>| events.iter().map(|e| e.seq).collect::<Vec<_>>();
    assert_eq!(seqs(store.for_topic(&topic).unwrap()), [1]);
    assert_eq!(seqs(store.events_for(&agent, None).unwrap()), [1, 3]);
    assert_eq!(seqs(store.messages_for(&agent).unwrap()), [3]);
    assert_eq!(store.get(1).unwrap(), Some(got));
    // Still open and recording.
    assert_eq!(
        store
            .append(NewEvent::new("agent.prompt", "prompt", json!({})))
            .unwrap()
            .seq,
        4
    );
}

/// A spool file holding a line longer than any writer may write (planted,
/// or garbage) is set aside as `.quarantined` — counted, not re-read
/// forever — and the events of the other spool files still arrive; a
/// writer refuses to write such a line.
#[test]
fn an_endless_spool_line_is_quarantined_and_the_rest_is_ingested() {
    let dir = tempfile::tempdir().unwrap();
    let spool = dir.path().join("spool");
    std::fs::create_dir_all(&spool).unwrap();
    std::fs::write(spool.join("1-planted.jsonl"), vec![b'x'; 5 << 20]).unwrap();
    let owner = open(dir.path());
    let guest = EventStore::open_or_spool(StoreConfig::new(dir.path())).unwrap();
    guest.append(message("g", "user", "still here")).unwrap();
    let huge = NewEvent::new(
        "agent.message",
        "message",
        json!({"content": "y".repeat(5 << 20)}),
    );
    assert_eq!(guest.append(huge).unwrap_err().code(), "events.storage");
    drop(guest);
    let deadline = Instant::now() + Duration::from_secs(5);
    while owner.messages_for("g").unwrap().is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(
        owner
            .messages_for("g")
            .unwrap()
            .iter()
            .map(|e| e.data["content"].clone())
            .collect::<Vec<_>>(),
        vec![json!("still here")]
    );
    assert!(spool.join("1-planted.quarantined").exists());
    assert!(!spool.join("1-planted.jsonl").exists());
    assert!(owner.failures() >= 1);
}
