//! `llmagent`: the command line of the llmagent runtime.

mod agents_cmd;
mod client;
mod doctor_cmd;
mod events_cmd;
mod load;
mod mcp_cmd;
mod policy_cmd;
mod repl;
mod run_cmd;
mod serve;
mod term;
mod tools_cmd;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Exit codes (also in the README's CLI reference).
pub(crate) mod exit {
    /// The tool answered an error (printed as JSON on stdout).
    pub const TOOL_ERROR: u8 = 1;
    /// The command line was wrong (clap uses 2 as well).
    pub const USAGE: u8 = 2;
    /// The policy file is invalid, or names no such role.
    pub const POLICY: u8 = 3;
    /// A tool could not be loaded, or the runtime failed.
    pub const RUNTIME: u8 = 4;
    /// `run`: the model server could not be reached.
    pub const MODEL_UNREACHABLE: u8 = 5;
    /// `run`: the model server answered an error, an invalid reply, or
    /// nothing in time (after retries).
    pub const MODEL_ERROR: u8 = 6;
    /// `run`: the model was still calling tools at the role's `max_steps`.
    pub const STEP_LIMIT: u8 = 7;
    /// `doctor`: a role of the policy requires what this machine lacks.
    pub const UNMET: u8 = 8;
    /// `agents`, `prompt`, `approvals`: no service answers at the socket.
    pub const SERVICE_UNREACHABLE: u8 = 9;
    /// `agents`, `prompt`, `approvals`: the service refused the request
    /// (`not_found`, `already_started`, `shutting_down` …; the code is in
    /// the message).
    pub const REFUSED: u8 = 10;
    /// `run`: cancelled with Ctrl-C (128 + SIGINT, as shells report it).
    pub const CANCELLED: u8 = 130;
}

/// LLM agents that administer Linux machines through sandboxed WebAssembly tools.
#[derive(Debug, Parser)]
#[command(name = "llmagent", version, about, propagate_version = true)]
struct Cli {
    /// Event store directory (default: $LLMAGENT_EVENTS, else
    /// $XDG_DATA_HOME/llmagent/events, else ~/.local/share/llmagent/events).
    #[arg(long, global = true, value_name = "PATH")]
    events: Option<PathBuf>,
    /// When an event is safe: `sync` fsyncs before each append returns,
    /// `group` (the default) fsyncs every 5 ms or 1000 events. Overrides
    /// the policy's `[events] durability`.
    #[arg(long, global = true, value_enum, value_name = "MODE")]
    durability: Option<DurabilityArg>,
    #[command(subcommand)]
    command: Command,
}

/// `--durability`'s values.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum DurabilityArg {
    Group,
    Sync,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Ask an agent: one prompt, or an interactive session without one.
    Run(run_cmd::RunArgs),
    /// List, describe and call tools (no model needed).
    #[command(subcommand)]
    Tools(ToolsCommand),
    /// Check a policy file, or ask what it decides.
    #[command(subcommand)]
    Policy(PolicyCommand),
    /// Query the event log, or follow it live.
    Events(events_cmd::EventsArgs),
    /// What this machine gives the sandbox, and whether each role of a
    /// policy gets what it requires here.
    Doctor(doctor_cmd::DoctorArgs),
    /// Show an agent's conversation as rebuilt from the event log.
    History(events_cmd::HistoryArgs),
    /// Serve a role's tools to MCP clients (stdio, or streamable HTTP).
    Mcp(mcp_cmd::McpArgs),
    /// Run the policy's agents as a service with an API on a Unix socket.
    Serve(serve::ServeArgs),
    /// List, start and stop the service's agents.
    Agents {
        #[command(subcommand)]
        command: agents_cmd::AgentsCommand,
        #[command(flatten)]
        socket: agents_cmd::SocketArg,
    },
    /// Send a prompt to one of the service's agents; shows the turn as it runs.
    Prompt {
        #[command(flatten)]
        args: agents_cmd::PromptArgs,
        #[command(flatten)]
        socket: agents_cmd::SocketArg,
    },
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff), e.g. `llmagent man | man -l -`; with
    /// `--dir`, write a page for every command instead.
    Man {
        /// Write `llmagent.1` and one page per subcommand
        /// (`llmagent-run.1`, `llmagent-tools-call.1`, …) into this
        /// directory, e.g. `/usr/local/share/man/man1`, and list them.
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
    },
    /// The calls waiting for a human's yes in the service: list, approve, deny.
    Approvals {
        #[command(subcommand)]
        command: agents_cmd::ApprovalsCommand,
        #[command(flatten)]
        socket: agents_cmd::SocketArg,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum ToolsCommand {
    /// List the tools (built-in and the policy's), or what a role may use.
    List {
        /// Policy file (its [tools.NAME] are listed too).
        #[arg(long)]
        policy: Option<PathBuf>,
        /// Show only what this role may call (needs --policy).
        #[arg(long, requires = "policy")]
        role: Option<String>,
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
    },
    /// Show a tool's actions and the JSON Schema of their arguments.
    Describe {
        /// The tool.
        tool: String,
        /// Policy file (for third-party tools).
        #[arg(long)]
        policy: Option<PathBuf>,
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
    },
    /// Call one tool action under a role's policy and print its answer.
    Call {
        /// Policy file.
        #[arg(long)]
        policy: PathBuf,
        /// Role whose grants apply.
        #[arg(long)]
        role: String,
        /// The tool.
        tool: String,
        /// The action.
        action: String,
        /// Arguments as a JSON object.
        #[arg(long, conflicts_with = "args_file")]
        args: Option<String>,
        /// File holding the arguments JSON (`-` reads standard input).
        #[arg(long)]
        args_file: Option<PathBuf>,
        /// Approve an action the role lists in `approve` without asking.
        #[arg(long)]
        approve: bool,
        /// Record the call's events as this agent's.
        #[arg(long)]
        agent: Option<String>,
        /// Do not record events.
        #[arg(long)]
        no_events: bool,
        /// Also print duration, stdout/stderr and the policy decision.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum PolicyCommand {
    /// Validate a policy file and print what each role may do.
    Check {
        /// Policy file.
        policy: PathBuf,
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
    },
    /// Say what the policy decides for one request under a role: a tool
    /// action (`file read`) or a capability request (`fs read /etc/shadow`,
    /// `exec run /usr/bin/df -h`, `proc info 1`, `systemd restart nginx.service`).
    Explain {
        /// Policy file.
        policy: PathBuf,
        /// The role.
        #[arg(long)]
        role: String,
        /// TOOL [ACTION], or CAPABILITY OPERATION [ARG…].
        #[arg(required = true, num_args = 1.., allow_hyphen_values = true, value_name = "REQUEST")]
        request: Vec<String>,
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
    },
}

/// `llmagent events | head` closes stdout early; `println!` then panics
/// with "failed printing to stdout: Broken pipe". That is not a failure of
/// llmagent: leave quietly with 141 (128 + SIGPIPE), as a shell tool does.
fn quiet_on_broken_pipe() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let message = info
            .payload()
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| info.payload().downcast_ref::<&str>().copied())
            .unwrap_or("");
        if message.contains("Broken pipe") {
            std::process::exit(141);
        }
        default(info);
    }));
}

fn main() -> ExitCode {
    quiet_on_broken_pipe();
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    // Colours only on a terminal: under systemd, stderr goes to journald,
    // which would store the escape codes as text.
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let cli = Cli::parse();
    if let Some(d) = cli.durability {
        let _ = load::DURABILITY_FLAG.set(match d {
            DurabilityArg::Group => llmagent_policy::Durability::Group,
            DurabilityArg::Sync => llmagent_policy::Durability::Sync,
        });
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(exit::RUNTIME);
        }
    };
    let code = runtime.block_on(async {
        match cli.command {
            Command::Run(args) => run_cmd::run(args, cli.events.as_deref()).await,
            Command::Tools(cmd) => tools_cmd::run(cmd, cli.events.as_deref()).await,
            Command::Policy(cmd) => policy_cmd::run(cmd),
            Command::Events(args) => events_cmd::events(args, cli.events.as_deref()).await,
            Command::History(args) => events_cmd::history(args, cli.events.as_deref()).await,
            Command::Doctor(args) => doctor_cmd::doctor(&args),
            Command::Mcp(args) => mcp_cmd::run(args, cli.events.as_deref()).await,
            Command::Completions { shell } => {
                let mut cmd = <Cli as clap::CommandFactory>::command();
                clap_complete::generate(shell, &mut cmd, "llmagent", &mut std::io::stdout());
                0
            }
            Command::Man { dir } => man(dir.as_deref()),
            Command::Serve(args) => serve::serve(args, cli.events.as_deref()).await,
            Command::Agents { command, socket } => agents_cmd::agents(command, socket.path()).await,
            Command::Prompt { args, socket } => agents_cmd::prompt(args, socket.path()).await,
            Command::Approvals { command, socket } => {
                agents_cmd::approvals(command, socket.path()).await
            }
        }
    });
    ExitCode::from(code)
}

/// `llmagent man`: the top page on stdout, or with `dir` a page for every
/// command written there, one line per file written.
fn man(dir: Option<&std::path::Path>) -> u8 {
    let cmd = <Cli as clap::CommandFactory>::command();
    let Some(dir) = dir else {
        return match clap_mangen::Man::new(cmd).render(&mut std::io::stdout()) {
            Ok(()) => 0,
            Err(e) => {
                eprintln!("error: cannot write the manual page: {e}");
                exit::RUNTIME
            }
        };
    };
    /// Writes `cmd`'s page and its subcommands' (built, so that each has
    /// its `llmagent-…` display name), depth first; returns the paths.
    fn write(
        cmd: &clap::Command,
        dir: &std::path::Path,
        out: &mut Vec<PathBuf>,
    ) -> std::io::Result<()> {
        out.push(clap_mangen::Man::new(cmd.clone()).generate_to(dir)?);
        for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
            write(sub, dir, out)?;
        }
        Ok(())
    }
    let mut cmd = cmd.disable_help_subcommand(true);
    cmd.build();
    let mut pages = Vec::new();
    if let Err(e) = std::fs::create_dir_all(dir).and_then(|()| write(&cmd, dir, &mut pages)) {
        eprintln!(
            "error: cannot write the manual pages into {}: {e}",
            dir.display()
        );
        return exit::RUNTIME;
    }
    for page in pages {
        println!("{}", page.display());
    }
    0
}
