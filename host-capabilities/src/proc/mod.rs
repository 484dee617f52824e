//! The `proc` capability (`wit/proc.wit`) and its policy section
//! `[roles.R.proc]`.
//!
//! ```toml
//! [roles.ops.proc]
//! list = true    # may list every process (default false)
//! info = "own"   # details of: "own" (the runtime's uid), "all", "none" (default)
//! ```
//!
//! Everything is read from `/proc` with the `procfs` crate; nothing runs
//! `ps`. **Listing** answers pid, ppid, user (name from `/etc/passwd`, else
//! the number), `comm`, the full command line (arguments joined by
//! spaces), the state letter, CPU use since start in percent of one core,
//! resident bytes and their share of `MemTotal`, for at most
//! [`MAX_PROCESSES`] processes in pid order; a process that exits while
//! it is read is skipped. **Details** of one pid are `/proc/PID/status` as
//! lower-cased key → trimmed value, plus the arguments, working directory
//! and executable where the runtime may read them (`None` otherwise, e.g.
//! another user's process when not root); a pid that does not exist is
//! `not-found` "Process N not found".
//!
//! **Decisions.** `list` needs `list = true`. `info` needs a scope other
//! than `"none"` (refused before `/proc` is touched, so the role cannot
//! even probe which pids exist); with `"own"` a process whose real uid is
//! not the runtime's is refused too. Every decision goes to the
//! [`Sink`](crate::Sink) as capability `proc`, operation `list` (target
//! empty) or `info` (target the pid).

mod host;
mod policy;
mod read;
#[cfg(test)]
mod tests;
mod users;

pub use policy::{InfoScope, ProcPolicy, ProcToml};
pub use read::MAX_PROCESSES;
