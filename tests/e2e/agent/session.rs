//! Approvals, secrets, restarts and the mailbox.

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_approval_in_a_non_interactive_session_is_denied() {
    let rig = Rig::new();
    let mut agent = rig.agent("careful", ToolProtocol::Native);
    rig.server.push(Reply::tool_calls(&[(
        "c",
        "crypto-sha256",
        r#"{"data":"hello"}"#,
    )]));
    rig.server.push(Reply::text("not allowed"));
    let out = ask(&mut agent, "hash").await;
    assert_eq!(out.end, TurnEnd::Answer("not allowed".into()));
    let result = rig.bodies()[1]["messages"][3]["content"]
        .as_str()
        .unwrap_or("")
        .to_owned();
    assert_eq!(error_reason(&result), "approval_required");
    assert_eq!(
        rig.tool_decisions(),
        [sha256_decision(false)],
        "one decision per call"
    );
    next_prompt_works(&rig, &mut agent).await;
}

/// The `policy.decision` of `careful` calling `crypto.sha256`.
fn sha256_decision(approved: bool) -> Value {
    json!({
        "tool": "crypto",
        "operation": "sha256",
        "target": "",
        "verdict": "approve",
        "rule": "[roles.careful].approve \"crypto.sha256\"",
        "approved": approved,
    })
}

struct Yes;

#[async_trait::async_trait]
impl Approver for Yes {
    async fn approve(&self, request: &ApprovalRequest) -> bool {
        request.tool == "crypto" && request.args == json!({"data": "hello"})
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_approved_call_runs() {
    let rig = Rig::new();
    let mut agent = rig.agent_with(
        "careful",
        ToolProtocol::Native,
        rig.config(),
        Arc::new(Yes),
        false,
    );
    rig.server.push(Reply::tool_calls(&[(
        "c",
        "crypto-sha256",
        r#"{"data":"hello"}"#,
    )]));
    rig.server.push(Reply::text("done"));
    ask(&mut agent, "hash").await;
    assert_eq!(rig.bodies()[1]["messages"][3]["content"], sha_feedback());
    assert_eq!(
        rig.tool_decisions(),
        [sha256_decision(true)],
        "one decision per call"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn private_keys_never_reach_the_model_but_can_be_used() {
    let rig = Rig::new();
    let mut agent = rig.agent("default", ToolProtocol::Native);
    rig.server.push(Reply::tool_calls(&[(
        "k",
        "crypto-generate_keypair",
        r#"{"type":"ed25519"}"#,
    )]));
    rig.server.push(Reply::text("made a key"));
    ask(&mut agent, "make a key").await;
    let result = rig.bodies()[1]["messages"][3]["content"]
        .as_str()
        .unwrap_or("")
        .to_owned();
    let v: Value = serde_json::from_str(&result).expect("json");
    let handle = v["output"]["private_key"]
        .as_str()
        .expect("a handle")
        .to_owned();
    assert!(handle.starts_with("[secret:sec_"), "{handle}");
    let public = v["output"]["public_key"]
        .as_str()
        .expect("public key shown");
    assert!(
        !public.is_empty() && !public.starts_with("[secret:"),
        "{public}"
    );
    let sign = json!({"type": "ed25519", "data": "hi", "private_key": handle}).to_string();
    rig.server
        .push(Reply::tool_calls(&[("s", "crypto-sign", &sign)]));
    rig.server.push(Reply::text("signed"));
    ask(&mut agent, "sign hi").await;
    let signed = rig.bodies()[3]["messages"]
        .as_array()
        .expect("messages")
        .last()
        .cloned()
        .expect("last");
    let v: Value = serde_json::from_str(signed["content"].as_str().unwrap_or("")).expect("json");
    assert_eq!(v["status"], "ok", "{v}");
    // Wherever a private key appears — on disk, or in what the model was
    // sent (tool_calls arguments and results are JSON text) — it is a
    // handle or redacted.
    let mut texts: Vec<String> = rig
        .env
        .events()
        .iter()
        .map(|e| e.data.to_string())
        .collect();
    texts.extend(rig.bodies().iter().map(Value::to_string));
    for text in texts {
        for (i, _) in text.match_indices("private_key") {
            // Only a field holding a string (not prose in a description,
            // not a schema property) can hold a key.
            let after: String = text[i + 11..].chars().take(40).collect();
            let Some(value) = after
                .strip_prefix("\":\"")
                .or_else(|| after.strip_prefix("\\\":\\\""))
            else {
                continue;
            };
            assert!(
                value.starts_with("[secret:sec_") || value.starts_with("[redacted]"),
                "a private key leaked: …{after}"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_agent_continues_its_conversation() {
    let rig = Rig::new();
    let mut agent = rig.agent("default", ToolProtocol::Native);
    rig.server.push(Reply::tool_calls(&[(
        "c",
        "crypto-sha256",
        r#"{"data":"hello"}"#,
    )]));
    rig.server.push(Reply::text("hashed"));
    ask(&mut agent, "hash hello").await;
    let before = agent.history().to_vec();
    drop(agent);
    let mut again = rig.agent("default", ToolProtocol::Native);
    assert_eq!(again.history(), before.as_slice());
    rig.server.push(Reply::text("yes"));
    ask(&mut again, "remember?").await;
    let msgs = rig.bodies()[2]["messages"]
        .as_array()
        .expect("messages")
        .len();
    assert_eq!(msgs, 1 + before.len() + 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prompts_to_one_agent_run_in_order() {
    let rig = Rig::new();
    let handle = rig.agent("default", ToolProtocol::Native).spawn();
    rig.server.push(Reply::Delay(
        Duration::from_millis(200),
        Box::new(Reply::text("first")),
    ));
    rig.server.push(Reply::text("second"));
    let (a, b) = tokio::join!(
        handle.prompt("one", None, CancellationToken::new()),
        async {
            tokio::time::sleep(Duration::from_millis(50)).await;
            handle.prompt("two", None, CancellationToken::new()).await
        }
    );
    assert_eq!(a.expect("first").end, TurnEnd::Answer("first".into()));
    assert_eq!(b.expect("second").end, TurnEnd::Answer("second".into()));
    let bodies = rig.bodies();
    assert_eq!(bodies[1]["messages"][1]["content"], "one");
    assert_eq!(bodies[1]["messages"][2]["content"], "first");
    assert_eq!(bodies[1]["messages"][3]["content"], "two");
}
