//! Loading the policy and the runtime, with errors printed for a human.

use std::path::{Path, PathBuf};

use llmagent_core::{Runtime, RuntimeOptions, builtin_names};
use llmagent_policy::Policy;

use crate::exit;

/// The policy at `path`, or the built-in empty policy (no roles, built-in
/// tools only) when there is none.
pub(crate) fn policy(path: Option<&Path>) -> Result<Policy, u8> {
    let result = match path {
        Some(p) => Policy::load(p, &builtin_names()),
        None => Policy::parse(
            "version = 1\n",
            &PathBuf::from("<no policy>"),
            &builtin_names(),
        ),
    };
    result.map_err(|e| {
        eprintln!("error: {e}");
        exit::POLICY
    })
}

/// A runtime for `policy`.
pub(crate) fn runtime(policy: Policy) -> Result<Runtime, u8> {
    Runtime::new(policy, RuntimeOptions::default()).map_err(|e| {
        eprintln!("error: {e}");
        match e {
            llmagent_core::RuntimeError::Policy(_)
            | llmagent_core::RuntimeError::UnknownAction { .. } => exit::POLICY,
            _ => exit::RUNTIME,
        }
    })
}

/// Prints a JSON value, pretty.
pub(crate) fn print_json(value: &serde_json::Value) {
    match serde_json::to_string_pretty(value) {
        Ok(s) => println!("{s}"),
        Err(e) => eprintln!("error: cannot print JSON: {e}"),
    }
}
