//! What the sandbox puts on record, through the real runtime into a real
//! event store: decisions, invocations with `duration_ms`, traps, the
//! caller's request context, and redacted secrets.

use host_capabilities::{Decision, Sink, Unrecorded};
use llmagent_core::CallRequest;
use llmagent_events::{Context, Event, Scope, with_scope};
use serde_json::{Value, json};

use crate::harness::Env;

const POLICY: &str = r#"
version = 1
[tools.testbed]
path = "{testbed}"
[roles.ops]
tools = ["crypto", "file.read", "testbed"]
timeout_ms = 200
[roles.ops.fs]
read = ["{dir}/allowed/**"]
"#;

/// `(topic, kind, data)` of each event, for whole-value comparison.
fn summary(events: &[Event]) -> Vec<(String, String, Value)> {
    events
        .iter()
        .map(|e| (e.topic.clone(), e.kind.clone(), e.data.clone()))
        .collect()
}

fn call_in_turn(env: &Env, agent: &str, request: CallRequest) -> Context {
    let context = Context::new_request();
    let scope = Scope {
        agent: Some(agent.to_owned()),
        context: context.clone(),
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(with_scope(scope, env.runtime.call(request)))
        .unwrap();
    context
}

#[test]
fn a_call_records_its_decision_and_invocation_with_the_turns_context() {
    let env = Env::new(POLICY);
    let ctx = call_in_turn(
        &env,
        "helper",
        CallRequest::new("ops", "crypto", "sha256", r#"{"data":"hello"}"#),
    );
    let events = env.events();
    let mut got = summary(&events);
    let duration = got[1].2["duration_ms"].take();
    assert!(
        duration.is_u64(),
        "duration_ms must be an integer: {duration}"
    );
    got[1].2["duration_ms"] = json!(0);
    assert_eq!(
        got,
        vec![
            (
                "policy.decision".into(),
                "decision".into(),
                json!({"tool": "crypto", "operation": "sha256", "target": "", "verdict": "allow",
                       "rule": "[roles.ops].tools \"crypto\""}),
            ),
            (
                "tool.crypto".into(),
                "invocation".into(),
                json!({"agent_id": "helper", "action": "sha256", "args": {"data": "hello"},
                       "result": "ok", "duration_ms": 0}),
            ),
        ]
    );
    for e in &events {
        assert_eq!(e.agent.as_deref(), Some("helper"));
        assert_eq!(e.context, ctx);
        assert_eq!(e.source, "sandbox");
    }
}

#[test]
fn a_capability_denial_is_recorded_with_the_key_that_would_allow_it() {
    let env = Env::new(POLICY);
    call_in_turn(
        &env,
        "helper",
        CallRequest::new("ops", "file", "read", r#"{"path":"/etc/shadow"}"#),
    );
    let events = env.events();
    let denial = events
        .iter()
        .find(|e| e.topic == "policy.decision" && e.data.get("capability").is_some())
        .expect("a capability decision");
    assert_eq!(
        denial.data,
        json!({"capability": "fs", "operation": "read", "target": "/etc/shadow", "verdict": "deny",
               "rule": null, "hint": "add \"/etc/shadow\" (or a glob matching it) to [roles.ops.fs].read"})
    );
    let invocation = events
        .iter()
        .find(|e| e.topic == "tool.file")
        .expect("invocation");
    assert_eq!(invocation.data["result"], json!("error"));
    assert_eq!(invocation.data["error"]["reason"], json!("denied"));
}

#[test]
fn a_trap_is_recorded_as_tool_trap() {
    let env = Env::new(POLICY);
    call_in_turn(
        &env,
        "helper",
        CallRequest::new("ops", "testbed", "spin", "{}"),
    );
    let trap = env
        .events()
        .into_iter()
        .find(|e| e.topic == "tool.trap")
        .expect("a tool.trap event");
    assert_eq!(
        trap.data,
        json!({"tool": "testbed", "action": "spin", "reason": "timeout",
               "message": "the tool did not finish within 200 ms and was stopped"})
    );
}

#[test]
fn a_refused_tool_is_recorded_as_a_deny_decision() {
    let env = Env::new(POLICY);
    call_in_turn(
        &env,
        "helper",
        CallRequest::new("ops", "file", "write", r#"{"path":"/x","content":"y"}"#),
    );
    let got = summary(&env.events());
    assert_eq!(
        got[0],
        (
            "policy.decision".into(),
            "decision".into(),
            json!({"tool": "file", "operation": "write", "target": "", "verdict": "deny", "rule": null,
                   "hint": "add \"file.write\" to [roles.ops].tools"}),
        )
    );
    assert_eq!(got[1].2["error"]["reason"], json!("tool_not_permitted"));
}

#[test]
fn secrets_in_arguments_are_redacted_in_the_store() {
    let env = Env::new(POLICY);
    call_in_turn(
        &env,
        "helper",
        CallRequest::new("ops", "crypto", "hmac", r#"{"key":"hunter2","data":"x"}"#),
    );
    let invocation = env
        .events()
        .into_iter()
        .find(|e| e.topic == "tool.crypto")
        .unwrap();
    assert_eq!(
        invocation.data["args"],
        json!({"key": "[redacted]", "data": "x"})
    );
}

/// A small tmpfs mounted for one test and unmounted when dropped: a
/// filesystem the test can fill. Needs root (mount).
struct SmallFs {
    dir: tempfile::TempDir,
}

impl SmallFs {
    fn mount(size: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let out = std::process::Command::new("mount")
            .args([
                "-t",
                "tmpfs",
                "-o",
                &format!("size={size},mode=0700"),
                "tmpfs",
            ])
            .arg(dir.path())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "mount -t tmpfs as root: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Self { dir }
    }

    fn path(&self) -> &std::path::Path {
        self.dir.path()
    }

    /// Writes zeros into `filler` until the filesystem is full.
    fn fill(&self) {
        fill(self.path());
    }
}

/// Writes zeros into `dir/filler` until its filesystem is full.
fn fill(dir: &std::path::Path) {
    use std::io::Write;
    let mut f = std::fs::File::create(dir.join("filler")).unwrap();
    let chunk = vec![0u8; 64 * 1024];
    while f.write_all(&chunk).is_ok() {}
    let _ = f.sync_all();
}

impl Drop for SmallFs {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg("-l")
            .arg(self.dir.path())
            .status();
    }
}

/// A runtime over `policy` recording into a store on a small filesystem.
fn on_a_small_fs(policy: &str) -> (SmallFs, llmagent_core::Runtime, llmagent_events::EventStore) {
    on_a_small_fs_with(policy, no_sink)
}

/// [`on_a_small_fs`] with the embedder's decision sink `sink(fs, events)`.
fn on_a_small_fs_with(
    policy: &str,
    sink: impl FnOnce(&std::path::Path, &llmagent_events::Events) -> std::sync::Arc<dyn Sink>,
) -> (SmallFs, llmagent_core::Runtime, llmagent_events::EventStore) {
    let fs = SmallFs::mount("8m");
    std::fs::create_dir(fs.path().join("allowed")).unwrap();
    std::fs::write(fs.path().join("allowed/file"), "x").unwrap();
    let policy_path = fs.path().join("policy.toml");
    std::fs::write(
        &policy_path,
        policy
            .replace(
                "{testbed}",
                &crate::harness::testbed_path().display().to_string(),
            )
            .replace("{dir}", &fs.path().display().to_string()),
    )
    .unwrap();
    let (rt, store) = runtime_in(fs.path(), sink);
    (fs, rt, store)
}

/// A runtime over `dir/policy.toml` recording into `dir/events` (opened
/// here), with the embedder's decision sink `sink(dir, events)`.
fn runtime_in(
    dir: &std::path::Path,
    sink: impl FnOnce(&std::path::Path, &llmagent_events::Events) -> std::sync::Arc<dyn Sink>,
) -> (llmagent_core::Runtime, llmagent_events::EventStore) {
    let policy =
        llmagent_policy::Policy::load(&dir.join("policy.toml"), &llmagent_core::builtin_names())
            .unwrap();
    let store =
        llmagent_events::EventStore::open(llmagent_events::StoreConfig::new(dir.join("events")))
            .unwrap();
    let events = llmagent_events::Events::new(store.clone());
    let options = llmagent_core::RuntimeOptions {
        cache_dir: Some(
            std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("component-cache"),
        ),
        sink: sink(dir, &events),
        events: Some(events),
        ..llmagent_core::RuntimeOptions::default()
    };
    (llmagent_core::Runtime::new(policy, options).unwrap(), store)
}

fn no_sink(_: &std::path::Path, _: &llmagent_events::Events) -> std::sync::Arc<dyn Sink> {
    std::sync::Arc::new(host_capabilities::NullSink)
}

fn noop(rt: &llmagent_core::Runtime) -> Result<Value, llmagent_core::ToolFailure> {
    rt.call_blocking(&CallRequest::new("ops", "testbed", "noop", "{}"))
        .unwrap()
        .result
        .map(|s| s.output)
}

/// The suggestion of `audit_unavailable` once a write to the store's disk
/// failed.
const RESTART_ONCE_MENDED: &str = "nothing to change in the call: the event store takes no more writes since a write to its disk failed; the operator must make the disk writable (space, permissions) and restart llmagent, which reopens the store with everything recorded before the failure";

const AUDITED: &str = r#"
version = 1
[tools.testbed]
path = "{testbed}"
[roles.ops]
tools = ["testbed"]
"#;

/// The audit log fails closed: once the store cannot record (its disk is
/// full), calls are refused with `audit_unavailable` and nothing runs.
/// The journal's last page may still hold a few calls' events when the
/// disk fills, so the refusal comes at the first call that does not fit.
/// A store whose write failed takes no more (fjall's rule): freeing the
/// disk is not enough, the answer says to restart, and a restart finds
/// every event recorded before the failure and records again.
#[cfg_attr(not(llmagent_root), ignore = "needs root (mounts a tmpfs to fill)")]
#[test]
fn with_the_event_store_on_a_full_disk_calls_are_audit_unavailable() {
    let (fs, rt, store) = on_a_small_fs(AUDITED);
    assert_eq!(noop(&rt), Ok(json!(null)));
    fs.fill();
    let served = (0..64).take_while(|_| noop(&rt).is_ok()).count();
    assert!(served < 64, "the store kept recording on a full disk");
    let failure = noop(&rt).expect_err("a call the log cannot show does not run");
    assert_eq!(failure.reason, "audit_unavailable");
    assert!(
        failure
            .message
            .starts_with("the event log cannot record this call (")
            && failure.message.ends_with("), so it was not run"),
        "{}",
        failure.message
    );
    assert_eq!(failure.suggestion.as_deref(), Some(RESTART_ONCE_MENDED));
    assert!(store.is_poisoned());
    // Space again, and still refused, saying why.
    std::fs::remove_file(fs.path().join("filler")).unwrap();
    let failure = noop(&rt).expect_err("the store takes no write until it is reopened");
    assert_eq!(
        (failure.reason.as_str(), failure.suggestion.as_deref()),
        ("audit_unavailable", Some(RESTART_ONCE_MENDED))
    );
    assert!(
        failure
            .message
            .contains("the event store takes no more writes"),
        "{}",
        failure.message
    );
    let recorded = store.last_seq();
    drop((rt, store));
    let (rt, store) = runtime_in(fs.path(), no_sink);
    assert!(!store.is_poisoned());
    // Nothing acknowledged is lost; the append that failed may have
    // reached the journal whole before its error (one more event).
    assert!(
        (recorded..=recorded + 1).contains(&store.last_seq()),
        "{} events after reopening, {recorded} acknowledged",
        store.last_seq()
    );
    let before = store.for_topic("tool.testbed").unwrap().len();
    // Every call that ran is on record (and perhaps a refused one).
    assert!(
        before > served,
        "{before} invocations for {} calls",
        served + 1
    );
    assert_eq!(noop(&rt), Ok(json!(null)));
    assert_eq!(store.for_topic("tool.testbed").unwrap().len(), before + 1);
}

/// `[events] on_failure = "continue"` is the operator's explicit choice to
/// run calls the log cannot show.
#[cfg_attr(not(llmagent_root), ignore = "needs root (mounts a tmpfs to fill)")]
#[test]
fn on_failure_continue_runs_the_call_although_the_store_cannot_record() {
    let policy = format!("{AUDITED}[events]\non_failure = \"continue\"\n");
    let (fs, rt, store) = on_a_small_fs(&policy);
    fs.fill();
    for _ in 0..64 {
        assert_eq!(noop(&rt), Ok(json!(null)));
    }
    assert!(store.failures() > 0, "the store never failed to record");
}

/// The embedder's sink that, at the first capability decision (once the
/// store has it), fills the store's disk and writes until the store
/// refuses: a store that stops recording in the middle of a call.
struct FailsMidCall {
    dir: std::path::PathBuf,
    events: llmagent_events::Events,
    done: std::sync::atomic::AtomicBool,
}

impl Sink for FailsMidCall {
    fn decision(&self, _d: &Decision<'_>) -> Result<(), Unrecorded> {
        if !self.done.swap(true, std::sync::atomic::Ordering::SeqCst) {
            fill(&self.dir);
            let pad = "x".repeat(4096);
            let stored = (0..100_000)
                .take_while(|_| {
                    self.events
                        .emit("padding", "test.padding", json!({"pad": pad}))
                        .is_some()
                })
                .count();
            assert!(stored < 100_000, "the store kept recording on a full disk");
        }
        Ok(())
    }
}

fn fails_mid_call(
    dir: &std::path::Path,
    events: &llmagent_events::Events,
) -> std::sync::Arc<dyn Sink> {
    std::sync::Arc::new(FailsMidCall {
        dir: dir.to_owned(),
        events: events.clone(),
        done: std::sync::atomic::AtomicBool::new(false),
    })
}

/// [`AUDITED`] with a file the testbed may stat.
fn probes() -> String {
    format!("{AUDITED}[roles.ops.fs]\nread = [\"{{dir}}/allowed/**\"]\n")
}

fn probe(rt: &llmagent_core::Runtime, path: &str) -> Result<Value, llmagent_core::ToolFailure> {
    let args = json!({"path": path, "times": 5}).to_string();
    rt.call_blocking(&CallRequest::new("ops", "testbed", "probe", &args))
        .unwrap()
        .result
        .map(|s| s.output)
}

/// The audit log fails closed inside a call too: once the store stops
/// recording, an operation it cannot show (and each repeat of it) is
/// refused, and the call answers `audit_unavailable` naming it.
#[cfg_attr(not(llmagent_root), ignore = "needs root (mounts a tmpfs to fill)")]
#[test]
fn an_operation_the_store_cannot_record_mid_call_is_refused() {
    let (fs, rt, store) = on_a_small_fs_with(&probes(), fails_mid_call);
    let file = fs.path().join("allowed/file").display().to_string();
    let failure = probe(&rt, &file).expect_err("an operation the log cannot show does not run");
    assert!(store.failures() > 0);
    assert_eq!(failure.reason, "audit_unavailable");
    // Why: the store's latest failure (its full disk, or the store that
    // takes no more writes after it).
    let (named, why) = failure
        .message
        .strip_suffix("), so that operation was refused")
        .and_then(|m| m.split_once(" ("))
        .unwrap_or_else(|| panic!("{}", failure.message));
    assert_eq!(
        named,
        format!("the event log cannot record this call's fs stat of {file}")
    );
    assert!(
        why.contains("No space left on device")
            || why.contains("the event store takes no more writes"),
        "{why}"
    );
    assert_eq!(failure.suggestion.as_deref(), Some(RESTART_ONCE_MENDED));
}

/// Under `on_failure = "continue"` the same call's operations run: the
/// probe answers that none of its five stats was refused.
#[cfg_attr(not(llmagent_root), ignore = "needs root (mounts a tmpfs to fill)")]
#[test]
fn on_failure_continue_runs_an_operation_the_store_cannot_record() {
    let policy = format!("{}[events]\non_failure = \"continue\"\n", probes());
    let (fs, rt, store) = on_a_small_fs_with(&policy, fails_mid_call);
    let file = fs.path().join("allowed/file").display().to_string();
    assert_eq!(probe(&rt, &file), Ok(json!(0)));
    assert!(store.failures() > 0, "the store never failed to record");
}
