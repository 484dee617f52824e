//! `llmagent events` and `llmagent history`.

use std::path::Path;

use llmagent_events::{Delivery, Event, EventStore, Filter, Query, names};
use llmagent_policy::Durability;
use serde_json::json;

use hyper::Method;

use crate::client::{Client, encode};
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
pub(crate) fn human(event: &Event, width: usize) -> String {
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

/// The filters of `llmagent events`, as the API takes them in its query
/// string (`GET /v1/events?agent=…&prefix=tool.&limit=20`): one reading of
/// them for the command and the service.
#[derive(Debug, Clone, Default, serde::Deserialize, serde::Serialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct EventsQuery {
    /// Only this agent's events.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) agent: Option<String>,
    /// Only this exact topic.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) topic: Option<String>,
    /// Only topics starting with this.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) prefix: Option<String>,
    /// Only this kind.
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub(crate) kind: Option<String>,
    /// Only events strictly later than this RFC 3339 time.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) since: Option<String>,
    /// Only the newest N matching events (without `after_seq`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) limit: Option<usize>,
    /// Only events with a greater seq.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) after_seq: Option<u64>,
}

impl EventsQuery {
    fn of(args: &EventsArgs) -> Self {
        Self {
            agent: args.agent.clone(),
            topic: args.topic.clone(),
            prefix: args.prefix.clone(),
            kind: args.kind.clone(),
            since: args.since.clone(),
            limit: args.limit,
            after_seq: None,
        }
    }

    /// The store query: `limit` is the newest N unless paging by
    /// `after_seq`.
    pub(crate) fn to_query(&self) -> Query {
        Query {
            agent: self.agent.clone(),
            topic: self.topic.clone(),
            prefix: self.prefix.clone(),
            kind: self.kind.clone(),
            since: self.since.clone(),
            after_seq: self.after_seq,
            limit: if self.after_seq.is_some() {
                None
            } else {
                self.limit
            },
            tail: self.after_seq.is_none() && self.limit.is_some(),
        }
    }

    /// Whether a live event passes the filters (not `since`/`limit`).
    pub(crate) fn matches(&self, event: &Event) -> bool {
        self.agent
            .as_ref()
            .is_none_or(|a| event.agent.as_ref() == Some(a))
            && self.topic.as_ref().is_none_or(|t| &event.topic == t)
            && self
                .prefix
                .as_ref()
                .is_none_or(|p| event.topic.starts_with(p.as_str()))
            && self.kind.as_ref().is_none_or(|k| &event.kind == k)
    }
}

fn matches(event: &Event, args: &EventsArgs) -> bool {
    EventsQuery::of(args).matches(event)
}

fn query_of(args: &EventsArgs, after_seq: Option<u64>) -> Query {
    EventsQuery {
        after_seq,
        ..EventsQuery::of(args)
    }
    .to_query()
}

fn run_query(store: &EventStore, query: &Query) -> Result<Vec<Event>, u8> {
    store.query(query).map_err(|e| {
        eprintln!("error: {e}");
        exit::USAGE
    })
}

pub(crate) async fn events(args: EventsArgs, path: Option<&Path>) -> u8 {
    let store = match load::store_or_service(path, Durability::Group) {
        Ok(load::StoreAccess::Store(s)) => s,
        Ok(load::StoreAccess::Service(socket)) => return events_through(&args, &socket).await,
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

/// `llmagent events` while `llmagent serve` owns the store: the same
/// query through its API, and `--follow` through its event stream.
async fn events_through(args: &EventsArgs, socket: &Path) -> u8 {
    let client = Client::new(socket.to_path_buf());
    let query = EventsQuery::of(args);
    let qs = |q: &EventsQuery| {
        serde_json::to_value(q)
            .ok()
            .and_then(|v| v.as_object().cloned())
            .map(|o| {
                o.iter()
                    .map(|(k, v)| {
                        let v = v.as_str().map_or_else(|| v.to_string(), str::to_owned);
                        format!("{k}={}", encode(&v))
                    })
                    .collect::<Vec<_>>()
                    .join("&")
            })
            .unwrap_or_default()
    };
    let found = match client
        .call(Method::GET, &format!("/v1/events?{}", qs(&query)), None)
        .await
    {
        Ok(v) => v,
        Err(e) => return crate::agents_cmd::failed(&e, false),
    };
    let mut last = 0;
    for v in found.as_array().into_iter().flatten() {
        if let Ok(e) = serde_json::from_value::<Event>(v.clone()) {
            print(&e, args.json);
            last = last.max(e.seq);
        }
    }
    if !args.follow {
        return 0;
    }
    let live = EventsQuery {
        after_seq: Some(last),
        limit: None,
        since: None,
        ..query
    };
    let path = format!("/v1/events/stream?{}", qs(&live));
    let json = args.json;
    let follow = client.stream(Method::GET, &path, None, |kind, data| {
        if kind == "event"
            && let Ok(e) = serde_json::from_str::<Event>(data)
        {
            print(&e, json);
        }
        true
    });
    tokio::select! {
        r = follow => match r {
            Ok(()) => 0,
            Err(e) => crate::agents_cmd::failed(&e, false),
        },
        _ = tokio::signal::ctrl_c() => 0,
    }
}

/// One message of a conversation as `history --json` and the API show it:
/// `seq`, `ts`, `role`, `content`, and `tool_calls` / `tool_call_id` when
/// it has them.
pub(crate) fn message_json(m: &Event) -> serde_json::Value {
    let role = m.data.get("role").and_then(|v| v.as_str()).unwrap_or("?");
    let content = m.data.get("content").and_then(|v| v.as_str()).unwrap_or("");
    let mut line = json!({"seq": m.seq, "ts": m.ts, "role": role, "content": content});
    if let (Some(obj), Some(c)) = (line.as_object_mut(), m.data.get("tool_calls")) {
        obj.insert("tool_calls".into(), c.clone());
    }
    if let (Some(obj), Some(id)) = (line.as_object_mut(), m.data.get("tool_call_id")) {
        obj.insert("tool_call_id".into(), id.clone());
    }
    line
}

pub(crate) async fn history(args: HistoryArgs, path: Option<&Path>) -> u8 {
    // Reading needs the store itself (or the service that owns it);
    // marking a new session can go through the spool.
    let store = if args.new_session {
        load::event_store(path, false, Durability::Group)
    } else {
        match load::store_or_service(path, Durability::Group) {
            Ok(load::StoreAccess::Store(s)) => Ok(s),
            Ok(load::StoreAccess::Service(socket)) => return history_through(&args, &socket).await,
            Err(code) => Err(code),
        }
    };
    let store = match store {
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
    let messages: Vec<serde_json::Value> = match store.conversation_for(&args.agent) {
        Ok(m) => m.iter().map(message_json).collect(),
        Err(e) => {
            eprintln!("error: {e}");
            return exit::RUNTIME;
        }
    };
    print_history(&args, &messages);
    0
}

/// `llmagent history` while `llmagent serve` owns the store.
async fn history_through(args: &HistoryArgs, socket: &Path) -> u8 {
    let client = Client::new(socket.to_path_buf());
    let path = format!("/v1/agents/{}/history", encode(&args.agent));
    match client.call(Method::GET, &path, None).await {
        Ok(v) => {
            print_history(args, v.as_array().map_or(&[][..], Vec::as_slice));
            0
        }
        Err(e) => crate::agents_cmd::failed(&e, args.json),
    }
}

/// Prints a conversation (messages as [`message_json`] makes them).
fn print_history(args: &HistoryArgs, messages: &[serde_json::Value]) {
    if messages.is_empty() && !args.json {
        println!("(no messages for {})", safe(&args.agent));
    }
    for m in messages {
        let role = m.get("role").and_then(|v| v.as_str()).unwrap_or("?");
        let content = m.get("content").and_then(|v| v.as_str()).unwrap_or("");
        let calls = m.get("tool_calls").and_then(|v| v.as_array());
        let answers = m.get("tool_call_id").and_then(|v| v.as_str());
        let ts = m.get("ts").and_then(|v| v.as_str()).unwrap_or("");
        if args.json {
            println!("{m}");
            continue;
        }
        let who = match answers {
            Some(id) => format!("{role} ({id})"),
            None => role.to_owned(),
        };
        let width = width();
        let time = ts.get(11..19).unwrap_or(ts);
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
}
