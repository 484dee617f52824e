//! The `systemd` capability (`wit/systemd.wit`) and its policy section
//! `[roles.R.systemd]`.
//!
//! ```toml
//! [roles.ops.systemd]
//! units = ["nginx.service", "*.timer"]   # globs over unit names (none by default)
//! actions = ["list", "status", "restart"] # default ["list", "status"]
//! bus = "system"                          # or a D-Bus address, e.g. "unix:path=/run/x"
//! ```
//!
//! systemd is reached over D-Bus (`org.freedesktop.systemd1`) with zbus,
//! never by running `systemctl`. **Listing** calls `ListUnits`, keeps the
//! units of the asked type whose sub or active state is the asked state,
//! and of those only the ones the role's `units` globs cover. **Status**
//! finds the unit with `GetUnit` (or `LoadUnit`, so an unknown unit answers
//! with `LoadState` `not-found` as `systemctl show` does) and reads
//! `Properties.GetAll` of `org.freedesktop.systemd1.Unit` and, for a
//! service, `…Service`, rendered as text. **Jobs** (`StartUnit`,
//! `StopUnit`, `RestartUnit`, mode `replace`) subscribe to `JobRemoved`
//! first, then wait up to the call's timeout for their job's result
//! (`done`, `failed`, …); past it the answer is `timeout`.
//!
//! **Decisions.** A unit name must follow systemd's grammar (no leading
//! `-`, a known type, ≤ 255 bytes) or the call is `invalid-argument`
//! before anything else. An action outside `actions` or a unit outside
//! `units` is `denied` naming the key to change. Every decision goes to
//! the [`Sink`](crate::Sink) as capability `systemd`, operation the action,
//! target the unit. No bus, or no systemd on it, is `unsupported`
//! ("systemd is not reachable on the system bus: …").

mod bus;
mod host;
pub mod name;
mod policy;
#[cfg(test)]
mod tests;

pub use policy::{Action, Bus, SystemdPolicy, SystemdToml};
