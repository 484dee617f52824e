//! `llmagent serve`: agents from the policy (and started at run time)
//! under a [`Supervisor`], driven over an HTTP API on a Unix socket and,
//! only when asked, on loopback TCP with a bearer token.
//!
//! The service owns the event store while it runs and says so in the
//! store's `service.json` (its pid and socket), so that other commands
//! reach the store through it. SIGHUP reloads the policy; SIGTERM (or
//! Ctrl-C) shuts down gracefully: new prompts are refused, running turns
//! get `--grace` seconds, then are cancelled; events are flushed and the
//! socket is removed.

pub(crate) mod api;
mod auth;
mod openapi;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::middleware;
use llmagent_core::{Supervisor, SupervisorOptions};
use llmagent_events::Events;
use serde_json::json;
use tokio::net::{TcpListener, UnixListener};
use tokio::signal::unix::{SignalKind, signal};
use tokio_util::sync::CancellationToken;

use crate::client::{SERVICE_FILE, socket_path};
use crate::exit;
use crate::load;

/// How long open connections (event streams) get to finish after the
/// agents stopped, before the service exits anyway.
const DRAIN: Duration = Duration::from_secs(2);

/// Arguments of `llmagent serve`.
#[derive(Debug, clap::Args)]
pub(crate) struct ServeArgs {
    /// Policy file (reloaded on SIGHUP and POST /v1/reload).
    #[arg(long)]
    policy: PathBuf,
    /// The API's Unix socket (default: $LLMAGENT_SOCKET, else
    /// $XDG_RUNTIME_DIR/llmagent/llmagent.sock).
    #[arg(long, value_name = "PATH")]
    socket: Option<PathBuf>,
    /// Also allow this uid on the socket (besides the service's own); the
    /// socket file's mode must let it connect too. Repeatable.
    #[arg(long, value_name = "UID")]
    allow_uid: Vec<u32>,
    /// Also serve the API (and the web view) on 127.0.0.1:PORT, for
    /// requests with the token of --token-file.
    #[arg(long, value_name = "PORT", requires = "token_file")]
    tcp: Option<u16>,
    /// File holding the bearer token of the TCP port (one line).
    #[arg(long, value_name = "FILE", requires = "tcp")]
    token_file: Option<PathBuf>,
    /// Seconds running turns get at shutdown before they are cancelled.
    #[arg(long, value_name = "SECS", default_value_t = 10)]
    grace: u64,
    /// Seconds an approval question waits for an answer before the call is
    /// refused.
    #[arg(long, value_name = "SECS", default_value_t = 300)]
    approval_timeout: u64,
    /// Retries of a model request after 429, 5xx or a network error
    /// (default 3).
    #[arg(long, value_name = "N")]
    retries: Option<u32>,
}

pub(crate) async fn serve(args: ServeArgs, events_path: Option<&Path>) -> u8 {
    match serve_inner(args, events_path).await {
        Ok(code) | Err(code) => code,
    }
}

async fn serve_inner(args: ServeArgs, events_path: Option<&Path>) -> Result<u8, u8> {
    let policy = load::policy(Some(&args.policy))?;
    let token = match &args.token_file {
        Some(file) => Some(read_token(file)?),
        None => None,
    };
    let store = load::event_store(events_path, true, policy.events.durability)?;
    let events = Events::new(store.clone());
    let runtime = load::runtime_with(policy, Some(events.clone()))?;
    Supervisor::attach_mcp(&runtime).await;
    let supervisor = Supervisor::new(
        runtime,
        SupervisorOptions {
            events: Some(events),
            approval_timeout: Duration::from_secs(args.approval_timeout),
            retries: args.retries,
            ..SupervisorOptions::default()
        },
    );
    for (name, e) in supervisor.autostart().await {
        tracing::error!(agent = %name, code = e.code(), "autostart failed: {e}");
        eprintln!("error: agent {name} did not start: {e}");
    }
    let socket = socket_path(args.socket.as_deref());
    let unix = bind_unix(&socket)?;
    let service_file = store.path().join(SERVICE_FILE);
    let note = json!({"pid": std::process::id(), "socket": socket.display().to_string()});
    if let Err(e) = std::fs::write(&service_file, note.to_string()) {
        eprintln!("warning: cannot write {}: {e}", service_file.display());
    }
    let state = Arc::new(api::AppState {
        supervisor: supervisor.clone(),
        store: store.clone(),
        policy_path: args.policy.clone(),
        started: Instant::now(),
    });
    let app = api::router(state);
    let mut allowed = vec![rustix::process::geteuid().as_raw()];
    allowed.extend(&args.allow_uid);
    let unix_app = app.clone().layer(middleware::from_fn_with_state(
        Arc::new(allowed),
        auth::unix_peer,
    ));
    let stop = CancellationToken::new();
    let mut servers = Vec::new();
    {
        let stop = stop.clone();
        let make = unix_app.into_make_service_with_connect_info::<auth::UnixPeer>();
        servers.push(tokio::spawn(async move {
            let _ = axum::serve(unix, make)
                .with_graceful_shutdown(stop.cancelled_owned())
                .await;
        }));
    }
    if let (Some(port), Some(token)) = (args.tcp, token) {
        let listener = TcpListener::bind(("127.0.0.1", port)).await.map_err(|e| {
            eprintln!("error: cannot listen on 127.0.0.1:{port}: {e}");
            exit::RUNTIME
        })?;
        let port = listener.local_addr().map(|a| a.port()).unwrap_or(port);
        let guard = Arc::new(auth::TcpGuard {
            token,
            hosts: vec![format!("127.0.0.1:{port}"), format!("localhost:{port}")],
        });
        let tcp_app = app.layer(middleware::from_fn_with_state(guard, auth::tcp_guard));
        let stop = stop.clone();
        servers.push(tokio::spawn(async move {
            let _ = axum::serve(listener, tcp_app)
                .with_graceful_shutdown(stop.cancelled_owned())
                .await;
        }));
        eprintln!("llmagent serve: also on http://127.0.0.1:{port}/ (token required)");
    }
    eprintln!(
        "llmagent serve: {} agents, API on {} (pid {})",
        supervisor.list().len(),
        socket.display(),
        std::process::id()
    );
    wait_for_signals(&supervisor, &args.policy).await;
    tracing::info!("shutting down");
    supervisor.shutdown(Duration::from_secs(args.grace)).await;
    stop.cancel();
    for s in servers {
        if tokio::time::timeout(DRAIN, s).await.is_err() {
            tracing::warn!("open connections cut at shutdown");
        }
    }
    if let Err(e) = store.sync() {
        eprintln!("error: flushing the event store: {e}");
    }
    let _ = std::fs::remove_file(&socket);
    let _ = std::fs::remove_file(&service_file);
    eprintln!("llmagent serve: stopped");
    Ok(0)
}

/// Reloads on SIGHUP; returns on SIGTERM or SIGINT.
async fn wait_for_signals(supervisor: &Supervisor, policy: &Path) {
    let (Ok(mut hup), Ok(mut term), Ok(mut int)) = (
        signal(SignalKind::hangup()),
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) else {
        eprintln!("error: cannot install signal handlers; stopping");
        return;
    };
    loop {
        tokio::select! {
            _ = hup.recv() => match supervisor.reload(policy).await {
                Ok(()) => eprintln!("llmagent serve: reloaded {}", policy.display()),
                Err(e) => eprintln!("error: reload refused, the old policy stays in force: {e}"),
            },
            _ = term.recv() => return,
            _ = int.recv() => return,
        }
    }
}

/// The token in `file`: its first line, which must not be empty.
fn read_token(file: &Path) -> Result<String, u8> {
    let text = std::fs::read_to_string(file).map_err(|e| {
        eprintln!("error: cannot read the token file {}: {e}", file.display());
        exit::USAGE
    })?;
    let token = text.lines().next().unwrap_or("").trim().to_owned();
    if token.len() < 16 {
        eprintln!(
            "error: the token in {} is shorter than 16 characters; use e.g. `head -c 32 /dev/urandom | base64`",
            file.display()
        );
        return Err(exit::USAGE);
    }
    Ok(token)
}

/// Binds the Unix socket, owner-only (0600) in an owner-only directory it
/// creates; a stale socket (nobody listening) is replaced, a live one is
/// not.
fn bind_unix(path: &Path) -> Result<UnixListener, u8> {
    let fail = |what: &str, e: &dyn std::fmt::Display| {
        eprintln!("error: {what} {}: {e}", path.display());
        exit::RUNTIME
    };
    if let Some(dir) = path.parent()
        && !dir.exists()
    {
        use std::os::unix::fs::DirBuilderExt;
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(|e| fail("cannot create the directory of", &e))?;
    }
    if path.exists() {
        if std::os::unix::net::UnixStream::connect(path).is_ok() {
            eprintln!(
                "error: another service already listens at {}; stop it, or pass --socket",
                path.display()
            );
            return Err(exit::RUNTIME);
        }
        std::fs::remove_file(path).map_err(|e| fail("cannot remove the stale socket", &e))?;
    }
    // Owner-only from the start: no moment where another user can connect.
    let old = rustix::process::umask(rustix::fs::Mode::from_raw_mode(0o177));
    let bound = UnixListener::bind(path);
    rustix::process::umask(old);
    let listener = bound.map_err(|e| fail("cannot listen on", &e))?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
        .map_err(|e| fail("cannot set the mode of", &e))?;
    Ok(listener)
}
