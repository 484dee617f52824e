//! The sandbox against its floor, native code and process spawning, in one
//! run; results go to `bench/RESULTS.md` with the machine noted.
//!
//! - `runtime_call`: a trivial action (`testbed.noop`) through the public
//!   API — policy decision, fresh `Store` and instance, limits, capture.
//! - `runtime_call_async`: the same through the async API on a multi-thread
//!   tokio runtime (the call runs in place).
//! - `floor`: bare wasmtime on the same component with the pooling
//!   settings llmagent uses — `Store` + instantiate from an `InstancePre` +
//!   call, nothing else; `floor_pooling_default` and `floor_on_demand`: the
//!   same with the pooling allocator's defaults and without pooling.
//! - `native`: the same work (parse arguments, answer) as a native function.
//! - `spawn_true`: spawning `/bin/true` and waiting for it.
//! - `crypto_sha256`, `file_read_small`: real built-in actions through the
//!   public API, so that a regression in a real tool shows.
//! - cold load (warm cache) and first compile of every tool, timed directly.

#![allow(clippy::expect_used, clippy::unwrap_used)] // a benchmark should stop loudly

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::Criterion;
use report::{fmt_ns, machine, root};

#[path = "report/mod.rs"]
mod report;
use host_capabilities::{Capabilities, Grants, NullSink, ToolWorldPre};
use llmagent_core::{CallRequest, Runtime, RuntimeOptions, builtin_names};
use llmagent_policy::Policy;
use wasmtime::component::{Component, Linker, ResourceTable};
use wasmtime::{Config, Engine, Store};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpView};

fn testbed() -> PathBuf {
    root().join("tools-wasm/target/wasm32-wasip2/release/llmagent_testbed.wasm")
}

fn policy_in(dir: &Path) -> Policy {
    let text = format!(
        "version = 1\n[tools.testbed]\npath = \"{}\"\n[roles.bench]\ntools = [\"testbed\", \"crypto\", \"file\"]\n[roles.bench.fs]\nread = [\"{}/**\"]\n",
        testbed().display(),
        dir.display()
    );
    std::fs::write(dir.join("small.txt"), "a small file\n".repeat(20)).expect("write small file");
    let path = dir.join("policy.toml");
    std::fs::write(&path, text).expect("write policy");
    Policy::load(&path, &builtin_names()).expect("policy")
}

fn runtime(dir: &Path, cache: &Path) -> Runtime {
    let options = RuntimeOptions {
        cache_dir: Some(cache.to_path_buf()),
        sink: Arc::new(NullSink),
        events: None,
        ..RuntimeOptions::default()
    };
    Runtime::new(policy_in(dir), options).expect("runtime")
}

/// The floor's store data: exactly what the component's imports need.
struct Floor {
    wasi: WasiCtx,
    table: ResourceTable,
    http: WasiHttpCtx,
    hooks: host_capabilities::http::HttpHooks,
    caps: Capabilities,
}

impl WasiView for Floor {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl WasiHttpView for Floor {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView {
            ctx: &mut self.http,
            table: &mut self.table,
            hooks: &mut self.hooks,
        }
    }
}

/// How the floor allocates instances.
#[derive(Clone, Copy)]
enum Alloc {
    OnDemand,
    /// wasmtime's pooling allocator with its defaults: freed memory is
    /// decommitted (`madvise`), so the next instance faults its pages in.
    Pooling,
    /// Pooling with the settings llmagent's engine uses: up to 2 MiB per
    /// memory kept resident and reset in place, only the pages found dirty
    /// (`PAGEMAP_SCAN`, Linux ≥ 6.7).
    PoolingResident,
}

fn floor_setup(alloc: Alloc) -> (Engine, ToolWorldPre<Floor>) {
    let mut config = Config::new();
    config.epoch_interruption(true);
    let mut pool = wasmtime::PoolingAllocationConfig::default();
    match alloc {
        Alloc::OnDemand => {}
        Alloc::Pooling => {
            config.allocation_strategy(wasmtime::InstanceAllocationStrategy::Pooling(pool));
        }
        Alloc::PoolingResident => {
            pool.linear_memory_keep_resident(2 << 20)
                .table_keep_resident(64 << 10)
                .pagemap_scan(wasmtime::Enabled::Auto);
            config.allocation_strategy(wasmtime::InstanceAllocationStrategy::Pooling(pool));
        }
    }
    let engine = Engine::new(&config).expect("engine");
    let mut linker = Linker::new(&engine);
    wasmtime_wasi::p2::add_to_linker_sync(&mut linker).expect("wasi");
    wasmtime_wasi_http::p2::add_only_http_to_linker_sync(&mut linker).expect("http");
    host_capabilities::add_to_linker(&mut linker, |s: &mut Floor| &mut s.caps).expect("caps");
    let component = Component::from_file(&engine, testbed()).expect("component");
    let pre =
        ToolWorldPre::new(linker.instantiate_pre(&component).expect("pre")).expect("tool pre");
    (engine, pre)
}

fn floor_call(engine: &Engine, pre: &ToolWorldPre<Floor>, grants: &Arc<Grants>) -> String {
    let caps = Capabilities::new(Arc::clone(grants), Arc::new(NullSink));
    let state = Floor {
        wasi: WasiCtx::builder().build(),
        table: ResourceTable::new(),
        http: WasiHttpCtx::new(),
        hooks: caps.http_hooks(),
        caps,
    };
    let mut store = Store::new(engine, state);
    store.set_epoch_deadline(1_000_000);
    let instance = pre.instantiate(&mut store).expect("instantiate");
    let out = instance
        .llmagent_tools_tool()
        .call_invoke(&mut store, "noop", "{}")
        .expect("call");
    out.map(|o| o.output_json).unwrap_or_default()
}

/// The testbed's `noop` as native code: parse the arguments object, check
/// its keys against the declared ones, answer `null` and `{}`.
fn native_noop(args: &str) -> (String, String) {
    let v: serde_json::Value = serde_json::from_str(args).expect("json");
    let ok = v
        .as_object()
        .is_some_and(|m| m.keys().all(|k| k.is_empty()));
    assert!(ok);
    (
        serde_json::Value::Null.to_string(),
        serde_json::json!({}).to_string(),
    )
}

fn main() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cache = dir.path().join("cache");
    let first = Instant::now();
    let rt = runtime(dir.path(), &cache);
    let first_compile = first.elapsed();
    let cold = Instant::now();
    let rt2 = runtime(dir.path(), &cache);
    let cold_load = cold.elapsed();
    drop(rt2);

    let medians = report::Medians::new();
    let mut c = Criterion::default()
        .output_directory(&report::criterion_dir())
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .configure_from_args();
    let noop = CallRequest::new("bench", "testbed", "noop", "{}");
    c.bench_function("runtime_call", |b| {
        b.iter(|| rt.call_blocking(&noop).expect("call").result.expect("ok"))
    });
    let tokio_rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio");
    c.bench_function("runtime_call_async", |b| {
        b.to_async(&tokio_rt).iter(|| async {
            rt.call(noop.clone())
                .await
                .expect("call")
                .result
                .expect("ok")
        })
    });
    let grants = Arc::new(Grants::none("bench"));
    for (name, alloc) in [
        ("floor", Alloc::PoolingResident),
        ("floor_pooling_default", Alloc::Pooling),
        ("floor_on_demand", Alloc::OnDemand),
    ] {
        let (engine, pre) = floor_setup(alloc);
        c.bench_function(name, |b| b.iter(|| floor_call(&engine, &pre, &grants)));
    }
    c.bench_function("native", |b| {
        b.iter(|| native_noop(std::hint::black_box("{}")))
    });
    c.bench_function("spawn_true", |b| {
        b.iter(|| {
            std::process::Command::new("/bin/true")
                .status()
                .expect("spawn")
        })
    });
    let sha = CallRequest::new("bench", "crypto", "sha256", r#"{"data":"hello"}"#);
    c.bench_function("crypto_sha256", |b| {
        b.iter(|| rt.call_blocking(&sha).expect("call").result.expect("ok"))
    });
    let read = CallRequest::new(
        "bench",
        "file",
        "read",
        &serde_json::json!({"path": dir.path().join("small.txt")}).to_string(),
    );
    c.bench_function("file_read_small", |b| {
        b.iter(|| rt.call_blocking(&read).expect("call").result.expect("ok"))
    });
    c.final_summary();
    write_results(medians, first_compile, cold_load);
}

fn write_results(mut medians: report::Medians, first_compile: Duration, cold_load: Duration) {
    let floor = medians.get("floor");
    let mut row = |name: &str, what: &str| -> String {
        match medians.get(name) {
            Some(ns) => {
                let ratio = floor.map(|f| format!("{:.2}×", ns / f)).unwrap_or_default();
                format!("| {name} | {what} | {} | {ratio} |\n", fmt_ns(ns))
            }
            None => format!("| {name} | {what} | not measured | |\n"),
        }
    };
    let mut out = String::from("## Sandbox\n\n");
    out.push_str(&format!(
        "Measured by `cargo bench -p llmagent-core` (criterion, median of each), all in one run.\n\nMachine: {}.\n\n",
        machine()
    ));
    out.push_str("| benchmark | what | median | vs floor |\n|---|---|---|---|\n");
    out.push_str(&row("runtime_call", "`testbed.noop` through `Runtime::call_blocking`: decision, fresh Store + instance, limits, capture"));
    out.push_str(&row(
        "runtime_call_async",
        "the same through the async `Runtime::call` on a multi-thread tokio runtime (the call runs on a fiber of the calling task): what agents and `llmagent mcp` use",
    ));
    out.push_str(&row(
        "floor",
        "bare wasmtime: Store + instantiate from InstancePre + call, same component, pooling allocator as llmagent configures it (memory kept resident, reset by `PAGEMAP_SCAN`)",
    ));
    out.push_str(&row(
        "floor_pooling_default",
        "the floor with the pooling allocator's defaults (freed memory decommitted)",
    ));
    out.push_str(&row(
        "floor_on_demand",
        "the floor with instances allocated on demand (mmap per instance)",
    ));
    out.push_str(&row("native", "the same work as a native function"));
    out.push_str(&row("spawn_true", "spawn `/bin/true` and wait"));
    out.push_str(&row(
        "crypto_sha256",
        "`crypto.sha256` of \"hello\" through `Runtime::call_blocking`",
    ));
    out.push_str(&row(
        "file_read_small",
        "`file.read` of a 260-byte file through `Runtime::call_blocking`: the fs capability's decision and `openat2`",
    ));
    // The target: a sandboxed call ≤ 15 µs p50 and ≤ 1.3× the floor.
    for name in ["runtime_call", "runtime_call_async"] {
        if let (Some(ns), Some(f)) = (medians.get(name), floor) {
            let met = ns <= 15_000.0 && ns / f <= 1.3;
            out.push_str(&format!(
                "\nTarget for `{name}`: ≤ 15 µs and ≤ 1.3× the floor — {} and {:.2}×: {}.\n",
                fmt_ns(ns),
                ns / f,
                if met { "met" } else { "missed" }
            ));
        }
    }
    out.push_str(&format!(
        "\n| load | time |\n|---|---|\n| first compile of all tools (empty cache) | {} |\n| cold load of all tools from the cache | {} |\n",
        fmt_ns(first_compile.as_nanos() as f64),
        fmt_ns(cold_load.as_nanos() as f64)
    ));
    medians.write_section("sandbox", &out);
}
