//! `llmagent tools call … dbus …` against a private `dbus-daemon` with the
//! test service of `host-capabilities/src/dbus/tests/service.rs` on it.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use serde_json::{Value, json};

#[path = "../../../host-capabilities/src/dbus/tests/service.rs"]
mod service;

mod common;

use service::{CALC, DbusDaemon, PATH, SERVICE, TestService};

fn call(policy: &str, action: &str, args: &Value) -> (Option<i32>, Value) {
    let out = common::command(&[
        "tools", "call", "--policy", policy, "--role", "ops", "dbus", action,
    ])
    .args(["--args", &args.to_string()])
    .output()
    .expect("run llmagent");
    let json = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}): {}\nstderr: {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.code(), json)
}

#[cfg_attr(not(llmagent_dbus), ignore = "needs dbus-daemon (Debian's dbus)")]
#[test]
fn tools_call_dbus_call_answers_the_result_and_denies_a_member_outside_the_rules() {
    let daemon = DbusDaemon::start();
    let _service = TestService::serve(&daemon.address);
    let dir = tempfile::tempdir().unwrap();
    let policy = dir.path().join("policy.toml");
    std::fs::write(
        &policy,
        format!(
            r#"version = 1
[roles.ops]
tools = ["dbus"]
[roles.ops.dbus]
bus = "{}"
call = [{{ destination = "org.llmagent.Test", interface = "org.llmagent.Test.Calc", member = "Add" }}]
"#,
            daemon.address
        ),
    )
    .unwrap();
    let policy = policy.display().to_string();
    let add = json!({"service": SERVICE, "path": PATH, "interface": CALC, "method": "Add",
                     "signature": "ii", "args": [2, 3]});
    assert_eq!(
        call(&policy, "call", &add),
        (
            Some(0),
            json!({"status": "ok", "output": [5], "metadata": {
                "service": SERVICE, "path": PATH, "interface": CALC, "method": "Add", "signature": "i"}})
        )
    );
    let repeat = json!({"service": SERVICE, "path": PATH, "interface": CALC, "method": "Repeat",
                        "args": ["a", 2]});
    assert_eq!(
        call(&policy, "call", &repeat),
        (
            Some(1),
            json!({"status": "error", "error": {
                "reason": "denied",
                "message": "dbus denied access to call of org.llmagent.Test /org/llmagent/Test org.llmagent.Test.Calc.Repeat",
                "field": "method",
                "suggestion": "add {destination = \"org.llmagent.Test\", path = \"/org/llmagent/Test\", interface = \"org.llmagent.Test.Calc\", member = \"Repeat\"} to [roles.ops.dbus].call"}})
        )
    );
}
