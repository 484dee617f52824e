//! What the benchmarks of this crate share: criterion medians, the machine
//! line, and writing one section of `bench/RESULTS.md`.

#![allow(dead_code)] // each benchmark uses a subset

use std::path::PathBuf;

/// The workspace root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Criterion's median estimate for benchmark `name`, in nanoseconds.
pub fn median_ns(name: &str) -> Option<f64> {
    let path = root()
        .join("target/criterion")
        .join(name)
        .join("new/estimates.json");
    let v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(path).ok()?).ok()?;
    v["median"]["point_estimate"].as_f64()
}

/// A duration in ns, µs or ms.
pub fn fmt_ns(ns: f64) -> String {
    if ns >= 1e6 {
        format!("{:.2} ms", ns / 1e6)
    } else if ns >= 1e3 {
        format!("{:.2} µs", ns / 1e3)
    } else {
        format!("{ns:.0} ns")
    }
}

/// CPU model, cores, memory and kernel of this machine.
pub fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(0);
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    let mem_kib = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .next()
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
        })
        .unwrap_or(0);
    format!(
        "{cpu}, {cores} cores, {} GiB, Linux {}",
        mem_kib >> 20,
        kernel.trim()
    )
}

/// Replaces this benchmark's section of the shared results file (between
/// `<!-- NAME:start -->` and `<!-- NAME:end -->`), leaving other sections,
/// and says where it wrote.
pub fn write_section(name: &str, body: &str) {
    let path = root().join("bench/RESULTS.md");
    let start = format!("<!-- {name}:start -->");
    let end = format!("<!-- {name}:end -->");
    let old = std::fs::read_to_string(&path).unwrap_or_else(|_| "# Benchmark results\n\n".into());
    let block = format!("{start}\n{body}{end}");
    let new = match (old.find(&start), old.find(&end)) {
        (Some(a), Some(b)) if a < b => format!("{}{block}{}", &old[..a], &old[b + end.len()..]),
        _ => format!("{}\n{block}\n", old.trim_end()),
    };
    match std::fs::write(&path, new) {
        Ok(()) => println!("wrote {}", path.display()),
        Err(e) => eprintln!("cannot write {}: {e}", path.display()),
    }
}
