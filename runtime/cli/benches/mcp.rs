//! `tools/call` over stdio: `llmagent mcp` running `crypto-sha256` of
//! "hello" (policy decision, fresh wasm instance, events recorded), the
//! same with `--no-events`, and an echo MCP server with no sandbox (this
//! benchmark's own binary, run with `--echo-server`: rmcp's server
//! answering the arguments back), all called by the same small rmcp client
//! over the child's pipes, in one run. Writes p50 and p99 of each and the difference into
//! `bench/RESULTS.md` between `<!-- mcp:start -->` and `<!-- mcp:end -->`.

#![allow(clippy::expect_used, clippy::unwrap_used)] // a benchmark should stop loudly

use std::process::Stdio;
use std::time::{Duration, Instant};

use report::{fmt_ns, write_section};
use rmcp::handler::server::ServerHandler;
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ListToolsResult,
    PaginatedRequestParams, ServerCapabilities, ServerConfig, Tool,
};
use rmcp::service::{RequestContext, RunningService};
use rmcp::{ErrorData, RoleClient, RoleServer, ServiceExt};
use serde_json::{Value, json};

#[path = "../../core/benches/report/mod.rs"]
mod report;

/// Calls measured per server, after [`WARMUP`] unmeasured ones.
const CALLS: usize = 3000;
const WARMUP: usize = 300;
/// The target from the issue: the sandbox adds under this at p50.
const TARGET_NS: f64 = 50_000.0;

/// The echo server: one tool, `crypto-sha256`, answering its arguments.
#[derive(Clone)]
struct Echo;

impl ServerHandler for Echo {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        let schema = json!({"type": "object"});
        let Value::Object(schema) = schema else {
            unreachable!()
        };
        Ok(ListToolsResult::with_all_items(vec![Tool::new(
            "crypto-sha256",
            "echo",
            schema,
        )]))
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        let args = Value::Object(request.arguments.unwrap_or_default());
        Ok(CallToolResponse::Complete(CallToolResult::structured(
            json!({"status": "ok", "output": args, "metadata": {}}),
        )))
    }
}

type Session = RunningService<RoleClient, ()>;

/// A child process killed when dropped.
struct Kill(std::process::Child);

impl Drop for Kill {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

async fn connect(mut cmd: std::process::Command) -> (Session, Kill) {
    use std::os::fd::OwnedFd;
    use tokio::net::unix::pipe;
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    let mut child = Kill(cmd.spawn().expect("start the server"));
    let stdin = child.0.stdin.take().unwrap();
    let stdout = child.0.stdout.take().unwrap();
    let writer = pipe::Sender::from_owned_fd(OwnedFd::from(stdin)).unwrap();
    let reader = pipe::Receiver::from_owned_fd(OwnedFd::from(stdout)).unwrap();
    let session = ().serve((reader, writer)).await.expect("handshake");
    (session, child)
}

/// Each call's wall time, sorted.
async fn measure(session: &Session) -> Vec<f64> {
    let call = || {
        let Value::Object(args) = json!({"data": "hello"}) else {
            unreachable!()
        };
        session
            .peer()
            .call_tool(CallToolRequestParams::new("crypto-sha256").with_arguments(args))
    };
    for _ in 0..WARMUP {
        let r = call().await.expect("call");
        assert_ne!(r.is_error, Some(true), "{r:?}");
    }
    let mut times = Vec::with_capacity(CALLS);
    for _ in 0..CALLS {
        let started = Instant::now();
        let r = call().await.expect("call");
        times.push(started.elapsed().as_nanos() as f64);
        assert_ne!(r.is_error, Some(true));
    }
    times.sort_by(f64::total_cmp);
    times
}

fn pct(sorted: &[f64], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn main() {
    if std::env::args().any(|a| a == "--echo-server") {
        let rt = tokio::runtime::Runtime::new().unwrap();
        rt.block_on(async {
            // The transport `llmagent mcp` uses: pipes where they are.
            let running = match llmagent_core::stdio_pipes() {
                Some(pipes) => Echo.serve(pipes).await,
                None => Echo.serve(rmcp::transport::stdio()).await,
            }
            .expect("serve");
            let _ = running.waiting().await;
        });
        return;
    }
    // `cargo bench` passes `--bench`; `cargo test --benches` does not: then
    // check that the three servers answer, without measuring.
    let measuring = std::env::args().any(|a| a == "--bench");
    let rt = tokio::runtime::Runtime::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let policy = dir.path().join("policy.toml");
    std::fs::write(
        &policy,
        "version = 1\n[roles.bench]\ntools = [\"crypto\"]\n",
    )
    .unwrap();
    let mut ours = std::process::Command::new(env!("CARGO_BIN_EXE_llmagent"));
    ours.arg("--events")
        .arg(dir.path().join("events"))
        .args(["mcp", "--role", "bench", "--policy"])
        .arg(&policy)
        .env("XDG_CACHE_HOME", dir.path().join("cache"));
    // The same server without its events: what recording costs a call.
    let mut quiet = std::process::Command::new(env!("CARGO_BIN_EXE_llmagent"));
    quiet
        .args(["mcp", "--no-events", "--role", "bench", "--policy"])
        .arg(&policy)
        .env("XDG_CACHE_HOME", dir.path().join("cache"));
    let mut echo = std::process::Command::new(std::env::current_exe().unwrap());
    echo.arg("--echo-server");
    let (sandboxed, unrecorded, plain) = rt.block_on(async {
        let (s, _a) = connect(ours).await;
        let (q, _c) = connect(quiet).await;
        let (e, _b) = connect(echo).await;
        if !measuring {
            let Value::Object(args) = json!({"data": "hello"}) else {
                unreachable!()
            };
            for session in [&s, &q, &e] {
                let r = session
                    .peer()
                    .call_tool(
                        CallToolRequestParams::new("crypto-sha256").with_arguments(args.clone()),
                    )
                    .await
                    .expect("call");
                assert_ne!(r.is_error, Some(true), "{r:?}");
            }
            return (Vec::new(), Vec::new(), Vec::new());
        }
        // Interleave the servers' runs so that load from elsewhere hits both.
        let mut sandboxed = Vec::new();
        let mut unrecorded = Vec::new();
        let mut plain = Vec::new();
        for _ in 0..2 {
            sandboxed.extend(measure(&s).await);
            unrecorded.extend(measure(&q).await);
            plain.extend(measure(&e).await);
        }
        for times in [&mut sandboxed, &mut unrecorded, &mut plain] {
            times.sort_by(f64::total_cmp);
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
        (sandboxed, unrecorded, plain)
    });
    if !measuring {
        println!("mcp: the three servers answer (run `cargo bench` to measure)");
        return;
    }
    let (s50, s99) = (pct(&sandboxed, 0.5), pct(&sandboxed, 0.99));
    let (q50, q99) = (pct(&unrecorded, 0.5), pct(&unrecorded, 0.99));
    let (e50, e99) = (pct(&plain, 0.5), pct(&plain, 0.99));
    let added = s50 - e50;
    println!(
        "llmagent mcp crypto-sha256: p50 {} p99 {}; without events: p50 {} p99 {}; echo server: p50 {} p99 {}; sandbox adds {} at p50",
        fmt_ns(s50),
        fmt_ns(s99),
        fmt_ns(q50),
        fmt_ns(q99),
        fmt_ns(e50),
        fmt_ns(e99),
        fmt_ns(added)
    );
    let build = if cfg!(debug_assertions) {
        "a test-profile build (our crates unoptimised, dependencies at opt-level 2), run as `target/debug/deps/mcp-* --bench`: slower than `cargo bench`'s"
    } else {
        "`cargo bench`'s optimised build"
    };
    let mut out = String::from("## MCP (`cargo bench -p llmagent --bench mcp`)\n\n");
    out.push_str(&format!(
        "`tools/call` over stdio by one small rmcp client, {} calls after {WARMUP} unmeasured, sequential, against each server in turn (interleaved twice); {build}. `llmagent mcp` runs each call on a fiber of its request's task. Machine: {}.\n\n",
        2 * CALLS,
        report::machine()
    ));
    out.push_str("| server | p50 | p99 |\n|---|---|---|\n");
    out.push_str(&format!(
        "| `llmagent mcp`, `crypto-sha256` of \"hello\" (policy decision, fresh wasm instance, events recorded) | {} | {} |\n",
        fmt_ns(s50),
        fmt_ns(s99)
    ));
    out.push_str(&format!(
        "| the same with `--no-events` (policy decision, fresh wasm instance, nothing recorded) | {} | {} |\n",
        fmt_ns(q50),
        fmt_ns(q99)
    ));
    out.push_str(&format!(
        "| echo MCP server (rmcp, no sandbox, same transport) | {} | {} |\n",
        fmt_ns(e50),
        fmt_ns(e99)
    ));
    out.push_str(&format!(
        "\nThe sandbox and the runtime add **{}** at p50 (target: under {}; {}); {} of it is recording the call's two events (decision, invocation), {} the rest.\n",
        fmt_ns(added),
        fmt_ns(TARGET_NS),
        if added < TARGET_NS { "met" } else { "missed" },
        fmt_ns(s50 - q50),
        fmt_ns(q50 - e50),
    ));
    write_section("mcp", &out);
}
