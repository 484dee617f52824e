//! kill -9 in the middle of 100k sync-mode appends loses no acknowledged event.
//!
//! The test re-executes its own binary as the writer (selected by an
//! environment variable); the writer prints `ack <seq>` after each append
//! returns (after its fsync) and is killed with SIGKILL after a varying
//! number of acknowledgements.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use llmagent_events::{Durability, EventStore, NewEvent, StoreConfig};
use serde_json::json;

const CHILD_ENV: &str = "LLMAGENT_EVENTS_KILL_CHILD_DIR";

/// The writer; a no-op unless started by the test below.
#[test]
fn kill_child_writer() {
    let Ok(dir) = std::env::var(CHILD_ENV) else {
        return;
    };
    let mut cfg = StoreConfig::new(dir);
    cfg.durability = Durability::Sync;
    let store = EventStore::open(cfg).unwrap();
    for i in 0..100_000u64 {
        let ev = store
            .append(
                NewEvent::new(
                    "tool.fs",
                    "invocation",
                    json!({"i": i, "pad": "x".repeat(100)}),
                )
                .agent("w"),
            )
            .unwrap();
        println!("ack {} {i}", ev.seq);
    }
}

#[test]
fn sigkill_during_sync_appends_loses_no_acknowledged_event() {
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
        // Whatever was written, seqs are dense and agree with the index.
        let all = store.events_for("w", None).unwrap();
        assert_eq!(
            all.iter().map(|e| e.seq).collect::<Vec<_>>(),
            (1..=store.last_seq()).collect::<Vec<_>>()
        );
        // The byte count is checkpointed, not written per append: after a
        // SIGKILL the events past the checkpoint are counted again.
        let size = |e: &llmagent_events::Event| serde_json::to_vec(e).unwrap().len() as u64;
        assert_eq!(store.stored_bytes(), all.iter().map(size).sum::<u64>());
    }
}
