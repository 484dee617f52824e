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
pub use sink::{NullSink, Sink};

/// The WIT package every component must be built against, and its version.
pub const WIT_PACKAGE: &str = "llmagent:tools";
/// Version of `wit/` this host implements. A component built for another
/// major version (or another minor version while the major is 0) is refused
/// with a message naming both versions.
pub const WIT_VERSION: &str = "0.1.0";
