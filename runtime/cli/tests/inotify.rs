//! One `llmagent run` whose scripted model asks for `inotify watch`, then
//! `bash` creating a file, then `inotify poll`: the poll reports the file
//! and `llmagent events --topic tool.inotify.event` shows it.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use llmagent_tests::model_server::{ModelServer, Reply};
use serde_json::{Value, json};

mod common;
use common::llmagent;

#[test]
fn run_with_inotify_watch_then_bash_then_poll_reports_the_file_and_events_show_it() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().canonicalize().unwrap();
    let watched = dir.join("watched");
    std::fs::create_dir(&watched).unwrap();
    let policy = dir.join("policy.toml");
    std::fs::write(
        &policy,
        format!(
            r#"version = 1
[defaults]
max_steps = 4
[roles.watcher]
tools = ["inotify", "bash"]
[roles.watcher.inotify]
paths = ["{w}/**"]
[roles.watcher.exec]
allow = ["bash"]
[roles.watcher.fs]
read = ["{w}/**"]
write = ["{w}/**"]
"#,
            w = watched.display()
        ),
    )
    .unwrap();
    let file = watched.join("new.txt");
    let server = ModelServer::start();
    let watch = json!({"path": watched, "events": ["create"]}).to_string();
    let bash = json!({"command": format!("echo hi > {}", file.display())}).to_string();
    server.push(Reply::tool_calls(&[("w", "inotify-watch", &watch)]));
    server.push(Reply::tool_calls(&[("b", "bash-exec", &bash)]));
    server.push(Reply::tool_calls(&[(
        "p",
        "inotify-poll",
        r#"{"watch_id":1}"#,
    )]));
    server.push(Reply::text("new.txt appeared"));
    let events = dir.join("events");
    let (events_arg, policy_arg, base) = (
        events.display().to_string(),
        policy.display().to_string(),
        server.base_url(),
    );
    let out = llmagent(&[
        "--events",
        &events_arg,
        "run",
        "--policy",
        &policy_arg,
        "--role",
        "watcher",
        "--model",
        "scripted",
        "--api-base",
        &base,
        "--retries",
        "0",
        "watch",
        "the",
        "directory",
    ]);
    assert_eq!(
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned()
        ),
        (Some(0), "new.txt appeared\n".to_owned()),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // What the model was shown for the poll.
    let last = server.requests()[3].body["messages"]
        .as_array()
        .unwrap()
        .iter()
        .rev()
        .find(|m| m["role"] == "tool")
        .cloned()
        .unwrap();
    let polled: Value = serde_json::from_str(last["content"].as_str().unwrap()).unwrap();
    assert_eq!(polled["status"], json!("ok"), "{polled}");
    assert_eq!(polled["output"][0]["event"], json!("CREATE"));
    assert_eq!(polled["output"][0]["path"], json!(file));

    let out = llmagent(&[
        "--events",
        &events_arg,
        "events",
        "--json",
        "--topic",
        "tool.inotify.event",
    ]);
    assert_eq!(out.status.code(), Some(0));
    let recorded: Vec<Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .map(|e| json!({"agent": e["agent"], "kind": e["kind"], "data": e["data"]}))
        .collect();
    assert_eq!(
        recorded,
        vec![json!({"agent": "watcher", "kind": "fs_event",
                    "data": {"watch_id": 1, "event": "CREATE", "path": file}})]
    );
}
