//! Capabilities in the contract but not built yet, end to end: every
//! function of `dbus`, `udev` and `inotify` (declared in `wit/`,
//! stubbed in `host-capabilities`) answers `unsupported`, and outgoing
//! `wasi:http` is refused with the HTTP error — both as a tool error, never
//! a trap, with the next call working. Driven by the test-only `testbed`.

use std::path::PathBuf;

use llmagent_core::ToolFailure;
use serde_json::json;

use crate::harness::Env;

/// The role grants the testbed and nothing else: no section for any of the
/// capabilities, which would not matter since none is built.
const POLICY: &str = r#"
version = 1
[tools.testbed]
path = "{testbed}"
[roles.tester]
tools = ["testbed"]
timeout_ms = 5000
"#;

/// Every function of every stub interface, by its WIT name.
const STUBS: &[(&str, &[&str])] = &[
    ("dbus", &["list-names", "introspect", "call"]),
    ("udev", &["list-devices", "info"]),
    ("inotify", &["watch", "poll", "stop", "list-watches"]),
];

/// The functions `wit/{interface}.wit` declares (`name: func(…)` lines).
fn declared_functions(interface: &str) -> Vec<String> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../wit")
        .join(format!("{interface}.wit"));
    let text = std::fs::read_to_string(&path).expect("read the WIT file");
    text.lines()
        .filter_map(|line| line.trim().split_once(": func("))
        .map(|(name, _)| name.to_owned())
        .collect()
}

/// No call in this file may end in a trap.
fn assert_no_trap(env: &Env) {
    let traps: Vec<_> = env
        .events()
        .into_iter()
        .filter(|e| e.topic == "tool.trap")
        .collect();
    assert!(traps.is_empty(), "unexpected traps: {traps:?}");
}

#[test]
fn the_stub_list_is_every_function_the_wit_declares() {
    for (interface, functions) in STUBS {
        assert_eq!(
            declared_functions(interface),
            functions.to_vec(),
            "wit/{interface}.wit"
        );
    }
}

#[test]
fn every_function_of_every_unbuilt_capability_answers_unsupported() {
    let env = Env::new(POLICY);
    for (capability, functions) in STUBS {
        for function in *functions {
            let failure = env.err(
                "tester",
                "testbed",
                "stub",
                json!({"capability": capability, "function": function}),
            );
            assert_eq!(
                failure,
                ToolFailure {
                    reason: "unsupported".into(),
                    message: format!(
                        "the {capability} capability is not available in this version of llmagent"
                    ),
                    field: Some("function".into()),
                    suggestion: None,
                },
                "{capability}.{function}"
            );
        }
    }
    assert_no_trap(&env);
    assert_eq!(
        env.ok("tester", "testbed", "noop", json!({})),
        (json!(null), json!({}))
    );
}

#[test]
fn outgoing_http_is_refused_with_the_http_error_not_a_trap() {
    let env = Env::new(POLICY);
    let failure = env.err(
        "tester",
        "testbed",
        "http_get",
        json!({"authority": "127.0.0.1:9"}),
    );
    assert_eq!(
        failure,
        ToolFailure {
            reason: "http_error".into(),
            message: "ErrorCode::HttpRequestDenied".into(),
            field: None,
            suggestion: None,
        }
    );
    assert_no_trap(&env);
    assert_eq!(
        env.ok("tester", "testbed", "noop", json!({})),
        (json!(null), json!({}))
    );
}
