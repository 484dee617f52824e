//! `llmagent mcp`: a role's tools for any MCP client, over stdio or
//! streamable HTTP.
//!
//! HTTP binds where `--http` says (a bare port: loopback). It answers only
//! requests whose `Host` is the bound address, a loopback name or an
//! `--allow-host`, and whose `Origin`, when a browser sends one, is a
//! loopback origin or an `--allow-origin` (DNS rebinding). A bearer token
//! from `$LLMAGENT_MCP_TOKEN` is required on every request when it is set,
//! and it must be set to bind anything but loopback.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use llmagent_core::McpService;
use llmagent_events::Events;
use rmcp::ServiceExt;

use crate::{exit, load};

/// The variable holding the bearer token of the HTTP transport.
pub(crate) const TOKEN_ENV: &str = "LLMAGENT_MCP_TOKEN";

/// A token shorter than this is refused: it must not be guessable.
const MIN_TOKEN_CHARS: usize = 16;

/// `llmagent mcp`'s arguments.
#[derive(Debug, clap::Args)]
pub(crate) struct McpArgs {
    /// Policy file.
    #[arg(long)]
    policy: PathBuf,
    /// Role whose actions are served (and whose policy decides each call).
    #[arg(long)]
    role: String,
    /// Serve streamable HTTP at ADDR (`PORT` for loopback, or `HOST:PORT`)
    /// on path /mcp, instead of stdio. Anything but loopback needs
    /// $LLMAGENT_MCP_TOKEN.
    #[arg(long, value_name = "ADDR")]
    http: Option<String>,
    /// Another host name the HTTP server answers to (its `Host` header).
    #[arg(long = "allow-host", value_name = "HOST")]
    allow_host: Vec<String>,
    /// A browser origin allowed to call (`https://app.example:443`);
    /// loopback origins always are.
    #[arg(long = "allow-origin", value_name = "ORIGIN")]
    allow_origin: Vec<String>,
    /// Do not record events.
    #[arg(long)]
    no_events: bool,
}

pub(crate) async fn run(args: McpArgs, events: Option<&Path>) -> u8 {
    match serve(args, events).await {
        Ok(()) => 0,
        Err(code) => code,
    }
}

async fn serve(args: McpArgs, events: Option<&Path>) -> Result<(), u8> {
    let policy = load::policy(Some(&args.policy))?;
    let recorder = if args.no_events {
        None
    } else {
        Some(
            Events::new(load::event_store(events, false, policy.events.durability)?)
                .with_source("mcp"),
        )
    };
    let runtime = load::runtime_with(policy, recorder)?;
    load::attach_mcp(&runtime, Some(&args.role)).await;
    let service = McpService::new(runtime, &args.role).map_err(|e| {
        eprintln!("error: {e}");
        exit::POLICY
    })?;
    match &args.http {
        None => stdio(service).await,
        Some(addr) => http(service, addr, &args).await,
    }
}

async fn stdio(service: McpService) -> Result<(), u8> {
    let started = match llmagent_core::stdio_pipes() {
        Some(pipes) => service.serve(pipes).await,
        None => service.serve(rmcp::transport::stdio()).await,
    };
    let running = started.map_err(|e| {
        eprintln!("error: the MCP session did not start: {e}");
        exit::RUNTIME
    })?;
    let _ = running.waiting().await;
    Ok(())
}

/// `PORT` → loopback; `HOST:PORT` as given.
fn bind_address(text: &str) -> Result<SocketAddr, String> {
    if let Ok(port) = text.parse::<u16>() {
        return Ok(SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port));
    }
    text.parse::<SocketAddr>().map_err(|_| {
        format!("--http {text}: give a port (loopback) or an IP address and port, such as 127.0.0.1:8931")
    })
}

async fn http(service: McpService, addr: &str, args: &McpArgs) -> Result<(), u8> {
    use rmcp::transport::streamable_http_server::{
        StreamableHttpServerConfig, StreamableHttpService, session::local::LocalSessionManager,
    };
    let usage = |m: String| {
        eprintln!("error: {m}");
        exit::USAGE
    };
    let addr = bind_address(addr).map_err(usage)?;
    let token = std::env::var(TOKEN_ENV).ok().filter(|t| !t.is_empty());
    if let Some(t) = &token
        && t.chars().count() < MIN_TOKEN_CHARS
    {
        return Err(usage(format!(
            "${TOKEN_ENV} is shorter than {MIN_TOKEN_CHARS} characters; use a random token (e.g. `openssl rand -hex 32`)"
        )));
    }
    if !addr.ip().is_loopback() && token.is_none() {
        return Err(usage(format!(
            "--http {addr} is not a loopback address: set ${TOKEN_ENV} to a secret token that clients must send as `Authorization: Bearer …`"
        )));
    }
    let mut hosts: Vec<String> = vec!["localhost".into(), "127.0.0.1".into(), "::1".into()];
    hosts.push(addr.ip().to_string());
    hosts.extend(args.allow_host.iter().cloned());
    let mut origins: Vec<String> = vec![
        "http://localhost:*".into(),
        "http://127.0.0.1:*".into(),
        "http://[::1]:*".into(),
    ];
    origins.extend(args.allow_origin.iter().cloned());
    let config = StreamableHttpServerConfig::default()
        .with_allowed_hosts(hosts)
        .with_allowed_origins(origins)
        .with_legacy_session_mode(true);
    let mcp = StreamableHttpService::new(
        move || Ok(service.clone()),
        Arc::new(LocalSessionManager::default()),
        config,
    );
    let token = Arc::new(token);
    let app = axum::Router::new()
        .nest_service("/mcp", mcp)
        .layer(axum::middleware::from_fn(
            move |req: axum::extract::Request, next: axum::middleware::Next| {
                let token = Arc::clone(&token);
                bearer(token, req, next)
            },
        ));
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| usage(format!("cannot listen on {addr}: {e}")))?;
    eprintln!(
        "llmagent mcp: serving role `{}` at http://{}/mcp",
        args.role,
        listener.local_addr().unwrap_or(addr)
    );
    axum::serve(listener, app)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await
        .map_err(|e| {
            eprintln!("error: the HTTP server failed: {e}");
            exit::RUNTIME
        })
}

/// Refuses a request without the bearer token, when there is one.
async fn bearer(
    token: Arc<Option<String>>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    if let Some(expected) = token.as_ref() {
        let given = req
            .headers()
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "));
        if !given.is_some_and(|g| same(g.as_bytes(), expected.as_bytes())) {
            return (
                axum::http::StatusCode::UNAUTHORIZED,
                [(axum::http::header::WWW_AUTHENTICATE, "Bearer")],
                "a valid bearer token is required\n",
            )
                .into_response();
        }
    }
    next.run(req).await
}

/// Compares in time independent of where the inputs differ.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses() {
        assert_eq!(
            bind_address("8931"),
            Ok("127.0.0.1:8931".parse().unwrap_or_else(|_| unreachable!()))
        );
        assert_eq!(
            bind_address("0.0.0.0:80").map(|a| a.ip().is_loopback()),
            Ok(false)
        );
        assert!(bind_address("localhost:80").is_err());
        assert!(same(b"abc", b"abc"));
        assert!(!same(b"abc", b"abd"));
        assert!(!same(b"abc", b"ab"));
    }
}
