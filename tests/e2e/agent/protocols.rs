//! What the agent sends and how it reads replies, per protocol.

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_direct_answer() {
    let rig = Rig::new();
    let mut agent = rig.agent("default", ToolProtocol::Native);
    rig.server.push(Reply::text("Hello!"));
    let out = ask(&mut agent, "hi").await;
    assert_eq!(out.end, TurnEnd::Answer("Hello!".into()));
    assert_eq!((out.steps, out.tool_calls, out.requests), (0, 0, 1));
    assert_eq!(out.usage.total_tokens, 15);
    let body = &rig.bodies()[0];
    assert_eq!(body["model"], "scripted-model");
    assert_eq!(
        body["messages"],
        json!([
            {"role": "system", "content": "You are a helpful assistant."},
            {"role": "user", "content": "hi"},
        ])
    );
    let names: Vec<&str> = body["tools"]
        .as_array()
        .expect("tools offered")
        .iter()
        .map(|t| t["function"]["name"].as_str().unwrap_or(""))
        .collect();
    assert!(names.contains(&"crypto-sha256") && names.contains(&"file-read"));
    assert!(!names.contains(&"file-write"), "only what the role allows");
    assert_eq!(
        rig.topics(),
        [
            "agent.prompt",
            "agent.message",
            "agent.message",
            "agent.llm_response",
            "agent.message"
        ]
    );
    next_prompt_works(&rig, &mut agent).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_native_tool_call_reaches_the_next_request() {
    let rig = Rig::new();
    let mut agent = rig.agent("default", ToolProtocol::Native);
    rig.server.push(Reply::tool_calls(&[(
        "call_1",
        "crypto-sha256",
        r#"{"data":"hello"}"#,
    )]));
    rig.server.push(Reply::text("The hash is 2cf2…"));
    let out = ask(&mut agent, "hash hello").await;
    assert_eq!(out.end, TurnEnd::Answer("The hash is 2cf2…".into()));
    assert_eq!((out.steps, out.tool_calls, out.requests), (1, 1, 2));
    let second = &rig.bodies()[1];
    assert_eq!(
        second["messages"].as_array().expect("messages")[2..],
        [
            json!({"role": "assistant", "content": null, "tool_calls": [
                {"id": "call_1", "type": "function", "function": {"name": "crypto-sha256", "arguments": "{\"data\":\"hello\"}"}}
            ]}),
            json!({"role": "tool", "content": sha_feedback(), "tool_call_id": "call_1"}),
        ]
    );
    assert_eq!(
        rig.topics(),
        [
            "agent.prompt",
            "agent.message",
            "agent.message",
            "agent.llm_response",
            "agent.message",
            "agent.tool_dispatch",
            "tool.crypto",
            "agent.message",
            "agent.llm_response",
            "agent.message",
        ]
    );
    // One trace for the whole turn; each model request its own request id.
    let events = rig
        .env
        .store
        .query(&Query {
            agent: Some("tester".into()),
            ..Query::default()
        })
        .expect("query");
    let traces: std::collections::BTreeSet<_> = events
        .iter()
        .filter_map(|e| e.context.trace_id.clone())
        .collect();
    assert_eq!(traces.len(), 1);
    let responses: Vec<_> = events
        .iter()
        .filter(|e| e.topic == "agent.llm_response")
        .collect();
    assert_ne!(
        responses[0].context.request_id,
        responses[1].context.request_id
    );
    assert_eq!(
        responses[1].context.correlation_id,
        responses[0].context.request_id
    );
    next_prompt_works(&rig, &mut agent).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_calls_in_one_reply_run_in_order() {
    let rig = Rig::new();
    let mut agent = rig.agent("default", ToolProtocol::Native);
    rig.server.push(Reply::tool_calls(&[
        ("a", "crypto-sha256", r#"{"data":"hello"}"#),
        ("b", "crypto-encode", r#"{"data":"hi","encoding":"base64"}"#),
    ]));
    rig.server.push(Reply::text("done"));
    let out = ask(&mut agent, "two things").await;
    assert_eq!(out.end, TurnEnd::Answer("done".into()));
    assert_eq!((out.steps, out.tool_calls), (1, 2));
    let msgs = rig.bodies()[1]["messages"].clone();
    let tail = &msgs.as_array().expect("messages")[3..];
    assert_eq!(
        tail[0],
        json!({"role": "tool", "content": sha_feedback(), "tool_call_id": "a"})
    );
    assert_eq!(tail[1]["tool_call_id"], "b");
    let b: Value =
        serde_json::from_str(tail[1]["content"].as_str().expect("content")).expect("json");
    assert_eq!(b["output"], "aGk=");
    next_prompt_works(&rig, &mut agent).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_json_protocol_with_a_fenced_reply() {
    let rig = Rig::new();
    let mut agent = rig.agent("default", ToolProtocol::Json);
    let fenced = "```json\n{\"tool\": \"crypto\", \"action\": \"sha256\", \"args\": {\"data\": \"hello\"}}\n```";
    rig.server.push(Reply::text(fenced));
    rig.server.push(Reply::text("The hash is 2cf2…"));
    let out = ask(&mut agent, "hash hello").await;
    assert_eq!(out.end, TurnEnd::Answer("The hash is 2cf2…".into()));
    let bodies = rig.bodies();
    assert!(
        bodies[0].get("tools").is_none(),
        "no tools array in the json protocol"
    );
    let system = bodies[0]["messages"][0]["content"]
        .as_str()
        .expect("system");
    assert!(
        system.starts_with("You are a helpful assistant.\n\n=== Available Tools ===\n"),
        "{system}"
    );
    assert!(system.contains(
        "{\"tool\": \"crypto\", \"action\": \"sha256\", \"args\": {\"data\":\"hello\"}}"
    ));
    assert_eq!(
        bodies[1]["messages"].as_array().expect("messages")[2..],
        [
            json!({"role": "assistant", "content": fenced}),
            json!({"role": "user", "content": sha_feedback()}),
        ]
    );
    next_prompt_works(&rig, &mut agent).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_and_partial_json_replies_are_answers() {
    let rig = Rig::new();
    let mut agent = rig.agent("default", ToolProtocol::Json);
    for text in [
        r#"{"tool": "crypto", "action": "sha256", "args": {"data": "#,
        r#"{"tool": "bash"}"#,
        r#"[{"tool": "crypto"}]"#,
    ] {
        rig.server.push(Reply::text(text));
        let out = ask(&mut agent, "go").await;
        assert_eq!(out.end, TurnEnd::Answer(text.trim().into()));
        assert_eq!(out.tool_calls, 0);
    }
    next_prompt_works(&rig, &mut agent).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_non_string_tool_is_reported_to_the_model() {
    let rig = Rig::new();
    let mut agent = rig.agent("default", ToolProtocol::Json);
    rig.server.push(Reply::text(
        r#"{"tool": 42, "action": "sha256", "args": {}}"#,
    ));
    rig.server.push(Reply::text("sorry"));
    let out = ask(&mut agent, "go").await;
    assert_eq!(out.end, TurnEnd::Answer("sorry".into()));
    let fed = rig.bodies()[1]["messages"][3].clone();
    assert_eq!(fed["role"], "user");
    let v: Value = serde_json::from_str(fed["content"].as_str().expect("content")).expect("json");
    assert_eq!(
        v,
        json!({"status": "error", "error": {
            "reason": "invalid_tool", "field": "tool",
            "message": "\"tool\" must be a tool's name as a string, not a number",
            "suggestion": "write the call as {\"tool\": \"<tool name>\", \"action\": \"<action name>\", \"args\": {…}}"}})
    );
    next_prompt_works(&rig, &mut agent).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn null_and_empty_content_end_with_an_empty_answer() {
    let rig = Rig::new();
    for protocol in [ToolProtocol::Native, ToolProtocol::Json] {
        let mut agent = rig.agent("default", protocol);
        rig.server.push(Reply::null_content());
        assert_eq!(
            ask(&mut agent, "x").await.end,
            TurnEnd::Answer(String::new())
        );
        rig.server.push(Reply::text(""));
        assert_eq!(
            ask(&mut agent, "y").await.end,
            TurnEnd::Answer(String::new())
        );
        next_prompt_works(&rig, &mut agent).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_tools_and_tools_outside_the_role_are_refused_to_the_model() {
    let rig = Rig::new();
    let mut agent = rig.agent("default", ToolProtocol::Native);
    rig.server.push(Reply::tool_calls(&[
        ("u", "weather-forecast", "{}"),
        ("w", "file-write", r#"{"path":"/tmp/x","content":"y"}"#),
        ("j", "crypto-sha256", "{not json"),
    ]));
    rig.server.push(Reply::text("ok"));
    let out = ask(&mut agent, "try").await;
    assert_eq!(out.end, TurnEnd::Answer("ok".into()));
    let msgs = rig.bodies()[1]["messages"].clone();
    let results: Vec<(String, String)> = msgs.as_array().expect("messages")[3..]
        .iter()
        .map(|m| {
            let v: Value = serde_json::from_str(m["content"].as_str().unwrap_or("")).expect("json");
            (
                m["tool_call_id"].as_str().unwrap_or("").to_owned(),
                v["error"]["reason"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect();
    assert_eq!(
        results,
        [
            ("u".to_owned(), "invalid_tool".to_owned()),
            ("w".to_owned(), "tool_not_permitted".to_owned()),
            ("j".to_owned(), "invalid_args".to_owned()),
        ]
    );
    let write = rig.events_of("tool.file");
    assert_eq!(write.len(), 1);
    assert_eq!(write[0]["error"]["reason"], "tool_not_permitted");
    // One decision, for the one call that named a tool and action that
    // exist; the denial is not decided twice.
    assert_eq!(
        rig.tool_decisions(),
        [json!({
            "tool": "file",
            "operation": "write",
            "target": "",
            "verdict": "deny",
            "rule": null,
            "hint": "add \"file.write\" to [roles.default].tools",
        })]
    );
    next_prompt_works(&rig, &mut agent).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_constrained_protocol_sends_a_schema_and_unwraps_answers() {
    let rig = Rig::new();
    let mut agent = rig.agent("default", ToolProtocol::Constrained);
    rig.server.push(Reply::text(
        r#"{"tool": "crypto", "action": "sha256", "args": {"data": "hello"}}"#,
    ));
    rig.server.push(Reply::text(
        r#"{"tool": "none", "answer": "the hash is 2cf2…"}"#,
    ));
    let out = ask(&mut agent, "hash hello").await;
    assert_eq!(out.end, TurnEnd::Answer("the hash is 2cf2…".into()));
    let format = rig.bodies()[0]["response_format"].clone();
    assert_eq!(format["type"], "json_schema");
    let branches = format["json_schema"]["schema"]["anyOf"]
        .as_array()
        .expect("anyOf")
        .clone();
    assert!(
        branches
            .iter()
            .any(|b| b["properties"]["action"]["enum"] == json!(["sha256"]))
    );
    assert_eq!(
        branches.last().map(|b| b["required"].clone()),
        Some(json!(["tool", "answer"]))
    );
    // A reply cut by the token limit is neither a call nor an answer.
    rig.server.push(Reply::Json {
        status: 200,
        body: json!({"choices": [{"message": {"role": "assistant", "content": "{\"tool\": \"none\", \"answer\": \"aaaa"}, "finish_reason": "length"}]}),
        headers: vec![],
    });
    let out = ask(&mut agent, "go on").await;
    assert!(
        matches!(&out.end, TurnEnd::ModelError(LlmError::InvalidReply { message }) if message.contains("token limit")),
        "{:?}",
        out.end
    );
    next_prompt_works(&rig, &mut agent).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_repeated_straight_away_is_not_run_twice() {
    let rig = Rig::new();
    let mut agent = rig.agent("default", ToolProtocol::Json);
    let call = r#"{"tool": "crypto", "action": "sha256", "args": {"data": "hello"}}"#;
    rig.server.push(Reply::text(call));
    rig.server.push(Reply::text(call));
    rig.server.push(Reply::text("done"));
    let out = ask(&mut agent, "hash hello").await;
    assert_eq!(out.end, TurnEnd::Answer("done".into()));
    assert_eq!((out.steps, out.tool_calls, out.requests), (2, 1, 3));
    assert_eq!(rig.events_of("tool.crypto").len(), 1);
    let last = rig.bodies()[2]["messages"]
        .as_array()
        .expect("messages")
        .last()
        .cloned()
        .expect("a last message");
    let v: Value = serde_json::from_str(last["content"].as_str().unwrap_or("")).expect("json");
    assert_eq!(v["error"]["reason"], "repeated_call");
    next_prompt_works(&rig, &mut agent).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_constrained_model_that_repeats_itself_is_asked_only_for_the_answer() {
    let rig = Rig::new();
    let mut agent = rig.agent("default", ToolProtocol::Constrained);
    let call = r#"{"tool": "crypto", "action": "sha256", "args": {"data": "hello"}}"#;
    rig.server.push(Reply::text(call));
    rig.server.push(Reply::text(call));
    rig.server
        .push(Reply::text(r#"{"tool": "none", "answer": "2cf24dba"}"#));
    let out = ask(&mut agent, "hash hello").await;
    assert_eq!(out.end, TurnEnd::Answer("2cf24dba".into()));
    assert_eq!(out.tool_calls, 1);
    let third = &rig.bodies()[2];
    let branches = third["response_format"]["json_schema"]["schema"]["anyOf"]
        .as_array()
        .expect("anyOf")
        .clone();
    assert_eq!(branches.len(), 1, "only the answer is allowed");
    assert_eq!(branches[0]["required"], json!(["tool", "answer"]));
    // The repeat is not in the conversation: system, user, call, result.
    assert_eq!(third["messages"].as_array().map(Vec::len), Some(4));
    assert_eq!(
        rig.events_of("agent.error")
            .last()
            .map(|e| e["code"].clone()),
        Some(json!("repeated_call"))
    );
    next_prompt_works(&rig, &mut agent).await;
}
