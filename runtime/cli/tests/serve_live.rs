//! `llmagent serve` live: event streams, approvals answered through the
//! API, policy reloads (SIGHUP and the API), a graceful SIGTERM, and a
//! restarted service continuing an agent's conversation.

#![allow(clippy::expect_used, clippy::unwrap_used)]

mod serve_support;

use std::time::Duration;

use llmagent_tests::model_server::{ModelServer, Reply};
use serde_json::{Value, json};
use serve_support::{Service, agents_policy, http, http_raw, sse_events, stream_until, wait_for};

fn tool_turn() -> Reply {
    Reply::tool_turn(("c1", "crypto-sha256", r#"{"data":"hi"}"#), "done")
}

/// The seqs of `GET /v1/events?QUERY`.
fn seqs(svc: &Service, query: &str) -> Vec<u64> {
    let (_, v) = http(&svc.socket, "GET", &format!("/v1/events?{query}"), None);
    v.as_array()
        .unwrap()
        .iter()
        .map(|e| e["seq"].as_u64().unwrap())
        .collect()
}

#[test]
fn serve_streams_every_event_of_a_turn_in_order() {
    let model = ModelServer::start();
    model.always(tool_turn());
    let svc = Service::start(&agents_policy(&model.base_url(), &["a"], true), &[]);
    let before = seqs(&svc, "").last().copied().unwrap_or(0);

    // The live stream of agent topics, opened before the turn.
    let socket = svc.socket.clone();
    let live = std::thread::spawn(move || {
        stream_until(&socket, "/v1/events/stream?prefix=agent.", |seen| {
            seen.iter()
                .filter(|e| e["topic"] == "agent.message")
                .count()
                >= 5
        })
    });
    std::thread::sleep(Duration::from_millis(300));

    let (status, body) = http_raw(
        &svc.socket,
        "POST",
        "/v1/agents/a/prompt",
        Some(&json!({"text": "hash hi", "stream": true})),
    );
    assert_eq!(status, 200);
    let streamed = sse_events(&body);
    let (last_name, last_data) = streamed.last().cloned().unwrap();
    assert_eq!(last_name, "outcome");
    let outcome: Value = serde_json::from_str(&last_data).unwrap();
    assert_eq!(
        (outcome["end"].clone(), outcome["text"].clone()),
        (json!("answer"), json!("done"))
    );
    let turn: Vec<u64> = streamed[..streamed.len() - 1]
        .iter()
        .map(|(name, data)| {
            assert_eq!(name, "event");
            serde_json::from_str::<Value>(data).unwrap()["seq"]
                .as_u64()
                .unwrap()
        })
        .collect();
    // Every event of a's turn, in store order, nothing else.
    let stored = seqs(&svc, &format!("agent=a&after_seq={before}"));
    assert_eq!(turn, stored);
    assert_eq!(turn.len(), 11);

    let live = live.join().unwrap();
    let live_seqs: Vec<u64> = live.iter().map(|e| e["seq"].as_u64().unwrap()).collect();
    let stored_agent = seqs(&svc, &format!("prefix=agent.&after_seq={before}"));
    assert_eq!(live_seqs, stored_agent);
}

#[test]
fn serve_lets_an_approval_answered_through_the_api_run_the_waiting_call() {
    let model = ModelServer::start();
    model.always(tool_turn());
    let policy = agents_policy(&model.base_url(), &["a"], true).replace(
        "tools = [\"crypto\"]\n",
        "tools = [\"crypto\"]\napprove = [\"crypto.sha256\"]\n",
    );
    let svc = Service::start(&policy, &[]);
    for (answer, tool_errors) in [("approve", 0), ("deny", 1)] {
        let socket = svc.socket.clone();
        let turn = std::thread::spawn(move || {
            http(
                &socket,
                "POST",
                "/v1/agents/a/prompt",
                Some(&json!({"text": "hash hi"})),
            )
        });
        let mut pending = Value::Null;
        wait_for(|| {
            pending = http(&svc.socket, "GET", "/v1/approvals", None).1;
            pending.as_array().is_some_and(|p| !p.is_empty())
        });
        let p = &pending[0];
        assert_eq!(
            (
                p["agent"].clone(),
                p["role"].clone(),
                p["tool"].clone(),
                p["action"].clone(),
                p["args"].clone()
            ),
            (
                json!("a"),
                json!("default"),
                json!("crypto"),
                json!("sha256"),
                json!({"data": "hi"})
            )
        );
        let (_, a) = http(&svc.socket, "GET", "/v1/agents/a", None);
        assert_eq!(a["state"], "waiting_approval");
        let out = svc.cli(&["approvals", answer, &p["id"].to_string(), "--json"]);
        let v: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(v, json!({"id": p["id"], "approved": answer == "approve"}));
        let (status, outcome) = turn.join().unwrap();
        assert_eq!(
            (
                status,
                outcome["end"].clone(),
                outcome["tool_calls"].clone(),
                outcome["tool_errors"].clone()
            ),
            (200, json!("answer"), json!(1), json!(tool_errors))
        );
        let (_, left) = http(&svc.socket, "GET", "/v1/approvals", None);
        assert_eq!(left, json!([]));
    }
    let (_, answered) = http(&svc.socket, "GET", "/v1/events?topic=agent.approval", None);
    let kinds: Vec<(String, Value)> = answered
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["kind"].as_str().unwrap().to_owned(),
                e["data"]["approved"].clone(),
            )
        })
        .collect();
    assert_eq!(
        kinds,
        vec![
            ("approval_requested".into(), Value::Null),
            ("approval_answered".into(), json!(true)),
            ("approval_requested".into(), Value::Null),
            ("approval_answered".into(), json!(false)),
        ]
    );
}

#[test]
fn serve_reloads_a_good_policy_and_refuses_a_broken_one() {
    let model = ModelServer::start();
    model.always(tool_turn());
    let svc = Service::start(&agents_policy(&model.base_url(), &["a"], true), &[]);
    let (status, v) = http(
        &svc.socket,
        "POST",
        "/v1/agents",
        Some(&json!({"name": "c"})),
    );
    assert_eq!(
        (status, v["error"]["code"].clone()),
        (400, json!("settings.unknown_agent"))
    );

    // A broken file is refused; the old policy stays in force.
    std::fs::write(&svc.policy, "version = 1\n[roles.default\n").unwrap();
    let (status, v) = http(&svc.socket, "POST", "/v1/reload", None);
    assert_eq!(
        (status, v["error"]["code"].clone()),
        (422, json!("policy.syntax"))
    );
    let (status, v) = http(
        &svc.socket,
        "POST",
        "/v1/agents/a/prompt",
        Some(&json!({"text": "x"})),
    );
    assert_eq!((status, v["end"].clone()), (200, json!("answer")));

    // A good one, by SIGHUP: agent c exists from now on, and a keeps its
    // conversation.
    std::fs::write(
        &svc.policy,
        agents_policy(&model.base_url(), &["a", "c"], true),
    )
    .unwrap();
    svc.signal(1);
    wait_for(|| {
        http(&svc.socket, "GET", "/v1/events?topic=service.reload", None)
            .1
            .as_array()
            .is_some_and(|r| r.len() == 2)
    });
    let (status, v) = http(
        &svc.socket,
        "POST",
        "/v1/agents",
        Some(&json!({"name": "c"})),
    );
    assert_eq!((status, v["name"].clone()), (201, json!("c")));
    let (_, a) = http(&svc.socket, "GET", "/v1/agents/a", None);
    assert_eq!(a["history_length"], 5);
    // And by the API.
    let (status, v) = http(&svc.socket, "POST", "/v1/reload", None);
    assert_eq!((status, v["result"].clone()), (200, json!("ok")));

    let (_, reloads) = http(&svc.socket, "GET", "/v1/events?topic=service.reload", None);
    let results: Vec<(Value, Value)> = reloads
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["data"]["result"].clone(), e["data"]["code"].clone()))
        .collect();
    assert_eq!(
        results,
        vec![
            (json!("refused"), json!("policy.syntax")),
            (json!("ok"), Value::Null),
            (json!("ok"), Value::Null),
        ]
    );
}

#[test]
fn serve_shuts_down_gracefully_on_sigterm_and_a_restart_continues_the_conversation() {
    let model = ModelServer::start();
    model.always(Reply::Delay(
        Duration::from_millis(800),
        Box::new(tool_turn()),
    ));
    let mut svc = Service::start(
        &agents_policy(&model.base_url(), &["a", "b"], true),
        &["--grace", "10"],
    );
    let socket = svc.socket.clone();
    let turn = std::thread::spawn(move || {
        http(
            &socket,
            "POST",
            "/v1/agents/a/prompt",
            Some(&json!({"text": "hash hi"})),
        )
    });
    wait_for(|| http(&svc.socket, "GET", "/v1/agents/a", None).1["state"] == "in_turn");
    svc.signal(15);
    wait_for(|| http(&svc.socket, "GET", "/v1/health", None).1["status"] == "shutting_down");
    let (status, v) = http(
        &svc.socket,
        "POST",
        "/v1/agents/b/prompt",
        Some(&json!({"text": "x"})),
    );
    assert_eq!(
        (status, v["error"]["code"].clone()),
        (503, json!("shutting_down"))
    );
    // The running turn finished within the grace period.
    let (status, outcome) = turn.join().unwrap();
    assert_eq!((status, outcome["end"].clone()), (200, json!("answer")));
    let (code, _) = svc.wait();
    assert_eq!(code, Some(0));
    assert!(!svc.socket.exists());
    assert!(!svc.events.join("service.json").exists());

    // Restarted, agent a continues its conversation from the store.
    model.always(tool_turn());
    svc.spawn(&[]);
    let (_, a) = http(&svc.socket, "GET", "/v1/agents/a", None);
    assert_eq!(a["history_length"], 5);
    let (status, v) = http(
        &svc.socket,
        "POST",
        "/v1/agents/a/prompt",
        Some(&json!({"text": "again"})),
    );
    assert_eq!((status, v["end"].clone()), (200, json!("answer")));
    let last = model.requests().last().unwrap().messages().to_vec();
    assert_eq!(last[1]["content"], "hash hi");
    assert_eq!(last.len(), 8);
}

#[test]
fn serve_cancels_turns_still_running_after_the_grace_period() {
    let model = ModelServer::start();
    model.always(Reply::Hang);
    let mut svc = Service::start(
        &agents_policy(&model.base_url(), &["a"], true),
        &["--grace", "0"],
    );
    let socket = svc.socket.clone();
    let turn = std::thread::spawn(move || {
        http(
            &socket,
            "POST",
            "/v1/agents/a/prompt",
            Some(&json!({"text": "hang"})),
        )
    });
    wait_for(|| http(&svc.socket, "GET", "/v1/agents/a", None).1["state"] == "in_turn");
    svc.signal(15);
    let (status, outcome) = turn.join().unwrap();
    assert_eq!((status, outcome["end"].clone()), (200, json!("cancelled")));
    assert_eq!(svc.wait().0, Some(0));
}

#[test]
#[cfg_attr(
    not(llmagent_chromium),
    ignore = "needs Debian's chromium and Playwright (scripts/setup.sh)"
)]
fn serve_web_view_prompts_and_approves_in_headless_chromium() {
    let model = ModelServer::start();
    model.always(tool_turn());
    let policy = agents_policy(&model.base_url(), &["a"], true).replace(
        "tools = [\"crypto\"]\n",
        "tools = [\"crypto\"]\napprove = [\"crypto.sha256\"]\n",
    );
    let token = "0123456789abcdef0123456789abcdef";
    let svc = Service::start_with_token(&policy, token);
    let url = format!("http://127.0.0.1:{}/#token={token}", svc.tcp_port.unwrap());
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/web/page_test.py");
    let out = std::process::Command::new(llmagent_tests::python_mcp::python())
        .arg(&script)
        .args([&url, "a"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let (_, a) = http(&svc.socket, "GET", "/v1/agents/a", None);
    assert_eq!(
        (a["turns"].clone(), a["last_end"].clone()),
        (json!(1), json!("answer"))
    );
}

#[test]
#[cfg_attr(
    not(llmagent_schemathesis),
    ignore = "needs schemathesis (scripts/setup.sh)"
)]
fn serve_openapi_document_holds_for_every_answer_under_schemathesis() {
    let model = ModelServer::start();
    model.always(tool_turn());
    let token = "0123456789abcdef0123456789abcdef";
    let svc = Service::start_with_token(&agents_policy(&model.base_url(), &["a"], true), token);
    let (status, doc) = http(&svc.socket, "GET", "/v1/openapi.json", None);
    assert_eq!((status, doc["openapi"].clone()), (200, json!("3.1.0")));
    let base = format!("http://127.0.0.1:{}", svc.tcp_port.unwrap());
    let schemathesis = llmagent_tests::python_mcp::python().with_file_name("schemathesis");
    let out = std::process::Command::new(schemathesis)
        .args([
            "run",
            &format!("{base}/v1/openapi.json"),
            "--url",
            &base,
            "--header",
            &format!("Authorization: Bearer {token}"),
            "--checks",
            "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance",
            // The streaming answers never end (the event stream) or are
            // server-sent events schemathesis cannot read as a body.
            "--exclude-path",
            "/v1/events/stream",
            "--exclude-path",
            "/v1/agents/{name}/prompt",
            "--max-examples",
            "10",
            "--phases",
            "examples,coverage,fuzzing",
            "--no-color",
        ])
        .env("SCHEMATHESIS_HOOKS", "")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    // The service is still up and answers.
    assert_eq!(http(&svc.socket, "GET", "/v1/health", None).0, 200);
}
