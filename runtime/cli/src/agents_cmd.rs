//! `llmagent agents`, `llmagent prompt` and `llmagent approvals`: the
//! command line as a client of `llmagent serve`.

use std::path::{Path, PathBuf};

use hyper::Method;
use serde_json::{Value, json};

use crate::client::{Client, ClientError, encode, socket_path};
use crate::exit;
use crate::load::print_json;
use crate::term::{fit, safe, width};

/// Where the service is: `--socket` on each of these commands.
#[derive(Debug, clap::Args)]
pub(crate) struct SocketArg {
    /// The service's Unix socket (default: $LLMAGENT_SOCKET, else
    /// $XDG_RUNTIME_DIR/llmagent/llmagent.sock).
    #[arg(long, value_name = "PATH", global = true)]
    socket: Option<PathBuf>,
}

impl SocketArg {
    pub(crate) fn path(&self) -> Option<&Path> {
        self.socket.as_deref()
    }
}

#[derive(Debug, clap::Subcommand)]
pub(crate) enum AgentsCommand {
    /// List the service's agents with their state.
    List {
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
    },
    /// Start an agent: an [agents.NAME] of the service's policy, or an
    /// ad-hoc one with --role.
    Start {
        /// The agent's name.
        name: String,
        /// Role of an ad-hoc agent.
        #[arg(long)]
        role: Option<String>,
        /// Model name.
        #[arg(long)]
        model: Option<String>,
        /// API base URL.
        #[arg(long, value_name = "URL")]
        api_base: Option<String>,
        /// Tool protocol: native, json, constrained or auto.
        #[arg(long)]
        protocol: Option<String>,
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
    },
    /// Stop an agent (its running turn is cancelled).
    Stop {
        /// The agent's name.
        name: String,
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, clap::Subcommand)]
pub(crate) enum ApprovalsCommand {
    /// The calls waiting for a yes or no.
    List {
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
    },
    /// Let a waiting call run.
    Approve {
        /// The approval's id (from `approvals list`).
        id: u64,
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
    },
    /// Refuse a waiting call.
    Deny {
        /// The approval's id.
        id: u64,
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
    },
}

/// Arguments of `llmagent prompt`.
#[derive(Debug, clap::Args)]
pub(crate) struct PromptArgs {
    /// The agent.
    name: String,
    /// The prompt.
    #[arg(required = true, trailing_var_arg = true)]
    text: Vec<String>,
    /// Print the outcome as one JSON object (as `run --json`).
    #[arg(long)]
    json: bool,
    /// Do not show the turn's events as they happen.
    #[arg(long, short)]
    quiet: bool,
}

/// Prints a client error; the exit code it means.
pub(crate) fn failed(e: &ClientError, json: bool) -> u8 {
    if json {
        match e {
            ClientError::Api(status, code, message) => {
                print_json(&json!({"error": {"code": code, "message": message, "status": status}}))
            }
            ClientError::Unreachable(m) => {
                print_json(&json!({"error": {"code": "unreachable", "message": m}}));
            }
        }
    } else {
        eprintln!("error: {}", safe(&e.to_string()));
    }
    match e {
        ClientError::Unreachable(_) => exit::SERVICE_UNREACHABLE,
        ClientError::Api(..) => exit::REFUSED,
    }
}

fn agent_line(a: &Value) -> String {
    let s = |k: &str| a[k].as_str().unwrap_or("-").to_owned();
    format!(
        "{:<16} {:<16} {:<20} {:<24} {:>7}",
        s("name"),
        s("state"),
        s("role"),
        s("model"),
        a["history_length"]
    )
}

pub(crate) async fn agents(cmd: AgentsCommand, socket: Option<&Path>) -> u8 {
    let client = Client::new(socket_path(socket));
    match cmd {
        AgentsCommand::List { json } => match client.call(Method::GET, "/v1/agents", None).await {
            Ok(list) if json => {
                print_json(&list);
                0
            }
            Ok(list) => {
                let agents = list.as_array().cloned().unwrap_or_default();
                if agents.is_empty() {
                    println!("(no agents)");
                } else {
                    println!(
                        "{:<16} {:<16} {:<20} {:<24} {:>7}",
                        "NAME", "STATE", "ROLE", "MODEL", "HISTORY"
                    );
                }
                for a in &agents {
                    println!("{}", fit(&safe(&agent_line(a)), width()));
                }
                0
            }
            Err(e) => failed(&e, json),
        },
        AgentsCommand::Start {
            name,
            role,
            model,
            api_base,
            protocol,
            json,
        } => {
            let body = json!({"name": name, "role": role, "model": model,
                              "api_base": api_base, "protocol": protocol});
            match client.call(Method::POST, "/v1/agents", Some(&body)).await {
                Ok(a) if json => {
                    print_json(&a);
                    0
                }
                Ok(a) => {
                    println!("started {}", safe(&agent_line(&a)));
                    0
                }
                Err(e) => failed(&e, json),
            }
        }
        AgentsCommand::Stop { name, json } => {
            let path = format!("/v1/agents/{}", encode(&name));
            match client.call(Method::DELETE, &path, None).await {
                Ok(v) if json => {
                    print_json(&v);
                    0
                }
                Ok(_) => {
                    println!("stopped {}", safe(&name));
                    0
                }
                Err(e) => failed(&e, json),
            }
        }
    }
}

pub(crate) async fn approvals(cmd: ApprovalsCommand, socket: Option<&Path>) -> u8 {
    let client = Client::new(socket_path(socket));
    let (id, yes, json) = match cmd {
        ApprovalsCommand::List { json } => {
            return match client.call(Method::GET, "/v1/approvals", None).await {
                Ok(list) if json => {
                    print_json(&list);
                    0
                }
                Ok(list) => {
                    let pending = list.as_array().cloned().unwrap_or_default();
                    if pending.is_empty() {
                        println!("(no approvals waiting)");
                    }
                    for p in &pending {
                        let line = format!(
                            "{:>4} {} ({}): {}.{} {}",
                            p["id"],
                            p["agent"].as_str().unwrap_or("?"),
                            p["role"].as_str().unwrap_or("?"),
                            p["tool"].as_str().unwrap_or("?"),
                            p["action"].as_str().unwrap_or("?"),
                            p["args"]
                        );
                        println!("{}", fit(&safe(&line), width()));
                    }
                    0
                }
                Err(e) => failed(&e, json),
            };
        }
        ApprovalsCommand::Approve { id, json } => (id, true, json),
        ApprovalsCommand::Deny { id, json } => (id, false, json),
    };
    let verb = if yes { "approve" } else { "deny" };
    match client
        .call(Method::POST, &format!("/v1/approvals/{id}/{verb}"), None)
        .await
    {
        Ok(v) if json => {
            print_json(&v);
            0
        }
        Ok(_) => {
            println!("{} {id}", if yes { "approved" } else { "denied" });
            0
        }
        Err(e) => failed(&e, json),
    }
}

/// Sends a prompt and shows the turn as it runs (its events on stderr),
/// then the answer, as `llmagent run` does; the same exit codes.
pub(crate) async fn prompt(args: PromptArgs, socket: Option<&Path>) -> u8 {
    let client = Client::new(socket_path(socket));
    prompt_through(
        &client,
        &args.name,
        &args.text.join(" "),
        args.json,
        !args.quiet,
    )
    .await
}

/// One turn of agent `name` through the service at `client`.
pub(crate) async fn prompt_through(
    client: &Client,
    name: &str,
    text: &str,
    json: bool,
    show: bool,
) -> u8 {
    let path = format!("/v1/agents/{}/prompt", encode(name));
    let body = json!({"text": text, "stream": true});
    let mut outcome: Option<Value> = None;
    let mut error: Option<Value> = None;
    let streamed = client
        .stream(Method::POST, &path, Some(&body), |kind, data| {
            let value: Value = serde_json::from_str(data).unwrap_or(Value::Null);
            match kind {
                "event" if show && !json => {
                    if let Ok(ev) = serde_json::from_value::<llmagent_events::Event>(value) {
                        eprintln!("{}", crate::events_cmd::human(&ev, width()));
                    }
                }
                "outcome" => outcome = Some(value),
                "error" => error = Some(value),
                _ => {}
            }
            true
        })
        .await;
    if let Err(e) = streamed {
        return failed(&e, json);
    }
    if let Some(e) = error {
        let code = e["error"]["code"].as_str().unwrap_or("error").to_owned();
        let message = e["error"]["message"].as_str().unwrap_or("").to_owned();
        return failed(&ClientError::Api(500, code, message), json);
    }
    let Some(mut outcome) = outcome else {
        return failed(
            &ClientError::Unreachable("the service ended the stream without an outcome".into()),
            json,
        );
    };
    let code = end_exit_code(outcome["end"].as_str().unwrap_or(""));
    if json {
        if let Some(obj) = outcome.as_object_mut() {
            obj.insert("exit_code".into(), json!(code));
        }
        print_json(&outcome);
        return code;
    }
    let text = outcome["text"].as_str().unwrap_or("");
    match code {
        0 => println!("{}", safe(text.trim_end())),
        exit::CANCELLED => eprintln!("cancelled"),
        _ => eprintln!("error: {}", safe(text)),
    }
    code
}

/// The exit code of a turn's end code, as `llmagent run` exits.
pub(crate) fn end_exit_code(end: &str) -> u8 {
    match end {
        "answer" => 0,
        "step_limit" => exit::STEP_LIMIT,
        "cancelled" => exit::CANCELLED,
        "llm_unreachable" => exit::MODEL_UNREACHABLE,
        e if e.starts_with("llm_") => exit::MODEL_ERROR,
        _ => exit::RUNTIME,
    }
}
