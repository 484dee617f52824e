//! What every test of the `llmagent` binary starts from: the repository
//! root, the component cache the tests share, and the binary with a clean
//! environment. Included by each test file (`mod common;`) and by
//! `serve_support`.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// The repository root (where the README's commands run).
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The component cache shared by the tests, so that each built-in is
/// compiled once per test run.
pub fn cache_home() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("xdg-cache")
}

/// `llmagent ARGS` with the shared cache, no standard input, and none of
/// the variables that would point it at a real model, service or store.
pub fn command(args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_llmagent"));
    cmd.args(args)
        .env("XDG_CACHE_HOME", cache_home())
        .env_remove("OPENAI_API_KEY")
        .env_remove("OPENAI_BASE_URL")
        .env_remove("LLMAGENT_MODEL")
        .env_remove("LLMAGENT_SOCKET")
        .env_remove("LLMAGENT_EVENTS")
        .env_remove("RUST_LOG")
        .stdin(Stdio::null());
    cmd
}

/// [`command`] run to its end in the repository root.
pub fn llmagent(args: &[&str]) -> Output {
    command(args)
        .current_dir(root())
        .output()
        .expect("run llmagent")
}
