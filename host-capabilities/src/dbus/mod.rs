//! The `dbus` capability (`wit/dbus.wit`) and its policy section
//! `[roles.R.dbus]`.
//!
//! ```toml
//! [roles.ops.dbus]
//! bus = "system"          # or "session", or a D-Bus address
//! list = true             # may list the names on the bus
//! introspect = [{ destination = "org.example.*", path = "/org/example/**" }]
//! call = [{ destination = "org.example.Calc", path = "/org/example/Calc",
//!           interface = "org.example.Calc", member = "Add" }]
//! get = [{ destination = "org.example.Calc", interface = "org.example.Calc" }]
//! set = [{ destination = "org.example.Calc", member = "Precision" }]
//! ```
//!
//! The bus is reached with zbus, never by running `busctl`. **Rules** are
//! globs over the destination (required), the object path (`*` within one
//! element, `**` across), the interface and the member (a method for
//! `call`, a property for `get` and `set`); an absent part matches
//! anything. Each operation has its own list and nothing is granted by
//! default. `org.freedesktop.systemd1` and the bus driver
//! `org.freedesktop.DBus` are reached only by a rule naming them exactly
//! ([`EXPLICIT_ONLY`]): the systemd capability exists for the former. A
//! unique connection name (`:1.42`) is matched only by rules written for
//! unique names, and never when it owns one of those names.
//!
//! **Decisions.** Names are checked against the D-Bus grammar first
//! (`invalid-argument`); then the operation's rules decide, and every
//! decision goes to the [`Sink`](crate::Sink) as capability `dbus`,
//! operation `list`/`introspect`/`call`/`get`/`set`, target `destination
//! path interface.member`. A denial names the rule to add and the key
//! (`add {destination = …} to [roles.ops.dbus].call`).
//!
//! **Values.** Arguments and replies cross as JSON, converted by the
//! D-Bus signature (see [`value`]); without a signature the host takes
//! the method's (or the property's) from introspection. Every request
//! waits at most for what is left of the call's deadline, within the
//! role's `timeout_ms`. An unreachable bus is `unsupported`.

mod bus;
mod host;
mod policy;
#[cfg(test)]
pub(crate) mod tests;
mod value;

pub use policy::{Bus, DbusPolicy, DbusToml, EXPLICIT_ONLY, Operation, Request, RuleToml};
