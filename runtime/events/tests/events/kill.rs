//! kill -9 in the middle of 100k appends loses no acknowledged event, and
//! every query still finds every event.
//!
//! The test re-executes its own binary as the writer (selected by an
//! environment variable); the writer prints `ack <seq>` after each append
//! returns (in sync mode after its fsync, in group mode after the write to
//! the OS, which a SIGKILL does not undo) and is killed with SIGKILL after a
//! varying number of acknowledgements.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use llmagent_events::{Durability, EventStore, NewEvent, StoreConfig};
use serde_json::json;

const CHILD_ENV: &str = "LLMAGENT_EVENTS_KILL_CHILD_DIR";
const MODE_ENV: &str = "LLMAGENT_EVENTS_KILL_MODE";

/// Group mode whose syncer never runs before the kill: every event's index
/// entries are still queued when the writer dies, so the reopened store
/// must write all of them from the primary records.
const GROUP_NEVER_SYNCED: Durability = Durability::Group {
    max_delay: Duration::from_secs(3600),
    max_events: usize::MAX,
};

/// The writer; a no-op unless started by the tests below. Every third
/// event is a message, so that the covering index is rebuilt too.
#[test]
fn kill_child_writer() {
    let Ok(dir) = std::env::var(CHILD_ENV) else {
        return;
    };
    let mut cfg = StoreConfig::new(dir);
    cfg.durability = match std::env::var(MODE_ENV).as_deref() {
        Ok("group") => GROUP_NEVER_SYNCED,
        _ => Durability::Sync,
    };
    let store = EventStore::open(cfg).unwrap();
    for i in 0..100_000u64 {
        let (topic, kind) = if i % 3 == 0 {
            ("agent.message", "message")
        } else {
            ("tool.fs", "invocation")
        };
        let ev = store
            .append(NewEvent::new(topic, kind, json!({"i": i, "pad": "x".repeat(100)})).agent("w"))
            .unwrap();
        println!("ack {} {i}", ev.seq);
    }
}

#[test]
fn sigkill_during_sync_appends_loses_no_acknowledged_event() {
    kill_writers("sync");
}

/// Group mode writes index entries after the event (see `index.rs`): a
/// kill leaves them unwritten, and the next open writes them.
#[test]
fn sigkill_during_group_appends_loses_no_event_and_no_index_entry() {
    kill_writers("group");
}

fn kill_writers(mode: &str) {
    let dir = tempfile::tempdir().unwrap();
    let exe = std::env::current_exe().unwrap();
    let mut acked: Vec<(u64, u64)> = Vec::new();
    for (run, kill_after) in [150usize, 400, 60, 900].into_iter().enumerate() {
        let mut child = Command::new(&exe)
            .args([
                "--exact",
                "kill::kill_child_writer",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD_ENV, dir.path())
            .env(MODE_ENV, mode)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let mut seen = 0;
        let mut run_acks = Vec::new();
        for line in lines.by_ref() {
            let line = line.unwrap();
            if let Some(rest) = line.strip_prefix("ack ") {
                let (seq, i) = rest.split_once(' ').unwrap();
                run_acks.push((seq.parse().unwrap(), i.parse().unwrap()));
                seen += 1;
                if seen == kill_after {
                    child.kill().unwrap(); // SIGKILL
                    break;
                }
            }
        }
        // Acknowledgements already in the pipe count too.
        for line in lines.map_while(Result::ok) {
            if let Some(rest) = line.strip_prefix("ack ") {
                let (seq, i) = rest.split_once(' ').unwrap();
                run_acks.push((seq.parse().unwrap(), i.parse().unwrap()));
            }
        }
        child.wait().unwrap();
        assert!(
            run_acks.len() >= kill_after,
            "run {run}: only {} acks",
            run_acks.len()
        );
        acked.extend(run_acks);

        let store = EventStore::open(StoreConfig::new(dir.path())).unwrap();
        for &(seq, i) in &acked {
            let ev = store
                .get(seq)
                .unwrap()
                .unwrap_or_else(|| panic!("run {run}: acknowledged seq {seq} lost"));
            assert_eq!(ev.data["i"], json!(i), "run {run}: seq {seq}");
        }
        // Whatever was written, seqs are dense and agree with every index.
        let all = store.events_for("w", None).unwrap();
        let dense: Vec<u64> = (1..=store.last_seq()).collect();
        assert_eq!(all.iter().map(|e| e.seq).collect::<Vec<_>>(), dense);
        let messages: Vec<_> = all
            .iter()
            .filter(|e| e.topic == "agent.message")
            .cloned()
            .collect();
        assert_eq!(store.messages_for("w").unwrap(), messages);
        assert_eq!(store.for_type("message").unwrap(), messages);
        let since_epoch = store.since("1970-01-01T00:00:00Z").unwrap();
        assert_eq!(since_epoch, all);
        // The byte count is checkpointed, not written per append: after a
        // SIGKILL the events past the checkpoint are counted again.
        let size = |e: &llmagent_events::Event| serde_json::to_vec(e).unwrap().len() as u64;
        assert_eq!(store.stored_bytes(), all.iter().map(size).sum::<u64>());
    }
}
