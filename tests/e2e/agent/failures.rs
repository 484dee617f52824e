//! Replies that are malformed, huge, cut off, slow, 429 or 500; loops and
//! cancellation: each ends in an answer or a clear error, and the next
//! prompt works.

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_five_megabyte_reply_is_a_clear_error() {
    let rig = Rig::new();
    let mut agent = rig.agent("default", ToolProtocol::Native);
    rig.server.push(Reply::text(&"x".repeat(5 << 20)));
    let out = ask(&mut agent, "write a lot").await;
    let TurnEnd::ModelError(LlmError::InvalidReply { message }) = &out.end else {
        panic!("expected an invalid reply, got {:?}", out.end)
    };
    assert!(message.contains("4194304"), "{message}");
    let errors = rig.events_of("agent.error");
    assert_eq!(errors[0]["code"], "llm_invalid_reply");
    next_prompt_works(&rig, &mut agent).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_utf8_in_a_reply_is_replaced_not_fatal() {
    let rig = Rig::new();
    let mut agent = rig.agent("default", ToolProtocol::Native);
    let mut body = br#"{"choices":[{"message":{"role":"assistant","content":"caf"#.to_vec();
    body.extend_from_slice(&[0xff, 0xfe]);
    body.extend_from_slice(br#" ok"},"finish_reason":"stop"}]}"#);
    rig.server.push(Reply::Raw {
        status: 200,
        content_type: "application/json".into(),
        body,
    });
    let out = ask(&mut agent, "x").await;
    assert_eq!(out.end, TurnEnd::Answer("caf\u{fffd}\u{fffd} ok".into()));
    next_prompt_works(&rig, &mut agent).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_cut_mid_way_is_a_clear_error() {
    let rig = Rig::new();
    let mut agent = rig.agent_with(
        "default",
        ToolProtocol::Native,
        rig.config(),
        Arc::new(DenyApprovals),
        true,
    );
    rig.server.push(Reply::stream_text(&["Hel", "lo"]));
    let mut pieces = Vec::new();
    let out = agent
        .prompt(
            "hi",
            &mut |e| {
                if let llmagent_core::TurnEvent::Text(t) = e {
                    pieces.push(t)
                }
            },
            &CancellationToken::new(),
        )
        .await;
    assert_eq!(out.end, TurnEnd::Answer("Hello".into()));
    assert_eq!(pieces, ["Hel", "lo"]);
    assert_eq!(rig.bodies()[0]["stream"], true);
    rig.server.push(Reply::stream_cut(&["Hal", "f"]));
    let out = ask(&mut agent, "again").await;
    assert!(
        matches!(&out.end, TurnEnd::ModelError(LlmError::InvalidReply { message }) if message.contains("cut off")),
        "{:?}",
        out.end
    );
    next_prompt_works(&rig, &mut agent).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limited_then_answered() {
    let rig = Rig::new();
    let mut agent = rig.agent("default", ToolProtocol::Native);
    rig.server
        .push(Reply::status(429, "slow down").with_header("retry-after", "1"));
    rig.server.push(Reply::text("finally"));
    let started = std::time::Instant::now();
    let out = ask(&mut agent, "x").await;
    assert_eq!(out.end, TurnEnd::Answer("finally".into()));
    assert!(
        started.elapsed() >= Duration::from_millis(900),
        "Retry-After honoured"
    );
    assert_eq!(rig.server.requests().len(), 2);
    assert_eq!(rig.events_of("agent.llm_response")[0]["attempts"], 2);
    next_prompt_works(&rig, &mut agent).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repeated_server_errors_end_the_turn() {
    let rig = Rig::new();
    let mut agent = rig.agent("default", ToolProtocol::Native);
    for _ in 0..3 {
        rig.server.push(Reply::status(500, "boom"));
    }
    let out = ask(&mut agent, "x").await;
    assert_eq!(
        out.end,
        TurnEnd::ModelError(LlmError::Status {
            status: 500,
            body: "boom".into(),
            attempts: 3
        })
    );
    let errors = rig.events_of("agent.error");
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0]["code"], "llm_http_error");
    assert_eq!(errors[0]["source"], "llm_request");
    next_prompt_works(&rig, &mut agent).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_never_answers_times_out() {
    let rig = Rig::new();
    let mut config = rig.config();
    config.first_byte_timeout = Duration::from_millis(300);
    config.max_retries = 1;
    let mut agent = rig.agent_with(
        "default",
        ToolProtocol::Native,
        config,
        Arc::new(DenyApprovals),
        false,
    );
    rig.server.push(Reply::Hang);
    rig.server.push(Reply::Hang);
    let out = ask(&mut agent, "x").await;
    assert!(
        matches!(
            out.end,
            TurnEnd::ModelError(LlmError::Timeout { attempts: 2, .. })
        ),
        "{:?}",
        out.end
    );
    next_prompt_works(&rig, &mut agent).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_model_that_calls_tools_forever_stops_at_max_steps() {
    let rig = Rig::new();
    let mut agent = rig.agent("default", ToolProtocol::Native);
    rig.server.always(Reply::tool_calls(&[(
        "again",
        "crypto-sha256",
        r#"{"data":"hello"}"#,
    )]));
    let out = ask(&mut agent, "loop").await;
    let TurnEnd::StepLimit { max_steps, message } = &out.end else {
        panic!("expected the step limit, got {:?}", out.end)
    };
    assert_eq!(*max_steps, 3);
    assert!(
        message.starts_with("I stopped after 3 tool steps"),
        "{message}"
    );
    // The same call straight after itself runs once; every request after
    // the first answers `repeated_call`, and each still counts as a step.
    assert_eq!((out.steps, out.tool_calls, out.requests), (3, 1, 4));
    assert_eq!(
        agent.history().last().and_then(|m| m.content.clone()),
        Some(message.clone())
    );
    assert_eq!(
        rig.events_of("agent.error")
            .last()
            .map(|e| e["code"].clone()),
        Some(json!("max_steps"))
    );
    rig.server
        .always(Reply::status(500, "model script exhausted"));
    next_prompt_works(&rig, &mut agent).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auto_falls_back_to_json_when_the_server_refuses_tools() {
    let rig = Rig::new();
    let mut agent = rig.agent("default", ToolProtocol::Auto);
    rig.server
        .push(Reply::status(400, "this model does not support tools"));
    rig.server.push(Reply::text(
        r#"{"tool": "crypto", "action": "sha256", "args": {"data": "hello"}}"#,
    ));
    rig.server.push(Reply::text("hashed"));
    let out = ask(&mut agent, "hash hello").await;
    assert_eq!(out.end, TurnEnd::Answer("hashed".into()));
    assert_eq!(agent.protocol(), "json");
    let bodies = rig.bodies();
    assert!(bodies[0].get("tools").is_some());
    assert!(bodies[1].get("tools").is_none());
    assert_eq!(
        bodies[2]["messages"][3],
        json!({"role": "user", "content": sha_feedback()})
    );
    let fallback = rig.events_of("agent.protocol");
    assert_eq!(fallback.len(), 1);
    assert_eq!(
        (fallback[0]["from"].as_str(), fallback[0]["to"].as_str()),
        (Some("native"), Some("json"))
    );
    next_prompt_works(&rig, &mut agent).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancelling_ends_a_turn_waiting_for_the_model() {
    let rig = Rig::new();
    let mut agent = rig.agent("default", ToolProtocol::Native);
    rig.server.push(Reply::Hang);
    let cancel = CancellationToken::new();
    let trigger = cancel.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(100)).await;
        trigger.cancel();
    });
    let out = agent.prompt("x", &mut |_| {}, &cancel).await;
    assert_eq!(out.end, TurnEnd::Cancelled);
    assert_eq!(
        rig.events_of("agent.error")
            .last()
            .map(|e| e["code"].clone()),
        Some(json!("cancelled"))
    );
    next_prompt_works(&rig, &mut agent).await;
}
