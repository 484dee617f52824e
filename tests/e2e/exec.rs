//! The built-in `bash` tool through the `exec` capability, end to end:
//! the issue's Done-when checks (failure with output, denial naming the
//! key, no host secret, timeout leaving nothing behind, Landlock).

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::harness::{self, Env};

/// `default` may run bash and read `{dir}/x/**`; `nobash` may call the
/// bash tool but its exec section allows nothing.
const POLICY: &str = r#"
version = 1
[roles.default]
tools = ["bash"]
timeout_ms = 5000
[roles.default.exec]
allow = ["bash"]
[roles.default.fs]
read = ["{dir}/x/**"]
[roles.nobash]
tools = ["bash"]
"#;

fn setup() -> Env {
    let env = Env::new(POLICY);
    std::fs::create_dir_all(env.root().join("x")).unwrap();
    std::fs::write(env.root().join("x/file"), "inside\n").unwrap();
    env
}

/// The output object a failure carries after `; output: `.
fn carried(message: &str) -> Value {
    let (_, json) = message
        .split_once("; output: ")
        .expect("output in the message");
    serde_json::from_str(json).expect("output JSON")
}

fn bash_path() -> String {
    std::fs::canonicalize("/usr/bin/bash")
        .or_else(|_| std::fs::canonicalize("/bin/bash"))
        .unwrap()
        .display()
        .to_string()
}

#[test]
fn success_answers_the_output_object() {
    let env = setup();
    let (out, meta) = env.ok(
        "default",
        "bash",
        "exec",
        json!({"command": "echo ok; echo warn >&2"}),
    );
    assert_eq!(
        out,
        json!({"exit_code": 0, "stdout": "ok\n", "stderr": "warn\n", "truncated": false})
    );
    assert_eq!(meta["exit_code"], json!(0));
    assert!(meta["duration_ms"].is_u64(), "{meta}");
}

/// On an async runtime a command's wait leaves the worker (the call hands
/// the worker's other tasks to another thread first): the runtime's other
/// tasks run while bash does.
#[test]
fn a_command_on_the_only_worker_leaves_it_to_other_tasks() {
    let env = setup();
    let tokio = harness::one_worker();
    let runtime = env.runtime.clone();
    let request = llmagent_core::CallRequest::new(
        "default",
        "bash",
        "exec",
        &json!({"command": "sleep 0.3; echo slept"}).to_string(),
    );
    let (outcome, ticks) =
        harness::beside_a_ticker(&tokio, async move { runtime.call(request).await });
    let output = outcome
        .expect("reaches the runtime")
        .result
        .expect("bash runs");
    assert_eq!(output.output["stdout"], json!("slept\n"));
    // 300 ms of 10 ms ticks: a call that held the worker would let the
    // ticker see at most the last one.
    assert!(ticks >= 5, "the other task ticked {ticks} times");
}

#[test]
fn a_non_zero_exit_is_command_failed_with_the_output() {
    let env = setup();
    let e = env.err(
        "default",
        "bash",
        "exec",
        json!({"command": "echo hi; exit 3"}),
    );
    assert_eq!(
        (e.reason.as_str(), e.field.as_deref()),
        ("command_failed", Some("command"))
    );
    assert!(
        e.message.starts_with("Bash exited with status 3; output: "),
        "{}",
        e.message
    );
    assert_eq!(
        carried(&e.message),
        json!({"exit_code": 3, "stdout": "hi\n", "stderr": "", "truncated": false})
    );
}

#[test]
fn without_bash_in_allow_the_call_is_denied_naming_the_key() {
    let env = setup();
    let e = env.err("nobash", "bash", "exec", json!({"command": "echo hi"}));
    assert_eq!(
        (e.reason.as_str(), e.field.as_deref()),
        ("denied", Some("command"))
    );
    assert_eq!(e.message, format!("exec denied access to {}", bash_path()));
    assert_eq!(
        e.suggestion,
        Some(format!(
            "add \"{}\" to [roles.nobash.exec].allow",
            bash_path()
        ))
    );
}

#[allow(unsafe_code)]
fn set_secret() {
    // SAFETY: test-only; the value is set before the call that checks it
    // and nothing reads the environment through libc concurrently.
    unsafe { std::env::set_var("SECRET_TOKEN", "hunter2") }
}

#[test]
fn a_host_secret_does_not_reach_the_child() {
    set_secret();
    let env = setup();
    let (out, _) = env.ok(
        "default",
        "bash",
        "exec",
        json!({"command": "printenv SECRET_TOKEN; echo \"status $?\""}),
    );
    assert_eq!(out["stdout"], json!("status 1\n"));
}

#[test]
fn a_timeout_kills_everything_and_answers_timeout() {
    let env = setup();
    let start = Instant::now();
    let e = env.err(
        "default",
        "bash",
        "exec",
        json!({"command": "echo $$; sleep 100 & sleep 100", "timeout_ms": 300}),
    );
    assert!(
        start.elapsed() < Duration::from_secs(3),
        "{:?}",
        start.elapsed()
    );
    assert_eq!(e.reason, "timeout", "{e:?}");
    let sid: u32 = carried(&e.message)["stdout"]
        .as_str()
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(2);
    while !live_in_session(sid).is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(live_in_session(sid), Vec::<String>::new());
}

/// Running (non-zombie) processes of session `sid`.
fn live_in_session(sid: u32) -> Vec<String> {
    let mut live = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        let Some((_, after)) = stat.rsplit_once(") ") else {
            continue;
        };
        let f: Vec<&str> = after.split(' ').collect();
        if f.get(3).and_then(|s| s.parse::<u32>().ok()) == Some(sid) && f.first() != Some(&"Z") {
            live.push(stat.clone());
        }
    }
    live
}

#[cfg_attr(not(llmagent_landlock), ignore = "needs a kernel with Landlock")]
#[test]
fn landlock_confines_bash_to_the_roles_fs_grants() {
    let env = setup();
    let file = env.root().join("x/file");
    let (out, _) = env.ok(
        "default",
        "bash",
        "exec",
        json!({"command": format!("cat {}", file.display())}),
    );
    assert_eq!(out["stdout"], json!("inside\n"));
    let e = env.err(
        "default",
        "bash",
        "exec",
        json!({"command": "cat /etc/hostname"}),
    );
    assert_eq!(e.reason, "command_failed");
    assert_eq!(
        carried(&e.message),
        json!({"exit_code": 1, "stdout": "", "stderr": "cat: /etc/hostname: Permission denied\n", "truncated": false})
    );
}
