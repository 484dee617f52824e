//! Each way a turn ends: a final answer, `max_steps`, a model error,
//! cancellation, and the answer after a fallback from native to json.

use super::*;

#[tokio::test]
async fn a_final_answer_ends_the_turn() {
    let rig = Rig::new();
    let model = Scripted::new(vec![text("Hi there.")]);
    let mut agent = rig.agent(
        "default",
        ToolProtocol::Native,
        model.clone(),
        Arc::new(DenyApprovals),
    );
    let (out, seen) = ask(&mut agent, "hello").await;
    assert_eq!(
        out,
        outcome(
            TurnEnd::Answer("Hi there.".into()),
            [0, 0, 0, 1],
            USAGE_ONCE,
            &out.trace_id
        )
    );
    assert_eq!(seen, [TurnEvent::Waiting]);
    assert_eq!(
        agent.history(),
        [Message::user("hello"), Message::assistant("Hi there.")]
    );
    let sent = model.requests();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].messages[1..], [Message::user("hello")]);
    let offered: Vec<&str> = sent[0].tools.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(
        offered,
        [
            "crypto-sha256",
            "crypto-hmac",
            "crypto-generate_key",
            "crypto-generate_keypair",
            "crypto-sign",
            "crypto-verify",
            "crypto-encode",
            "crypto-decode"
        ]
    );
}

#[tokio::test]
async fn max_steps_ends_a_turn_that_keeps_calling() {
    let rig = Rig::new();
    let script = (0..3)
        .map(|i| {
            calls(&[tool_call(
                &format!("c{i}"),
                "crypto-sha256",
                &format!(r#"{{"data":"{i}"}}"#),
            )])
        })
        .collect();
    let mut agent = rig.agent(
        "default",
        ToolProtocol::Native,
        Scripted::new(script),
        Arc::new(DenyApprovals),
    );
    let (out, _) = ask(&mut agent, "loop").await;
    let message = "I stopped after 2 tool steps without reaching a final answer (max_steps = 2 for role default). Ask me to continue, or raise max_steps in the policy.";
    assert_eq!(
        out,
        outcome(
            TurnEnd::StepLimit {
                max_steps: 2,
                message: message.into()
            },
            [2, 2, 0, 3],
            Usage::default(),
            &out.trace_id
        )
    );
    assert_eq!(agent.history().last(), Some(&Message::assistant(message)));
    assert_eq!(
        rig.data_of("agent.error"),
        [json!({"reason": message, "source": "agent", "code": "max_steps"})]
    );
}

#[tokio::test]
async fn a_model_error_ends_the_turn_and_is_recorded() {
    let rig = Rig::new();
    let error = LlmError::Status {
        status: 500,
        body: "boom".into(),
        attempts: 3,
    };
    let mut agent = rig.agent(
        "default",
        ToolProtocol::Native,
        Scripted::new(vec![Turnout::Fail(error.clone())]),
        Arc::new(DenyApprovals),
    );
    let (out, _) = ask(&mut agent, "hi").await;
    assert_eq!(
        out,
        outcome(
            TurnEnd::ModelError(error),
            [0, 0, 0, 1],
            Usage::default(),
            &out.trace_id
        )
    );
    assert_eq!(agent.history(), [Message::user("hi")]);
    assert_eq!(
        rig.data_of("agent.error"),
        [
            json!({"reason": "the model server answered HTTP 500: boom", "source": "llm_request", "code": "llm_http_error"})
        ]
    );
}

#[tokio::test]
async fn cancellation_before_and_during_a_request_ends_the_turn() {
    let rig = Rig::new();
    let cancel = CancellationToken::new();
    let model = Scripted::new(vec![Turnout::Hang(cancel.clone())]);
    let mut agent = rig.agent(
        "default",
        ToolProtocol::Native,
        model.clone(),
        Arc::new(DenyApprovals),
    );
    let out = agent.prompt("wait", &mut |_| {}, &cancel).await;
    assert_eq!(
        out,
        outcome(
            TurnEnd::Cancelled,
            [0, 0, 0, 1],
            Usage::default(),
            &out.trace_id
        )
    );
    let out = agent.prompt("again", &mut |_| {}, &cancel).await;
    assert_eq!(
        out,
        outcome(
            TurnEnd::Cancelled,
            [0, 0, 0, 0],
            Usage::default(),
            &out.trace_id
        )
    );
    assert_eq!(model.requests().len(), 1);
    assert_eq!(
        agent.history(),
        [Message::user("wait"), Message::user("again")]
    );
    let cancelled =
        json!({"reason": "the turn was cancelled", "source": "user", "code": "cancelled"});
    assert_eq!(rig.data_of("agent.error"), [cancelled.clone(), cancelled]);
}

#[tokio::test]
async fn auto_falls_back_from_native_to_json_when_tools_are_refused() {
    let rig = Rig::new();
    let refused = LlmError::Status {
        status: 400,
        body: "this model does not support tools".into(),
        attempts: 1,
    };
    let model = Scripted::new(vec![
        Turnout::Fail(refused.clone()),
        text(r#"{"tool":"crypto","action":"sha256","args":{"data":"hello"}}"#),
        text("It is 2cf2…."),
    ]);
    let mut agent = rig.agent(
        "default",
        ToolProtocol::Auto,
        model.clone(),
        Arc::new(DenyApprovals),
    );
    let (out, seen) = ask(&mut agent, "hash hello").await;
    let usage = Usage {
        prompt_tokens: 20,
        completion_tokens: 4,
        total_tokens: 24,
    };
    assert_eq!(
        out,
        outcome(
            TurnEnd::Answer("It is 2cf2….".into()),
            [1, 1, 0, 3],
            usage,
            &out.trace_id
        )
    );
    assert_eq!(agent.protocol(), "json");
    assert!(seen.contains(&TurnEvent::Fallback {
        from: "native".into(),
        to: "json".into(),
        reason: refused.to_string(),
    }));
    assert_eq!(
        agent.history(),
        [
            Message::user("hash hello"),
            Message::assistant(r#"{"tool":"crypto","action":"sha256","args":{"data":"hello"}}"#),
            Message::user(sha_of_hello()),
            Message::assistant("It is 2cf2…."),
        ]
    );
    let sent = model.requests();
    let tools: Vec<usize> = sent.iter().map(|r| r.tools.len()).collect();
    assert_eq!(tools, [8, 0, 0]);
    assert_eq!(
        rig.data_of("agent.protocol"),
        [
            json!({"agent_id": "tester", "from": "native", "to": "json", "reason": refused.to_string()})
        ]
    );
}
