//! Start-up of the `llmagent` binary as a user runs it: `llmagent tools
//! list --policy examples/policy.toml` with a warm component cache (every
//! built-in tool compiled before), and the first run compiling every
//! built-in tool into an empty cache; and the size of the binary to
//! install (`target/dist/llmagent`, built by `cargo build --profile dist -p
//! llmagent`: stripped, whole-program LTO), or when there is none, of this
//! benchmark's own binary stripped here (no LTO: larger). Writes the
//! `startup` section of `bench/RESULTS.md`.

#![allow(clippy::expect_used, clippy::unwrap_used)] // a benchmark should stop loudly

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

use report::{fmt_ns, write_section};

#[path = "../../core/benches/report/mod.rs"]
mod report;

/// Warm runs measured, after one unmeasured.
const RUNS: usize = 100;
/// First runs (each into a fresh, empty cache).
const COLD_RUNS: usize = 3;
const TARGET_WARM_NS: f64 = 25e6;
/// 40 MB, decimal: the stricter reading of the "≤ 40 MB".
const TARGET_BYTES: u64 = 40_000_000;

fn pct(sorted: &[f64], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// One `tools list` with `cache` as `XDG_CACHE_HOME`: its wall time in ns.
fn tools_list(cache: &Path) -> f64 {
    let policy = report::root().join("examples/policy.toml");
    let started = Instant::now();
    let status = Command::new(env!("CARGO_BIN_EXE_llmagent"))
        .args(["tools", "list", "--policy"])
        .arg(&policy)
        .env("XDG_CACHE_HOME", cache)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .status()
        .expect("run llmagent");
    let ns = started.elapsed().as_nanos() as f64;
    assert!(status.success(), "llmagent tools list failed: {status}");
    ns
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` does not: then
    // run once, without measuring.
    let measuring = std::env::args().any(|a| a == "--bench");
    let dir = tempfile::tempdir().unwrap();
    let warm = dir.path().join("warm");
    tools_list(&warm);
    if !measuring {
        println!("startup: tools list runs (run `cargo bench` to measure)");
        return;
    }
    let mut times: Vec<f64> = (0..RUNS).map(|_| tools_list(&warm)).collect();
    times.sort_by(f64::total_cmp);
    let mut cold: Vec<f64> = (0..COLD_RUNS)
        .map(|i| tools_list(&dir.path().join(format!("cold{i}"))))
        .collect();
    cold.sort_by(f64::total_cmp);

    let dist = report::root().join("target/dist/llmagent");
    let size = if dist.exists() {
        std::fs::metadata(&dist).ok().map(|m| {
            (
                m.len(),
                "the installed binary (`target/dist/llmagent`, profile `dist`)",
            )
        })
    } else {
        let stripped = dir.path().join("llmagent");
        Command::new("strip")
            .arg("-o")
            .arg(&stripped)
            .arg(env!("CARGO_BIN_EXE_llmagent"))
            .status()
            .ok()
            .filter(|s| s.success())
            .and_then(|_| std::fs::metadata(&stripped).ok())
            .map(|m| {
                (
                    m.len(),
                    "no dist build here: this benchmark's binary, stripped (no LTO; `cargo build --profile dist -p llmagent` builds the one to install)",
                )
            })
    };

    let (w50, w99) = (pct(&times, 0.5), pct(&times, 0.99));
    let met = |ok: bool| if ok { "met" } else { "missed" };
    let mut out =
        String::from("## Start-up and size (`cargo bench -p llmagent --bench startup`)\n\n");
    out.push_str(&format!(
        "`llmagent tools list --policy examples/policy.toml` as a process, wall time from spawn to exit. Machine: {}.\n\n",
        report::machine()
    ));
    out.push_str("| measurement | result | target |\n|---|---|---|\n");
    out.push_str(&format!(
        "| `tools list`, warm component cache, p50 of {RUNS} (p99) | {} ({}) | ≤ {} ({}) |\n",
        fmt_ns(w50),
        fmt_ns(w99),
        fmt_ns(TARGET_WARM_NS),
        met(w50 <= TARGET_WARM_NS)
    ));
    out.push_str(&format!(
        "| `tools list`, first run: every built-in tool compiled into an empty cache (median of {COLD_RUNS}) | {} | — |\n",
        fmt_ns(pct(&cold, 0.5))
    ));
    match size {
        Some((bytes, what)) => out.push_str(&format!(
            "| size of {what} | {:.2} MB ({:.1} MiB) | ≤ {} MB ({}) |\n",
            bytes as f64 / 1e6,
            bytes as f64 / f64::from(1 << 20),
            TARGET_BYTES / 1_000_000,
            met(bytes <= TARGET_BYTES)
        )),
        None => out.push_str(
            "| size of the `llmagent` binary | not measured: no dist build and no `strip` (binutils) | ≤ 40 MB |\n",
        ),
    }
    print!("{out}");
    write_section("startup", &out);
}
