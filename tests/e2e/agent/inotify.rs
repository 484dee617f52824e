//! Watches across an agent's tool calls: a scripted model asks for
//! `inotify watch`, then `bash` creating a file, then `inotify poll`; the
//! poll reports the file and `tool.inotify.event` records it. Another
//! agent cannot see or stop the watch; the watch ends with its agent.

use llmagent_core::{AgentSettings, DenyApprovals, TurnEnd};
use llmagent_policy::ToolProtocol;
use llmagent_tests::model_server::Reply;
use serde_json::{Value, json};
use std::sync::Arc;

use super::{Rig, ask};

const POLICY: &str = r#"
version = 1
[roles.watcher]
tools = ["inotify", "bash"]
timeout_ms = 10000
[roles.watcher.inotify]
paths = ["{dir}/**"]
[roles.watcher.exec]
allow = ["bash"]
[roles.watcher.fs]
read = ["{dir}/**"]
write = ["{dir}/**"]
"#;

/// The tool results the model was sent in request `n`.
fn results(rig: &Rig, n: usize) -> Vec<Value> {
    rig.bodies()[n]["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .filter(|m| m["role"] == "tool")
        .map(|m| serde_json::from_str(m["content"].as_str().unwrap_or("")).expect("result JSON"))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_watch_made_in_one_call_is_polled_in_a_later_one_of_the_same_agent_only() {
    let rig = Rig::with_policy(POLICY);
    let dir = rig.env.root();
    let file = dir.join("made-by-bash.txt");
    let mut agent = rig.agent("watcher", ToolProtocol::Native);
    let watch = json!({"path": dir, "events": ["create"]}).to_string();
    let bash = json!({"command": format!("echo hi > {}", file.display())}).to_string();
    let poll = json!({"watch_id": 1}).to_string();
    rig.server
        .push(Reply::tool_calls(&[("w", "inotify-watch", &watch)]));
    rig.server
        .push(Reply::tool_calls(&[("b", "bash-exec", &bash)]));
    rig.server
        .push(Reply::tool_calls(&[("p", "inotify-poll", &poll)]));
    rig.server.push(Reply::text("a file appeared"));
    let out = ask(&mut agent, "tell me when a file appears").await;
    assert_eq!(out.end, TurnEnd::Answer("a file appeared".into()));
    let shown = results(&rig, 3);
    assert_eq!(shown[0]["output"], json!(1));
    assert_eq!(shown[1]["status"], json!("ok"), "{:?}", shown[1]);
    let polled = &shown[2];
    assert_eq!(polled["status"], json!("ok"), "{polled:?}");
    assert_eq!(
        polled["output"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| (e["event"].clone(), e["path"].clone()))
            .collect::<Vec<_>>(),
        vec![(json!("CREATE"), json!(file))]
    );
    let recorded: Vec<Value> = rig
        .env
        .store
        .for_topic("tool.inotify.event")
        .expect("query")
        .into_iter()
        .map(|e| json!({"agent": e.agent, "data": e.data}))
        .collect();
    assert_eq!(
        recorded,
        vec![json!({"agent": "tester", "data": {"watch_id": 1, "event": "CREATE", "path": file}})]
    );

    // Another agent cannot see or stop it.
    let settings = AgentSettings::new("intruder", "watcher", "scripted-model");
    let mut other = rig.agent_from(settings, rig.config(), Arc::new(DenyApprovals));
    rig.server.push(Reply::tool_calls(&[
        ("l", "inotify-list", "{}"),
        ("s", "inotify-stop", &poll),
    ]));
    rig.server.push(Reply::text("nothing of mine"));
    let out = ask(&mut other, "what are you watching?").await;
    assert_eq!(out.end, TurnEnd::Answer("nothing of mine".into()));
    let shown = results(&rig, 5);
    assert_eq!(shown[0]["output"], json!([]));
    assert_eq!(shown[1]["error"]["reason"], json!("not_found"));
    assert_eq!(
        shown[1]["error"]["message"],
        json!("No active watch with id 1")
    );

    // The owner still has it; it ends with the agent.
    rig.server
        .push(Reply::tool_calls(&[("l", "inotify-list", "{}")]));
    rig.server.push(Reply::text("one"));
    ask(&mut agent, "and you?").await;
    let shown = results(&rig, 7);
    assert_eq!(
        shown[shown.len() - 1]["output"],
        json!([{"watch_id": 1, "path": dir, "pending": 0}])
    );
    drop(agent);
    let stopped: Vec<Value> = rig
        .env
        .store
        .for_topic("tool.inotify")
        .expect("query")
        .into_iter()
        .filter(|e| e.kind == "watch_stopped")
        .map(|e| json!({"agent": e.agent, "data": e.data}))
        .collect();
    assert_eq!(
        stopped,
        vec![
            json!({"agent": "tester", "data": {"watch_id": 1, "path": dir, "final_event_count": 0, "reason": "the agent ended"}})
        ]
    );
}
