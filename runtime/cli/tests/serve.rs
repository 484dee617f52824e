//! `llmagent serve` as an operator runs it: a real service process with
//! its API on a Unix socket (and loopback TCP), agents answering from a
//! real HTTP model server playing scripted tool turns, driven by the
//! command line (`agents`, `prompt`, `events`, `run`) and by raw HTTP.

#![allow(clippy::expect_used, clippy::unwrap_used)]

mod serve_support;

use std::time::Duration;

use llmagent_tests::model_server::{ModelServer, Reply};
use serde_json::{Value, json};
use serve_support::{Service, agents_policy, http};

/// The sha256 of "hi" (what the crypto tool answers the scripted call).
const SHA_HI: &str = "8f434346648f6b96df89dda901c5176b10a6d83961dd3c1ac88b59b2dc327aa4";

fn tool_turn() -> Reply {
    Reply::tool_turn(("c1", "crypto-sha256", r#"{"data":"hi"}"#), "done")
}

/// The topics of an agent's events from `llmagent events --agent A --json`.
fn topics(lines: &str) -> Vec<String> {
    lines
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .map(|e| e["topic"].as_str().unwrap_or("").to_owned())
        .collect()
}

#[test]
fn serve_runs_two_autostarted_agents_and_one_stops_while_the_other_answers() {
    let model = ModelServer::start();
    model.always(tool_turn());
    let svc = Service::start(&agents_policy(&model.base_url(), &["a", "b"], true), &[]);

    let list = svc.cli_json(&["agents", "list", "--json"]);
    let shown: Vec<(String, String, String, String, u64)> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["name"].as_str().unwrap().to_owned(),
                a["state"].as_str().unwrap().to_owned(),
                a["role"].as_str().unwrap().to_owned(),
                a["model"].as_str().unwrap().to_owned(),
                a["history_length"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        shown,
        vec![
            (
                "a".into(),
                "idle".into(),
                "default".into(),
                "scripted".into(),
                0
            ),
            (
                "b".into(),
                "idle".into(),
                "default".into(),
                "scripted".into(),
                0
            ),
        ]
    );

    let out = svc.cli(&["prompt", "a", "hash", "hi"]);
    assert_eq!(
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned()
        ),
        (Some(0), "done\n".to_owned()),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The turn as it ran, on stderr: the call and its result.
    let shown = String::from_utf8_lossy(&out.stderr);
    assert!(shown.contains("crypto.sha256"), "{shown}");

    let out = svc.cli(&["agents", "stop", "a"]);
    assert_eq!(
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned()
        ),
        (Some(0), "stopped a\n".to_owned())
    );
    let out = svc.cli(&["prompt", "a", "again"]);
    assert_eq!(out.status.code(), Some(10));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "error: no agent `a` is running (not_found, HTTP 404)\n"
    );
    let out = svc.cli(&["agents", "stop", "a", "--json"]);
    assert_eq!(out.status.code(), Some(10));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["error"]["code"], "not_found");

    let out = svc.cli(&["prompt", "b", "--json", "hash", "hi"]);
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (
            v["end"].clone(),
            v["text"].clone(),
            v["steps"].clone(),
            v["tool_calls"].clone(),
            v["exit_code"].clone()
        ),
        (json!("answer"), json!("done"), json!(1), json!(1), json!(0))
    );

    // `events` reads through the service that owns the store.
    let events = svc.cli(&["events", "--agent", "b", "--json"]);
    assert_eq!(
        topics(&String::from_utf8_lossy(&events.stdout)),
        vec![
            "agent.started",
            "agent.prompt",
            "agent.message",
            "agent.message",
            "agent.llm_response",
            "agent.message",
            "agent.tool_dispatch",
            "policy.decision",
            "tool.crypto",
            "agent.message",
            "agent.llm_response",
            "agent.message",
        ],
        "stderr: {}",
        String::from_utf8_lossy(&events.stderr)
    );
    // And `history` too: the tool's answer is in b's conversation.
    let history = svc.cli(&["history", "b", "--json"]);
    assert!(String::from_utf8_lossy(&history.stdout).contains(SHA_HI));
}

#[test]
fn serve_runs_fifty_agents_with_tool_turns_at_once_and_stops_one_while_the_others_go_on() {
    let model = ModelServer::start();
    // Slow enough that the stop lands inside a turn.
    model.always(Reply::Delay(
        Duration::from_millis(300),
        Box::new(tool_turn()),
    ));
    let svc = Service::start(&agents_policy(&model.base_url(), &[], false), &[]);
    for i in 0..50 {
        let (status, body) = http(
            &svc.socket,
            "POST",
            "/v1/agents",
            Some(
                &json!({"name": format!("a{i}"), "role": "default", "model": "scripted",
                         "api_base": model.base_url(), "protocol": "native"}),
            ),
        );
        assert_eq!((status, body["state"].clone()), (201, json!("idle")));
    }
    let turns: Vec<_> = (0..50)
        .map(|i| {
            let socket = svc.socket.clone();
            std::thread::spawn(move || {
                http(
                    &socket,
                    "POST",
                    &format!("/v1/agents/a{i}/prompt"),
                    Some(&json!({"text": "hash hi"})),
                )
            })
        })
        .collect();
    // Every agent is in its turn: stop one.
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while model.requests().len() < 50 && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    let (status, state) = http(&svc.socket, "GET", "/v1/agents/a0", None);
    assert_eq!((status, state["state"].clone()), (200, json!("in_turn")));
    let (status, stopped) = http(&svc.socket, "DELETE", "/v1/agents/a0", None);
    assert_eq!(
        (status, stopped),
        (200, json!({"name": "a0", "stopped": true}))
    );
    let answers: Vec<(u16, Value, Value)> = turns
        .into_iter()
        .map(|t| {
            let (status, v) = t.join().unwrap();
            (status, v["end"].clone(), v["tool_calls"].clone())
        })
        .collect();
    assert_eq!(answers[0], (200, json!("cancelled"), json!(0)));
    for (i, a) in answers.iter().enumerate().skip(1) {
        assert_eq!(a, &(200, json!("answer"), json!(1)), "agent a{i}");
    }
    let (_, list) = http(&svc.socket, "GET", "/v1/agents", None);
    let running: Vec<(String, u64, u64)> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["name"].as_str().unwrap().to_owned(),
                a["history_length"].as_u64().unwrap(),
                a["turns"].as_u64().unwrap(),
            )
        })
        .collect();
    let mut expected: Vec<(String, u64, u64)> = (1..50).map(|i| (format!("a{i}"), 5, 1)).collect();
    expected.sort();
    assert_eq!(running, expected);
}

#[test]
fn serve_answers_bad_requests_with_json_errors() {
    let model = ModelServer::start();
    let svc = Service::start(&agents_policy(&model.base_url(), &["a"], true), &[]);
    let cases: Vec<(&str, &str, Option<Value>, u16, &str)> = vec![
        (
            "POST",
            "/v1/agents",
            Some(json!({"nam": "x"})),
            400,
            "invalid_request",
        ),
        (
            "POST",
            "/v1/agents",
            Some(json!({"name": "a"})),
            409,
            "already_started",
        ),
        (
            "POST",
            "/v1/agents",
            Some(json!({"name": "zz"})),
            400,
            "settings.unknown_agent",
        ),
        (
            "POST",
            "/v1/agents",
            Some(json!({"name": "x", "role": "nope", "model": "m"})),
            400,
            "policy.unknown_role",
        ),
        (
            "POST",
            "/v1/agents",
            Some(json!({"name": "x", "role": "default", "protocol": "smoke"})),
            400,
            "invalid_request",
        ),
        (
            "POST",
            "/v1/agents/a/prompt",
            Some(json!({"txt": 1})),
            400,
            "invalid_request",
        ),
        (
            "POST",
            "/v1/agents/nobody/prompt",
            Some(json!({"text": "x"})),
            404,
            "not_found",
        ),
        ("GET", "/v1/agents/nobody", None, 404, "not_found"),
        ("DELETE", "/v1/agents/nobody", None, 404, "not_found"),
        ("POST", "/v1/agents/nobody/cancel", None, 404, "not_found"),
        (
            "GET",
            "/v1/events?since=yesterday",
            None,
            400,
            "events.invalid_timestamp",
        ),
        ("GET", "/v1/events?limit=-1", None, 400, "invalid_request"),
        ("GET", "/v1/events?color=red", None, 400, "invalid_request"),
        (
            "POST",
            "/v1/approvals/x/approve",
            None,
            400,
            "invalid_request",
        ),
        ("POST", "/v1/approvals/7/deny", None, 404, "not_found"),
        ("GET", "/v1/nothing", None, 404, "not_found"),
        ("PUT", "/v1/agents", None, 405, "method_not_allowed"),
    ];
    for (method, path, body, status, code) in cases {
        let (got, v) = http(&svc.socket, method, path, body.as_ref());
        assert_eq!(
            (got, v["error"]["code"].as_str().unwrap_or("")),
            (status, code),
            "{method} {path}: {v}"
        );
    }
    let (status, health) = http(&svc.socket, "GET", "/v1/health", None);
    assert_eq!(
        (
            status,
            health["status"].clone(),
            health["agents"].clone(),
            health["events"].clone()
        ),
        (
            200,
            json!("ok"),
            json!(1),
            json!({"writable": true, "failures": 0, "last_failure": null})
        )
    );
}

#[test]
fn serve_socket_is_owner_only_and_tcp_needs_the_token() {
    let model = ModelServer::start();
    let token = "0123456789abcdef0123456789abcdef";
    let svc = Service::start_with_token(&agents_policy(&model.base_url(), &["a"], true), token);
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&svc.socket).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let port = svc.tcp_port.unwrap();
    let get = |headers: &[(&str, &str)]| serve_support::tcp_get(port, "/v1/agents", headers);
    let host = format!("127.0.0.1:{port}");
    assert_eq!(get(&[("Host", &host)]).0, 401);
    assert_eq!(
        get(&[
            ("Host", &host),
            ("Authorization", "Bearer wrong-token-of-some-length")
        ])
        .0,
        401
    );
    let bearer = format!("Bearer {token}");
    assert_eq!(get(&[("Host", &host), ("Authorization", &bearer)]).0, 200);
    // DNS rebinding: the right token under a foreign Host is refused.
    assert_eq!(
        get(&[
            ("Host", &format!("evil.example:{port}")),
            ("Authorization", &bearer)
        ])
        .0,
        403
    );
    // A page of another origin is refused even with the token.
    assert_eq!(
        get(&[
            ("Host", &host),
            ("Authorization", &bearer),
            ("Origin", "http://evil.example")
        ])
        .0,
        403
    );
}

#[test]
#[cfg_attr(
    not(llmagent_root),
    ignore = "needs root (to run a client as another uid)"
)]
fn serve_refuses_another_uid_on_the_socket() {
    let model = ModelServer::start();
    let svc = Service::start(&agents_policy(&model.base_url(), &["a"], true), &[]);
    use std::os::unix::fs::PermissionsExt;
    let open = std::fs::Permissions::from_mode(0o755);
    std::fs::set_permissions(svc.dir.path(), open.clone()).unwrap();
    std::fs::set_permissions(svc.socket.parent().unwrap(), open).unwrap();
    // nobody cannot connect to the 0600 socket…
    let refused = serve_support::as_nobody(&svc.socket);
    assert_eq!(refused, "connect: PermissionError");
    // …and when the file mode would let it, the peer check refuses it.
    std::fs::set_permissions(&svc.socket, std::fs::Permissions::from_mode(0o666)).unwrap();
    let answer = serve_support::as_nobody(&svc.socket);
    assert!(answer.starts_with("HTTP/1.1 403 Forbidden"), "{answer}");
    assert!(answer.contains(r#""code":"forbidden""#), "{answer}");
}

#[test]
fn run_while_the_service_owns_the_store_continues_the_agents_history() {
    let model = ModelServer::start();
    model.always(tool_turn());
    let svc = Service::start(&agents_policy(&model.base_url(), &["a"], false), &[]);
    let out = svc.cli(&[
        "run",
        "--policy",
        svc.policy.to_str().unwrap(),
        "--agent",
        "a",
        "hash hi",
    ]);
    assert_eq!(
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned()
        ),
        (Some(0), "done\n".to_owned()),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = svc.cli(&[
        "run",
        "--policy",
        svc.policy.to_str().unwrap(),
        "--agent",
        "a",
        "hash hi",
    ]);
    assert_eq!(out.status.code(), Some(0));
    // The second turn's request carried the first turn's conversation.
    let requests = model.requests();
    let last = requests.last().unwrap().messages();
    let roles: Vec<&str> = last.iter().map(|m| m["role"].as_str().unwrap()).collect();
    assert_eq!(
        roles,
        vec![
            "system",
            "user",
            "assistant",
            "tool",
            "assistant",
            "user",
            "assistant",
            "tool"
        ]
    );
    let (_, a) = http(&svc.socket, "GET", "/v1/agents/a", None);
    assert_eq!(a["history_length"], 9);
}

#[test]
fn run_while_a_follower_owns_the_store_refuses_and_names_it() {
    let model = ModelServer::start();
    let dir = tempfile::tempdir().unwrap();
    let policy = dir.path().join("policy.toml");
    std::fs::write(&policy, agents_policy(&model.base_url(), &["a"], false)).unwrap();
    let events = dir.path().join("events");
    let mut follower =
        serve_support::llmagent(&["--events", events.to_str().unwrap(), "events", "--follow"])
            .stdout(std::process::Stdio::null())
            .spawn()
            .unwrap();
    serve_support::wait_for(|| {
        events.join("owner.lock").exists()
            && std::fs::read_to_string(events.join("owner.lock"))
                .is_ok_and(|p| p.trim() == follower.id().to_string())
    });
    let out = serve_support::llmagent(&[
        "--events",
        events.to_str().unwrap(),
        "run",
        "--policy",
        policy.to_str().unwrap(),
        "--agent",
        "a",
        "hi",
    ])
    .output()
    .unwrap();
    let _ = follower.kill();
    let _ = follower.wait();
    assert_eq!(out.status.code(), Some(4));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.starts_with(&format!(
            "error: the event store {} is owned by process {} (",
            events.display(),
            follower.id()
        )),
        "{err}"
    );
    assert!(err.contains("events --follow"), "{err}");
    assert_eq!(model.requests(), vec![]);
}
