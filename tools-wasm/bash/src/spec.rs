//! What the bash tool tells the model about itself.

use llmagent_guest::{Action, Spec};
use serde_json::json;

/// The tool's self-description.
pub fn spec() -> Spec {
    Spec::new(
        "bash",
        "Runs a bash command on this machine, confined by the role's policy: only when the policy allows bash, \
         with an empty environment (PATH is a fixed safe PATH), no terminal, a timeout, resource limits, and \
         the kernel limiting files to what the role may read or write and forbidding TCP connections. \
         A command that touches anything else fails with \"Permission denied\".",
        env!("CARGO_PKG_VERSION"),
    )
    .action(
        Action::new(
            "exec",
            "Run `bash -c <command>` to completion. On exit status 0 the output is {exit_code, stdout, stderr, \
             truncated} (truncated: a stream was cut at the role's output limit) with metadata {exit_code, \
             duration_ms}. A non-zero status answers `command_failed` whose message ends with \
             `; output: ` and the same JSON object; running out of time answers `timeout` whose message also ends with `; output: ` and the output so \
             far. Background processes are killed when the command ends.",
        )
        .required("command", || json!({"type": "string"}), "The bash command line to run")
        .optional(
            "stdin",
            || json!({"type": "string"}),
            "Text fed to the command's standard input (default: none, stdin is closed)",
        )
        .optional(
            "cwd",
            || json!({"type": "string"}),
            "Absolute working directory (default \"/\"); must be in the role's exec cwd list",
        )
        .optional(
            "timeout_ms",
            || json!({"type": "integer", "minimum": 1}),
            "Give up and kill the command after this many milliseconds (capped by the role's limit)",
        ),
    )
}
