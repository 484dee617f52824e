//! The sandbox around every tool, shown with the test-only `testbed`
//! component: a loop stops at the role's timeout, unbounded allocation at
//! its memory cap, a panic becomes `tool_crashed` — and after each the next
//! call works; a call finds nothing an earlier one left in memory; output
//! and stdio are capped; the policy decides before the
//! tool runs; malformed arguments are `invalid_args` naming the field.

use serde_json::json;

use crate::harness::Env;

const POLICY: &str = r#"
version = 1
[tools.testbed]
path = "{testbed}"
[roles.tight]
tools = ["testbed"]
timeout_ms = 200
memory_mib = 16
max_output_bytes = 4096
"#;

#[test]
fn a_loop_is_stopped_at_the_timeout_and_the_next_call_works() {
    let env = Env::new(POLICY);
    let outcome = env.call("tight", "testbed", "spin", json!({}));
    let failure = outcome.result.expect_err("spin cannot succeed");
    assert_eq!(failure.reason, "timeout");
    assert_eq!(
        failure.message,
        "the tool did not finish within 200 ms and was stopped"
    );
    assert!(
        outcome.duration.as_millis() >= 200,
        "stopped early: {:?}",
        outcome.duration
    );
    assert_eq!(
        env.ok("tight", "testbed", "noop", json!({})),
        (json!(null), json!({}))
    );
}

#[test]
fn unbounded_allocation_hits_the_memory_limit_and_the_next_call_works() {
    let env = Env::new(POLICY);
    let failure = env.err("tight", "testbed", "hog", json!({}));
    assert_eq!(failure.reason, "memory_limit");
    assert_eq!(
        failure.message,
        "the tool needed more than its 16 MiB of memory and was stopped"
    );
    assert_eq!(
        env.ok("tight", "testbed", "echo", json!({"value": 7})),
        (json!(7), json!({}))
    );
}

/// Every call runs in a fresh instance: a call that leaves a value in a
/// static and 4 MiB of marked heap leaves nothing the next call can find,
/// in its statics or in memory it grows (which the allocator trusts to be
/// zero), however the pooled slot is reused and reset.
#[test]
fn a_call_finds_nothing_an_earlier_call_left_in_memory() {
    let env = Env::new(POLICY);
    for mark in 1..=3 {
        assert_eq!(
            env.ok("tight", "testbed", "leave", json!({"mark": mark})),
            (json!(0), json!({}))
        );
        assert_eq!(
            env.ok("tight", "testbed", "look", json!({})),
            (json!({"static": 0, "dirty_bytes": 0}), json!({}))
        );
    }
}

#[test]
fn a_panic_is_tool_crashed_with_the_panic_message_and_the_next_call_works() {
    let env = Env::new(POLICY);
    let failure = env.err("tight", "testbed", "panic", json!({}));
    assert_eq!(failure.reason, "tool_crashed");
    assert!(
        failure.message.contains("testbed was asked to panic"),
        "message should carry the panic text: {}",
        failure.message
    );
    assert_eq!(
        env.ok("tight", "testbed", "noop", json!({})),
        (json!(null), json!({}))
    );
}

#[test]
fn output_over_the_role_cap_is_refused_with_the_limit_named() {
    let env = Env::new(POLICY);
    let failure = env.err(
        "tight",
        "testbed",
        "echo",
        json!({"value": "x".repeat(5000)}),
    );
    assert_eq!(failure.reason, "output_too_large");
    assert_eq!(
        failure.message,
        "the tool answered 5004 bytes, more than the role's max_output_bytes of 4096"
    );
}

#[test]
fn guest_stdout_and_stderr_are_captured_and_capped_without_crashing_the_tool() {
    let env = Env::new(POLICY);
    let outcome = env.call("tight", "testbed", "print", json!({"bytes": 100}));
    assert_eq!(outcome.result.expect("print succeeds").output, json!(100));
    assert_eq!(outcome.stdout, "x".repeat(100));
    assert_eq!(outcome.stderr, "x".repeat(100));
    assert!(!outcome.stdio_truncated);

    let big = llmagent_core::STDIO_CAP + 10;
    let outcome = env.call("tight", "testbed", "print", json!({"bytes": big}));
    assert_eq!(outcome.result.expect("print succeeds").output, json!(big));
    assert_eq!(outcome.stdout.len(), llmagent_core::STDIO_CAP);
    assert!(outcome.stdio_truncated);
}

#[test]
fn policy_decides_before_the_tool_runs() {
    let env = Env::new(
        r#"
version = 1
[tools.testbed]
path = "{testbed}"
[roles.narrow]
tools = ["testbed.noop", "testbed.echo"]
approve = ["testbed.echo"]
"#,
    );
    let denied = env.err("narrow", "testbed", "spin", json!({}));
    assert_eq!(
        (denied.reason.as_str(), denied.message.as_str()),
        (
            "tool_not_permitted",
            "role `narrow` may not use `testbed.spin`"
        )
    );
    let unapproved = env.err("narrow", "testbed", "echo", json!({"value": 1}));
    assert_eq!(unapproved.reason, "approval_required");
    let unknown = env.err("narrow", "testbed", "fly", json!({}));
    assert_eq!(
        (unknown.reason.as_str(), unknown.field.as_deref()),
        ("unknown_command", Some("action"))
    );
    let no_tool = env.err("narrow", "weather", "get", json!({}));
    assert_eq!(no_tool.reason, "invalid_tool");
    assert_eq!(
        env.ok("narrow", "testbed", "noop", json!({})),
        (json!(null), json!({}))
    );
}

#[test]
fn malformed_arguments_are_invalid_args_naming_the_field() {
    let env = Env::new(POLICY);
    let failure = env.err("tight", "testbed", "print", json!({"bytes": "many"}));
    assert_eq!(
        (
            failure.reason.as_str(),
            failure.field.as_deref(),
            failure.message.as_str()
        ),
        (
            "invalid_args",
            Some("bytes"),
            "argument `bytes` must be a non-negative integer, got a string"
        )
    );
    let failure = env.err("tight", "testbed", "noop", json!({"surprise": true}));
    assert_eq!(
        (failure.reason.as_str(), failure.field.as_deref()),
        ("invalid_args", Some("surprise"))
    );
}

/// A component blocked inside WASI — `std::thread::sleep`, a pollable for a
/// monotonic instant, `wasi:io/poll` — is not running wasm, so the epoch
/// deadline alone cannot stop it; the runtime's clock ends every such wait
/// at the call's deadline.
#[test]
fn a_sleep_of_an_hour_in_wasi_ends_at_the_timeout_in_each_way_of_blocking() {
    let env = Env::new(POLICY);
    for how in ["thread", "instant", "poll"] {
        let started = std::time::Instant::now();
        let outcome = env.call(
            "tight",
            "testbed",
            "sleep",
            json!({"ms": 3_600_000, "how": how}),
        );
        let waited = started.elapsed();
        let failure = outcome.result.expect_err("an hour's sleep cannot finish");
        assert_eq!(
            (failure.reason.as_str(), failure.message.as_str()),
            (
                "timeout",
                "the tool did not finish within 200 ms and was stopped"
            ),
            "{how}"
        );
        // Not a speed target: an upper bound far below the hour asked for,
        // proving the wait was cut rather than served.
        assert!(waited.as_secs() < 60, "{how}: waited {waited:?}");
    }
    // A sleep within the deadline is served whole.
    assert_eq!(
        env.ok("tight", "testbed", "sleep", json!({"ms": 20})),
        (json!(20), json!({}))
    );
}

/// When every call slot is taken, a call is answered `too_busy` before
/// anything is instantiated (not `tool_crashed` from a full instance
/// pool), and calls work again once a slot is free.
#[test]
fn a_call_that_finds_every_slot_taken_is_too_busy_and_nothing_starts() {
    use llmagent_core::{CallRequest, Runtime, RuntimeOptions, builtin_names};
    let dir = tempfile::tempdir().expect("tempdir");
    let policy_path = dir.path().join("policy.toml");
    std::fs::write(
        &policy_path,
        POLICY
            .replace(
                "{testbed}",
                &crate::harness::testbed_path().display().to_string(),
            )
            .replace("timeout_ms = 200", "timeout_ms = 10000"),
    )
    .expect("policy");
    let policy = llmagent_policy::Policy::load(&policy_path, &builtin_names()).expect("policy");
    let options = RuntimeOptions {
        cache_dir: Some(
            std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("component-cache"),
        ),
        max_concurrent_calls: 1,
        ..RuntimeOptions::default()
    };
    let rt = Runtime::new(policy, options).expect("runtime");
    let sleep = || {
        let rt = rt.clone();
        std::thread::spawn(move || {
            rt.call_blocking(&CallRequest::new(
                "tight",
                "testbed",
                "sleep",
                &json!({"ms": 3000}).to_string(),
            ))
            .expect("reaches the runtime")
            .result
        })
    };
    let noop = || {
        rt.call_blocking(&CallRequest::new("tight", "testbed", "noop", "{}"))
            .expect("reaches the runtime")
            .result
    };
    // Probe with noops until one finds the sleeper's slot taken. A probe
    // may take the slot first, and then it is the sleeper that is too
    // busy: start it again.
    let mut sleeper = sleep();
    let busy = loop {
        if sleeper.is_finished() {
            let lost = sleeper.join().expect("sleeper");
            assert_eq!(
                lost.as_ref().err().map(|f| f.reason.as_str()),
                Some("too_busy"),
                "the sleeper ended without its slot taken: {lost:?}"
            );
            sleeper = sleep();
            continue;
        }
        match noop() {
            Err(failure) => break failure,
            Ok(_) => std::thread::sleep(std::time::Duration::from_millis(10)),
        }
    };
    assert_eq!(
        (
            busy.reason.as_str(),
            busy.message.as_str(),
            busy.suggestion.as_deref()
        ),
        (
            "too_busy",
            "1 tool calls are already running; this one was not started",
            Some("retry when fewer calls are running")
        )
    );
    assert_eq!(
        sleeper.join().expect("sleeper").map(|s| s.output),
        Ok(json!(3000))
    );
    assert_eq!(noop().map(|s| s.output), Ok(json!(null)));
}
