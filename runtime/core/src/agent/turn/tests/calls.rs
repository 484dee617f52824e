//! The calls a turn makes: run and answered, repeated, failed, approved
//! or refused — each decided (and recorded) once.

use super::*;

#[tokio::test]
async fn a_tool_call_then_an_answer() {
    let rig = Rig::new();
    let call = tool_call("c1", "crypto-sha256", r#"{"data":"hello"}"#);
    let model = Scripted::new(vec![
        calls(std::slice::from_ref(&call)),
        text("It is 2cf2…."),
    ]);
    let mut agent = rig.agent(
        "default",
        ToolProtocol::Native,
        model,
        Arc::new(DenyApprovals),
    );
    let (out, _) = ask(&mut agent, "hash hello").await;
    assert_eq!(
        out,
        outcome(
            TurnEnd::Answer("It is 2cf2….".into()),
            [1, 1, 0, 2],
            USAGE_ONCE,
            &out.trace_id
        )
    );
    assert_eq!(
        agent.history(),
        [
            Message::user("hash hello"),
            asked(&[call]),
            Message::tool("c1", sha_of_hello()),
            Message::assistant("It is 2cf2…."),
        ]
    );
    assert_eq!(rig.tool_decisions().len(), 1);
}

#[tokio::test]
async fn a_repeated_call_is_not_run_twice() {
    let rig = Rig::new();
    let first = tool_call("c1", "crypto-sha256", r#"{"data":"hello"}"#);
    let again = tool_call("c2", "crypto-sha256", r#"{"data":"hello"}"#);
    let model = Scripted::new(vec![
        calls(std::slice::from_ref(&first)),
        calls(std::slice::from_ref(&again)),
        text("done"),
    ]);
    let mut agent = rig.agent(
        "default",
        ToolProtocol::Native,
        model,
        Arc::new(DenyApprovals),
    );
    let (out, _) = ask(&mut agent, "hash hello").await;
    assert_eq!(
        out,
        outcome(
            TurnEnd::Answer("done".into()),
            [2, 1, 0, 3],
            USAGE_ONCE,
            &out.trace_id
        )
    );
    assert_eq!(
        agent.history()[3..],
        [
            asked(&[again]),
            Message::tool(
                "c2",
                failure(
                    "repeated_call",
                    "crypto.sha256 was just called with these same arguments; its result is the previous message",
                    None,
                    Some(
                        "answer the user's question with that result now, or make a different call"
                    ),
                )
            ),
            Message::assistant("done"),
        ]
    );
    assert_eq!(rig.data_of("tool.crypto").len(), 1);
}

#[tokio::test]
async fn a_tool_failure_goes_back_to_the_model_which_answers() {
    let rig = Rig::new();
    let bad = tool_call("c1", "crypto-sha256", "[1]");
    let denied = tool_call("c2", "file-read", r#"{"path":"/etc/passwd"}"#);
    let model = Scripted::new(vec![
        calls(&[bad.clone(), denied.clone()]),
        text("I cannot."),
    ]);
    let mut agent = rig.agent(
        "default",
        ToolProtocol::Native,
        model,
        Arc::new(DenyApprovals),
    );
    let (out, seen) = ask(&mut agent, "try").await;
    assert_eq!(
        out,
        outcome(
            TurnEnd::Answer("I cannot.".into()),
            [1, 2, 2, 2],
            USAGE_ONCE,
            &out.trace_id
        )
    );
    let not_permitted = failure(
        "tool_not_permitted",
        "role `default` may not use `file.read`",
        None,
        Some(r#"add "file.read" to [roles.default].tools"#),
    );
    assert_eq!(
        agent.history()[1..],
        [
            asked(&[bad, denied]),
            Message::tool(
                "c1",
                failure(
                    "invalid_args",
                    "the arguments must be a JSON object, not [1]",
                    Some("arguments"),
                    Some("call the function again with a JSON object matching its parameters"),
                )
            ),
            Message::tool("c2", not_permitted.clone()),
            Message::assistant("I cannot."),
        ]
    );
    assert!(seen.contains(&TurnEvent::ToolResult {
        tool: "file".into(),
        action: "read".into(),
        ok: false,
        result: not_permitted,
    }));
    let decisions = rig.tool_decisions();
    assert_eq!(decisions.len(), 1, "{decisions:?}");
    assert_eq!(decisions[0]["verdict"], "deny");
}

async fn approval_turn(yes: bool) -> (Rig, TurnOutcome, Vec<Message>, Vec<ApprovalRequest>) {
    let rig = Rig::new();
    let call = tool_call("c1", "crypto-sha256", r#"{"data":"hello"}"#);
    let model = Scripted::new(vec![calls(&[call]), text("ok")]);
    let approver = Arc::new(Answer {
        yes,
        asked: Mutex::default(),
    });
    let mut agent = rig.agent("careful", ToolProtocol::Native, model, approver.clone());
    let (out, _) = ask(&mut agent, "hash hello").await;
    let asked = approver.asked.lock().unwrap().clone();
    (rig, out, agent.history().to_vec(), asked)
}

fn question() -> ApprovalRequest {
    ApprovalRequest {
        agent: "tester".into(),
        role: "careful".into(),
        tool: "crypto".into(),
        action: "sha256".into(),
        args: json!({"data": "hello"}),
    }
}

#[tokio::test]
async fn an_approved_call_runs_and_is_decided_once() {
    let (rig, out, history, asked) = approval_turn(true).await;
    assert_eq!(
        out,
        outcome(
            TurnEnd::Answer("ok".into()),
            [1, 1, 0, 2],
            USAGE_ONCE,
            &out.trace_id
        )
    );
    assert_eq!(asked, [question()]);
    assert_eq!(history[2], Message::tool("c1", sha_of_hello()));
    let decisions = rig.tool_decisions();
    assert_eq!(decisions.len(), 1, "{decisions:?}");
    assert_eq!(
        (&decisions[0]["verdict"], &decisions[0]["approved"]),
        (&json!("approve"), &json!(true))
    );
}

#[tokio::test]
async fn a_refused_approval_answers_approval_required_and_is_decided_once() {
    let (rig, out, history, asked) = approval_turn(false).await;
    assert_eq!(
        out,
        outcome(
            TurnEnd::Answer("ok".into()),
            [1, 1, 1, 2],
            USAGE_ONCE,
            &out.trace_id
        )
    );
    assert_eq!(asked, [question()]);
    assert_eq!(
        history[2],
        Message::tool(
            "c1",
            failure(
                "approval_required",
                "`crypto.sha256` needs a human's approval under role `careful` and none was given",
                None,
                Some(
                    "run it interactively and answer yes, or pass --approve to `llmagent tools call`"
                ),
            )
        )
    );
    let decisions = rig.tool_decisions();
    assert_eq!(decisions.len(), 1, "{decisions:?}");
    assert_eq!(
        (&decisions[0]["verdict"], &decisions[0]["approved"]),
        (&json!("approve"), &json!(false))
    );
}
