//! `policy.toml` parse and compile on any UTF-8: an error, never a panic.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    let builtins = llmagent_core::builtin_names();
    let _ = llmagent_policy::Policy::parse(text, Path::new("/nonexistent/policy.toml"), &builtins);
});
