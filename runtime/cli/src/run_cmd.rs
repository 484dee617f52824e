//! `llmagent run`: one prompt, or a REPL, with an agent of the policy.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use llmagent_core::{
    Agent, AgentHandle, AgentSettings, ApprovalRequest, Approver, DenyApprovals, Overrides,
    ResolvedAgent, TurnEnd, TurnEvent, TurnOutcome,
};
use llmagent_events::{Events, NewEvent, names};
use llmagent_llm::{ClientConfig, LlmError, OpenAiClient};
use llmagent_policy::{Policy, ToolProtocol};
use serde_json::json;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::exit;
use crate::load;
use crate::term::{fit, safe, width};

/// Arguments of `llmagent run`.
#[derive(Debug, clap::Args)]
pub(crate) struct RunArgs {
    /// Policy file.
    #[arg(long)]
    policy: PathBuf,
    /// Run this [agents.NAME] of the policy.
    #[arg(long, conflicts_with = "role")]
    agent: Option<String>,
    /// Run an ad-hoc agent under this role (with --model, --api-base).
    #[arg(long)]
    role: Option<String>,
    /// The ad-hoc agent's name (default: the role's name); its
    /// conversation is kept under this name.
    #[arg(long, requires = "role")]
    name: Option<String>,
    /// Model name (default: the agent's model, else $LLMAGENT_MODEL).
    #[arg(long)]
    model: Option<String>,
    /// API base URL (default: the agent's api_base, else
    /// $OPENAI_BASE_URL, else http://localhost:11434/v1).
    #[arg(long, value_name = "URL")]
    api_base: Option<String>,
    /// Tool protocol: native, json, constrained or auto (default: the
    /// agent's, else auto).
    #[arg(long)]
    protocol: Option<ToolProtocol>,
    /// Start a new conversation (earlier messages stay in the log).
    #[arg(long)]
    new_session: bool,
    /// Show each tool call and result as it happens (on stderr).
    #[arg(long, short)]
    verbose: bool,
    /// Print the outcome as one JSON object (answer, end, steps, usage).
    #[arg(long)]
    json: bool,
    /// Seconds one model request may take (default 600).
    #[arg(long, value_name = "SECS")]
    request_timeout: Option<u64>,
    /// Retries of a model request after 429, 5xx or a network error
    /// (default 3).
    #[arg(long, value_name = "N")]
    retries: Option<u32>,
    /// Do not record events (the conversation is then not kept either).
    #[arg(long)]
    no_events: bool,
    /// The prompt; without one, an interactive session starts.
    #[arg(trailing_var_arg = true)]
    prompt: Vec<String>,
}

pub(crate) async fn run(args: RunArgs, events_path: Option<&Path>) -> u8 {
    match run_inner(args, events_path).await {
        Ok(code) | Err(code) => code,
    }
}

async fn run_inner(args: RunArgs, events_path: Option<&Path>) -> Result<u8, u8> {
    let policy = load::policy(Some(&args.policy))?;
    let ResolvedAgent {
        settings,
        api_base,
        api_key,
        warnings,
    } = resolve(&args, &policy)?;
    for w in &warnings {
        eprintln!("warning: {w}");
    }
    let events = if args.no_events {
        None
    } else {
        match load::store_or_service(events_path, policy.events.durability)? {
            load::StoreAccess::Store(store) => Some(Events::new(store).with_source("cli")),
            load::StoreAccess::Service(socket) => {
                return through_service(&args, &settings, &socket).await;
            }
        }
    };
    if args.new_session
        && let Some(ev) = &events
    {
        let marker = NewEvent::new(
            names::topic::AGENT_SESSION,
            names::kind::NEW_SESSION,
            json!({"agent_id": settings.name}),
        )
        .agent(settings.name.clone())
        .source("cli");
        ev.emit_event(marker);
    }
    let runtime = load::runtime_with(policy, events.clone())?;
    load::attach_mcp(&runtime, Some(&settings.role)).await;
    let mut config = ClientConfig::new(&api_base);
    config.api_key = api_key;
    if let Some(secs) = args.request_timeout {
        config.total_timeout = Duration::from_secs(secs.max(1));
        config.first_byte_timeout = config.first_byte_timeout.min(config.total_timeout);
    }
    if let Some(n) = args.retries {
        config.max_retries = n;
    }
    let client = OpenAiClient::new(config).map_err(|e| {
        eprintln!("error: {e}");
        exit::USAGE
    })?;
    let interactive = std::io::stdin().is_terminal();
    let spinner = Spinner::default();
    let approver: Arc<dyn Approver> = if interactive {
        Arc::new(TerminalApprover {
            spinner: spinner.clone(),
        })
    } else {
        Arc::new(DenyApprovals)
    };
    let prompt = args.prompt.join(" ");
    let mut settings = settings;
    settings.stream = prompt.is_empty();
    let agent = Agent::new(runtime, Arc::new(client), settings, events, approver).map_err(|e| {
        eprintln!("error: {e}");
        exit::RUNTIME
    })?;
    if args.verbose {
        let line = format!(
            "agent {} (role {}, model {}, protocol {}) at {api_base}",
            agent.settings().name,
            agent.settings().role,
            agent.settings().model,
            agent.protocol()
        );
        eprintln!("{}", crate::term::wrap(&safe(&line), "", "  ", width()));
    }
    let handle = agent.spawn();
    if prompt.is_empty() {
        return crate::repl::run(handle, spinner, &api_base).await;
    }
    let display = Display {
        verbose: args.verbose,
        spinner: spinner.clone(),
        streaming: false,
        streamed: false,
    };
    let mut display = display;
    let outcome = one_turn(&handle, &prompt, &mut display).await?;
    Ok(report(&outcome, &api_base, args.json, args.verbose))
}

/// `llmagent run` while `llmagent serve` owns the store: the turn runs in
/// the service (its agent of that name, started there if it is not
/// running), so the agent's conversation continues in its one store.
async fn through_service(
    args: &RunArgs,
    settings: &AgentSettings,
    socket: &Path,
) -> Result<u8, u8> {
    let prompt = args.prompt.join(" ");
    if prompt.is_empty() || args.new_session {
        eprintln!(
            "error: `llmagent serve` (socket {}) owns the event store; an interactive session or --new-session cannot run beside it: use `llmagent prompt {} TEXT`, or stop the service",
            socket.display(),
            settings.name
        );
        return Err(exit::USAGE);
    }
    let client = crate::client::Client::new(socket.to_path_buf());
    let start = match &args.agent {
        Some(name) => json!({"name": name}),
        None => json!({"name": settings.name, "role": settings.role, "model": settings.model,
                       "api_base": args.api_base, "protocol": args.protocol.map(|p| p.as_str())}),
    };
    match client
        .call(hyper::Method::POST, "/v1/agents", Some(&start))
        .await
    {
        Ok(_) => {}
        Err(crate::client::ClientError::Api(_, code, _)) if code == "already_started" => {}
        Err(e) => return Err(crate::agents_cmd::failed(&e, args.json)),
    }
    if args.verbose {
        eprintln!(
            "agent {} runs in the service at {}",
            settings.name,
            socket.display()
        );
    }
    Ok(
        crate::agents_cmd::prompt_through(
            &client,
            &settings.name,
            &prompt,
            args.json,
            args.verbose,
        )
        .await,
    )
}

/// The agent's settings, API base and key from the flags, the policy and
/// the environment; an error is printed, with its exit code.
fn resolve(args: &RunArgs, policy: &Policy) -> Result<ResolvedAgent, u8> {
    let overrides = Overrides {
        agent: args.agent.clone(),
        role: args.role.clone(),
        name: args.name.clone(),
        model: args.model.clone(),
        api_base: args.api_base.clone(),
        protocol: args.protocol,
    };
    AgentSettings::resolve(policy, &overrides, |name| std::env::var(name).ok()).map_err(|e| {
        eprintln!("error: {e}");
        if e.is_policy() {
            exit::POLICY
        } else {
            exit::USAGE
        }
    })
}

/// Runs one prompt, showing what happens; Ctrl-C cancels the turn.
pub(crate) async fn one_turn(
    handle: &AgentHandle,
    prompt: &str,
    display: &mut Display,
) -> Result<TurnOutcome, u8> {
    display.streamed = false;
    let cancel = CancellationToken::new();
    let (tx, mut rx) = mpsc::unbounded_channel();
    let turn = {
        let handle = handle.clone();
        let cancel = cancel.clone();
        let prompt = prompt.to_owned();
        tokio::spawn(async move { handle.prompt(&prompt, Some(tx), cancel).await })
    };
    let ctrl_c = {
        let cancel = cancel.clone();
        tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                cancel.cancel();
            }
        })
    };
    while let Some(event) = rx.recv().await {
        display.show(event);
    }
    display.spinner.stop();
    ctrl_c.abort();
    match turn.await {
        Ok(Ok(outcome)) => Ok(outcome),
        Ok(Err(e)) => {
            eprintln!("error: {e}");
            Err(exit::RUNTIME)
        }
        Err(e) => {
            eprintln!("error: the agent's task failed: {e}");
            Err(exit::RUNTIME)
        }
    }
}

/// Prints a turn's outcome; the exit code it means.
pub(crate) fn report(outcome: &TurnOutcome, api_base: &str, json: bool, verbose: bool) -> u8 {
    let code = exit_code(&outcome.end);
    if json {
        let mut value = llmagent_core::outcome_json(outcome);
        if let Some(obj) = value.as_object_mut() {
            obj.insert("exit_code".into(), json!(code));
        }
        load::print_json(&value);
        return code;
    }
    match &outcome.end {
        TurnEnd::Answer(a) if a.trim().is_empty() => {
            eprintln!("(the model gave an empty answer)");
        }
        TurnEnd::Answer(a) => println!("{}", safe(a.trim_end())),
        TurnEnd::StepLimit { message, .. } => eprintln!("error: {}", safe(message)),
        TurnEnd::ModelError(e) => eprintln!("error: {}", model_error_line(e, api_base)),
        TurnEnd::Cancelled => eprintln!("cancelled"),
        TurnEnd::Failed(m) => eprintln!("error: {}", safe(m)),
    }
    if verbose {
        let line = format!(
            "({} tool steps, {} tool calls, {} model requests, {} tokens; trace {})",
            outcome.steps,
            outcome.tool_calls,
            outcome.requests,
            outcome.usage.total_tokens,
            outcome.trace_id
        );
        eprintln!("{}", crate::term::wrap(&line, "", " ", width()));
    }
    code
}

/// One line about a model error; for an unreachable server, where it
/// tried and how to point elsewhere.
pub(crate) fn model_error_line(e: &LlmError, api_base: &str) -> String {
    match e {
        LlmError::Unreachable { .. } => format!(
            "{e} — start a model server at {api_base}, or point elsewhere with --api-base URL, $OPENAI_BASE_URL or api_base in [agents.NAME]"
        ),
        other => other.to_string(),
    }
}

fn exit_code(end: &TurnEnd) -> u8 {
    crate::agents_cmd::end_exit_code(end.code())
}

/// Shows turn events on the terminal.
pub(crate) struct Display {
    pub(crate) verbose: bool,
    pub(crate) spinner: Spinner,
    /// Print streamed text to stdout as it comes (the REPL).
    pub(crate) streaming: bool,
    /// Whether this turn's text was printed as it streamed.
    pub(crate) streamed: bool,
}

impl Display {
    pub(crate) fn show(&mut self, event: TurnEvent) {
        match event {
            TurnEvent::Waiting => self.spinner.start(),
            TurnEvent::Text(t) if self.streaming => {
                self.spinner.stop();
                self.streamed = true;
                print!("{}", safe(&t));
                let _ = std::io::stdout().flush();
            }
            TurnEvent::Text(_) => {}
            TurnEvent::ToolCall { tool, action, args } if self.verbose => {
                self.spinner.stop();
                let line = format!("→ {tool}.{action} {args}");
                eprintln!("{}", fit(&safe(&line), width()));
            }
            TurnEvent::ToolResult { ok, result, .. } if self.verbose => {
                self.spinner.stop();
                eprintln!("{}", fit(&safe(&result_line(ok, &result)), width()));
            }
            TurnEvent::Fallback { from, to, reason } => {
                self.spinner.stop();
                eprintln!(
                    "note: the model server refused the {from} protocol ({reason}); using {to} from now on"
                );
            }
            TurnEvent::ToolCall { .. } | TurnEvent::ToolResult { .. } => {}
        }
    }
}

/// A tool result as `--verbose` shows it: the output of an answer (a
/// string as itself), the reason and message of an error; the raw text
/// when it is not the runtime's envelope.
fn result_line(ok: bool, result: &str) -> String {
    let parsed: Option<serde_json::Value> = serde_json::from_str(result).ok();
    let shown = parsed.as_ref().and_then(|v| {
        if ok {
            v.get("output").map(|o| match o {
                serde_json::Value::String(s) => s.clone(),
                other => other.to_string(),
            })
        } else {
            let e = v.get("error")?;
            Some(format!(
                "{}: {}",
                e.get("reason")?.as_str()?,
                e.get("message").and_then(|m| m.as_str()).unwrap_or("")
            ))
        }
    });
    let mark = if ok { "←" } else { "← error" };
    format!("{mark} {}", shown.as_deref().unwrap_or(result))
}

/// A spinner on stderr while the model thinks (only on a terminal).
#[derive(Clone, Default)]
pub(crate) struct Spinner {
    bar: Arc<Mutex<Option<indicatif::ProgressBar>>>,
}

impl Spinner {
    pub(crate) fn start(&self) {
        if !std::io::stderr().is_terminal() {
            return;
        }
        let Ok(mut bar) = self.bar.lock() else { return };
        if bar.is_none() {
            let pb = indicatif::ProgressBar::new_spinner();
            pb.set_message("thinking…");
            pb.enable_steady_tick(Duration::from_millis(100));
            *bar = Some(pb);
        }
    }

    pub(crate) fn stop(&self) {
        if let Ok(mut bar) = self.bar.lock()
            && let Some(pb) = bar.take()
        {
            pb.finish_and_clear();
        }
    }
}

/// Asks on the terminal; anything but yes is no.
struct TerminalApprover {
    spinner: Spinner,
}

#[async_trait]
impl Approver for TerminalApprover {
    async fn approve(&self, request: &ApprovalRequest) -> bool {
        self.spinner.stop();
        eprint!(
            "\nrole `{}` needs your approval: {}.{} {} — allow? [y/N] ",
            request.role,
            safe(&request.tool),
            safe(&request.action),
            safe(&request.args.to_string())
        );
        let _ = std::io::stderr().flush();
        let answer = tokio::task::spawn_blocking(|| {
            let mut line = String::new();
            std::io::stdin().read_line(&mut line).map(|_| line)
        })
        .await;
        matches!(answer, Ok(Ok(line)) if matches!(line.trim(), "y" | "Y" | "yes" | "Yes"))
    }
}
