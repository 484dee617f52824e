//! The built-in `proc` tool through the `proc` capability, end to end:
//! listing and details of the test's own process under a role granting
//! them, denials naming the key under a role that does not, and a pid
//! given as a string.

use serde_json::{Value, json};

use crate::harness::Env;

/// `default` may list and read its own user's processes; `none` may call
/// the tool but its policy has no `[proc]` section.
const POLICY: &str = r#"
version = 1
[roles.default]
tools = ["proc"]
[roles.default.proc]
list = true
info = "own"
[roles.none]
tools = ["proc"]
"#;

/// `/proc/self/status` value of `key`.
fn own_status(key: &str) -> String {
    std::fs::read_to_string("/proc/self/status")
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{key}:")))
        .unwrap()
        .trim()
        .to_owned()
}

#[test]
fn list_holds_this_process_with_its_full_command_line() {
    let env = Env::new(POLICY);
    let (out, meta) = env.ok("default", "proc", "list", json!({}));
    let lines = out.as_array().unwrap();
    assert_eq!(meta["count"], json!(lines.len()));
    let me = std::process::id();
    let line = lines.iter().find(|l| l["pid"] == json!(me)).unwrap();
    let keys: Vec<&str> = line
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        [
            "cmd",
            "cpu",
            "mem",
            "name",
            "pid",
            "ppid",
            "rss_bytes",
            "state",
            "user"
        ]
    );
    assert_eq!(
        line["cmd"],
        json!(std::env::args().collect::<Vec<_>>().join(" "))
    );
    assert_eq!(line["name"], json!(own_status("Name")));
    assert_eq!(
        line["ppid"],
        json!(own_status("PPid").parse::<u32>().unwrap())
    );
    assert!(line["rss_bytes"].as_u64().unwrap() > 0, "{line}");
    assert!(line["cpu"].is_f64() || line["cpu"].is_u64(), "{line}");
}

#[test]
fn info_of_this_process_accepts_the_pid_as_integer_or_string() {
    let env = Env::new(POLICY);
    let me = std::process::id();
    for pid in [json!(me), json!(me.to_string())] {
        let (out, meta) = env.ok("default", "proc", "info", json!({ "pid": pid }));
        assert_eq!(
            meta,
            json!({"pid": me, "path": format!("/proc/{me}/status")})
        );
        assert_eq!(out["name"], json!(own_status("Name")));
        assert_eq!(out["pid"], json!(me.to_string()));
        assert_eq!(out["cmdline"], json!(std::env::args().collect::<Vec<_>>()));
        let cwd = std::env::current_dir().unwrap();
        let exe = std::env::current_exe().unwrap();
        assert_eq!(out["cwd"], json!(cwd.display().to_string()));
        assert_eq!(out["exe"], json!(exe.display().to_string()));
    }
}

#[test]
fn a_missing_process_is_not_found_and_a_bad_pid_is_invalid() {
    let env = Env::new(POLICY);
    let pid: u32 = std::fs::read_to_string("/proc/sys/kernel/pid_max")
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let e = env.err("default", "proc", "info", json!({ "pid": pid }));
    assert_eq!(
        (e.reason.as_str(), e.field.as_deref(), e.message.as_str()),
        (
            "not_found",
            Some("pid"),
            format!("Process {pid} not found").as_str()
        )
    );
    for bad in [json!("abc"), json!(-1), json!(1.5), json!(u64::MAX)] {
        let e = env.err("default", "proc", "info", json!({ "pid": bad }));
        assert_eq!(
            (e.reason.as_str(), e.field.as_deref()),
            ("invalid_args", Some("pid")),
            "{bad}: {e:?}"
        );
    }
}

#[test]
fn a_role_without_the_grant_is_denied_naming_the_key() {
    let env = Env::new(POLICY);
    let e = env.err("none", "proc", "list", json!({}));
    assert_eq!(e.reason, "denied");
    assert_eq!(e.field, None);
    assert_eq!(
        e.suggestion.as_deref(),
        Some("set list = true in [roles.none.proc]")
    );
    let e = env.err("none", "proc", "info", json!({ "pid": std::process::id() }));
    assert_eq!(
        (
            e.reason.as_str(),
            e.field.as_deref(),
            e.suggestion.as_deref()
        ),
        (
            "denied",
            Some("pid"),
            Some(
                "set info = \"own\" (processes of the runtime's user) or \"all\" in [roles.none.proc]"
            )
        )
    );
    let decisions: Vec<Value> = env
        .events()
        .into_iter()
        .filter(|e| e.topic == "policy.decision" && e.data["capability"] == json!("proc"))
        .map(|e| e.data)
        .collect();
    assert_eq!(decisions.len(), 2, "{decisions:?}");
    assert_eq!(
        decisions[0],
        json!({"capability": "proc", "operation": "list", "target": "", "verdict": "deny",
               "rule": null, "hint": "set list = true in [roles.none.proc]"})
    );
    assert_eq!(decisions[1]["verdict"], json!("deny"), "{decisions:?}");
}
