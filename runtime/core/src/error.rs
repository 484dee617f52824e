//! Errors of the runtime itself (as opposed to a tool's answer).

use std::path::PathBuf;

/// Why the runtime could not start, or could not serve a request at all.
/// A tool that fails answers a [`crate::ToolFailure`] instead.
///
/// Every variant has a stable code ([`RuntimeError::code`]); the `Display`
/// text is for people and may change.
#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    /// wasmtime could not be configured.
    #[error("cannot set up the WebAssembly engine: {0}")]
    Engine(String),
    /// A tool component could not be read, compiled, linked or described.
    #[error("tool `{tool}` ({source_desc}): {message}")]
    Tool {
        /// The tool's name.
        tool: String,
        /// Where it came from (`built-in`, a path).
        source_desc: String,
        /// What went wrong and what to do.
        message: String,
    },
    /// A tool file's SHA-256 does not match the policy's pin.
    #[error(
        "tool `{tool}` ({path}): sha256 is {actual} but the policy pins {expected}; rebuild the tool or update [tools.{tool}].sha256"
    )]
    HashMismatch {
        /// The tool's name.
        tool: String,
        /// Its file.
        path: PathBuf,
        /// The pinned digest.
        expected: String,
        /// The file's digest.
        actual: String,
    },
    /// The policy grants an action a tool does not have.
    #[error(
        "role `{role}` grants `{grant}`, but the {tool} tool has no action `{action}` (its actions: {actions})"
    )]
    UnknownAction {
        /// The role.
        role: String,
        /// The grant as written.
        grant: String,
        /// The tool.
        tool: String,
        /// The missing action.
        action: String,
        /// The actions it has.
        actions: String,
    },
    /// The role asked for does not exist.
    #[error(transparent)]
    Policy(#[from] llmagent_policy::PolicyError),
    /// No such tool.
    #[error("no tool named `{0}`; `llmagent tools list` shows the tools")]
    UnknownTool(String),
}

impl RuntimeError {
    /// The stable code of this error: `runtime.engine`, `runtime.tool`,
    /// `runtime.hash_mismatch`, `runtime.unknown_action`,
    /// `runtime.unknown_tool`, or the policy's own code (`policy.…`, see
    /// [`llmagent_policy::PolicyError::code`]).
    pub fn code(&self) -> &'static str {
        match self {
            Self::Engine(_) => "runtime.engine",
            Self::Tool { .. } => "runtime.tool",
            Self::HashMismatch { .. } => "runtime.hash_mismatch",
            Self::UnknownAction { .. } => "runtime.unknown_action",
            Self::Policy(e) => e.code(),
            Self::UnknownTool(_) => "runtime.unknown_tool",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_stable() {
        let codes: Vec<&str> = [
            RuntimeError::Engine("x".into()),
            RuntimeError::Tool {
                tool: "t".into(),
                source_desc: "built-in".into(),
                message: "m".into(),
            },
            RuntimeError::HashMismatch {
                tool: "t".into(),
                path: PathBuf::from("/t.wasm"),
                expected: "a".into(),
                actual: "b".into(),
            },
            RuntimeError::UnknownAction {
                role: "r".into(),
                grant: "t.x".into(),
                tool: "t".into(),
                action: "x".into(),
                actions: "y".into(),
            },
            RuntimeError::UnknownTool("t".into()),
        ]
        .iter()
        .map(RuntimeError::code)
        .collect();
        assert_eq!(
            codes,
            [
                "runtime.engine",
                "runtime.tool",
                "runtime.hash_mismatch",
                "runtime.unknown_action",
                "runtime.unknown_tool"
            ]
        );
    }
}
