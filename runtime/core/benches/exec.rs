//! The bash tool running `true` through the sandbox (runtime, policy
//! decision, wasm instance, exec capability with Landlock, rlimits and a
//! new session) against spawning `bash -c true` natively, in one run;
//! results go to `bench/RESULTS.md` between `<!-- exec:start -->` and
//! `<!-- exec:end -->`, with the machine noted.

#![allow(clippy::expect_used, clippy::unwrap_used)] // a benchmark should stop loudly

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use criterion::Criterion;
use report::fmt_ns;

#[path = "report/mod.rs"]
mod report;
use host_capabilities::NullSink;
use llmagent_core::{CallRequest, Runtime, RuntimeOptions, builtin_names};
use llmagent_policy::Policy;

fn runtime(dir: &Path) -> Runtime {
    let text =
        "version = 1\n[roles.bench]\ntools = [\"bash\"]\n[roles.bench.exec]\nallow = [\"bash\"]\n";
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

fn main() {
    let dir = tempfile::tempdir().expect("tempdir");
    let rt = runtime(dir.path());
    let bash = host_capabilities::exec::SAFE_PATH
        .split(':')
        .map(|d| Path::new(d).join("bash"))
        .find(|p| p.exists())
        .expect("bash on the safe PATH");
    let medians = report::Medians::new();
    let mut c = Criterion::default()
        .output_directory(&report::criterion_dir())
        .sample_size(30)
        .measurement_time(Duration::from_secs(6))
        .configure_from_args();
    let req = CallRequest::new("bench", "bash", "exec", r#"{"command":"true"}"#);
    c.bench_function("exec_bash_tool_true", |b| {
        b.iter(|| rt.call_blocking(&req).expect("call").result.expect("ok"))
    });
    c.bench_function("exec_native_bash_true", |b| {
        b.iter(|| {
            let s = std::process::Command::new(&bash)
                .args(["-c", "true"])
                .status()
                .expect("spawn");
            assert!(s.success());
        })
    });
    c.final_summary();
    write_results(medians);
}

fn machine() -> String {
    let landlock = host_capabilities::exec::kernel_abi().map_or_else(
        || "no Landlock".to_owned(),
        |abi| format!("Landlock ABI {}", abi as i32),
    );
    format!("{}, {landlock}", report::machine())
}

fn write_results(mut medians: report::Medians) {
    let native = medians.get("exec_native_bash_true");
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
    let mut out = String::from("## Exec\n\n");
    out.push_str(&format!(
        "Measured by `cargo bench -p llmagent-core --bench exec` (criterion, median of each), in one run.\n\nMachine: {}.\n\n",
        machine()
    ));
    out.push_str("| benchmark | what | median | vs native |\n|---|---|---|---|\n");
    out.push_str(&row(
        "exec_bash_tool_true",
        "`bash exec {\"command\":\"true\"}` through `Runtime::call_blocking`: decision, wasm instance, exec capability (Landlock ruleset, rlimits, setsid, fork/exec, pipes)",
    ));
    out.push_str(&row(
        "exec_native_bash_true",
        "`bash -c true` spawned natively and waited for",
    ));
    medians.write_section("exec", &out);
}
