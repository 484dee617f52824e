//! `policy.toml` parse and compile on any UTF-8: an error, never a panic.

use std::path::Path;

/// Runs the target on one input (not UTF-8: nothing to do, as
/// cargo-fuzz's `&str` targets skip it).
pub fn run(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let builtins = llmagent_core::builtin_names();
    let _ = llmagent_policy::Policy::parse(text, Path::new("/nonexistent/policy.toml"), &builtins);
}
