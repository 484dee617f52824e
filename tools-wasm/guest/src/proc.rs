//! The `proc` capability as a tool sees it: the imported host functions and
//! their types, unchanged. Convert errors with [`crate::ToolError::from_cap`].

pub use crate::bindings::llmagent::tools::proc::{Process, ProcessInfo, info, list_processes};
