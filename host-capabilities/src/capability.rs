//! [`Capability`]: the one shape every capability's policy section takes,
//! and the registry of the capabilities this version implements.
//!
//! A capability is declared once, by its module: the type implementing
//! [`Capability`] owns its `[roles.R.<NAME>]` TOML section, its compiled
//! grants, its decisions, its summary for `llmagent policy check` and its
//! answers to `llmagent policy explain` and `[[tests]]`. The policy crate
//! and the CLI iterate over the registry ([`for_each_capability!`]); they
//! name no capability themselves.
//!
//! # Adding a capability
//!
//! 1. `wit/<name>.wit`: the interface (and its import in `wit/world.wit`).
//! 2. `host-capabilities/src/<name>/`: the policy type implementing
//!    [`Capability`] and the host functions (`impl bindings::<name>::Host
//!    for Capabilities`), reporting every ruling through
//!    `sink::enforce`.
//! 3. `tools-wasm/guest/src/<name>.rs`: the guest's re-export.
//! 4. `tests/e2e/<name>.rs`: end-to-end tests, including the abuse cases.
//! 5. One line in [`for_each_capability!`] below (and its `add_to_linker`
//!    in `ctx.rs`).

use serde::de::DeserializeOwned;

use crate::decision::Ruling;
use crate::error::CompileError;

/// What a capability section is compiled against: the role it belongs to
/// and the role's limits that capabilities build on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RoleScope<'a> {
    /// The role's name, for denial hints (`[roles.<role>.fs].read`).
    pub role: &'a str,
    /// The role's `timeout_ms`: the default and ceiling of any wait.
    pub timeout_ms: u64,
}

/// A capability's policy section: raw TOML → compiled grants → rulings.
pub trait Capability: Sized + Clone + std::fmt::Debug + Send + Sync + 'static {
    /// The capability's name: its WIT interface (`wit/<NAME>.wit`), its
    /// section (`[roles.R.<NAME>]`) and the `capability` of its decisions.
    const NAME: &'static str;

    /// The raw section as written; unknown keys are refused.
    type Toml: DeserializeOwned;

    /// The grants of a role that has no such section: nothing.
    fn deny_all(scope: RoleScope<'_>) -> Self;

    /// Compiles the section. An error names the key inside the section
    /// (`read[2]`, `args."/usr/bin/x".deny[1]`) and says how to fix it;
    /// the policy crate adds the file, line and section.
    fn compile(scope: RoleScope<'_>, raw: &Self::Toml) -> Result<Self, CompileError>;

    /// What the section grants, one line each, for `llmagent policy
    /// check`; empty when it grants nothing.
    fn summary(&self) -> Vec<String>;

    /// The operations [`Capability::explain`] takes, with their arguments,
    /// for usage messages (`["read PATH", "write PATH"]`).
    fn requests() -> &'static [&'static str];

    /// The ruling on a hypothetical request, `operation` and its
    /// arguments as a user writes them (`read /etc/shadow`, `run
    /// /usr/bin/df -h`), after the same I/O the host does before deciding
    /// (canonical paths, program lookup, a process's owner). `Err` says
    /// what is wrong with the request itself.
    fn explain(&self, operation: &str, args: &[String]) -> Result<Ruling, String>;

    /// What the section requires of this machine that it lacks, one line
    /// each (for `llmagent doctor`); empty when every requirement is met.
    fn unmet(&self) -> Vec<String> {
        Vec::new()
    }
}

/// Calls `$callback!` with the registry: every capability this version
/// implements, as `name: Type,` lines, in the order `policy check` shows
/// them. This is the one place a capability is registered.
#[macro_export]
macro_rules! for_each_capability {
    ($callback:ident) => {
        $callback! {
            fs: $crate::fs::FsPolicy,
            exec: $crate::exec::ExecPolicy,
            proc: $crate::proc::ProcPolicy,
            systemd: $crate::systemd::SystemdPolicy,
            dbus: $crate::dbus::DbusPolicy,
            inotify: $crate::inotify::InotifyPolicy,
            udev: $crate::udev::UdevPolicy,
            http: $crate::http::HttpPolicy,
            net: $crate::net::NetPolicy,
        }
    };
}

/// Capabilities in the contract (`wit/`) that this version does not
/// implement yet: their host functions answer `unsupported`, and a policy
/// that grants one is refused so that nobody believes the grant is in force.
pub const PLANNED: &[&str] = &[];

/// The usage line of a request `explain` could not take.
pub(crate) fn usage<C: Capability>(operation: &str) -> String {
    format!(
        "\"{operation}\" is not a {} request; write one of: {}",
        C::NAME,
        C::requests().join(", ")
    )
}
