//! The bodies and oracles of the fuzz targets, one module each, for two
//! runners: cargo-fuzz (`fuzz/`, nightly, coverage-guided: `scripts/fuzz.sh`)
//! and the test suite (`fuzz-targets/tests/corpus.rs`, stable, in the workspace's own
//! build), which runs every committed seed in `fuzz/corpus/` and mutations
//! of them through the same code.
//!
//! A target takes any bytes and panics when an oracle fails; a target
//! reading text skips input that is not UTF-8, as cargo-fuzz's `&str`
//! targets do.
// An oracle that fails must panic: that is how both runners see it.
#![allow(clippy::expect_used, clippy::unwrap_used)]

pub mod event;
pub mod fs_path;
pub mod json_reply;
pub mod llm_completion;
pub mod llm_stream;
pub mod mutate;
pub mod policy;
pub mod redact;

/// A target: any bytes in, a panic when an oracle fails.
pub type Target = fn(&[u8]);

/// Every target by its name, which is also its cargo-fuzz binary and its
/// directory under `fuzz/corpus/`.
pub const TARGETS: &[(&str, Target)] = &[
    ("event", event::run),
    ("fs_path", fs_path::run),
    ("json_reply", json_reply::run),
    ("llm_completion", llm_completion::run),
    ("llm_stream", llm_stream::run),
    ("policy", policy::run),
    ("redact", redact::run),
];
