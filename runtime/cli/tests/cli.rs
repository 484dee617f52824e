//! The `llmagent` binary as a user runs it: exit codes, the JSON it prints,
//! and golden human output.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::{Value, json};

mod common;
use common::{command, llmagent, root};

fn stdout_json(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}): {}\nstderr: {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

/// Compares with `tests/golden/NAME`; `BLESS=1` rewrites it.
fn golden(name: &str, actual: &str) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(name);
    if std::env::var_os("BLESS").is_some() {
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_default();
    assert_eq!(
        actual, expected,
        "golden {name} differs (BLESS=1 rewrites it)"
    );
}

#[test]
fn sha256_of_hello_under_the_example_policy() {
    let out = llmagent(&[
        "tools",
        "call",
        "--policy",
        "examples/policy.toml",
        "--role",
        "default",
        "crypto",
        "sha256",
        "--args",
        r#"{"data":"hello"}"#,
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        stdout_json(&out),
        json!({
            "status": "ok",
            "output": "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824",
            "metadata": {"algorithm": "sha256", "encoding": "base16", "binary": false},
        })
    );
}

#[test]
fn reading_etc_shadow_is_denied_naming_the_key_and_exits_1() {
    let out = llmagent(&[
        "tools",
        "call",
        "--policy",
        "examples/policy.toml",
        "--role",
        "default",
        "file",
        "read",
        "--args",
        r#"{"path":"/etc/shadow"}"#,
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stdout_json(&out),
        json!({
            "status": "error",
            "error": {
                "reason": "denied",
                "message": "fs denied access to /etc/shadow",
                "field": "path",
                "suggestion": "add \"/etc/shadow\" (or a glob matching it) to [roles.default.fs].read",
            },
        })
    );
}

#[test]
fn a_looping_tool_answers_timeout_at_the_roles_limit() {
    let dir = tempfile::tempdir().unwrap();
    let testbed = root().join("tools-wasm/target/wasm32-wasip2/release/llmagent_testbed.wasm");
    let policy = dir.path().join("policy.toml");
    std::fs::write(
        &policy,
        format!(
            "version = 1\n[tools.testbed]\npath = \"{}\"\n[roles.t]\ntools = [\"testbed\"]\ntimeout_ms = 200\n",
            testbed.display()
        ),
    )
    .unwrap();
    let policy = policy.display().to_string();
    let out = llmagent(&[
        "tools", "call", "--policy", &policy, "--role", "t", "testbed", "spin", "--json",
    ]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v = stdout_json(&out);
    assert_eq!(v["error"]["reason"], json!("timeout"));
    assert_eq!(
        v["error"]["message"],
        json!("the tool did not finish within 200 ms and was stopped")
    );
    assert_eq!(v["decision"]["verdict"], json!("allow"));
    let out = llmagent(&[
        "tools", "call", "--policy", &policy, "--role", "t", "testbed", "noop",
    ]);
    assert_eq!(out.status.code(), Some(0));
}

#[test]
fn policy_check_prints_each_roles_grants() {
    let out = llmagent(&["policy", "check", "examples/policy.toml"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    golden(
        "policy_check_example.txt",
        &String::from_utf8_lossy(&out.stdout),
    );
}

#[test]
fn an_invalid_policy_exits_3_with_file_line_and_key() {
    let dir = tempfile::tempdir().unwrap();
    let policy = dir.path().join("bad.toml");
    std::fs::write(
        &policy,
        "version = 1\n[roles.ops]\ntools = [\"crypto\"]\nprompts = \"x\"\n",
    )
    .unwrap();
    let out = llmagent(&["policy", "check", &policy.display().to_string()]);
    assert_eq!(out.status.code(), Some(3));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.starts_with(&format!(
            "error: {}:4:1: [roles.ops] prompts: unknown field `prompts`",
            policy.display()
        )),
        "{stderr}"
    );
}

#[test]
fn an_unknown_role_exits_3_and_lists_the_roles() {
    let out = llmagent(&[
        "tools",
        "call",
        "--policy",
        "examples/policy.toml",
        "--role",
        "admin",
        "crypto",
        "sha256",
    ]);
    assert_eq!(out.status.code(), Some(3));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("default") && stderr.contains("scribe"),
        "{stderr}"
    );
}

#[test]
fn arguments_that_are_not_a_json_object_exit_2() {
    for args in ["{not json", "[1,2]"] {
        let out = llmagent(&[
            "tools",
            "call",
            "--policy",
            "examples/policy.toml",
            "--role",
            "default",
            "crypto",
            "sha256",
            "--args",
            args,
        ]);
        assert_eq!(out.status.code(), Some(2), "{args}");
        assert!(out.stdout.is_empty());
    }
}

#[test]
fn an_approval_is_refused_without_a_terminal_and_given_with_approve() {
    let dir = tempfile::tempdir().unwrap();
    let root_dir = dir.path().canonicalize().unwrap();
    let policy = root_dir.join("policy.toml");
    std::fs::write(
        &policy,
        format!(
            "version = 1\n[roles.s]\ntools = [\"file\"]\napprove = [\"file.delete\"]\n[roles.s.fs]\nread = [\"{0}/**\"]\nwrite = [\"{0}/**\"]\n",
            root_dir.display()
        ),
    )
    .unwrap();
    let victim = root_dir.join("victim.txt");
    std::fs::write(&victim, "x").unwrap();
    let policy = policy.display().to_string();
    let args = json!({"path": victim.display().to_string()}).to_string();
    let base = [
        "tools", "call", "--policy", &policy, "--role", "s", "file", "delete", "--args", &args,
    ];
    let out = llmagent(&base);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stdout_json(&out)["error"]["reason"],
        json!("approval_required")
    );
    assert!(victim.exists());
    let mut approved = base.to_vec();
    approved.push("--approve");
    let out = llmagent(&approved);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(!victim.exists());
}

#[test]
fn tools_list_for_a_role_shows_only_what_it_may_call() {
    let out = llmagent(&[
        "tools",
        "list",
        "--policy",
        "examples/policy.toml",
        "--role",
        "default",
        "--json",
    ]);
    assert_eq!(out.status.code(), Some(0));
    let v = stdout_json(&out);
    let summary: Vec<(String, Vec<String>)> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            let actions = t["actions"]
                .as_array()
                .unwrap()
                .iter()
                .map(|a| a["name"].as_str().unwrap().to_owned())
                .collect();
            (t["name"].as_str().unwrap().to_owned(), actions)
        })
        .collect();
    assert_eq!(
        summary,
        vec![
            (
                "crypto".to_owned(),
                [
                    "sha256",
                    "hmac",
                    "generate_key",
                    "generate_keypair",
                    "sign",
                    "verify",
                    "encode",
                    "decode"
                ]
                .map(String::from)
                .to_vec()
            ),
            (
                "file".to_owned(),
                ["read", "list", "stat"].map(String::from).to_vec()
            ),
        ]
    );
}

#[test]
fn tools_describe_shows_the_schemas() {
    let out = llmagent(&["tools", "describe", "file", "--json"]);
    assert_eq!(out.status.code(), Some(0));
    let v = stdout_json(&out);
    assert_eq!(v["name"], json!("file"));
    assert_eq!(v["actions"][0]["name"], json!("read"));
    assert_eq!(v["actions"][0]["schema"]["required"], json!(["path"]));
}

#[test]
fn policy_explain_names_the_deciding_rule() {
    let run = |action: &str| {
        let out = llmagent(&[
            "policy",
            "explain",
            "examples/policy.toml",
            "--role",
            "scribe",
            "file",
            action,
            "--json",
        ]);
        assert_eq!(out.status.code(), Some(0));
        stdout_json(&out)
    };
    assert_eq!(run("delete")["verdict"], json!("approve"));
    assert_eq!(run("read")["verdict"], json!("allow"));
    let out = llmagent(&[
        "policy",
        "explain",
        "examples/policy.toml",
        "--role",
        "default",
        "file",
        "write",
    ]);
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "deny: add \"file.write\" to [roles.default].tools\n"
    );
}

#[test]
fn policy_explain_answers_capability_requests_with_the_rule_or_the_key() {
    let explain = |role: &str, request: &[&str]| {
        let mut args = vec!["policy", "explain", "examples/policy.toml", "--role", role];
        args.extend_from_slice(request);
        let out = llmagent(&args);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    assert_eq!(
        explain("default", &["fs", "read", "/etc/shadow"]),
        "deny: add \"/etc/shadow\" (or a glob matching it) to [roles.default.fs].read\n"
    );
    assert_eq!(
        explain("default", &["fs", "read", "/tmp/llmagent/notes.txt"]),
        "allow: [roles.default.fs].read \"/tmp/llmagent/**\"\n"
    );
    // `..` cannot walk out of a grant: the path is decided where it leads.
    assert_eq!(
        explain("default", &["fs", "read", "/tmp/llmagent/../../etc/shadow"]),
        "deny: add \"/etc/shadow\" (or a glob matching it) to [roles.default.fs].read\n"
    );
    assert_eq!(
        explain("ops", &["exec", "run", "df", "-h"]),
        "allow: [roles.ops.exec].allow \"df\"\n"
    );
    assert_eq!(
        explain("ops", &["exec", "run", "/bin/rm", "-rf", "/"]),
        "deny: add \"/usr/bin/rm\" to [roles.ops.exec].allow\n"
    );
    let out = llmagent(&[
        "policy",
        "explain",
        "examples/policy.toml",
        "--role",
        "default",
        "fs",
        "read",
        "/etc/shadow",
        "--json",
    ]);
    assert_eq!(
        stdout_json(&out),
        json!({"verdict": "deny", "rule": null,
               "hint": "add \"/etc/shadow\" (or a glob matching it) to [roles.default.fs].read"})
    );
}

#[test]
fn policy_explain_refuses_a_malformed_or_unknown_request_with_usage() {
    for (request, message) in [
        (
            &["fs", "chmod", "/x"][..],
            "error: \"chmod\" is not a fs request; write one of: read PATH, list PATH, stat PATH, write PATH, delete PATH\n",
        ),
        (
            &["fs", "read", "etc"][..],
            "error: \"etc\" is not an absolute path; give the full path, starting with \"/\"\n",
        ),
        (
            &["ldap", "bind", "x"][..],
            "error: write a tool and an action (file read), or a capability request: fs read PATH | list PATH | \
             stat PATH | write PATH | delete PATH; exec run PROGRAM [ARG…] | env NAME | cwd DIR; proc list | info PID; \
             systemd list | status UNIT | start UNIT | stop UNIT | restart UNIT; dbus list | introspect DESTINATION \
             PATH | call DESTINATION PATH INTERFACE METHOD | get DESTINATION PATH INTERFACE PROPERTY | set \
             DESTINATION PATH INTERFACE PROPERTY; inotify watch PATH; udev list SUBSYSTEM; http METHOD URL; net \
             interfaces | resolve HOST | ping HOST\n",
        ),
    ] {
        let mut args = vec![
            "policy",
            "explain",
            "examples/policy.toml",
            "--role",
            "default",
        ];
        args.extend_from_slice(request);
        let out = llmagent(&args);
        assert_eq!(out.status.code(), Some(2), "{request:?}");
        assert_eq!(String::from_utf8_lossy(&out.stderr), message);
    }
}

#[test]
fn policy_check_fails_naming_each_test_that_does_not_hold() {
    let dir = tempfile::tempdir().unwrap();
    let policy = dir.path().join("policy.toml");
    let text = |expect: &str| {
        format!(
            "version = 1\n[roles.ops]\ntools = [\"file.read\"]\n[roles.ops.fs]\nread = [\"/var/log/**\"]\n\n\
             [[tests]]\nname = \"logs are readable\"\nrole = \"ops\"\ntool = \"file.read\"\n\
             capability = \"fs\"\nrequest = [\"read\", \"/var/log/syslog\"]\nexpect = \"allow\"\n\n\
             [[tests]]\nrole = \"ops\"\ncapability = \"fs\"\nrequest = [\"read\", \"/etc/shadow\"]\nexpect = \"{expect}\"\n"
        )
    };
    std::fs::write(&policy, text("allow")).unwrap();
    let out = llmagent(&["policy", "check", policy.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(3));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.starts_with(&format!("{}: 1 of 2 tests do not hold\n", policy.display())),
        "{stdout}"
    );
    assert!(stdout.ends_with("\ntests: 1 of 2 hold\n"), "{stdout}");
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        format!(
            "error: {}:15:1: [tests[1]]: test \"tests[1]\" expects allow, but the policy says deny: \
             add \"/etc/shadow\" (or a glob matching it) to [roles.ops.fs].read\n",
            policy.display()
        )
    );
    let out = llmagent(&["policy", "check", policy.to_str().unwrap(), "--json"]);
    assert_eq!(out.status.code(), Some(3));
    let v = stdout_json(&out);
    assert_eq!(v["valid"], json!(false));
    assert_eq!(
        v["tests"],
        json!({"run": 2, "failed": [{"name": "tests[1]", "line": 15, "expected": "allow", "verdict": "deny",
               "reason": "add \"/etc/shadow\" (or a glob matching it) to [roles.ops.fs].read"}]})
    );

    std::fs::write(&policy, text("deny")).unwrap();
    let out = llmagent(&["policy", "check", policy.to_str().unwrap()]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).ends_with("\ntests: 2 of 2 hold\n"));
}

fn llmagent_with_events(events: &Path, args: &[&str]) -> Output {
    let mut all = vec!["--events", events.to_str().unwrap()];
    all.extend_from_slice(args);
    llmagent(&all)
}

#[test]
fn tool_calls_are_recorded_and_queryable_with_their_context() {
    let dir = tempfile::tempdir().unwrap();
    let events = dir.path().join("events");
    let call = [
        "tools",
        "call",
        "--policy",
        "examples/policy.toml",
        "--role",
        "default",
        "--agent",
        "ops1",
        "crypto",
        "sha256",
        "--args",
        r#"{"data":"hello"}"#,
    ];
    assert_eq!(llmagent_with_events(&events, &call).status.code(), Some(0));
    let out = llmagent_with_events(&events, &["events", "--json", "--agent", "ops1"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let topics: Vec<&str> = lines.iter().map(|e| e["topic"].as_str().unwrap()).collect();
    assert_eq!(topics, ["policy.decision", "tool.crypto"]);
    let invocation = &lines[1];
    assert_eq!(invocation["kind"], json!("invocation"));
    assert!(invocation["data"]["duration_ms"].is_u64());
    let request_id = invocation["context"]["request_id"].as_str().unwrap();
    assert!(
        request_id.starts_with("req_") && request_id.len() == 20,
        "{request_id}"
    );
    assert_eq!(
        lines[0]["context"], invocation["context"],
        "one request, one context"
    );

    let out = llmagent_with_events(
        &events,
        &[
            "events",
            "--prefix",
            "tool.",
            "--type",
            "invocation",
            "--json",
        ],
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 1);
}

#[test]
fn follow_sees_events_written_by_another_process() {
    use std::io::{BufRead, BufReader};
    let dir = tempfile::tempdir().unwrap();
    let events = dir.path().join("events");
    let mut follower = command(&[])
        .args([
            "--events",
            events.to_str().unwrap(),
            "events",
            "--follow",
            "--json",
            "--prefix",
            "tool.",
        ])
        .current_dir(root())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Wait until the follower owns the store, then write from another process.
    for _ in 0..200 {
        if events.join("owner.lock").exists() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(25));
    }
    let call = [
        "tools",
        "call",
        "--policy",
        "examples/policy.toml",
        "--role",
        "default",
        "crypto",
        "sha256",
        "--args",
        r#"{"data":"followed"}"#,
    ];
    assert_eq!(llmagent_with_events(&events, &call).status.code(), Some(0));
    let mut line = String::new();
    let stdout = follower.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        BufReader::new(stdout).read_line(&mut line).unwrap();
        line
    });
    // The follower ingests spooled events every 100 ms; give it ample time.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while !reader.is_finished() && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let _ = follower.kill();
    let _ = follower.wait();
    assert!(
        reader.is_finished(),
        "the follower printed nothing within 20 s"
    );
    let event: Value = serde_json::from_str(&reader.join().unwrap()).unwrap();
    assert_eq!(event["topic"], json!("tool.crypto"));
    assert_eq!(event["data"]["args"], json!({"data": "followed"}));
}

#[test]
fn history_and_new_session() {
    let dir = tempfile::tempdir().unwrap();
    let events = dir.path().join("events");
    let out = llmagent_with_events(&events, &["history", "ops1"]);
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "(no messages for ops1)\n"
    );
    let out = llmagent_with_events(&events, &["history", "ops1", "--new-session"]);
    assert_eq!(out.status.code(), Some(0));
    let out = llmagent_with_events(&events, &["events", "--json", "--topic", "agent.session"]);
    let marker: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (marker["agent"].clone(), marker["kind"].clone()),
        (json!("ops1"), json!("new_session"))
    );
}

/// The CLI: `tools list` warns and lists the rest; `policy check` refuses
/// the policy, naming the tool and why.
#[test]
fn the_cli_lists_the_other_tools_and_policy_check_refuses_naming_the_tool() {
    let dir = tempfile::tempdir().expect("tempdir");
    let component =
        llmagent_tests::components::testbed_whose_describe(b"panics", dir.path()).unwrap();
    let policy = dir.path().join("policy.toml");
    std::fs::write(
        &policy,
        format!(
            "version = 1\n[tools.testbed]\npath = \"{}\"\n[roles.r]\ntools = [\"testbed\", \"crypto\"]\n",
            component.display()
        ),
    )
    .unwrap();
    let list = command(&["tools", "list", "--policy"])
        .arg(&policy)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&list.stdout);
    let stderr = String::from_utf8_lossy(&list.stderr);
    assert_eq!(list.status.code(), Some(0), "{stderr}");
    assert!(
        stdout.contains("crypto") && !stdout.contains("testbed"),
        "{stdout}"
    );
    assert!(
        stderr.starts_with("warning: skipped: tool `testbed` (")
            && stderr.contains("testbed was built to panic in describe"),
        "{stderr}"
    );

    let check = command(&["policy", "check"]).arg(&policy).output().unwrap();
    let stderr = String::from_utf8_lossy(&check.stderr);
    assert_eq!(check.status.code(), Some(3), "{stderr}");
    assert!(
        stderr.contains("testbed was built to panic in describe")
            && stderr.contains("error: ")
            && stderr.contains("a tool the policy names cannot be loaded"),
        "{stderr}"
    );
}

/// `--durability sync` and `[events] durability` are accepted, a wrong
/// value is refused naming the choices, and a new store is owner-only.
#[test]
fn durability_is_chosen_by_flag_or_policy_and_a_new_store_is_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let events = dir.path().join("new/events");
    let policy = dir.path().join("policy.toml");
    std::fs::write(
        &policy,
        "version = 1\n[roles.r]\ntools = [\"crypto\"]\n[events]\ndurability = \"sync\"\n",
    )
    .unwrap();
    let policy = policy.to_str().unwrap();
    let call = |extra: &[&str]| {
        let mut args = extra.to_vec();
        args.extend_from_slice(&[
            "tools",
            "call",
            "--policy",
            policy,
            "--role",
            "r",
            "crypto",
            "sha256",
            "--args",
            r#"{"data":"hello"}"#,
        ]);
        llmagent_with_events(&events, &args)
    };
    assert_eq!(call(&[]).status.code(), Some(0));
    assert_eq!(call(&["--durability", "group"]).status.code(), Some(0));
    let mode = std::fs::metadata(&events).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o700);

    let wrong = call(&["--durability", "later"]);
    assert_eq!(wrong.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&wrong.stderr);
    assert!(
        stderr.contains("[possible values: group, sync]"),
        "{stderr}"
    );

    std::fs::write(
        policy,
        "version = 1\n[roles.r]\ntools = [\"crypto\"]\n[events]\ndurability = \"later\"\n",
    )
    .unwrap();
    let out = llmagent(&["policy", "check", policy]);
    assert_eq!(out.status.code(), Some(3));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("unknown variant `later`, expected `group` or `sync`"),
        "{stderr}"
    );
}

/// `llmagent doctor` reports the machine as the kernel tells it, and for a
/// policy each role's grants and unmet requirements; it exits 8 exactly
/// when a role requires what the machine lacks.
#[test]
fn doctor_reports_the_machine_and_whether_each_role_can_run_here() {
    let dir = tempfile::tempdir().unwrap();
    let policy = dir.path().join("policy.toml");
    std::fs::write(
        &policy,
        "version = 1\n[roles.ops]\ntools = [\"bash\"]\n[roles.ops.exec]\nallow = [\"bash\"]\nrequire_landlock = true\n[roles.reader]\ntools = [\"crypto\"]\n",
    )
    .unwrap();
    let out = llmagent(&["doctor", "--json", "--policy", policy.to_str().unwrap()]);
    let report = stdout_json(&out);
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let uid: u32 = status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .and_then(|u| u.split_whitespace().next())
        .and_then(|u| u.parse().ok())
        .unwrap();
    assert_eq!(report["machine"]["uid"][0], json!(uid));
    let abi = report["machine"]["landlock_abi"].as_u64().unwrap();
    assert_eq!(
        report["machine"]["landlock_covers"]
            .as_array()
            .map(Vec::len),
        Some(usize::try_from(abi).unwrap())
    );
    let roles: Vec<(&str, usize)> = report["roles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["role"].as_str().unwrap(),
                r["unmet"].as_array().unwrap().len(),
            )
        })
        .collect();
    if abi > 0 {
        assert_eq!(roles, [("ops", 0), ("reader", 0)]);
        assert_eq!(
            (out.status.code(), report["ok"].clone()),
            (Some(0), json!(true))
        );
    } else {
        assert_eq!(roles, [("ops", 1), ("reader", 0)]);
        assert_eq!(
            (out.status.code(), report["ok"].clone()),
            (Some(8), json!(false))
        );
    }
    let human = llmagent(&["doctor"]);
    let text = String::from_utf8_lossy(&human.stdout);
    assert!(
        text.starts_with("kernel      Linux ")
            && text.contains("\nlandlock    ")
            && text.contains("\nexec child  no capabilities"),
        "{text}"
    );
}

/// The human form of `events` is one line per event in words, cut to the
/// width (`$COLUMNS`, else the terminal's, else 80) with a marker; `--json`
/// keeps everything.
#[test]
fn events_read_as_one_line_each_cut_to_the_width() {
    let dir = tempfile::tempdir().unwrap();
    let events = dir.path().join("events");
    let call = |args: &str| {
        let out = llmagent_with_events(
            &events,
            &[
                "tools",
                "call",
                "--policy",
                "examples/policy.toml",
                "--role",
                "default",
                "--agent",
                "ops1",
                "file",
                "read",
                "--args",
                args,
            ],
        );
        assert_eq!(out.status.code(), Some(1), "{out:?}");
    };
    call(r#"{"path":"/etc/shadow"}"#);
    let human = |columns: &str| {
        let out = command(&["--events"])
            .arg(&events)
            .args(["events", "--agent", "ops1"])
            .env("COLUMNS", columns)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{out:?}");
        String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            // The sequence number, time of day and duration vary; the rest
            // is fixed.
            .map(|l| {
                let l = l.get(15..).unwrap_or_default();
                l.rsplit_once(", ")
                    .filter(|(_, ms)| ms.ends_with(" ms"))
                    .map_or(l, |(head, _)| head)
                    .to_owned()
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(
        human("300"),
        [
            "ops1     allow file.read: by [roles.default].tools \"file.read\"",
            "ops1     deny fs read /etc/shadow: add \"/etc/shadow\" (or a glob matching it) to [roles.default.fs].read",
            "ops1     file.read {\"path\":\"/etc/shadow\"} → error (denied: fs denied access to /etc/shadow)",
        ]
    );
    let narrow = human("60");
    assert_eq!(
        narrow,
        [
            "ops1     allow file.read: by [roles.default]…",
            "ops1     deny fs read /etc/shadow: add \"/etc…",
            "ops1     file.read {\"path\":\"/etc/shadow\"} → …",
        ]
    );
}

/// What bash offers for the last of `words`, with the script
/// `llmagent completions bash` printed loaded as a user's shell loads it.
fn bash_completes(script: &str, words: &[&str]) -> Vec<String> {
    let quoted: Vec<String> = words.iter().map(|w| format!("'{w}'")).collect();
    let cword = words.len() - 1;
    let line = format!(
        "{script}\nCOMP_WORDS=({}); COMP_CWORD={cword}; COMP_LINE='{}'; COMP_POINT=${{#COMP_LINE}}\n\
         _llmagent llmagent '{}' '{}'\nprintf '%s\\n' \"${{COMPREPLY[@]}}\"\n",
        quoted.join(" "),
        words.join(" "),
        words[cword],
        words[cword - 1],
    );
    let out = Command::new("bash")
        .args(["--norc", "-c", &line])
        .stdin(Stdio::null())
        .output()
        .expect("run bash");
    assert!(
        out.status.success(),
        "bash failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect()
}

#[test]
fn bash_completion_completes_commands_and_flags_and_an_unknown_shell_exits_2() {
    let out = llmagent(&["completions", "bash"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let script = String::from_utf8(out.stdout).unwrap();
    assert_eq!(bash_completes(&script, &["llmagent", "ag"]), ["agents"]);
    assert_eq!(
        bash_completes(&script, &["llmagent", "agents", "s"]),
        ["start", "stop"]
    );
    assert_eq!(
        bash_completes(&script, &["llmagent", "events", "--fol"]),
        ["--follow"]
    );

    let out = llmagent(&["completions", "tcsh"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("invalid value 'tcsh'")
            && err.contains("[possible values: bash, elvish, fish, powershell, zsh]"),
        "{err}"
    );
}

#[test]
fn man_writes_a_page_for_every_command_that_man_renders() {
    let out = llmagent(&["man"]);
    assert_eq!(out.status.code(), Some(0));
    let top = String::from_utf8(out.stdout).unwrap();
    assert!(top.contains(".TH llmagent 1"), "{top}");

    let dir = tempfile::tempdir().unwrap();
    let out = llmagent(&["man", "--dir", dir.path().to_str().unwrap()]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let listed: Vec<PathBuf> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(PathBuf::from)
        .collect();
    let mut written: Vec<PathBuf> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    written.sort();
    let mut sorted = listed.clone();
    sorted.sort();
    assert_eq!(sorted, written, "every page written is listed, once");
    for page in [
        "llmagent.1",
        "llmagent-run.1",
        "llmagent-tools-call.1",
        "llmagent-agents-stop.1",
    ] {
        assert!(
            listed.contains(&dir.path().join(page)),
            "{page} missing from {listed:?}"
        );
    }
    assert!(
        !listed.iter().any(|p| p.ends_with("llmagent-help.1")),
        "no page for clap's help subcommand: {listed:?}"
    );

    // What `man` shows a user: the page renders, with the command's
    // synopsis and its options.
    let out = Command::new("man")
        .args(["-P", "cat", "-l"])
        .arg(dir.path().join("llmagent-tools-call.1"))
        .env("MANWIDTH", "100")
        .stdin(Stdio::null())
        .output()
        .expect("run man (scripts/setup.sh installs man-db)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Bold and underline come as overstrikes (`N\bN`, `_\bT`): keep what
    // is struck last, as a terminal shows it.
    let mut text = String::new();
    for c in String::from_utf8_lossy(&out.stdout).chars() {
        if c == '\u{8}' {
            text.pop();
        } else {
            text.push(c);
        }
    }
    for expected in [
        "NAME",
        "llmagent-tools-call",
        "SYNOPSIS",
        "--policy",
        "--role",
    ] {
        assert!(
            text.contains(expected),
            "{expected:?} not in the page:\n{text}"
        );
    }
}
