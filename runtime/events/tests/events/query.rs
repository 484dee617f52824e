//! Every query, ordering across agents, isolation, `since`.

use std::time::Duration;

use llmagent_events::{Event, NewEvent, Query};
use serde_json::json;

use crate::{invocation, message, open};

fn seqs(events: &[Event]) -> Vec<u64> {
    events.iter().map(|e| e.seq).collect()
}

/// 1 msg a, 2 msg b, 3 tool.fs a, 4 tool.inotify b, 5 tool.inotify.event -,
/// 6 msg ab, 7 policy a, 8 msg a — each in its own millisecond.
fn fill(store: &llmagent_events::EventStore) -> Vec<Event> {
    let evs = vec![
        message("a", "system", "be brief"),
        message("b", "user", "hi"),
        invocation("a", "fs", "read"),
        NewEvent::new("tool.inotify", "watch_started", json!({"watch_id": 1, "path": "/tmp"})).agent("b"),
        NewEvent::new("tool.inotify.event", "fs_event", json!({"watch_id": 1, "event": "CREATE", "path": "/tmp/x"})),
        message("ab", "user", "other agent"),
        NewEvent::new("policy.decision", "decision", json!({"capability": "fs", "operation": "read", "target": "/etc", "verdict": "deny", "rule": null})).agent("a"),
        message("a", "assistant", "done"),
    ];
    evs.into_iter()
        .map(|e| {
            std::thread::sleep(Duration::from_millis(2));
            store.append(e).unwrap()
        })
        .collect()
}

#[test]
fn every_query_is_exact_and_in_seq_order() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let all = fill(&store);
    let pick =
        |s: &[u64]| -> Vec<Event> { s.iter().map(|i| all[*i as usize - 1].clone()).collect() };

    assert_eq!(store.all(100).unwrap(), all);
    assert_eq!(store.all(3).unwrap(), pick(&[6, 7, 8]));
    assert_eq!(
        store.for_topic("agent.message").unwrap(),
        pick(&[1, 2, 6, 8])
    );
    assert_eq!(store.for_topic("tool.inotify").unwrap(), pick(&[4]));
    assert_eq!(store.for_topic("tool").unwrap(), vec![]);
    assert_eq!(store.for_topic_prefix("tool.").unwrap(), pick(&[3, 4, 5]));
    assert_eq!(
        store.for_topic_prefix("tool.inotify").unwrap(),
        pick(&[4, 5])
    );
    assert_eq!(store.for_type("message").unwrap(), pick(&[1, 2, 6, 8]));
    assert_eq!(store.for_type("decision").unwrap(), pick(&[7]));
    assert_eq!(store.for_type("nope").unwrap(), vec![]);
    assert_eq!(store.events_for("a", None).unwrap(), pick(&[1, 3, 7, 8]));
    assert_eq!(store.events_for("ab", None).unwrap(), pick(&[6]));
    assert_eq!(store.events_for("nobody", None).unwrap(), vec![]);
    assert_eq!(store.messages_for("a").unwrap(), pick(&[1, 8]));
    assert_eq!(store.messages_for("b").unwrap(), pick(&[2]));
    assert_eq!(store.messages_for("nobody").unwrap(), vec![]);
    assert_eq!(store.after_seq(5, 2).unwrap(), pick(&[6, 7]));
    assert_eq!(store.after_seq(8, 10).unwrap(), vec![]);

    // since is strictly later: the event at exactly that instant is excluded.
    assert_eq!(store.since(&all[3].ts).unwrap(), pick(&[5, 6, 7, 8]));
    assert_eq!(store.since(&all[7].ts).unwrap(), vec![]);
    assert_eq!(store.since("2000-01-01T00:00:00Z").unwrap(), all);
    assert_eq!(
        store.events_for("a", Some(&all[2].ts)).unwrap(),
        pick(&[7, 8])
    );
    assert_eq!(
        store.since("not a time").unwrap_err().code(),
        "events.invalid_timestamp"
    );

    let q = |q: Query| store.query(&q).unwrap();
    assert_eq!(
        seqs(&q(Query {
            agent: Some("a".into()),
            kind: Some("message".into()),
            ..Query::default()
        })),
        vec![1, 8]
    );
    assert_eq!(
        seqs(&q(Query {
            agent: Some("b".into()),
            prefix: Some("tool.".into()),
            ..Query::default()
        })),
        vec![4]
    );
    assert_eq!(
        seqs(&q(Query {
            prefix: Some("agent.".into()),
            limit: Some(2),
            ..Query::default()
        })),
        vec![1, 2]
    );
    assert_eq!(
        seqs(&q(Query {
            prefix: Some("agent.".into()),
            limit: Some(2),
            tail: true,
            ..Query::default()
        })),
        vec![6, 8]
    );
    assert_eq!(
        seqs(&q(Query {
            topic: Some("agent.message".into()),
            after_seq: Some(2),
            limit: Some(1),
            ..Query::default()
        })),
        vec![6]
    );
    assert_eq!(
        seqs(&q(Query {
            agent: Some("a".into()),
            topic: Some("agent.message".into()),
            tail: true,
            limit: Some(1),
            ..Query::default()
        })),
        vec![8]
    );
    assert_eq!(
        seqs(&q(Query {
            since: Some(all[0].ts.clone()),
            kind: Some("message".into()),
            limit: Some(2),
            ..Query::default()
        })),
        vec![2, 6]
    );
    assert_eq!(
        seqs(&q(Query {
            limit: Some(0),
            ..Query::default()
        })),
        Vec::<u64>::new()
    );
}

#[test]
fn seq_orders_events_of_concurrent_agents() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    std::thread::scope(|s| {
        for agent in ["x", "y", "z"] {
            let store = store.clone();
            s.spawn(move || {
                for i in 0..50 {
                    store
                        .append(message(agent, "user", &i.to_string()))
                        .unwrap();
                }
            });
        }
    });
    let all = store.all(1000).unwrap();
    assert_eq!(seqs(&all), (1..=150).collect::<Vec<_>>());
    for agent in ["x", "y", "z"] {
        let mine = store.messages_for(agent).unwrap();
        let contents: Vec<_> = mine
            .iter()
            .map(|e| e.data["content"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(contents, (0..50).map(|i| i.to_string()).collect::<Vec<_>>());
        assert!(mine.iter().all(|e| e.agent.as_deref() == Some(agent)));
        assert!(mine.windows(2).all(|w| w[0].seq < w[1].seq));
    }
}

#[test]
fn agents_sharing_a_name_prefix_are_isolated() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    for agent in ["a", "a\0b", "ab", "a.b"] {
        store.append(message(agent, "user", agent)).unwrap();
    }
    for agent in ["a", "a\0b", "ab", "a.b"] {
        let got = store.messages_for(agent).unwrap();
        assert_eq!(got.len(), 1, "{agent:?}");
        assert_eq!(got[0].data["content"], json!(agent));
        assert_eq!(store.events_for(agent, None).unwrap(), got);
    }
    assert_eq!(store.clear_agent("a").unwrap(), 1);
    assert_eq!(store.all(10).unwrap().len(), 3);
}

#[test]
fn a_new_session_keeps_old_messages_but_the_conversation_starts_after_it() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    store.append(message("a", "user", "old question")).unwrap();
    store.append(message("b", "user", "other agent")).unwrap();
    assert_eq!(seqs(&store.conversation_for("a").unwrap()), vec![1]);
    store
        .append(NewEvent::new("agent.session", "new_session", json!({"agent_id": "a"})).agent("a"))
        .unwrap();
    let fresh = store.append(message("a", "user", "new question")).unwrap();
    assert_eq!(seqs(&store.conversation_for("a").unwrap()), vec![fresh.seq]);
    assert_eq!(seqs(&store.messages_for("a").unwrap()), vec![1, fresh.seq]);
    assert_eq!(seqs(&store.conversation_for("b").unwrap()), vec![2]);
}
