//! Per-call capability state and linking.

use std::sync::Arc;

use wasmtime::component::{HasSelf, Linker};

use crate::bindings;
use crate::capability::{Capability, RoleScope};
use crate::decision::Ruling;
use crate::http::{DenialSlot, HttpHooks};
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
            /// lines), in registry order.
            pub fn summaries(&self) -> Vec<(&'static str, Vec<String>)> {
                vec![$((<$ty as Capability>::NAME, self.$name.summary()),)*]
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
            http_denial: DenialSlot::default(),
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

/// The answer of a capability this version does not implement yet.
pub(crate) fn unsupported<T>(capability: &str) -> wasmtime::Result<Result<T, bindings::CapError>> {
    Ok(Err(bindings::CapError::Unsupported(format!(
        "the {capability} capability is not available in this version of llmagent"
    ))))
}
