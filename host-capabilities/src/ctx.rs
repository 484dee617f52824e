//! Per-call capability state and linking.

use std::sync::Arc;

use wasmtime::component::{HasSelf, Linker};

use crate::bindings;
use crate::exec::ExecPolicy;
use crate::fs::FsPolicy;
use crate::proc::ProcPolicy;
use crate::sink::Sink;
use crate::systemd::SystemdPolicy;

/// Default cap on one answer: 1 MiB keeps a tool's output well inside a
/// model's context and a tool instance's memory.
pub const DEFAULT_MAX_OUTPUT_BYTES: u64 = 1 << 20;

/// Everything a role is granted, compiled. Built once per role by the
/// policy crate and shared by every call under that role.
#[derive(Debug, Clone)]
pub struct Grants {
    /// The role's name, used in denial hints (`[roles.<role>.fs].read`).
    pub role: String,
    /// `[roles.<role>.fs]`.
    pub fs: FsPolicy,
    /// `[roles.<role>.exec]`.
    pub exec: ExecPolicy,
    /// `[roles.<role>.proc]`.
    pub proc: ProcPolicy,
    /// `[roles.<role>.systemd]`.
    pub systemd: SystemdPolicy,
    /// The role's `max_output_bytes`: no capability hands a tool more than
    /// this in one answer (a file read, an exec stream).
    pub max_output_bytes: u64,
}

impl Grants {
    /// A role granted nothing.
    pub fn none(role: &str) -> Self {
        Self {
            role: role.to_owned(),
            fs: FsPolicy::deny_all(role),
            exec: ExecPolicy::deny_all(role),
            proc: ProcPolicy::deny_all(role),
            systemd: SystemdPolicy::deny_all(role),
            max_output_bytes: DEFAULT_MAX_OUTPUT_BYTES,
        }
    }
}

/// The capability state of one tool call: the role's grants and the sink
/// that records decisions. Lives in the call's `Store`.
pub struct Capabilities {
    pub(crate) grants: Arc<Grants>,
    pub(crate) sink: Arc<dyn Sink>,
}

impl Capabilities {
    /// State for one call under `grants`, reporting to `sink`.
    pub fn new(grants: Arc<Grants>, sink: Arc<dyn Sink>) -> Self {
        Self { grants, sink }
    }

    /// The grants in force.
    pub fn grants(&self) -> &Grants {
        &self.grants
    }
}

/// Adds every `llmagent:tools` capability interface to `linker`. WASI and
/// `wasi:http` are linked by the runtime through wasmtime's crates (see
/// [`crate::http`] for the filtered outgoing handler).
pub fn add_to_linker<T: 'static>(
    linker: &mut Linker<T>,
    get: fn(&mut T) -> &mut Capabilities,
) -> wasmtime::Result<()> {
    bindings::types::add_to_linker::<T, HasSelf<Capabilities>>(linker, get)?;
    bindings::exec::add_to_linker::<T, HasSelf<Capabilities>>(linker, get)?;
    bindings::fs::add_to_linker::<T, HasSelf<Capabilities>>(linker, get)?;
    bindings::proc::add_to_linker::<T, HasSelf<Capabilities>>(linker, get)?;
    bindings::net::add_to_linker::<T, HasSelf<Capabilities>>(linker, get)?;
    bindings::systemd::add_to_linker::<T, HasSelf<Capabilities>>(linker, get)?;
    bindings::dbus::add_to_linker::<T, HasSelf<Capabilities>>(linker, get)?;
    bindings::udev::add_to_linker::<T, HasSelf<Capabilities>>(linker, get)?;
    bindings::inotify::add_to_linker::<T, HasSelf<Capabilities>>(linker, get)?;
    Ok(())
}

impl bindings::types::Host for Capabilities {}

/// The answer of a capability this version does not implement yet.
pub(crate) fn unsupported<T>(capability: &str) -> wasmtime::Result<Result<T, bindings::CapError>> {
    Ok(Err(bindings::CapError::Unsupported(format!(
        "the {capability} capability is not available in this version of llmagent"
    ))))
}
