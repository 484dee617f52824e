//! The web tool's `get` of a small local page through the sandbox
//! (runtime, policy decision, wasm instance, wasi:http through the `http`
//! capability: resolution, address decision, a fresh connection) against
//! the same request made natively with the same client (hyper's HTTP/1
//! connection over a fresh tokio TCP stream), in one run; results go to
//! `bench/RESULTS.md` between `<!-- web:start -->` and `<!-- web:end -->`,
//! with the machine noted.

#![allow(clippy::expect_used, clippy::unwrap_used)] // a benchmark should stop loudly

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use criterion::Criterion;
use http_body_util::{BodyExt, Empty};
use llmagent_tests::web_server::WebServer;
use report::fmt_ns;

#[path = "report/mod.rs"]
mod report;
use host_capabilities::NullSink;
use llmagent_core::{CallRequest, Runtime, RuntimeOptions, builtin_names};
use llmagent_policy::Policy;

fn runtime(dir: &Path, origin: &str) -> Runtime {
    let text = format!(
        "version = 1\n[roles.bench]\ntools = [\"web\"]\n[roles.bench.http]\nallow = [\"{origin}\"]\n"
    );
    let path = dir.join("policy.toml");
    std::fs::write(&path, text).expect("write policy");
    let policy = Policy::load(&path, &builtin_names()).expect("policy");
    let options = RuntimeOptions {
        cache_dir: Some(dir.join("cache")),
        sink: Arc::new(NullSink),
        events: None,
        ..RuntimeOptions::default()
    };
    Runtime::new(policy, options).expect("runtime")
}

/// One GET on a fresh connection, as the `http` capability makes it.
async fn native_get(addr: std::net::SocketAddr, host: &str) -> bytes::Bytes {
    let stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let (mut sender, conn) =
        hyper::client::conn::http1::handshake(wasmtime_wasi_http::io::TokioIo::new(stream))
            .await
            .expect("handshake");
    let conn = tokio::spawn(conn);
    let request = http::Request::get("/hello")
        .header(http::header::HOST, host)
        .body(Empty::<bytes::Bytes>::new())
        .expect("request");
    let response = sender.send_request(request).await.expect("response");
    let body = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    drop(sender);
    let _ = conn.await;
    body
}

fn main() {
    let site = WebServer::start();
    let dir = tempfile::tempdir().expect("tempdir");
    let rt = runtime(dir.path(), &site.origin());
    let url = format!("{}/hello", site.origin());
    let req = CallRequest::new("bench", "web", "get", &format!("{{\"url\":\"{url}\"}}"));
    let answer = rt.call_blocking(&req).expect("call").result.expect("ok");
    assert_eq!(answer.output, serde_json::json!("hello"));
    let tokio = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio");
    let addr: std::net::SocketAddr = format!("127.0.0.1:{}", site.port()).parse().unwrap();
    let host = format!("127.0.0.1:{}", site.port());
    assert_eq!(&tokio.block_on(native_get(addr, &host))[..], b"hello");

    let medians = report::Medians::new();
    let mut c = Criterion::default()
        .output_directory(&report::criterion_dir())
        .sample_size(30)
        .measurement_time(Duration::from_secs(6))
        .configure_from_args();
    c.bench_function("web_get_tool", |b| {
        b.iter(|| rt.call_blocking(&req).expect("call").result.expect("ok"))
    });
    c.bench_function("web_get_native", |b| {
        b.iter(|| tokio.block_on(native_get(addr, &host)))
    });
    c.final_summary();
    write_results(medians);
}

fn write_results(mut medians: report::Medians) {
    let native = medians.get("web_get_native");
    let mut row = |name: &str, what: &str| -> String {
        match medians.get(name) {
            Some(ns) => {
                let ratio = native
                    .map(|n| format!("{:.2}×", ns / n))
                    .unwrap_or_default();
                format!("| {name} | {what} | {} | {ratio} |\n", fmt_ns(ns))
            }
            None => format!("| {name} | {what} | not measured | |\n"),
        }
    };
    let mut out = String::from("## Web\n\n");
    out.push_str(&format!(
        "Measured by `cargo bench -p llmagent-core --bench web` (criterion, median of each), in one run, against a local page (`/hello`, 5 bytes) served on loopback by `llmagent_tests::web_server`.\n\nMachine: {}.\n\n",
        report::machine()
    ));
    out.push_str("| benchmark | what | median | vs native |\n|---|---|---|---|\n");
    out.push_str(&row(
        "web_get_tool",
        "`web get {\"url\": …/hello}` through `Runtime::call_blocking`: tool decision, wasm instance, wasi:http request decided by `[roles.R.http]` on the URL and the address, fresh TCP connection, body read",
    ));
    out.push_str(&row(
        "web_get_native",
        "the same GET with hyper's HTTP/1 client on a fresh tokio TCP connection",
    ));
    medians.write_section("web", &out);
}
