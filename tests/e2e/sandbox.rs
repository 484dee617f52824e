//! The sandbox around every tool, shown with the test-only `testbed`
//! component: a loop stops at the role's timeout, unbounded allocation at
//! its memory cap, a panic becomes `tool_crashed` — and after each the next
//! call works; a call finds nothing an earlier one left in memory; output
//! and stdio are capped; the policy decides before the
//! tool runs; malformed arguments are `invalid_args` naming the field.

use serde_json::json;

use crate::harness::{self, Env};

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
    for env in Env::both(POLICY) {
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
}

#[test]
fn unbounded_allocation_hits_the_memory_limit_and_the_next_call_works() {
    for env in Env::both(POLICY) {
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
}

/// Every call runs in a fresh instance: a call that leaves a value in a
/// static and 4 MiB of marked heap leaves nothing the next call can find,
/// in its statics or in memory it grows (which the allocator trusts to be
/// zero), however the pooled slot is reused and reset.
#[test]
fn a_call_finds_nothing_an_earlier_call_left_in_memory() {
    for env in Env::both(POLICY) {
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
}

#[test]
fn a_panic_is_tool_crashed_with_the_panic_message_and_the_next_call_works() {
    for env in Env::both(POLICY) {
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
}

#[test]
fn output_over_the_role_cap_is_refused_with_the_limit_named() {
    for env in Env::both(POLICY) {
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
}

#[test]
fn guest_stdout_and_stderr_are_captured_and_capped_without_crashing_the_tool() {
    for env in Env::both(POLICY) {
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
    for env in Env::both(POLICY) {
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
}

/// A component blocked inside WASI — `std::thread::sleep`, a pollable for a
/// monotonic instant, `wasi:io/poll` — is not running wasm, so the epoch
/// deadline alone cannot stop it; the runtime's clock ends every such wait
/// at the call's deadline.
#[test]
fn a_sleep_of_an_hour_in_wasi_ends_at_the_timeout_in_each_way_of_blocking() {
    for env in Env::both(POLICY) {
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
            assert!(
                waited.as_secs() < 60,
                "{how} {:?}: waited {waited:?}",
                env.via
            );
        }
        // A sleep within the deadline is served whole.
        assert_eq!(
            env.ok("tight", "testbed", "sleep", json!({"ms": 20})),
            (json!(20), json!({}))
        );
    }
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

/// On an async runtime a call runs on a fiber of its caller's task: a tool
/// that computes without end yields the worker at every epoch tick, and one
/// that waits in WASI awaits, so the runtime's other tasks run beside it on
/// the only worker until the deadline stops it.
#[test]
fn a_call_on_the_only_worker_leaves_it_to_other_tasks_until_its_deadline() {
    let env = Env::new(POLICY);
    let tokio = harness::one_worker();
    for (action, args) in [
        ("spin", json!({})),
        ("sleep", json!({"ms": 3_600_000, "how": "thread"})),
        ("sleep", json!({"ms": 3_600_000, "how": "poll"})),
    ] {
        let runtime = env.runtime.clone();
        let request =
            llmagent_core::CallRequest::new("tight", "testbed", action, &args.to_string());
        let (outcome, ticks) =
            harness::beside_a_ticker(&tokio, async move { runtime.call(request).await });
        let outcome = outcome.expect("reaches the runtime");
        let failure = outcome.result.expect_err("it cannot finish");
        assert_eq!(failure.reason, "timeout", "{action} {args}");
        // 200 ms of 10 ms ticks: a call that held the worker would let the
        // ticker see at most the last one.
        assert!(
            ticks >= 5,
            "{action} {args}: the other task ticked {ticks} times"
        );
    }
}

/// A call on a fiber whose caller stops waiting (an aborted task, a
/// cancelled MCP request) stops at its next yield, frees its slot, and is
/// recorded as `cancelled`: no decision is left without its invocation.
#[test]
fn a_call_dropped_by_its_caller_stops_and_is_recorded_as_cancelled() {
    let env = Env::new(&POLICY.replace("timeout_ms = 200", "timeout_ms = 60000"));
    let tokio = harness::one_worker();
    let runtime = env.runtime.clone();
    let started = std::time::Instant::now();
    tokio.block_on(async move {
        let request = llmagent_core::CallRequest::new("tight", "testbed", "spin", "{}");
        let call = tokio::spawn(async move { runtime.call(request).await });
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        call.abort();
        assert!(call.await.expect_err("aborted").is_cancelled());
    });
    // Not a speed target: far below the minute the call was allowed.
    assert!(started.elapsed().as_secs() < 30, "{:?}", started.elapsed());
    let events = env.events();
    let invocation = events
        .iter()
        .find(|e| e.topic == "tool.testbed")
        .expect("the invocation is recorded");
    assert_eq!(
        (&invocation.data["result"], &invocation.data["error"]),
        (
            &json!("error"),
            &json!({"reason": "cancelled", "message": "the call was stopped before it finished: its caller stopped waiting for it", "field": null})
        )
    );
    assert_eq!(
        env.ok("tight", "testbed", "noop", json!({})),
        (json!(null), json!({}))
    );
}
