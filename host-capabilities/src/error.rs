//! Errors found while compiling a capability section of the policy.

/// A capability section that cannot be compiled. `key` is the dotted key
/// inside the section (`read[2]`, `allow`); the policy crate adds the file,
/// line and section.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{key}: {message}")]
pub struct CompileError {
    /// The key at fault, relative to the section.
    pub key: String,
    /// What is wrong and how to fix it.
    pub message: String,
}

impl CompileError {
    /// An error about `key`.
    pub fn new(key: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            key: key.into(),
            message: message.into(),
        }
    }
}
