//! The `proc` tool: `list {}` and `info {pid}` through the `proc` host
//! capability, which reads `/proc` (no `ps`) as the role's
//! `[roles.R.proc]` section allows.
//!
//! Kept from the predecessor (reference §1.5): the tool name, the `list`
//! and `info` actions, the `pid`, `cmd` and `cpu` keys of a listing line,
//! `metadata {count}`, the status map of `info` (lower-cased keys, trimmed
//! values) with `metadata {pid, path}`, and `not_found` on field `pid`
//! with "Process N not found".
//!
//! Improved: `cmd` is the full command line (the predecessor split `ps`
//! output on whitespace and lost names with spaces), each line also has
//! `ppid`, `user`, `name`, `state` and `rss_bytes`; `mem` is still the
//! share of memory in percent (now of `MemTotal`, from `rss_bytes`). `info`
//! adds `cmdline` (the argument list), `cwd` and `exe` (null when
//! unreadable) and accepts the pid as a numeric string. A role without the
//! grant gets `denied` naming the `[roles.<role>.proc]` key.
//!
//! Error codes: `invalid_args`, `not_found`, `denied`, `file_error`,
//! `unsupported` (no `/proc`), `unknown_command`.

#![deny(missing_docs)]

mod answer;
mod spec;

use llmagent_guest::proc;
use llmagent_guest::{Args, Output, Spec, Tool, ToolError};

/// The proc tool.
pub struct ProcTool;

impl Tool for ProcTool {
    fn spec() -> Spec {
        spec::spec()
    }

    fn invoke(action: &str, args: Args) -> Result<Output, ToolError> {
        match action {
            "list" => proc::list_processes()
                .map(|l| answer::list(&l))
                .map_err(answer::list_error),
            "info" => {
                let pid = args.u64_lenient("pid")?;
                let pid = u32::try_from(pid).map_err(|_| {
                    ToolError::invalid_args("pid", format!("pid {pid} is out of range"))
                })?;
                proc::info(pid)
                    .map(|i| answer::info(&i))
                    .map_err(|e| ToolError::from_cap(e, "pid", "file_error"))
            }
            other => Err(ToolError::unknown_action_of(&spec::spec(), other)),
        }
    }
}

llmagent_guest::export_tool!(ProcTool);
