//! What the benchmarks of this crate share: criterion medians, the machine
//! line, and writing one section of `bench/RESULTS.md`.

#![allow(dead_code)] // each benchmark uses a subset

use std::path::PathBuf;
use std::time::SystemTime;

/// The workspace root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Where criterion keeps its estimates: the workspace's target directory
/// (or `$CARGO_TARGET_DIR`), wherever the benchmark binary was started
/// from. Give it to `Criterion::output_directory`, so that a binary run
/// from a package directory writes where [`Medians`] reads.
pub fn criterion_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map_or_else(|| root().join("target"), PathBuf::from)
        .join("criterion")
}

/// Criterion's median estimates of the benchmarks a results table needs,
/// taken only from estimates written since this was made (at the start of
/// the run): an estimate left by an earlier run — a filtered run measures
/// only some — is not this run's number. It remembers which were missing,
/// so that a partial run leaves the results file as it was.
pub struct Medians {
    since: SystemTime,
    missing: Vec<String>,
}

impl Medians {
    /// Make it before measuring.
    pub fn new() -> Self {
        Self {
            since: SystemTime::now(),
            missing: Vec::new(),
        }
    }

    /// The median of benchmark `name` in nanoseconds, if this run measured
    /// it.
    pub fn get(&mut self, name: &str) -> Option<f64> {
        let m = self.read(name);
        if m.is_none() && !self.missing.iter().any(|n| n == name) {
            self.missing.push(name.to_owned());
        }
        m
    }

    fn read(&self, name: &str) -> Option<f64> {
        let path = criterion_dir().join(name).join("new/estimates.json");
        if std::fs::metadata(&path).ok()?.modified().ok()? < self.since {
            return None;
        }
        let text = std::fs::read_to_string(path).ok()?;
        let v: serde_json::Value = serde_json::from_str(&text).ok()?;
        v["median"]["point_estimate"].as_f64()
    }

    /// [`write_section`] if every median asked for was measured by this
    /// run; otherwise says which were not and writes nothing.
    pub fn write_section(self, name: &str, body: &str) {
        if self.missing.is_empty() {
            write_section(name, body);
        } else {
            eprintln!(
                "bench/RESULTS.md's {name} section left as it was: this run did not measure {} (run the whole benchmark, without a filter)",
                self.missing.join(", ")
            );
        }
    }
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

/// CPU model, cores, memory and kernel of this machine, and its load.
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
    // Called when a section is written: the load the run left behind.
    let load = std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|l| l.split_whitespace().next().map(str::to_owned))
        .unwrap_or_else(|| "unknown".into());
    format!(
        "{cpu}, {cores} cores, {} GiB, Linux {}; 1-min load average {load} at the end of the run",
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
