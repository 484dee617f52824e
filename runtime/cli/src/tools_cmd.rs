//! `llmagent tools list|describe|call`.

use std::io::{BufRead, IsTerminal, Read, Write};
use std::path::Path;

use llmagent_core::{CallRequest, Runtime, ToolInfo, ToolOrigin};
use llmagent_events::{Context, Events, Scope, with_scope};
use llmagent_policy::{McpServer, Verdict};
use serde_json::{Value, json};

use crate::load::{self, print_json};
use crate::{ToolsCommand, exit};

/// Largest arguments file accepted: arguments are a JSON object for one
/// call, and a tool's memory is capped at tens of MiB anyway.
const MAX_ARGS_BYTES: u64 = 16 << 20;

pub(crate) async fn run(cmd: ToolsCommand, events: Option<&Path>) -> u8 {
    match run_inner(cmd, events).await {
        Ok(code) | Err(code) => code,
    }
}

async fn run_inner(cmd: ToolsCommand, events: Option<&Path>) -> Result<u8, u8> {
    match cmd {
        ToolsCommand::List { policy, role, json } => {
            let rt = load::runtime(load::policy(policy.as_deref())?)?;
            list(&rt, role.as_deref(), json).await
        }
        ToolsCommand::Describe { tool, policy, json } => {
            let rt = load::runtime(load::policy(policy.as_deref())?)?;
            describe(&rt, &tool, json)
        }
        ToolsCommand::Call {
            policy,
            role,
            tool,
            action,
            args,
            args_file,
            approve,
            agent,
            no_events,
            json,
        } => {
            let args = read_args(args, args_file.as_deref())?;
            let policy = load::policy(Some(&policy))?;
            let recorder = if no_events {
                None
            } else {
                Some(
                    Events::new(load::event_store(events, false, policy.events.durability)?)
                        .with_source("cli"),
                )
            };
            let rt = load::runtime_with(policy, recorder)?;
            let scope = Scope {
                agent,
                context: Context::new_request(),
            };
            let request = CallRequest::new(&role, &tool, &action, &args);
            with_scope(scope, call(&rt, request, approve, json)).await
        }
    }
}

fn read_args(args: Option<String>, file: Option<&Path>) -> Result<String, u8> {
    let text = match (args, file) {
        (Some(a), _) => a,
        (None, Some(p)) if p == Path::new("-") => {
            let mut s = String::new();
            std::io::stdin()
                .take(MAX_ARGS_BYTES)
                .read_to_string(&mut s)
                .map_err(|e| usage(&format!("cannot read arguments from standard input: {e}")))?;
            s
        }
        (None, Some(p)) => {
            let meta = std::fs::metadata(p)
                .map_err(|e| usage(&format!("cannot read {}: {e}", p.display())))?;
            if meta.len() > MAX_ARGS_BYTES {
                return Err(usage(&format!(
                    "{} is larger than {MAX_ARGS_BYTES} bytes",
                    p.display()
                )));
            }
            std::fs::read_to_string(p)
                .map_err(|e| usage(&format!("cannot read {}: {e}", p.display())))?
        }
        (None, None) => "{}".to_owned(),
    };
    match serde_json::from_str::<Value>(&text) {
        Ok(Value::Object(_)) => Ok(text),
        Ok(_) => Err(usage(
            "--args must be a JSON object, e.g. --args '{\"data\":\"hello\"}'",
        )),
        Err(e) => Err(usage(&format!("--args is not valid JSON: {e}"))),
    }
}

fn usage(message: &str) -> u8 {
    eprintln!("error: {message}");
    exit::USAGE
}

/// The tools `role` may call (every tool without one), each with the
/// actions the role is not denied. With a role, its MCP servers are started
/// and listed too; without one they are named, not started (a listing stays
/// instant and starts nothing).
async fn list(rt: &Runtime, role: Option<&str>, json: bool) -> Result<u8, u8> {
    let role = match role {
        Some(r) => Some(rt.policy().role(r).map_err(|e| {
            eprintln!("error: {e}");
            exit::POLICY
        })?),
        None => None,
    };
    let tools = match role {
        Some(r) => {
            load::attach_mcp(rt, Some(&r.name)).await;
            rt.tools_for(&r.name)
        }
        None => rt.tools().cloned().map(std::sync::Arc::new).collect(),
    };
    let mut rows = Vec::new();
    for tool in &tools {
        let actions: Vec<(String, Verdict)> = tool
            .actions
            .iter()
            .map(|a| {
                let verdict =
                    role.map_or(Verdict::Allow, |r| r.decide(&tool.name, &a.name).verdict());
                (a.name.clone(), verdict)
            })
            .filter(|(_, v)| *v != Verdict::Deny)
            .collect();
        if actions.is_empty() {
            continue;
        }
        rows.push((tool, actions));
    }
    // Without a role: the MCP servers the roles attach, not started.
    let servers: Vec<&McpServer> = match role {
        Some(_) => Vec::new(),
        None => rt
            .policy()
            .roles
            .values()
            .flat_map(|r| r.mcp.values())
            .collect(),
    };
    if json {
        let v: Vec<Value> = rows
            .iter()
            .map(|(t, acts)| {
                json!({
                    "name": t.name,
                    "version": t.version,
                    "origin": t.origin.to_string(),
                    "description": t.description,
                    "actions": acts.iter().map(|(a, v)| json!({"name": a, "approve": *v == Verdict::Approve})).collect::<Vec<_>>(),
                })
            })
            .chain(servers.iter().map(|s| {
                json!({
                    "name": s.name,
                    "role": s.role,
                    "origin": ToolOrigin::Mcp(s.transport.to_string()).to_string(),
                    "description": format!("tools of the MCP server `{}`", s.name),
                    "actions": Value::Null,
                })
            }))
            .collect();
        print_json(&Value::Array(v));
        return Ok(0);
    }
    if rows.is_empty() && servers.is_empty() {
        println!(
            "(no tools{})",
            role.map(|r| format!(" for role {}", r.name))
                .unwrap_or_default()
        );
    }
    for (tool, actions) in rows {
        let names: Vec<String> = actions
            .iter()
            .map(|(a, v)| {
                if *v == Verdict::Approve {
                    format!("{a} (approve)")
                } else {
                    a.clone()
                }
            })
            .collect();
        println!(
            "{:<10} {:<8} {:<10} {}",
            tool.name,
            tool.version,
            tool.origin.to_string(),
            tool.description
        );
        println!("{:<10} actions: {}", "", names.join(", "));
    }
    for s in servers {
        println!(
            "{:<10} {:<8} {:<10} tools of the MCP server `{}` of role {}",
            s.name,
            "",
            ToolOrigin::Mcp(s.transport.to_string()).to_string(),
            s.name,
            s.role
        );
        println!(
            "{:<10} actions: not listed without starting it (`tools list --role {}` does)",
            "", s.role
        );
    }
    Ok(0)
}

fn describe(rt: &Runtime, name: &str, json: bool) -> Result<u8, u8> {
    let Some(tool) = rt.tool(name) else {
        let known: Vec<&str> = rt.tools().map(|t| t.name.as_str()).collect();
        eprintln!("error: no tool named `{name}`; tools: {}", known.join(", "));
        return Err(exit::USAGE);
    };
    if json {
        print_json(&serde_json::to_value(tool).unwrap_or(Value::Null));
        return Ok(0);
    }
    print_tool(tool);
    Ok(0)
}

fn print_tool(tool: &ToolInfo) {
    println!("{} {} ({})", tool.name, tool.version, tool.origin);
    println!("{}", tool.description);
    for a in &tool.actions {
        println!();
        println!("  {}: {}", a.name, a.description);
        let props = a.schema.get("properties").and_then(Value::as_object);
        let required: Vec<&str> = a
            .schema
            .get("required")
            .and_then(Value::as_array)
            .map(|r| r.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        for (key, schema) in props.into_iter().flatten() {
            let ty = schema.get("type").and_then(Value::as_str).unwrap_or("any");
            let choices = schema
                .get("enum")
                .and_then(Value::as_array)
                .map(|e| {
                    format!(
                        " one of {}",
                        e.iter().map(Value::to_string).collect::<Vec<_>>().join("|")
                    )
                })
                .unwrap_or_default();
            let desc = schema
                .get("description")
                .and_then(Value::as_str)
                .unwrap_or("");
            let req = if required.contains(&key.as_str()) {
                "required"
            } else {
                "optional"
            };
            println!("    {key} ({ty}{choices}, {req}): {desc}");
        }
    }
}

async fn call(rt: &Runtime, request: CallRequest, approve: bool, json: bool) -> Result<u8, u8> {
    let mut call = rt.decide_call(request).map_err(|e| {
        eprintln!("error: {e}");
        exit::POLICY
    })?;
    if call.ruling().verdict() == Verdict::Approve {
        let yes = approve || ask_approval(call.request());
        call.approve(yes);
    }
    let outcome = rt.call_decided(call).await.map_err(|e| {
        eprintln!("error: {e}");
        exit::RUNTIME
    })?;
    let mut body = outcome.envelope();
    if json {
        if let Value::Object(map) = &mut body {
            map.insert(
                "duration_ms".into(),
                json!(outcome.duration.as_secs_f64() * 1000.0),
            );
            map.insert("stdout".into(), json!(outcome.stdout));
            map.insert("stderr".into(), json!(outcome.stderr));
            map.insert("stdio_truncated".into(), json!(outcome.stdio_truncated));
            if let Some(d) = &outcome.decision {
                map.insert(
                    "decision".into(),
                    json!({"verdict": d.verdict().as_str(), "rule": d.reason()}),
                );
            }
        }
    } else if !outcome.stderr.is_empty() {
        eprintln!("tool stderr:\n{}", outcome.stderr.trim_end());
    }
    print_json(&body);
    Ok(if outcome.result.is_ok() {
        0
    } else {
        exit::TOOL_ERROR
    })
}

/// Asks on the terminal; anything but yes (or no terminal) is no.
fn ask_approval(request: &CallRequest) -> bool {
    if !std::io::stdin().is_terminal() {
        return false;
    }
    eprint!(
        "role `{}` needs approval for {}.{} with {} — allow? [y/N] ",
        request.role, request.tool, request.action, request.args_json
    );
    let _ = std::io::stderr().flush();
    let mut line = String::new();
    match std::io::stdin().lock().read_line(&mut line) {
        Ok(_) => matches!(line.trim(), "y" | "Y" | "yes" | "Yes"),
        Err(_) => false,
    }
}
