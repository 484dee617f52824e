//! `llmagent events` and `llmagent history`.

use std::path::Path;

use llmagent_events::{Delivery, Event, EventStore, Filter, Query, names};
use llmagent_policy::Durability;
use serde_json::json;

use crate::exit;
use crate::load;
use crate::term::{fit, safe, width};

/// Arguments of `llmagent events`.
#[derive(Debug, clap::Args)]
pub(crate) struct EventsArgs {
    /// Only this agent's events.
    #[arg(long)]
    agent: Option<String>,
    /// Only this exact topic (e.g. `tool.crypto`).
    #[arg(long, conflicts_with = "prefix")]
    topic: Option<String>,
    /// Only topics starting with this (e.g. `tool.` for every tool event).
    #[arg(long)]
    prefix: Option<String>,
    /// Only this kind (e.g. `invocation`, `decision`).
    #[arg(long = "type", value_name = "KIND")]
    kind: Option<String>,
    /// Only events strictly later than this RFC 3339 time.
    #[arg(long, value_name = "TS")]
    since: Option<String>,
    /// Only the newest N matching events.
    #[arg(long, value_name = "N")]
    limit: Option<usize>,
    /// One JSON object per line (for jq).
    #[arg(long)]
    json: bool,
    /// Keep printing new events, also those other processes record, until Ctrl-C.
    #[arg(long)]
    follow: bool,
}

/// Arguments of `llmagent history`.
#[derive(Debug, clap::Args)]
pub(crate) struct HistoryArgs {
    /// The agent.
    agent: String,
    /// Start a new conversation for the agent: older messages stay in the
    /// event log but are no longer replayed.
    #[arg(long)]
    new_session: bool,
    /// One JSON object per message.
    #[arg(long)]
    json: bool,
}

fn print(event: &Event, json: bool) {
    if json {
        match serde_json::to_string(event) {
            Ok(s) => println!("{}", crate::term::safe_json(&s)),
            Err(e) => eprintln!("error: cannot print event {}: {e}", event.seq),
        }
    } else {
        println!("{}", human(event, width()));
    }
}

/// One event as one line for a person, at most `width` columns: sequence
/// number, time of day (UTC), agent, and what happened in words (the
/// whole event is in `--json`).
fn human(event: &Event, width: usize) -> String {
    let time = event.ts.get(11..19).unwrap_or(&event.ts);
    let line = format!(
        "{:>5} {time} {:<8} {}",
        event.seq,
        event.agent.as_deref().unwrap_or("-"),
        summary(event)
    );
    fit(&safe(&line), width)
}

/// What an event says, in words; the topic and the raw data for kinds
/// without a summary of their own.
fn summary(event: &Event) -> String {
    let d = &event.data;
    let s = |k: &str| d.get(k).and_then(serde_json::Value::as_str).unwrap_or("");
    let compact = |v: &serde_json::Value| v.to_string();
    match (event.topic.as_str(), event.kind.as_str()) {
        ("agent.prompt", _) => format!("prompt: {}", s("content")),
        ("agent.message", _) => {
            let calls = d.get("tool_calls").and_then(serde_json::Value::as_array);
            match calls {
                Some(calls) if !calls.is_empty() => {
                    let names: Vec<String> = calls
                        .iter()
                        .map(|c| {
                            format!(
                                "{} {}",
                                c["function"]["name"].as_str().unwrap_or("?"),
                                c["function"]["arguments"].as_str().unwrap_or("")
                            )
                        })
                        .collect();
                    format!("{} calls {}", s("role"), names.join("; "))
                }
                _ => format!("{}: {}", s("role"), s("content")),
            }
        }
        ("agent.llm_response", _) => format!(
            "model replied: {}, {} tokens, {} ms",
            if d["is_tool_call"].as_bool() == Some(true) {
                "a tool call"
            } else {
                "an answer"
            },
            d["usage"]["total_tokens"],
            d["duration_ms"]
        ),
        ("agent.tool_dispatch", _) => format!("dispatch {}.{}", s("tool"), s("action")),
        ("policy.decision", "decision") => {
            let subject = match d.get("tool").and_then(serde_json::Value::as_str) {
                Some(tool) => format!("{tool}.{}", s("operation")),
                None => format!("{} {} {}", s("capability"), s("operation"), s("target")),
            };
            let why = match s("verdict") {
                "allow" => format!("by {}", s("rule")),
                _ => s("hint").to_owned(),
            };
            format!("{} {subject}: {why}", s("verdict"))
        }
        (topic, "invocation") => {
            let tool = topic.strip_prefix("tool.").unwrap_or(topic);
            let outcome = match d.get("error") {
                Some(e) => format!(
                    "{} ({}: {})",
                    s("result"),
                    e["reason"].as_str().unwrap_or("?"),
                    e["message"].as_str().unwrap_or("")
                ),
                None => s("result").to_owned(),
            };
            format!(
                "{tool}.{} {} → {outcome}, {} ms",
                s("action"),
                compact(&d["args"]),
                d["duration_ms"]
            )
        }
        ("tool.trap", _) => format!(
            "trap {}.{}: {} ({})",
            s("tool"),
            s("action"),
            s("reason"),
            s("message")
        ),
        ("agent.error", _) => format!("error {}: {}", s("code"), s("reason")),
        (topic, kind) => format!("{topic}/{kind} {}", compact(d)),
    }
}

fn matches(event: &Event, args: &EventsArgs) -> bool {
    args.agent
        .as_ref()
        .is_none_or(|a| event.agent.as_ref() == Some(a))
        && args.topic.as_ref().is_none_or(|t| &event.topic == t)
        && args
            .prefix
            .as_ref()
            .is_none_or(|p| event.topic.starts_with(p.as_str()))
        && args.kind.as_ref().is_none_or(|k| &event.kind == k)
}

fn query_of(args: &EventsArgs, after_seq: Option<u64>) -> Query {
    Query {
        agent: args.agent.clone(),
        topic: args.topic.clone(),
        prefix: args.prefix.clone(),
        kind: args.kind.clone(),
        since: args.since.clone(),
        after_seq,
        limit: if after_seq.is_some() {
            None
        } else {
            args.limit
        },
        tail: after_seq.is_none() && args.limit.is_some(),
    }
}

fn run_query(store: &EventStore, query: &Query) -> Result<Vec<Event>, u8> {
    store.query(query).map_err(|e| {
        eprintln!("error: {e}");
        exit::USAGE
    })
}

pub(crate) async fn events(args: EventsArgs, path: Option<&Path>) -> u8 {
    let store = match load::event_store(path, true, Durability::Group) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let filter = match (&args.topic, &args.prefix) {
        (Some(t), _) => Filter::Topic(t.clone()),
        (None, Some(p)) => Filter::Prefix(p.clone()),
        (None, None) => Filter::All,
    };
    // Subscribe before the first query so nothing falls between them.
    let mut live = args.follow.then(|| store.subscribe(filter));
    let mut last = 0;
    match run_query(&store, &query_of(&args, None)) {
        Ok(found) => {
            for e in &found {
                print(e, args.json);
                last = last.max(e.seq);
            }
        }
        Err(code) => return code,
    }
    let Some(sub) = live.as_mut() else { return 0 };
    loop {
        let next = tokio::select! {
            d = sub.recv() => d,
            _ = tokio::signal::ctrl_c() => return 0,
        };
        match next {
            Some(Delivery::Event(e)) if e.seq > last && matches(&e, &args) => {
                print(&e, args.json);
                last = e.seq;
            }
            Some(Delivery::Event(_)) => {}
            Some(Delivery::Lagged(_)) => match run_query(&store, &query_of(&args, Some(last))) {
                // Fell behind the bus: catch up from the store, which has everything.
                Ok(found) => {
                    for e in &found {
                        print(e, args.json);
                        last = last.max(e.seq);
                    }
                }
                Err(code) => return code,
            },
            None => return 0,
        }
    }
}

pub(crate) fn history(args: HistoryArgs, path: Option<&Path>) -> u8 {
    // Reading needs the store itself; marking a new session can go through
    // the spool when another process owns it.
    let store = match load::event_store(path, !args.new_session, Durability::Group) {
        Ok(s) => s,
        Err(code) => return code,
    };
    if args.new_session {
        let event = llmagent_events::NewEvent::new(
            names::topic::AGENT_SESSION,
            names::kind::NEW_SESSION,
            json!({"agent_id": args.agent}),
        )
        .agent(args.agent.clone())
        .source("cli");
        return match store.append(event) {
            Ok(_) => {
                println!(
                    "new session for {}: earlier messages are kept in the log but not replayed",
                    args.agent
                );
                0
            }
            Err(e) => {
                eprintln!("error: {e}");
                exit::RUNTIME
            }
        };
    }
    let messages = match store.conversation_for(&args.agent) {
        Ok(m) => m,
        Err(e) => {
            eprintln!("error: {e}");
            return exit::RUNTIME;
        }
    };
    if messages.is_empty() && !args.json {
        println!("(no messages for {})", safe(&args.agent));
    }
    for m in messages {
        let role = m.data.get("role").and_then(|v| v.as_str()).unwrap_or("?");
        let content = m.data.get("content").and_then(|v| v.as_str()).unwrap_or("");
        let calls = m.data.get("tool_calls").and_then(|v| v.as_array());
        let answers = m.data.get("tool_call_id").and_then(|v| v.as_str());
        if args.json {
            let mut line = json!({"seq": m.seq, "ts": m.ts, "role": role, "content": content});
            if let (Some(obj), Some(c)) = (line.as_object_mut(), calls) {
                obj.insert("tool_calls".into(), json!(c));
            }
            if let (Some(obj), Some(id)) = (line.as_object_mut(), answers) {
                obj.insert("tool_call_id".into(), json!(id));
            }
            println!("{line}");
            continue;
        }
        let who = match answers {
            Some(id) => format!("{role} ({id})"),
            None => role.to_owned(),
        };
        let width = width();
        let time = m.ts.get(11..19).unwrap_or(&m.ts);
        if !content.is_empty() || calls.is_none() {
            // A reply that is JSON (a call or answer of the json and
            // constrained protocols) on one line, without its indentation.
            let compact = serde_json::from_str::<serde_json::Value>(content)
                .ok()
                .filter(serde_json::Value::is_object)
                .map(|v| v.to_string());
            let content = compact.as_deref().unwrap_or(content);
            println!(
                "{}",
                fit(&safe(&format!("[{time}] {who}: {content}")), width)
            );
        }
        for call in calls.into_iter().flatten() {
            let f = &call["function"];
            let line = format!(
                "[{time}] {who} calls {} {} ({})",
                f["name"].as_str().unwrap_or("?"),
                f["arguments"].as_str().unwrap_or(""),
                call["id"].as_str().unwrap_or("?")
            );
            println!("{}", fit(&safe(&line), width));
        }
    }
    0
}
