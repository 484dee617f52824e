//! The built-in `inotify` tool through the runtime, with real inotify in
//! the test's temporary directory: a watch made in one call is polled in
//! a later one, events are recorded as `tool.inotify.event`, a path
//! outside the grant or a symlink out is denied, `max_watches` holds.
//! (Watches across an agent's turns: `agent::inotify`.)

use serde_json::{Value, json};

use crate::harness::Env;

const POLICY: &str = r#"
version = 1
[roles.watcher]
tools = ["inotify"]
[roles.watcher.inotify]
paths = ["{dir}/watched/**"]
max_watches = 2
[roles.nobody]
tools = ["inotify"]
"#;

fn setup() -> Env {
    let env = Env::new(POLICY);
    std::fs::create_dir(env.root().join("watched")).unwrap();
    std::fs::create_dir(env.root().join("other")).unwrap();
    env
}

/// `(event, path)` of a poll's output.
fn pairs(output: &Value) -> Vec<(String, String)> {
    output
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["event"].as_str().unwrap().to_owned(),
                e["path"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[test]
fn a_watch_made_in_one_call_is_polled_in_a_later_one_and_recorded() {
    let env = setup();
    let dir = env.root().join("watched");
    let (id, meta) = env.ok(
        "watcher",
        "inotify",
        "watch",
        json!({"path": dir, "events": ["create", "delete", "move"]}),
    );
    assert_eq!(
        (id.clone(), meta),
        (
            json!(1),
            json!({"path": dir, "status": "watching", "recursive": false})
        )
    );
    std::fs::write(dir.join("a"), "x").unwrap();
    std::fs::rename(dir.join("a"), dir.join("b")).unwrap();
    std::fs::remove_file(dir.join("b")).unwrap();
    let (events, meta) = env.ok("watcher", "inotify", "poll", json!({"watch_id": 1}));
    let (a, b) = (
        dir.join("a").display().to_string(),
        dir.join("b").display().to_string(),
    );
    assert_eq!(
        pairs(&events),
        vec![
            ("CREATE".to_owned(), a.clone()),
            ("MOVED_FROM".to_owned(), a.clone()),
            ("MOVED_TO".to_owned(), b.clone()),
            ("DELETE".to_owned(), b.clone()),
        ]
    );
    assert_eq!(
        meta,
        json!({"watch_id": 1, "count": 4, "overflowed": false})
    );
    let (listed, meta) = env.ok("watcher", "inotify", "list", json!({}));
    assert_eq!(
        (listed, meta),
        (
            json!([{"watch_id": 1, "path": dir, "pending": 0}]),
            json!({"count": 1})
        )
    );
    std::fs::write(dir.join("c"), "").unwrap();
    let (left, meta) = env.ok("watcher", "inotify", "stop", json!({"watch_id": "1"}));
    assert_eq!(
        pairs(&left),
        vec![("CREATE".to_owned(), dir.join("c").display().to_string())]
    );
    assert_eq!(
        meta,
        json!({"watch_id": 1, "status": "stopped", "count": 1})
    );
    let gone = env.err("watcher", "inotify", "poll", json!({"watch_id": 1}));
    assert_eq!(
        (
            gone.reason.as_str(),
            gone.message.as_str(),
            gone.field.as_deref()
        ),
        ("not_found", "No active watch with id 1", Some("watch_id"))
    );

    let recorded: Vec<(String, String, Value)> = env
        .events()
        .into_iter()
        .filter(|e| e.topic.starts_with("tool.inotify") && e.kind != "invocation")
        .map(|e| (e.topic, e.kind, e.data))
        .collect();
    let fs_event = |event: &str, path: &str| {
        (
            "tool.inotify.event".to_owned(),
            "fs_event".to_owned(),
            json!({"watch_id": 1, "event": event, "path": path}),
        )
    };
    let c = dir.join("c").display().to_string();
    assert_eq!(
        recorded,
        vec![
            (
                "tool.inotify".into(),
                "watch_started".into(),
                json!({"watch_id": 1, "path": dir})
            ),
            fs_event("CREATE", &a),
            fs_event("MOVED_FROM", &a),
            fs_event("MOVED_TO", &b),
            fs_event("DELETE", &b),
            fs_event("CREATE", &c),
            (
                "tool.inotify".into(),
                "watch_stopped".into(),
                json!({"watch_id": 1, "path": dir, "final_event_count": 1})
            ),
        ]
    );
}

#[test]
fn outside_the_grant_a_symlink_out_and_beyond_max_watches_are_denied() {
    let env = setup();
    let root = env.root();
    std::os::unix::fs::symlink(root.join("other"), root.join("watched/out")).unwrap();
    for path in [root.join("other"), root.join("watched/out")] {
        let denied = env.err("watcher", "inotify", "watch", json!({"path": path}));
        assert_eq!(
            (
                denied.reason.as_str(),
                denied.field.as_deref(),
                denied.suggestion
            ),
            (
                "denied",
                Some("path"),
                Some(format!(
                    "add \"{}\" (or a glob matching it) to [roles.watcher.inotify].paths",
                    root.join("other").display()
                ))
            )
        );
    }
    let nobody = env.err(
        "nobody",
        "inotify",
        "watch",
        json!({"path": root.join("watched")}),
    );
    assert_eq!(
        nobody.suggestion.as_deref(),
        Some(
            format!(
                "add \"{}\" (or a glob matching it) to [roles.nobody.inotify].paths",
                root.join("watched").display()
            )
            .as_str()
        )
    );
    for _ in 0..2 {
        env.ok(
            "watcher",
            "inotify",
            "watch",
            json!({"path": root.join("watched")}),
        );
    }
    let third = env.err(
        "watcher",
        "inotify",
        "watch",
        json!({"path": root.join("watched")}),
    );
    assert_eq!(
        (third.reason.as_str(), third.suggestion.as_deref()),
        (
            "denied",
            Some(
                "the agent holds 2 watches, the most [roles.watcher.inotify].max_watches allows; stop one first, or raise max_watches"
            )
        )
    );
    let missing = env.err(
        "watcher",
        "inotify",
        "watch",
        json!({"path": root.join("watched/nope")}),
    );
    assert_eq!(
        (missing.reason.as_str(), missing.field.as_deref()),
        ("not_found", Some("path"))
    );
    let bad = env.err(
        "watcher",
        "inotify",
        "watch",
        json!({"path": root.join("watched"), "events": ["boom"]}),
    );
    assert_eq!(
        (bad.reason.as_str(), bad.field.as_deref()),
        ("invalid_args", Some("events"))
    );
}
