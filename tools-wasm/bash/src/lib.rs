//! The `bash` tool: `exec {command}` runs `bash -c <command>` through the
//! `exec` host capability, so it runs only when the role's
//! `[roles.R.exec].allow` lists bash, with a cleared environment, resource
//! limits, a timeout that kills the whole process group, and the kernel
//! (Landlock) confining it to the role's `fs` grants.
//!
//! Kept from the predecessor (reference §1.1): the tool name, the `exec`
//! action and its `command` key, the `command_failed` code with "Bash
//! exited with status N" and its suggestion, and `execution_error` when
//! bash cannot be started.
//!
//! Improved: the answer is `{exit_code, stdout, stderr, truncated}` for
//! every exit status; a non-zero exit is still `command_failed`, but its
//! message carries that same object after `; output: ` (a tool error has
//! only reason, message, field and suggestion), so the model sees why the
//! command failed. A timeout is `timeout` (with the output so far), a
//! program the role does not allow is `denied` naming
//! `[roles.<role>.exec].allow`, and `stdin`, `cwd` and `timeout_ms` are new.
//!
//! Error codes: `invalid_args`, `command_failed`, `timeout`, `denied`,
//! `execution_error`, `unsupported` (no Landlock and the policy requires
//! it), `unknown_command`.

#![deny(missing_docs)]

mod answer;
mod spec;

use llmagent_guest::exec::{self, Command};
use llmagent_guest::{Args, Output, Spec, Tool, ToolError};

/// The bash tool.
pub struct Bash;

impl Tool for Bash {
    fn spec() -> Spec {
        spec::spec()
    }

    fn invoke(action: &str, args: Args) -> Result<Output, ToolError> {
        match action {
            "exec" => run(&args),
            other => Err(ToolError::unknown_action_of(&spec::spec(), other)),
        }
    }
}

/// `exec {command, stdin?, cwd?, timeout_ms?}`.
fn run(args: &Args) -> Result<Output, ToolError> {
    let command = args.str("command")?;
    let timeout_ms = match args.opt_u64("timeout_ms")? {
        Some(0) => {
            return Err(ToolError::invalid_args(
                "timeout_ms",
                "timeout_ms must be at least 1",
            ));
        }
        Some(t) => Some(u32::try_from(t).unwrap_or(u32::MAX)),
        None => None,
    };
    let cmd = Command {
        program: "bash".into(),
        args: vec!["-c".into(), command.into()],
        stdin: args.opt_str("stdin")?.map(|s| s.as_bytes().to_vec()),
        cwd: args.opt_str("cwd")?.map(str::to_owned),
        env: Vec::new(),
        timeout_ms,
    };
    match exec::run(&cmd) {
        Ok(outcome) => answer::answer(&answer::Ran::from(outcome), timeout_ms),
        Err(e) => Err(answer::cap_error(e)),
    }
}

llmagent_guest::export_tool!(Bash);
