//! The `exec` capability as a tool sees it: the imported host function and
//! its types, unchanged. Convert errors with [`crate::ToolError::from_cap`].

pub use crate::bindings::llmagent::tools::exec::{Command, Outcome, run};
