//! The `file` tool: read, write, delete, list and stat files — only inside
//! the trees the role's `[roles.R.fs]` policy grants, through the `fs` host
//! capability (the tool has no other way to reach the file system).
//!
//! Kept from the predecessor (reference §1.2): the tool name, the `read`,
//! `write` and `delete` actions with their `path` and `content` keys, the
//! `"ok"` answers, the `{path, size}` and `{path, bytes_written}` metadata
//! and the `file_error` code with "Cannot read <path>: <detail>".
//!
//! Improved: binary files come back as base64 (flagged by `encoding`)
//! instead of breaking the JSON; `write` takes base64 for binary content
//! and can append or refuse to overwrite; non-string `content` is an
//! `invalid_args` error instead of a crash; `list` and `stat` are new; and
//! a path the policy does not grant answers `denied` naming the policy key
//! to add.
//!
//! Error codes: `invalid_args` (a bad argument; `field` names it),
//! `denied` (the policy does not grant the path; `suggestion` says what
//! would), `file_error` (the file does not exist or the OS refused),
//! `too_large` (the file exceeds `max_bytes` or the role's output cap),
//! `unknown_command` (no such action).

#![deny(missing_docs)]

mod actions;
mod format;
mod spec;

use llmagent_guest::{Args, Output, Spec, Tool, ToolError};

/// The file tool.
pub struct File;

impl Tool for File {
    fn spec() -> Spec {
        spec::spec()
    }

    fn invoke(action: &str, args: Args) -> Result<Output, ToolError> {
        match action {
            "read" => actions::read(&args),
            "write" => actions::write(&args),
            "delete" => actions::delete(&args),
            "list" => actions::list(&args),
            "stat" => actions::stat(&args),
            other => Err(ToolError::unknown_action_of(&spec::spec(), other)),
        }
    }
}

llmagent_guest::export_tool!(File);
