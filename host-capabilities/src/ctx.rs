//! Per-call capability state and linking.

use std::sync::Arc;
use std::time::{Duration, Instant};

use wasmtime::component::{HasSelf, Linker};

use crate::bindings;
use crate::capability::{Capability, RoleScope};
use crate::decision::Ruling;
use crate::http::{DenialSlot, HttpHooks};
use crate::inotify::Watches;
use crate::sink::Sink;

/// Default cap on one answer: 1 MiB keeps a tool's output well inside a
/// model's context and a tool instance's memory.
pub const DEFAULT_MAX_OUTPUT_BYTES: u64 = 1 << 20;

/// Generates [`Grants`] and [`CAPABILITIES`] from the registry.
macro_rules! grants {
    ($($name:ident: $ty:ty,)*) => {
        /// Everything a role is granted, compiled: one field per registered
        /// capability. Built once per role by the policy crate and shared
        /// by every call under that role.
        #[derive(Debug, Clone)]
        pub struct Grants {
            /// The role's name, used in denial hints (`[roles.<role>.fs].read`).
            pub role: String,
            $(
                #[doc = concat!("`[roles.<role>.", stringify!($name), "]`.")]
                pub $name: $ty,
            )*
            /// The role's `max_output_bytes`: no capability hands a tool more
            /// than this in one answer (a file read, an exec stream).
            pub max_output_bytes: u64,
        }

        impl Grants {
            /// A role granted nothing.
            pub fn none(role: &str) -> Self {
                let scope = RoleScope { role, timeout_ms: DEFAULT_TIMEOUT_MS };
                Self {
                    role: role.to_owned(),
                    $($name: <$ty as Capability>::deny_all(scope),)*
                    max_output_bytes: DEFAULT_MAX_OUTPUT_BYTES,
                }
            }

            /// Each capability's name and what it grants (its summary
            /// lines), in registry order; `exec` also warns about what its
            /// programs reach through the `fs` grants.
            pub fn summaries(&self) -> Vec<(&'static str, Vec<String>)> {
                let mut groups = vec![$((<$ty as Capability>::NAME, self.$name.summary()),)*];
                let notes = self.exec.landlock_warnings(&self.fs);
                if let Some((_, lines)) = groups.iter_mut().find(|(name, _)| *name == "exec") {
                    lines.extend(notes);
                }
                groups
            }

            /// Each capability's requirements this machine does not meet
            /// (see [`Capability::unmet`]), in registry order.
            pub fn unmet(&self) -> Vec<(&'static str, String)> {
                let mut unmet = Vec::new();
                $(
                    for line in self.$name.unmet() {
                        unmet.push((<$ty as Capability>::NAME, line));
                    }
                )*
                unmet
            }

            /// The ruling of `capability` on a hypothetical request (see
            /// [`Capability::explain`]); `None` when this version has no
            /// such capability.
            pub fn explain(
                &self,
                capability: &str,
                operation: &str,
                args: &[String],
            ) -> Option<Result<Ruling, String>> {
                $(
                    if capability == <$ty as Capability>::NAME {
                        return Some(self.$name.explain(operation, args));
                    }
                )*
                None
            }

            /// The requests `capability` can explain (for usage messages).
            pub fn requests(capability: &str) -> Option<&'static [&'static str]> {
                $(
                    if capability == <$ty as Capability>::NAME {
                        return Some(<$ty as Capability>::requests());
                    }
                )*
                None
            }
        }

        /// The capabilities this version implements, in registry order.
        pub const CAPABILITIES: &[&str] = &[$(<$ty as Capability>::NAME,)*];
    };
}

crate::for_each_capability!(grants);

/// The role timeout a role granted nothing is compiled with (the policy's
/// built-in `timeout_ms`).
const DEFAULT_TIMEOUT_MS: u64 = 10_000;

/// The capability state of one tool call: the role's grants and the sink
/// that records decisions. Lives in the call's `Store`.
pub struct Capabilities {
    pub(crate) grants: Arc<Grants>,
    pub(crate) sink: Arc<dyn Sink>,
    /// When the call must be over; host waits end by then.
    pub(crate) deadline: Option<Instant>,
    /// The runtime's inotify watches and the owner (agent) of this call.
    pub(crate) watches: Option<(Arc<Watches>, String)>,
    /// The denial of the call's last refused HTTP request, shared with its
    /// [`HttpHooks`].
    pub(crate) http_denial: DenialSlot,
}

impl Capabilities {
    /// State for one call under `grants`, reporting to `sink`.
    pub fn new(grants: Arc<Grants>, sink: Arc<dyn Sink>) -> Self {
        Self {
            grants,
            sink,
            deadline: None,
            watches: None,
            http_denial: DenialSlot::default(),
        }
    }

    /// Gives the call the runtime's inotify watches, as `owner` (the
    /// agent making the call): watches outlive the call and only their
    /// owner sees them.
    pub fn with_watches(mut self, watches: Arc<Watches>, owner: impl Into<String>) -> Self {
        self.watches = Some((watches, owner.into()));
        self
    }

    /// Sets when the call must be over: every host operation that can
    /// block (a D-Bus call …) waits at most until then.
    pub fn with_deadline(mut self, deadline: Instant) -> Self {
        self.deadline = Some(deadline);
        self
    }

    /// How long a host operation may wait: what is left of the call (all
    /// of `ceiling_ms` when no deadline is set), at most `ceiling_ms`.
    pub(crate) fn time_left(&self, ceiling_ms: u64) -> Duration {
        let ceiling = Duration::from_millis(ceiling_ms);
        match self.deadline {
            Some(deadline) => deadline
                .saturating_duration_since(Instant::now())
                .min(ceiling),
            None => ceiling,
        }
    }

    /// The `wasi:http` hooks of this call: its outgoing requests decided
    /// by the role's `[roles.R.http]`, refusals reported to the same sink.
    pub fn http_hooks(&self) -> HttpHooks {
        HttpHooks::new(
            self.grants.clone(),
            self.sink.clone(),
            self.http_denial.clone(),
        )
    }

    /// The grants in force.
    pub fn grants(&self) -> &Grants {
        &self.grants
    }
}

/// Adds every `llmagent:tools` capability interface to `linker`. WASI and
/// `wasi:http` are linked by the runtime through wasmtime's crates (see
/// [`crate::http`] for the hooks that filter the outgoing handler).
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
    bindings::http::add_to_linker::<T, HasSelf<Capabilities>>(linker, get)?;
    Ok(())
}

impl bindings::types::Host for Capabilities {}
