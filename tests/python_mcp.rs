//! The tests' Python venv that `scripts/setup.sh` makes: the MCP Python
//! SDK the MCP tests use as a third-party peer (with the scripts in
//! `tests/mcp/`), and schemathesis and Playwright for the `serve` tests.
//! Tests that need one are ignored unless its cfg is set
//! (`llmagent_mcp_python`, `llmagent_schemathesis`, `llmagent_chromium`;
//! see `build/facilities.rs`).

use std::path::PathBuf;

/// The venv: `$LLMAGENT_VENV`, else `~/.cache/llmagent/venv`.
pub fn venv() -> PathBuf {
    match std::env::var_os("LLMAGENT_VENV").filter(|v| !v.is_empty()) {
        Some(v) => PathBuf::from(v),
        None => {
            PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(".cache/llmagent/venv")
        }
    }
}

/// The venv's Python interpreter.
pub fn python() -> PathBuf {
    venv().join("bin/python")
}

/// A script of `tests/mcp/`.
pub fn script(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("mcp")
        .join(name)
}

/// What a confined server run by [`python`] must be able to read, for a
/// role's `[roles.R.fs].read`: the venv, the interpreter's own prefix
/// (`sys.base_prefix`, where its standard library is) and `tests/mcp/`.
///
/// # Errors
/// When the interpreter cannot be asked for its prefix.
pub fn readable() -> std::io::Result<Vec<String>> {
    let out = std::process::Command::new(python())
        .args(["-c", "import sys; print(sys.base_prefix)"])
        .output()?;
    let base = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    let canonical = |p: PathBuf| std::fs::canonicalize(&p).unwrap_or(p);
    Ok(vec![
        format!("{}/**", canonical(venv()).display()),
        format!("{}/**", canonical(PathBuf::from(base)).display()),
        format!("{}/**", canonical(script("")).display()),
    ])
}
