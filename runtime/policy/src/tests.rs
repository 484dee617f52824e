//! Unit tests of whole-file compilation: limits, paths, prompts, agents.
//! Bad files are covered by the golden tests in `tests/golden/`.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

use std::path::{Path, PathBuf};

use crate::{Agent, Limits, Policy, PolicyError, Ruling, ToolProtocol, ToolRef, Verdict};

const BUILTINS: &[&str] = &["crypto", "file"];

fn parse(text: &str) -> Result<Policy, PolicyError> {
    Policy::parse(text, Path::new("/etc/llmagent/policy.toml"), BUILTINS)
}

#[test]
fn minimal_policy_has_default_limits_and_nothing_else() {
    let p = parse("version = 1\n").unwrap();
    assert_eq!(p.version, 1);
    assert_eq!(
        p.defaults,
        Limits {
            timeout_ms: 10_000,
            memory_mib: 64,
            max_output_bytes: 1 << 20,
            max_steps: 16
        }
    );
    assert!(p.tools.is_empty() && p.roles.is_empty() && p.agents.is_empty());
    assert_eq!(p.origin, PathBuf::from("/etc/llmagent/policy.toml"));
}

#[test]
fn role_limits_override_defaults_key_by_key() {
    let p = parse(
        "version = 1\n[defaults]\ntimeout_ms = 5000\nmax_steps = 8\n\
         [roles.ops]\ntimeout_ms = 200\nmax_output_bytes = 4096\n[roles.plain]\n",
    )
    .unwrap();
    assert_eq!(
        p.defaults,
        Limits {
            timeout_ms: 5000,
            max_steps: 8,
            ..Limits::default()
        }
    );
    let ops = p.role("ops").unwrap();
    assert_eq!(
        ops.limits,
        Limits {
            timeout_ms: 200,
            memory_mib: 64,
            max_output_bytes: 4096,
            max_steps: 8
        }
    );
    assert_eq!(ops.grants.max_output_bytes, 4096);
    assert_eq!(ops.grants.role, "ops");
    assert_eq!(p.role("plain").unwrap().limits, p.defaults);
}

#[test]
fn tool_paths_resolve_against_the_policy_dir() {
    let sha = "ab".repeat(32);
    let p = parse(&format!(
        "version = 1\n[tools.weather]\npath = \"tools/weather.wasm\"\nsha256 = \"{sha}\"\n\
         [tools.abs]\npath = \"/opt/abs.wasm\"\n"
    ))
    .unwrap();
    let weather = &p.tools["weather"];
    assert_eq!(
        weather.path,
        PathBuf::from("/etc/llmagent/tools/weather.wasm")
    );
    assert_eq!(weather.sha256, Some([0xab; 32]));
    assert_eq!(p.tools["abs"].path, PathBuf::from("/opt/abs.wasm"));
    assert_eq!(p.tools["abs"].sha256, None);
}

#[test]
fn relative_origin_resolves_against_the_current_dir() {
    let p = Policy::parse(
        "version = 1\n[tools.t]\npath = \"t.wasm\"\n",
        Path::new("conf/p.toml"),
        BUILTINS,
    )
    .unwrap();
    let cwd = std::env::current_dir().unwrap();
    assert_eq!(p.tools["t"].path, cwd.join("conf/t.wasm"));
    assert_eq!(p.origin, PathBuf::from("conf/p.toml"));
}

#[test]
fn declared_tools_can_be_granted_and_decided() {
    let p = parse(
        "version = 1\n[tools.weather]\npath = \"w.wasm\"\n\
         [roles.ops]\ntools = [\"weather.forecast\", \"file\"]\napprove = [\"file.write\"]\n",
    )
    .unwrap();
    let ops = p.role("ops").unwrap();
    assert_eq!(
        ops.tools,
        [
            ToolRef {
                tool: "weather".into(),
                action: Some("forecast".into())
            },
            ToolRef {
                tool: "file".into(),
                action: None
            }
        ]
    );
    assert_eq!(ops.decide("weather", "forecast").verdict(), Verdict::Allow);
    assert_eq!(ops.decide("weather", "alerts").verdict(), Verdict::Deny);
    assert_eq!(ops.decide("file", "write").verdict(), Verdict::Approve);
    assert_eq!(
        ops.decide("crypto", "hash"),
        Ruling::deny("add \"crypto.hash\" to [roles.ops].tools")
    );
}

#[test]
fn prompt_file_is_read_relative_to_the_policy() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("prompts")).unwrap();
    std::fs::write(dir.path().join("prompts/ops.md"), "You are careful.\n").unwrap();
    let policy = dir.path().join("policy.toml");
    std::fs::write(&policy, "version = 1\n[roles.ops]\nprompt_file = \"prompts/ops.md\"\n[roles.inline]\nprompt = \"Hi.\"\n")
        .unwrap();
    let p = Policy::load(&policy, BUILTINS).unwrap();
    assert_eq!(
        p.role("ops").unwrap().prompt.as_deref(),
        Some("You are careful.\n")
    );
    assert_eq!(p.role("inline").unwrap().prompt.as_deref(), Some("Hi."));
}

#[test]
fn prompt_and_prompt_file_together_are_refused() {
    let err =
        parse("version = 1\n[roles.ops]\nprompt = \"a\"\nprompt_file = \"b.md\"\n").unwrap_err();
    assert_eq!(err.code(), "policy.invalid");
    assert_eq!(
        err.to_string(),
        "/etc/llmagent/policy.toml:4:15: [roles.ops] prompt_file: both prompt and prompt_file are set; keep one of them"
    );
}

#[test]
fn oversized_prompt_file_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("big.md"), "x".repeat(300 << 10)).unwrap();
    let origin = dir.path().join("policy.toml");
    let err = Policy::parse(
        "version = 1\n[roles.ops]\nprompt_file = \"big.md\"\n",
        &origin,
        BUILTINS,
    )
    .unwrap_err();
    assert_eq!(err.code(), "policy.prompt_file");
    assert!(
        err.to_string()
            .ends_with("larger than 256 KiB; a prompt must fit in a model's context"),
        "{err}"
    );
}

#[test]
fn missing_policy_file_is_an_io_error() {
    let err = Policy::load(Path::new("/nonexistent/policy.toml"), BUILTINS).unwrap_err();
    assert_eq!(err.code(), "policy.io");
    assert!(
        err.to_string()
            .starts_with("/nonexistent/policy.toml: cannot read the policy file: "),
        "{err}"
    );
}

#[test]
fn unknown_role_lists_the_roles() {
    let p = parse("version = 1\n[roles.ops]\n[roles.web]\n").unwrap();
    let err = p.role("opps").unwrap_err();
    assert_eq!(err.code(), "policy.unknown_role");
    assert_eq!(
        err.to_string(),
        "no role \"opps\" in /etc/llmagent/policy.toml; the roles it defines are: ops, web"
    );
}

#[test]
fn agents_are_compiled() {
    let p = parse(
        "version = 1\n[roles.ops]\n[agents.helper]\nrole = \"ops\"\nmodel = \"llama3.2\"\n\
         api_base = \"http://localhost:11434/v1\"\napi_key_env = \"OPENAI_API_KEY\"\nkey_over_plain_http = true\n\
         tool_protocol = \"constrained\"\ntemperature = 0.2\nmax_tokens = 1024\nmax_result_bytes = 4096\n\
         max_calls_per_reply = 4\nmax_args_bytes = 2048\nautostart = true\n[agents.bare]\nrole = \"ops\"\n",
    )
    .unwrap();
    assert_eq!(
        p.agents["helper"],
        Agent {
            name: "helper".into(),
            role: "ops".into(),
            model: Some("llama3.2".into()),
            api_base: Some("http://localhost:11434/v1".into()),
            api_key_env: Some("OPENAI_API_KEY".into()),
            key_over_plain_http: true,
            tool_protocol: ToolProtocol::Constrained,
            temperature: Some(0.2),
            max_tokens: Some(1024),
            max_result_bytes: 4096,
            max_calls_per_reply: 4,
            max_args_bytes: 2048,
            autostart: true,
        }
    );
    assert_eq!(p.agents["bare"].tool_protocol, ToolProtocol::Auto);
    assert!(!p.agents["bare"].autostart);
    assert_eq!(p.agents["bare"].model, None);
    assert_eq!(
        p.agents["bare"].max_result_bytes,
        crate::DEFAULT_MAX_RESULT_BYTES
    );
    assert_eq!(
        (
            p.agents["bare"].max_calls_per_reply,
            p.agents["bare"].max_args_bytes
        ),
        (
            crate::DEFAULT_MAX_CALLS_PER_REPLY,
            crate::DEFAULT_MAX_ARGS_BYTES
        )
    );
}

#[test]
fn the_documented_example_compiles() {
    let docs = include_str!("lib.rs");
    let start = docs.find("//! ```toml\n").unwrap() + "//! ```toml\n".len();
    let len = docs[start..].find("//! ```").unwrap();
    let example: String = docs[start..start + len]
        .lines()
        .map(|l| {
            l.strip_prefix("//!")
                .unwrap()
                .strip_prefix(' ')
                .unwrap_or_default()
        })
        .map(|l| format!("{l}\n"))
        .collect();
    let p = parse(&example).unwrap();
    let ops = p.role("ops").unwrap();
    assert_eq!(ops.limits.timeout_ms, 2000);
    assert_eq!(ops.decide("file", "write").verdict(), Verdict::Approve);
    assert_eq!(ops.decide("file", "delete").verdict(), Verdict::Deny);
    assert_eq!(ops.decide("weather", "forecast").verdict(), Verdict::Deny);
    assert_eq!(
        p.tools["weather"].path,
        PathBuf::from("/etc/llmagent/tools/weather.wasm")
    );
    assert_eq!(p.agents["helper"].temperature, Some(0.2));
}

#[test]
fn the_first_error_in_the_file_is_reported() {
    let err =
        parse("version = 1\n[roles.web]\ntimeout_ms = 0\n[roles.db]\nmax_steps = 0\n").unwrap_err();
    assert_eq!(
        err.to_string(),
        "/etc/llmagent/policy.toml:3:14: [roles.web] timeout_ms: 0 is out of range; use a value from 1 to 600000 (milliseconds)"
    );
}

#[test]
fn summary_lists_what_a_role_can_do() {
    let p = parse(
        "version = 1\n[roles.ops]\ntools = [\"file.read\", \"crypto\"]\n\
         [roles.ops.fs]\nread = [\"/var/log/**\"]\n",
    )
    .unwrap();
    let lines = |l: &[&str]| l.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
    assert_eq!(
        p.role("ops").unwrap().summary(),
        [
            ("tools", lines(&["file.read, crypto"])),
            ("approve", lines(&["(none)"])),
            (
                "limits",
                lines(&["timeout 10000 ms, memory 64 MiB, output 1048576 bytes, 16 steps"])
            ),
            ("fs", lines(&["read /var/log/**"])),
            ("exec", lines(&[])),
            ("proc", lines(&[])),
            ("systemd", lines(&[])),
            ("dbus", lines(&[])),
            ("inotify", lines(&[])),
            ("udev", lines(&[])),
            ("http", lines(&[])),
            ("net", lines(&[])),
            ("mcp", lines(&[])),
        ]
    );
}

/// A grant that reaches its directory through a symlink some role may
/// write (so a tool may have planted it: `/t/in` → `/`) is refused at load,
/// naming the link, the grant that could write it and the key; the same
/// link where no role writes is followed as before.
#[test]
fn a_grant_through_a_symlink_a_role_can_write_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let root = std::fs::canonicalize(dir.path()).unwrap();
    let r = root.display();
    std::fs::create_dir_all(root.join("t")).unwrap();
    std::fs::create_dir_all(root.join("elsewhere")).unwrap();
    std::os::unix::fs::symlink(root.join("elsewhere"), root.join("t/in")).unwrap();
    let text = format!(
        "version = 1\n[roles.writer.fs]\nwrite = [\"{r}/t/**\"]\n\
         [roles.reader.fs]\nread = [\"/usr/**\", \"{r}/t/in/**\"]\n"
    );
    let err = parse(&text).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "/etc/llmagent/policy.toml:5:20: [roles.reader.fs] read[1]: \"{r}/t/in/**\" goes through \
             \"{r}/t/in\", a symlink (to \"{r}/elsewhere\") that the grant [roles.writer.fs].write \"{r}/t/**\" \
             lets a tool create or replace, so a tool could point this grant anywhere; grant the real path \
             instead (resolve the link yourself and check it), or remove the link if a tool made it"
        )
    );
    // Nobody writes where the link is: followed, and shown resolved.
    let text = format!("version = 1\n[roles.reader.fs]\nread = [\"{r}/t/in/**\"]\n");
    let p = parse(&text).unwrap();
    assert_eq!(
        p.role("reader").unwrap().grants.fs.summary(),
        [format!(
            "read {r}/t/in/** ({r}/t/in resolves to {r}/elsewhere)"
        )]
    );
}

#[test]
fn mcp_servers_are_granted_by_their_tools_globs_and_approve_works_for_them() {
    let p = parse(
        "version = 1\n[roles.ops]\ntools = [\"crypto\"]\napprove = [\"notes.add\"]\n\
         [roles.ops.mcp.notes]\ncommand = [\"/bin/sh\", \"-c\", \"true\"]\ntools = [\"add\", \"note_*\"]\n\
         [roles.ops.mcp.wiki]\nurl = \"http://127.0.0.1:9/mcp\"\ntoken_env = \"WIKI_TOKEN\"\ntools = [\"*\"]\n",
    )
    .unwrap();
    let role = p.role("ops").unwrap();
    assert_eq!(
        role.decide("notes", "note_read"),
        Ruling::allow("[roles.ops.mcp.notes].tools \"note_*\"")
    );
    assert_eq!(
        role.decide("notes", "add"),
        Ruling::Approve {
            rule: "[roles.ops].approve \"notes.add\"".into()
        }
    );
    assert_eq!(
        role.decide("notes", "secret"),
        Ruling::deny("add \"secret\" to [roles.ops.mcp.notes].tools")
    );
    assert_eq!(
        role.summary().last().cloned(),
        Some((
            "mcp",
            vec![
                "notes: command /bin/sh -c true; tools add, note_*".to_owned(),
                "wiki: url http://127.0.0.1:9/mcp (token from $WIKI_TOKEN); tools *".to_owned(),
            ]
        ))
    );
    for (bad, message) in [
        (
            "[roles.ops.mcp.x]\ntools = [\"*\"]\n",
            "neither command nor url is set",
        ),
        (
            "[roles.ops.mcp.x]\ncommand = [\"/bin/sh\"]\nurl = \"http://h/\"\ntools = [\"*\"]\n",
            "both command and url are set",
        ),
        (
            "[roles.ops.mcp.x]\nurl = \"ftp://h/\"\ntools = [\"*\"]\n",
            "is not an http:// or https:// URL",
        ),
        (
            "[roles.ops.mcp.x]\nurl = \"http://h/\"\ntoken_env = \"secret value\"\ntools = [\"*\"]\n",
            "is not an environment variable name",
        ),
        (
            "[roles.ops.mcp.crypto]\nurl = \"http://h/\"\ntools = [\"*\"]\n",
            "is already a tool's name",
        ),
        (
            "[roles.ops.mcp.x]\nurl = \"http://h/\"\ntools = []\n",
            "empty, so no tool of this server could be used",
        ),
    ] {
        let err = parse(&format!("version = 1\n[roles.ops]\n{bad}"))
            .unwrap_err()
            .to_string();
        assert!(err.contains(message), "{bad}: {err}");
    }
}
