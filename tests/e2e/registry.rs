//! Loading third-party components: one that misbehaves in `describe()` —
//! prints without end, panics, sleeps, loops — is reported and set aside
//! with its reason; the runtime, the other tools and the CLI go on, and
//! `llmagent policy check` refuses the policy naming the tool.

use std::path::{Path, PathBuf};

use llmagent_core::{CallRequest, Runtime, RuntimeOptions, builtin_names};
use llmagent_policy::Policy;
use serde_json::json;

use llmagent_tests::components::testbed_whose_describe;

fn policy_with(dir: &Path, component: &Path) -> PathBuf {
    let path = dir.join("policy.toml");
    std::fs::write(
        &path,
        format!(
            "version = 1\n[tools.testbed]\npath = \"{}\"\n[roles.r]\ntools = [\"testbed\", \"crypto.sha256\"]\n",
            component.display()
        ),
    )
    .expect("write policy");
    path
}

fn runtime_over(policy: &Path) -> Runtime {
    let policy = Policy::load(policy, &builtin_names()).expect("valid policy");
    let options = RuntimeOptions {
        cache_dir: Some(PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("component-cache")),
        ..RuntimeOptions::default()
    };
    Runtime::new(policy, options).expect("one broken tool does not stop the runtime")
}

/// What the runtime says about the broken testbed, and that the rest works.
fn set_aside(mode: &[u8; 6]) -> String {
    let dir = tempfile::tempdir().expect("tempdir");
    let component = testbed_whose_describe(mode, dir.path()).expect("a changed testbed");
    let rt = runtime_over(&policy_with(dir.path(), &component));
    let unavailable: Vec<(String, String)> = rt
        .unavailable()
        .map(|(n, e)| (n.to_owned(), e.to_string()))
        .collect();
    assert_eq!(unavailable.len(), 1, "{unavailable:?}");
    assert_eq!(unavailable[0].0, "testbed");
    assert!(rt.tool("testbed").is_none());
    let call = rt
        .call_blocking(&CallRequest::new("r", "testbed", "noop", "{}"))
        .expect("reaches the runtime");
    let failure = call.result.expect_err("a set-aside tool cannot be called");
    assert_eq!(failure.reason, "invalid_tool");
    assert_eq!(
        failure.message,
        format!(
            "the `testbed` tool could not be loaded: {}",
            unavailable[0].1
        )
    );
    let other = rt
        .call_blocking(&CallRequest::new(
            "r",
            "crypto",
            "sha256",
            &json!({"data": "hello"}).to_string(),
        ))
        .expect("reaches the runtime");
    assert_eq!(
        other.result.expect("the built-ins still work").output,
        json!("2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824")
    );
    unavailable[0].1.clone()
}

#[test]
fn a_describe_that_panics_is_set_aside_with_the_panic_message() {
    let why = set_aside(b"panics");
    assert!(
        why.starts_with("tool `testbed` (")
            && why.contains("): describe() failed: the tool crashed: panicked at ")
            && why.contains("testbed was built to panic in describe"),
        "{why}"
    );
}

#[test]
fn a_describe_that_sleeps_for_an_hour_is_set_aside_at_its_deadline() {
    let why = set_aside(b"sleeps");
    assert!(
        why.ends_with(
            "): describe() failed: the tool did not finish within 5000 ms and was stopped"
        ),
        "{why}"
    );
}

#[test]
fn a_describe_that_loops_is_set_aside_at_its_deadline() {
    let why = set_aside(b"spins!");
    assert!(
        why.ends_with(
            "): describe() failed: the tool did not finish within 5000 ms and was stopped"
        ),
        "{why}"
    );
}

/// Printing is not misbehaviour: the output is captured and capped, and
/// the tool loads — also when the runtime is built inside an async
/// context, where WASI's blocking output used to panic with "Cannot start
/// a runtime from within a runtime".
#[test]
fn a_describe_that_prints_a_mib_loads_also_from_inside_an_async_runtime() {
    let dir = tempfile::tempdir().expect("tempdir");
    let component = testbed_whose_describe(b"prints", dir.path()).expect("a changed testbed");
    let policy = policy_with(dir.path(), &component);
    let tokio = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("tokio");
    let rt = tokio.block_on(async { runtime_over(&policy) });
    assert_eq!(rt.unavailable().count(), 0);
    assert_eq!(rt.tool("testbed").map(|t| t.name.as_str()), Some("testbed"));
}

/// A runtime without the instance pool (what `tools list`, `tools
/// describe` and `policy check` build) loads and describes the same tools,
/// still sets a broken one aside, and its calls give the same answers.
#[test]
fn a_runtime_without_the_instance_pool_lists_and_calls_the_same() {
    let dir = tempfile::tempdir().expect("tempdir");
    let component = testbed_whose_describe(b"panics", dir.path()).expect("a changed testbed");
    let policy = policy_with(dir.path(), &component);
    let pooled = runtime_over(&policy);
    let unpooled = Runtime::new(
        Policy::load(&policy, &builtin_names()).expect("valid policy"),
        RuntimeOptions {
            cache_dir: Some(PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("component-cache")),
            instance_pool: false,
            ..RuntimeOptions::default()
        },
    )
    .expect("runtime");
    let tools = |rt: &Runtime| serde_json::to_value(rt.tools().collect::<Vec<_>>()).unwrap();
    let unavailable = |rt: &Runtime| {
        rt.unavailable()
            .map(|(n, e)| (n.to_owned(), e.to_string()))
            .collect::<Vec<_>>()
    };
    assert_eq!(tools(&unpooled), tools(&pooled));
    assert_eq!(unavailable(&unpooled), unavailable(&pooled));
    assert_eq!(unavailable(&unpooled).len(), 1);
    let sha = CallRequest::new("r", "crypto", "sha256", r#"{"data": "hello"}"#);
    let answer = |rt: &Runtime| {
        rt.call_blocking(&sha)
            .expect("reaches the runtime")
            .result
            .expect("sha256 succeeds")
    };
    assert_eq!(answer(&unpooled), answer(&pooled));
    assert_eq!(
        answer(&unpooled).output,
        json!("2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824")
    );
}
