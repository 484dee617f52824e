//! `llmagent run` as a user runs it, against a real HTTP model server
//! playing scripted replies: the answer on stdout, tool calls with
//! `--verbose`, one clear line and a distinct exit code for each way a turn
//! can fail.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

use llmagent_tests::model_server::{ModelServer, Reply};
use serde_json::Value;

mod common;

const POLICY: &str = r#"
version = 1
[defaults]
max_steps = 2
[roles.default]
tools = ["crypto"]
"#;

struct Run {
    dir: tempfile::TempDir,
}

impl Run {
    fn new() -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("policy.toml"), POLICY).expect("policy");
        Self { dir }
    }

    fn policy(&self) -> PathBuf {
        self.dir.path().join("policy.toml")
    }

    fn run(&self, base: &str, extra: &[&str]) -> Output {
        command(&self.run_args(base, extra))
    }

    fn run_args(&self, base: &str, extra: &[&str]) -> Vec<String> {
        let events = self.dir.path().join("events");
        let mut args: Vec<String> = vec![
            "--events".into(),
            events.display().to_string(),
            "run".into(),
            "--policy".into(),
            self.policy().display().to_string(),
            "--role".into(),
            "default".into(),
            "--model".into(),
            "scripted".into(),
            "--api-base".into(),
            base.into(),
            "--retries".into(),
            "0".into(),
        ];
        args.extend(extra.iter().map(|s| (*s).to_owned()));
        args
    }

    fn events(&self, args: &[&str]) -> String {
        let mut all = vec![
            "--events".to_owned(),
            self.dir.path().join("events").display().to_string(),
            "events".to_owned(),
        ];
        all.extend(args.iter().map(|s| (*s).to_owned()));
        String::from_utf8_lossy(&command(&all).stdout).into_owned()
    }
}

fn command(args: &[String]) -> Output {
    llmagent(args).output().expect("run llmagent")
}

fn llmagent(args: &[String]) -> Command {
    let mut cmd = common::command(&[]);
    // Wide enough that no line is cut (cutting to the width is tested in
    // cli.rs).
    cmd.args(args).env("COLUMNS", "300");
    cmd
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn a_prompt_that_needs_a_tool_prints_the_answer_and_exits_0() {
    let run = Run::new();
    let server = ModelServer::start();
    server.push(Reply::tool_calls(&[(
        "c1",
        "crypto-sha256",
        r#"{"data":"hello"}"#,
    )]));
    server.push(Reply::text("The SHA-256 of hello is 2cf24dba…"));
    let out = run.run(&server.base_url(), &["--verbose", "hash", "hello"]);
    assert_eq!(text(&out.stdout), "The SHA-256 of hello is 2cf24dba…\n");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("→ crypto.sha256 {\"data\":\"hello\"}"),
        "{stderr}"
    );
    assert!(
        stderr.contains("2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"),
        "{stderr}"
    );
    assert_eq!(
        server.requests()[0].body["messages"][1]["content"],
        "hash hello"
    );
    // The turn is on record, and the conversation continues next time.
    let recorded = run.events(&["--agent", "default", "--topic", "agent.message"]);
    assert_eq!(recorded.lines().count(), 5, "{recorded}");
    server.push(Reply::text("again"));
    let out = run.run(&server.base_url(), &["and", "now?"]);
    assert_eq!(out.status.code(), Some(0));
    let messages = server.requests()[2].body["messages"]
        .as_array()
        .unwrap()
        .len();
    assert_eq!(messages, 1 + 4 + 1);
}

#[test]
fn json_output_describes_the_outcome() {
    let run = Run::new();
    let server = ModelServer::start();
    server.push(Reply::text("hi"));
    let out = run.run(&server.base_url(), &["--json", "hello"]);
    let v: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(
        (
            v["end"].as_str(),
            v["text"].as_str(),
            v["steps"].as_u64(),
            v["usage"]["total_tokens"].as_u64(),
            v["exit_code"].as_u64()
        ),
        (Some("answer"), Some("hi"), Some(0), Some(15), Some(0))
    );
}

#[test]
fn an_unreachable_server_is_one_line_saying_where_and_exit_5() {
    let run = Run::new();
    // A port nobody listens on: bind, note it, close.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let base = format!("http://127.0.0.1:{port}/v1");
    let out = run.run(&base, &["hello"]);
    assert_eq!(out.status.code(), Some(5));
    let stderr = text(&out.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.starts_with(&format!(
            "error: cannot reach the model server at {base}/chat/completions"
        )),
        "{stderr}"
    );
    assert!(stderr.contains("--api-base"), "{stderr}");
    assert!(out.stdout.is_empty());
}

#[test]
fn a_server_error_exits_6_and_a_step_limit_exits_7() {
    let run = Run::new();
    let server = ModelServer::start();
    server.push(Reply::status(500, "model crashed"));
    let out = run.run(&server.base_url(), &["hello"]);
    assert_eq!(out.status.code(), Some(6));
    assert_eq!(
        text(&out.stderr),
        "error: the model server answered HTTP 500: model crashed\n"
    );
    server.always(Reply::tool_calls(&[(
        "c",
        "crypto-sha256",
        r#"{"data":"x"}"#,
    )]));
    let out = run.run(&server.base_url(), &["loop"]);
    assert_eq!(out.status.code(), Some(7));
    assert!(
        text(&out.stderr).starts_with("error: I stopped after 2 tool steps"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn a_missing_model_or_role_is_a_usage_or_policy_error() {
    let run = Run::new();
    let out = command(&[
        "run".into(),
        "--policy".into(),
        run.policy().display().to_string(),
        "--role".into(),
        "default".into(),
        "--no-events".into(),
        "hi".into(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        text(&out.stderr),
        "error: no model named: pass --model NAME, set LLMAGENT_MODEL, or set model in the agent's [agents.NAME]\n"
    );
    let out = command(&[
        "run".into(),
        "--policy".into(),
        run.policy().display().to_string(),
        "--role".into(),
        "nosuch".into(),
        "--model".into(),
        "m".into(),
        "hi".into(),
    ]);
    assert_eq!(out.status.code(), Some(3));
    assert!(
        text(&out.stderr).contains("nosuch"),
        "{}",
        text(&out.stderr)
    );
}

/// Escape sequences from the model — in its answer, in a tool call's
/// arguments shown by `--verbose`, in `history` and `events` — are shown,
/// never obeyed: nothing can clear the screen or fake a prompt.
#[test]
fn escape_sequences_from_the_model_are_shown_not_obeyed() {
    let run = Run::new();
    let server = ModelServer::start();
    let evil = "\u{1b}[2J\u{1b}]8;;x\u{7}\rrole `default` needs your approval \u{9b}1m\u{202e}";
    let shown = "^[[2J^[]8;;x^G^Mrole `default` needs your approval <U+009B>1m<U+202E>";
    let args = serde_json::json!({ "data": evil }).to_string();
    server.push(Reply::tool_calls(&[("c1", "crypto-sha256", &args)]));
    server.push(Reply::text(evil));
    let out = run.run(&server.base_url(), &["--verbose", "hash", "it"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), format!("{shown}\n"));
    let stderr = text(&out.stderr);
    assert!(
        !stderr.contains('\u{1b}') && !stderr.contains('\u{9b}'),
        "{stderr:?}"
    );
    // JSON escapes C0 controls itself (`\u001b`); C1 and bidi are shown.
    assert!(stderr.contains("<U+009B>1m<U+202E>"), "{stderr:?}");

    let history = common::command(&["--events"])
        .env("COLUMNS", "300")
        .arg(run.dir.path().join("events"))
        .args(["history", "default"])
        .output()
        .expect("run llmagent");
    let history = text(&history.stdout);
    assert!(
        history.contains(&format!("assistant: {shown}")),
        "{history:?}"
    );
    assert!(
        !history.contains('\u{1b}') && !history.contains('\r'),
        "{history:?}"
    );
    let events = run.events(&["--topic", "agent.message"]);
    assert!(
        !events.contains('\u{9b}') && !events.contains('\u{202e}'),
        "{events:?}"
    );
}

#[test]
fn a_second_process_running_the_same_agent_is_refused_naming_the_first() {
    let run = Run::new();
    let server = ModelServer::start();
    server.push(Reply::Hang);
    let mut first = llmagent(&run.run_args(&server.base_url(), &["first"]))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the first llmagent");
    // The first is asking the model (which never answers): it holds the agent.
    let asked = server.wait_for_requests(1, std::time::Duration::from_secs(120));
    assert_eq!(asked.len(), 1, "the first run never asked the model");
    let out = run.run(&server.base_url(), &["second"]);
    let _ = first.kill();
    let _ = first.wait();
    assert_eq!(out.status.code(), Some(4), "{}", text(&out.stderr));
    // The first owns the event store (and the agent): the second is
    // refused before it could start without the conversation, naming the
    // first process and its command.
    let events = run.dir.path().join("events");
    let err = text(&out.stderr);
    assert!(
        err.starts_with(&format!(
            "error: the event store {} is owned by process {} (",
            events.display(),
            first.id()
        )) && err.contains(" run --policy "),
        "{err}"
    );
    assert_eq!(
        server.requests().len(),
        1,
        "the second never asked the model"
    );
    // Killed, the first holds nothing: the next run goes ahead.
    server.push(Reply::text("third"));
    let out = run.run(&server.base_url(), &["third"]);
    assert_eq!(text(&out.stdout), "third\n", "{}", text(&out.stderr));
}

#[test]
fn a_70000_character_tool_name_is_refused_and_the_log_stays_readable() {
    let run = Run::new();
    let server = ModelServer::start();
    let name = "t".repeat(70_000);
    server.push(Reply::tool_calls(&[("c", &name, "{}")]));
    server.push(Reply::text("no such tool"));
    let out = run.run(&server.base_url(), &["call", "it"]);
    assert_eq!(text(&out.stdout), "no such tool\n", "{}", text(&out.stderr));
    server.push(Reply::text("still here"));
    let out = run.run(&server.base_url(), &["again"]);
    assert_eq!(text(&out.stdout), "still here\n", "{}", text(&out.stderr));
    let mut all = vec![
        "--events".to_owned(),
        run.dir.path().join("events").display().to_string(),
        "events".to_owned(),
        "--json".to_owned(),
    ];
    let out = command(&all);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let lines: Vec<Value> = text(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("one event per line"))
        .collect();
    let refused = lines
        .iter()
        .filter(|e| e["topic"] == "agent.message" && e["data"]["role"] == "tool")
        .filter_map(|e| e["data"]["content"].as_str())
        .collect::<Vec<_>>();
    assert_eq!(refused.len(), 1, "{refused:?}");
    assert!(refused[0].contains("invalid_tool"), "{}", refused[0]);
    assert!(!text(&out.stdout).contains(&"t".repeat(200)));
    all.pop();
    let out = command(&all);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
}
