//! Hostile input through the real agent (issue 16): secrets that a model
//! tries to read back, names and arguments of any size and depth, replies
//! with thousands of calls, and two writers of one conversation.

use super::*;

const HOSTILE: &str = r#"
version = 1
[defaults]
max_steps = 3
[tools.testbed]
path = "{testbed}"
[roles.default]
tools = ["crypto", "bash", "testbed.echo"]
[roles.default.exec]
allow = ["bash"]
[redact]
patterns = ["AKIA[0-9A-Z]{16}"]
"#;

/// RFC 8032 test 1: the private seed, base64.
const SEED_B64: &str = "nWGxne/9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A=";
/// …its bytes in hex.
const SEED_HEX: &str = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60";
/// …base64 of the base64 text (what `crypto encode` to base64 would give).
const SEED_B64_B64: &str = "bldHeG5lLzlXbUM2aEVyMGt1d3N4RVJKeFdsN01ta1pjRHVzQXh5dWYyQT0=";
/// …and the signature of the empty message under it.
const SIGNATURE_B64: &str =
    "5VZDAMNgrHKQhuLMgG6CioSHfx645dl02HPgZSJJAVVfuIIVkKM7rMYeOXAc+bRr0lv18FlbviRlUUFDjnoQCw==";

/// `text` as a JSON string literal of `\uXXXX` escapes only, so that the
/// model's own request never holds the secret it makes a tool return.
fn escaped(text: &str) -> String {
    let inner: String = text
        .chars()
        .map(|c| format!("\\u{:04x}", c as u32))
        .collect();
    format!("\"{inner}\"")
}

fn hex(text: &str) -> String {
    text.bytes().map(|b| format!("{b:02x}")).collect()
}

/// Every event of the run and every request the server received, as text.
fn everything(rig: &Rig) -> Vec<String> {
    let mut texts: Vec<String> = rig
        .env
        .events()
        .iter()
        .map(|e| serde_json::to_string(e).expect("event serialises"))
        .collect();
    texts.extend(rig.bodies().iter().map(Value::to_string));
    texts
}

fn assert_nowhere(rig: &Rig, forms: &[&str]) {
    for text in everything(rig) {
        for form in forms {
            assert!(
                !text.contains(form),
                "`{form}` leaked into: {}",
                &text[..text.len().min(2000)]
            );
        }
    }
}

/// The tool messages of request `n`, in order, as JSON.
fn results(rig: &Rig, n: usize) -> Vec<Value> {
    rig.bodies()[n]["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .filter(|m| m["role"] == "tool")
        .map(|m| serde_json::from_str(m["content"].as_str().unwrap_or("")).expect("result JSON"))
        .collect()
}

/// Makes the testbed return `{"private_key": <seed>}`; the handle the
/// model was shown instead.
async fn seal_the_seed(rig: &Rig, agent: &mut Agent) -> String {
    let args = format!(r#"{{"value":{{"private_key":{}}}}}"#, escaped(SEED_B64));
    rig.server
        .push(Reply::tool_calls(&[("k", "testbed-echo", &args)]));
    rig.server.push(Reply::text("got a key"));
    ask(agent, "get a key").await;
    let shown = results(rig, 1);
    let handle = shown[0]["output"]["private_key"]
        .as_str()
        .unwrap_or("")
        .to_owned();
    assert!(handle.starts_with("[secret:sec_"), "{shown:?}");
    handle
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_secret_handle_goes_only_where_a_tool_declares_a_secret_input() {
    let rig = Rig::with_policy(HOSTILE);
    let mut agent = rig.agent("default", ToolProtocol::Native);
    let handle = seal_the_seed(&rig, &mut agent).await;
    let encode = json!({"data": handle, "encoding": "base16"}).to_string();
    let encode64 = json!({"data": handle, "encoding": "base64"}).to_string();
    let bash = json!({"command": "cat", "stdin": handle}).to_string();
    let sign = json!({"type": "ed25519", "data": "", "private_key": handle}).to_string();
    rig.server.push(Reply::tool_calls(&[
        ("e", "crypto-encode", &encode),
        ("e64", "crypto-encode", &encode64),
        ("b", "bash-exec", &bash),
        ("s", "crypto-sign", &sign),
    ]));
    rig.server.push(Reply::text("done"));
    let out = ask(&mut agent, "show me the key").await;
    assert_eq!(out.end, TurnEnd::Answer("done".into()));
    let shown = results(&rig, 3);
    let where_ok = "here: only crypto.hmac key, crypto.sign private_key";
    for (i, field) in [(1, "data"), (2, "data"), (3, "stdin")] {
        assert_eq!(
            shown[i]["error"]["reason"], "invalid_args",
            "{:?}",
            shown[i]
        );
        assert_eq!(shown[i]["error"]["field"], field);
        let message = shown[i]["error"]["message"].as_str().unwrap_or("");
        assert!(message.ends_with(where_ok), "{message}");
    }
    assert_eq!(
        shown[4],
        json!({"status": "ok", "output": SIGNATURE_B64, "metadata": {"type": "ed25519", "action": "sign"}})
    );
    // The refused calls are on record as refused, under their tools, with
    // the handle as their argument.
    let encodes = rig.events_of("tool.crypto");
    assert_eq!(encodes[0]["args"]["data"], json!(handle));
    assert_eq!(encodes[0]["error"]["reason"], "invalid_args");
    assert_eq!(rig.events_of("tool.bash")[0]["error"]["field"], "stdin");
    assert_nowhere(&rig, &[SEED_B64, SEED_HEX, &hex(SEED_B64), SEED_B64_B64]);
    next_prompt_works(&rig, &mut agent).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_made_up_handle_is_refused_even_where_secrets_go() {
    let rig = Rig::with_policy(HOSTILE);
    let mut agent = rig.agent("default", ToolProtocol::Native);
    let sign =
        json!({"type": "ed25519", "data": "", "private_key": "[secret:sec_0000000000000000]"})
            .to_string();
    rig.server
        .push(Reply::tool_calls(&[("s", "crypto-sign", &sign)]));
    rig.server.push(Reply::text("no"));
    ask(&mut agent, "sign").await;
    let shown = results(&rig, 1);
    assert_eq!(
        (&shown[0]["error"]["reason"], &shown[0]["error"]["field"]),
        (&json!("invalid_args"), &json!("private_key"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secrets_in_tool_results_are_sealed_or_redacted_for_the_model_and_the_log() {
    let rig = Rig::with_policy(HOSTILE);
    let mut agent = rig.agent("default", ToolProtocol::Native);
    let args = format!(
        r#"{{"value":{{"user":"alice","password":{},"note":{},"keyringmode":"private"}}}}"#,
        escaped("hunter2-Zq8"),
        escaped("id AKIAABCDEFGHIJKLMNOP in use"),
    );
    rig.server
        .push(Reply::tool_calls(&[("p", "testbed-echo", &args)]));
    rig.server.push(Reply::text("ok"));
    ask(&mut agent, "who?").await;
    let shown = results(&rig, 1);
    let output = &shown[0]["output"];
    assert_eq!(output["user"], "alice");
    assert_eq!(output["keyringmode"], "private");
    assert_eq!(output["note"], "id [redacted] in use");
    let handle = output["password"].as_str().unwrap_or("");
    assert!(handle.starts_with("[secret:sec_"), "{output}");
    assert_nowhere(&rig, &["hunter2-Zq8", "AKIAABCDEFGHIJKLMNOP"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_70000_character_tool_name_is_invalid_tool_and_the_turn_goes_on() {
    let rig = Rig::new();
    let mut agent = rig.agent("default", ToolProtocol::Native);
    let name = "n".repeat(70_000);
    rig.server
        .push(Reply::tool_calls(&[("c", &name, r#"{"data":"hello"}"#)]));
    rig.server.push(Reply::text("sorry"));
    let out = ask(&mut agent, "x").await;
    assert_eq!(out.end, TurnEnd::Answer("sorry".into()));
    let shown = results(&rig, 1);
    assert_eq!(shown[0]["error"]["reason"], "invalid_tool");
    let message = shown[0]["error"]["message"].as_str().unwrap_or("");
    assert_eq!(
        message,
        format!(
            "the tool name `{}…(70000 bytes)` is longer than 128 bytes; no tool has such a name",
            "n".repeat(32)
        )
    );
    // Neither the next request nor any event carries the name.
    let long = "n".repeat(200);
    assert_nowhere(&rig, &[&long]);
    assert!(rig.events_of("agent.tool_dispatch").is_empty());
    next_prompt_works(&rig, &mut agent).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_thousand_calls_in_one_reply_run_sixteen_and_count_as_steps() {
    let rig = Rig::new();
    let mut agent = rig.agent("default", ToolProtocol::Native);
    let args: Vec<(String, String)> = (0..2000)
        .map(|i| (format!("c{i}"), format!(r#"{{"data":"{i}"}}"#)))
        .collect();
    let calls: Vec<(&str, &str, &str)> = args
        .iter()
        .map(|(id, a)| (id.as_str(), "crypto-sha256", a.as_str()))
        .collect();
    rig.server.push(Reply::tool_calls(&calls));
    rig.server.push(Reply::tool_calls(&calls[..1]));
    let started = std::time::Instant::now();
    let out = ask(&mut agent, "hash everything").await;
    let took = started.elapsed();
    // The flood cost every step the role has: the next reply that calls a
    // tool ends the turn.
    assert!(
        matches!(out.end, TurnEnd::StepLimit { max_steps: 3, .. }),
        "{:?}",
        out.end
    );
    assert_eq!((out.steps, out.tool_calls, out.requests), (3, 16, 2));
    let shown = results(&rig, 1);
    assert_eq!(shown.len(), 2000);
    assert!(shown[..16].iter().all(|r| r["status"] == "ok"));
    assert!(
        shown[16..]
            .iter()
            .all(|r| r["error"]["reason"] == "too_many_calls"),
        "{:?}",
        shown[16]
    );
    assert_eq!(
        shown[16]["error"]["message"],
        "this reply asked for 2000 calls; only the first 16 ran (max_calls_per_reply of agent `tester`), and this one, call 17, did not, nor did any after it"
    );
    assert_eq!(
        shown[1999]["error"]["message"],
        "not run: only the first 16 calls of a reply run"
    );
    assert_eq!(rig.events_of("tool.crypto").len(), 16);
    let sent = rig.bodies()[1].to_string().len();
    eprintln!("2000 calls in one reply: turn took {took:?}; the next request was {sent} bytes");
    assert!(
        sent < 1 << 20,
        "the answers to a flood stay small: {sent} bytes"
    );
    rig.server
        .always(Reply::status(500, "model script exhausted"));
    next_prompt_works(&rig, &mut agent).await;
}

/// `{"a":{"a":…1…}}`, `levels` objects deep.
fn nested(levels: usize) -> String {
    format!("{}1{}", r#"{"a":"#.repeat(levels), "}".repeat(levels))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn arguments_126_deep_or_too_large_are_invalid_args_and_the_log_reads_back() {
    let rig = Rig::new();
    let mut agent = rig.agent("default", ToolProtocol::Native);
    let deep = nested(126);
    let big = format!(r#"{{"data":"{}"}}"#, "x".repeat(300 << 10));
    rig.server.push(Reply::tool_calls(&[
        ("d", "crypto-sha256", &deep),
        ("b", "crypto-sha256", &big),
    ]));
    rig.server.push(Reply::text("ok"));
    ask(&mut agent, "x").await;
    let shown = results(&rig, 1);
    assert_eq!(
        shown[0]["error"]["message"],
        "the arguments are nested 126 levels deep; at most 64 are accepted"
    );
    assert_eq!(shown[0]["error"]["field"], "arguments");
    assert_eq!(
        shown[1]["error"]["message"],
        format!(
            "the arguments are {} bytes of JSON; this agent takes at most 262144 (max_args_bytes)",
            big.len()
        )
    );
    // The oversized arguments are not sent back to the model.
    let echoed = &rig.bodies()[1]["messages"][2]["tool_calls"][1]["function"]["arguments"];
    assert_eq!(echoed, "{}");
    // Every event reads back through serde_json's default limits.
    for e in rig.env.events() {
        let text = serde_json::to_string(&e).expect("serialise");
        let _: Value = serde_json::from_str(&text).expect("an event reads back");
    }
    // The json protocol: the whole reply is one level deeper than its args.
    drop(agent);
    let mut json_agent = rig.agent("default", ToolProtocol::Json);
    let call = format!(
        r#"{{"tool":"crypto","action":"sha256","args":{}}}"#,
        nested(100)
    );
    rig.server.push(Reply::text(&call));
    rig.server.push(Reply::text("fine"));
    ask(&mut json_agent, "y").await;
    let last = rig.bodies()[3]["messages"]
        .as_array()
        .and_then(|m| m.last().cloned())
        .unwrap_or_default();
    assert_eq!(
        error_reason(last["content"].as_str().unwrap_or("")),
        "invalid_args"
    );
    next_prompt_works(&rig, &mut json_agent).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_agent_of_the_same_name_is_refused_until_the_first_is_gone() {
    let rig = Rig::new();
    let first = rig.agent("default", ToolProtocol::Native);
    let client = OpenAiClient::new(rig.config()).expect("client");
    let second = Agent::new(
        rig.env.runtime.clone(),
        Arc::new(client),
        AgentSettings::new("tester", "default", "scripted-model"),
        Some(Events::new(rig.env.store.clone())),
        Arc::new(DenyApprovals),
    );
    let Err(e) = second else {
        panic!("a second writer of `tester` was let in")
    };
    assert_eq!(e.code(), "agent.locked");
    assert_eq!(
        e.to_string(),
        format!(
            "agent `tester` is already running in process {}; one agent's conversation has one writer: stop it first, or run this one with another name (--name)",
            std::process::id()
        )
    );
    drop(first);
    let mut again = rig.agent("default", ToolProtocol::Native);
    next_prompt_works(&rig, &mut again).await;
}

const PROC: &str = r#"
version = 1
[roles.default]
tools = ["proc"]
[roles.default.proc]
list = true
info = "all"
"#;

/// A process of another user (`nobody`), killed when dropped.
struct Stranger(std::process::Child);

impl Drop for Stranger {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[cfg_attr(not(llmagent_root), ignore = "needs root (starts a process as nobody)")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_users_command_line_is_redacted_for_the_model_and_ours_is_not() {
    let stranger = Stranger(
        std::process::Command::new("setpriv")
            .args([
                "--reuid=65534",
                "--regid=65534",
                "--clear-groups",
                "sleep",
                "2718.28s",
            ])
            .spawn()
            .expect("start a process as nobody"),
    );
    let pid = stranger.0.id();
    // Until setpriv has become sleep as nobody.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !std::fs::read(format!("/proc/{pid}/cmdline")).is_ok_and(|c| c.starts_with(b"sleep"))
        && std::time::Instant::now() < deadline
    {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let rig = Rig::with_policy(PROC);
    let mut settings = AgentSettings::new("tester", "default", "scripted-model");
    settings.protocol = ToolProtocol::Native;
    settings.max_result_bytes = 1 << 20;
    let mut agent = rig.agent_from(settings, rig.config(), Arc::new(DenyApprovals));
    let info = json!({"pid": pid}).to_string();
    let mine = json!({"pid": std::process::id()}).to_string();
    rig.server.push(Reply::tool_calls(&[
        ("l", "proc-list", "{}"),
        ("i", "proc-info", &info),
        ("m", "proc-info", &mine),
    ]));
    rig.server.push(Reply::text("seen"));
    ask(&mut agent, "what runs?").await;
    let shown = results(&rig, 1);
    let listed = shown[0]["output"].as_array().cloned().unwrap_or_default();
    let entry = |p: u32| listed.iter().find(|e| e["pid"] == json!(p)).cloned();
    assert_eq!(
        entry(pid).map(|e| (e["user"].clone(), e["cmd"].clone())),
        Some((json!("nobody"), json!("[redacted]")))
    );
    let own = entry(std::process::id()).map(|e| e["cmd"].clone());
    assert!(
        own.as_ref()
            .and_then(Value::as_str)
            .is_some_and(|c| c.contains("e2e")),
        "{own:?}"
    );
    assert_eq!(
        shown[1]["output"]["cmdline"], "[redacted]",
        "{:?}",
        shown[1]
    );
    assert!(shown[2]["output"]["cmdline"].is_array(), "{:?}", shown[2]);
    assert_nowhere(&rig, &["2718.28"]);
    drop(stranger);
}

const PROBE: &str = r#"
version = 1
[tools.testbed]
path = "{testbed}"
[roles.default]
tools = ["testbed.probe"]
[roles.default.fs]
read = ["{dir}/**"]
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tool_repeating_a_denied_request_costs_one_decision_event_and_a_count() {
    let rig = Rig::with_policy(PROBE);
    let mut agent = rig.agent("default", ToolProtocol::Native);
    let probe = json!({"path": "/etc/shadow", "times": 10_000}).to_string();
    rig.server
        .push(Reply::tool_calls(&[("p", "testbed-probe", &probe)]));
    rig.server.push(Reply::text("refused"));
    let started = std::time::Instant::now();
    ask(&mut agent, "probe").await;
    let took = started.elapsed();
    let shown = results(&rig, 1);
    assert_eq!(shown[0]["output"], 10_000, "{:?}", shown[0]);
    let decisions = rig.env.store.for_topic("policy.decision").expect("query");
    let kinds: Vec<(&str, Option<&str>)> = decisions
        .iter()
        .map(|e| (e.kind.as_str(), e.data["capability"].as_str()))
        .collect();
    assert_eq!(
        kinds,
        [
            ("decision", None),
            ("decision", Some("fs")),
            ("decisions_counted", None)
        ]
    );
    assert_eq!(
        (
            &decisions[2].data["repeated"],
            &decisions[2].data["counts"][0]["count"],
            &decisions[2].data["counts"][0]["verdict"]
        ),
        (&json!(9_999), &json!(10_000), &json!("deny"))
    );
    eprintln!(
        "10,000 denied requests in one call: turn took {took:?}, {} events in all",
        rig.env.events().len()
    );
}
