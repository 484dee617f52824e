//! Loading the policy and the runtime, with errors printed for a human.

use std::path::{Path, PathBuf};

use llmagent_core::{Runtime, RuntimeOptions, builtin_names};
use llmagent_policy::{Durability, Policy};

use crate::exit;

/// The policy at `path`, or the built-in empty policy (no roles, built-in
/// tools only) when there is none.
pub(crate) fn policy(path: Option<&Path>) -> Result<Policy, u8> {
    let result = match path {
        Some(p) => Policy::load(p, &builtin_names()),
        None => Policy::parse(
            "version = 1\n",
            &PathBuf::from("<no policy>"),
            &builtin_names(),
        ),
    };
    result.map_err(|e| {
        eprintln!("error: {e}");
        exit::POLICY
    })
}

/// A runtime for `policy` that lists, describes and checks its tools
/// (`tools list`, `tools describe`, `policy check`): it records nothing and
/// reserves no instance pool, since it calls nothing.
pub(crate) fn runtime(policy: Policy) -> Result<Runtime, u8> {
    build(
        policy,
        RuntimeOptions {
            instance_pool: false,
            ..RuntimeOptions::default()
        },
    )
}

/// A runtime for `policy` that calls tools, recording into `events`.
pub(crate) fn runtime_with(
    policy: Policy,
    events: Option<llmagent_events::Events>,
) -> Result<Runtime, u8> {
    build(
        policy,
        RuntimeOptions {
            events,
            ..RuntimeOptions::default()
        },
    )
}

fn build(policy: Policy, options: RuntimeOptions) -> Result<Runtime, u8> {
    let runtime = Runtime::new(policy, options).map_err(|e| {
        eprintln!("error: {e}");
        match e {
            llmagent_core::RuntimeError::Policy(_)
            | llmagent_core::RuntimeError::UnknownAction { .. } => exit::POLICY,
            _ => exit::RUNTIME,
        }
    })?;
    for (_, why) in runtime.unavailable() {
        eprintln!("warning: skipped: {why}");
    }
    Ok(runtime)
}

/// Connects the MCP servers of `role` (of every role when `None`), warning
/// on stderr about each one that is not available: its tools are left out
/// until a later call reaches it.
pub(crate) async fn attach_mcp(runtime: &Runtime, role: Option<&str>) {
    for a in runtime.attach_mcp(role).await {
        if let Err(why) = a.tools {
            eprintln!("warning: role {}: {why}", a.role);
        }
    }
}

/// Prints a JSON value, pretty.
pub(crate) fn print_json(value: &serde_json::Value) {
    match serde_json::to_string_pretty(value) {
        Ok(s) => println!("{}", crate::term::safe_json(&s)),
        Err(e) => eprintln!("error: cannot print JSON: {e}"),
    }
}

/// Where the event store lives: `--events`, else `$LLMAGENT_EVENTS`, else
/// `$XDG_DATA_HOME/llmagent/events`, else `~/.local/share/llmagent/events`.
pub(crate) fn events_path(flag: Option<&Path>) -> Result<PathBuf, u8> {
    if let Some(p) = flag {
        return Ok(p.to_path_buf());
    }
    if let Some(p) = std::env::var_os("LLMAGENT_EVENTS").filter(|v| !v.is_empty()) {
        return Ok(PathBuf::from(p));
    }
    let base = match std::env::var_os("XDG_DATA_HOME").filter(|v| !v.is_empty()) {
        Some(v) => PathBuf::from(v),
        None => match std::env::var_os("HOME").filter(|v| !v.is_empty()) {
            Some(home) => PathBuf::from(home).join(".local/share"),
            None => {
                eprintln!("error: no HOME, XDG_DATA_HOME or LLMAGENT_EVENTS; pass --events PATH");
                return Err(exit::USAGE);
            }
        },
    };
    Ok(base.join("llmagent").join("events"))
}

/// `--durability`, when given: it overrides the policy's
/// `[events] durability`. Set once, by `main`.
pub(crate) static DURABILITY_FLAG: std::sync::OnceLock<Durability> = std::sync::OnceLock::new();

/// Opens the event store with `durability` (the policy's `[events]
/// durability`, unless `--durability` says otherwise). A writer (`owner =
/// false`) falls back to a spool when another process owns the store; a
/// reader must own it.
pub(crate) fn event_store(
    flag: Option<&Path>,
    owner: bool,
    durability: Durability,
) -> Result<llmagent_events::EventStore, u8> {
    let path = events_path(flag)?;
    let mut config = llmagent_events::StoreConfig::new(&path);
    config.durability = match DURABILITY_FLAG.get().copied().unwrap_or(durability) {
        Durability::Sync => llmagent_events::Durability::Sync,
        Durability::Group => llmagent_events::Durability::default(),
    };
    let opened = if owner {
        llmagent_events::EventStore::open(config)
    } else {
        llmagent_events::EventStore::open_or_spool(config)
    };
    opened.map_err(|e| {
        eprintln!("error: event store {}: {e}", path.display());
        if matches!(e, llmagent_events::EventsError::Locked { .. }) {
            eprintln!(
                "hint: another llmagent process (e.g. `llmagent events --follow`) holds it; \
                 stop that process, or follow its output instead"
            );
        }
        exit::RUNTIME
    })
}

/// The event store, or the service that owns it.
pub(crate) enum StoreAccess {
    /// This process owns the store.
    Store(llmagent_events::EventStore),
    /// `llmagent serve` owns it: go through its API at this socket.
    Service(PathBuf),
}

/// Opens the event store as its owner; when a service owns it, its
/// socket instead. Any other owner (e.g. `llmagent events --follow`) is
/// refused with a message naming it: reading an agent's conversation
/// needs the store, and an agent must not start without it.
pub(crate) fn store_or_service(
    flag: Option<&Path>,
    durability: Durability,
) -> Result<StoreAccess, u8> {
    let path = events_path(flag)?;
    let mut config = llmagent_events::StoreConfig::new(&path);
    config.durability = match DURABILITY_FLAG.get().copied().unwrap_or(durability) {
        Durability::Sync => llmagent_events::Durability::Sync,
        Durability::Group => llmagent_events::Durability::default(),
    };
    match llmagent_events::EventStore::open(config) {
        Ok(store) => Ok(StoreAccess::Store(store)),
        Err(llmagent_events::EventsError::Locked { holder, .. }) => {
            match crate::client::service_of_store(&path, holder) {
                Some(socket) => Ok(StoreAccess::Service(socket)),
                None => {
                    let who = holder.map_or_else(
                        || "another process".to_owned(),
                        |pid| format!("process {pid}"),
                    );
                    eprintln!(
                        "error: the event store {} is owned by {who}{}; its conversations can only be read there",
                        path.display(),
                        holder
                            .and_then(process_name)
                            .map(|n| format!(" ({n})"))
                            .unwrap_or_default()
                    );
                    eprintln!(
                        "hint: stop that process, or run `llmagent serve` and use `llmagent prompt`, which share one store"
                    );
                    Err(exit::RUNTIME)
                }
            }
        }
        Err(e) => {
            eprintln!("error: event store {}: {e}", path.display());
            Err(exit::RUNTIME)
        }
    }
}

/// The command line of process `pid`, for naming a store's owner.
fn process_name(pid: u32) -> Option<String> {
    let raw = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
    let words: Vec<String> = raw
        .split(|b| *b == 0)
        .filter(|w| !w.is_empty())
        .take(8)
        .map(|w| String::from_utf8_lossy(w).into_owned())
        .collect();
    (!words.is_empty()).then(|| crate::term::safe(&words.join(" ")).into_owned())
}
