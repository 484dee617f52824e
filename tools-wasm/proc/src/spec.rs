//! What the proc tool tells the model about itself.

use llmagent_guest::{Action, Spec};
use serde_json::json;

/// The tool's self-description.
pub fn spec() -> Spec {
    Spec::new(
        "proc",
        "Accesses process lists and details via /proc, as far as the role's policy allows.",
        env!("CARGO_PKG_VERSION"),
    )
    .action(Action::new(
        "list",
        "List processes in pid order. Output: an array of {pid, ppid, user, name, cmd (full command line), \
         state (R, S, D, Z …), cpu (percent of one core since the process started), mem (percent of \
         total memory), rss_bytes}; metadata {count}. At most 10000 processes.",
    ))
    .action(
        Action::new(
            "info",
            "Details of one process: /proc/PID/status as lower-cased key → value (name, state, pid, ppid, \
             uid, vmrss …) plus cmdline (argument list), cwd and exe (null when unreadable); metadata \
             {pid, path}. A missing process answers not_found.",
        )
        .required(
            "pid",
            || json!({"type": ["integer", "string"], "minimum": 1}),
            "Process id (an integer, or a string of digits)",
        ),
    )
}
