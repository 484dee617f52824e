//! Host side of every llmagent capability interface in `wit/`.
//!
//! One module per WIT interface, each owning its policy section: the raw
//! TOML shape (`*Toml`), its compiled form, a pure `decide`, and the host
//! functions a tool calls. This crate holds the one host-side `bindgen!` of
//! `wit/`, so linking comes from here too ([`add_to_linker`]).
//!
//! Every host function answers `wasmtime::Result<Result<T, CapError>>`: the
//! inner error goes back to the tool (denied, not found …); the outer one is
//! a trap and means a host bug. A capability a role does not grant answers
//! `denied`; one this version does not implement answers `unsupported`.
//! Neither ever traps.
//!
//! Decisions are reported through a [`Sink`] that the runtime implements
//! with its event store; this crate depends on nothing in `runtime/`.

mod bindings;
mod capability;
mod ctx;
mod decision;
mod error;
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing;
mod sink;

pub mod dbus;
pub mod exec;
pub mod fs;
pub mod http;
pub mod inotify;
pub mod machine;
pub mod net;
pub mod proc;
pub mod resolver;
pub mod systemd;
pub mod udev;

pub use bindings::{
    ActionSpec, CapError, Denial, ToolError, ToolOutput, ToolSpec, ToolWorld, ToolWorldPre,
};
pub use capability::{Capability, PLANNED, RoleScope};
pub use ctx::{CAPABILITIES, Capabilities, Grants, add_to_linker};
pub use decision::{Decision, Ruling, Subject, Verdict};
pub use error::CompileError;
pub use sink::{NullSink, Sink, Unrecorded};

/// Runs `work`, which may hold its thread for long (a child process, a bus
/// call, a ping's waits), without holding up an async runtime: a tool call
/// on a multi-threaded tokio runtime's worker (a fiber of the caller's
/// task) first hands the worker's other tasks to another thread
/// (`block_in_place`). Anywhere else — a thread of its own, the blocking
/// pool, a current-thread runtime's blocking call — `work` just runs.
pub fn blocking<R>(work: impl FnOnce() -> R) -> R {
    match tokio::runtime::Handle::try_current() {
        Ok(h) if h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
            tokio::task::block_in_place(work)
        }
        _ => work(),
    }
}

/// `zbus::block_on` through [`blocking`]: the bus's own executor holds the
/// thread until the answer or the budget's end.
pub(crate) fn block_on_bus<F: Future>(work: F) -> F::Output {
    blocking(|| zbus::block_on(work))
}

/// The WIT package every component must be built against, and its version.
pub const WIT_PACKAGE: &str = "llmagent:tools";
/// Version of `wit/` this host implements. A component built for another
/// major version (or another minor version while the major is 0) is refused
/// with a message naming both versions.
pub const WIT_VERSION: &str = "0.1.0";
