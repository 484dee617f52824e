//! The `stub` action: calls one function of a capability that is in the
//! contract (`wit/`) but not built yet (`dbus`, `udev`, `inotify`),
//! with fixed harmless arguments, and answers what the host said. A cap
//! error comes back as the tool error [`ToolError::from_cap`] makes of it
//! (field `function`), so a test sees the variant and the host's message;
//! a success (a stub that grew an implementation) comes back as the value's
//! debug text, which the tests will notice.

use llmagent_guest::bindings::llmagent::tools::types::CapError;
use llmagent_guest::bindings::llmagent::tools::{dbus, inotify, udev};
use llmagent_guest::{Output, ToolError};

/// Capabilities the action can call, each with its functions (WIT names);
/// the `capability` enum in the spec lists the same three.
pub const FUNCTIONS: &[(&str, &[&str])] = &[
    ("dbus", &["list-names", "introspect", "call"]),
    ("udev", &["list-devices", "info"]),
    ("inotify", &["watch", "poll", "stop", "list-watches"]),
];

/// Calls `capability`'s `function`.
pub fn call(capability: &str, function: &str) -> Result<Output, ToolError> {
    match (capability, function) {
        ("dbus", "list-names") => answer(dbus::list_names(dbus::Bus::System)),
        ("dbus", "introspect") => answer(dbus::introspect(
            dbus::Bus::System,
            "org.freedesktop.DBus",
            "/org/freedesktop/DBus",
        )),
        ("dbus", "call") => answer(dbus::call(
            dbus::Bus::Session,
            "org.freedesktop.DBus",
            "/org/freedesktop/DBus",
            "org.freedesktop.DBus",
            "ListNames",
            "",
            "[]",
        )),
        ("udev", "list-devices") => answer(udev::list_devices(None)),
        ("udev", "info") => answer(udev::info("/dev/null")),
        ("inotify", "watch") => answer(inotify::watch("/tmp", &[], false)),
        ("inotify", "poll") => answer(inotify::poll(1, 10)),
        ("inotify", "stop") => answer(inotify::stop(1)),
        ("inotify", "list-watches") => answer(inotify::list_watches()),
        _ => Err(unknown(capability, function)),
    }
}

fn answer<T: std::fmt::Debug>(result: Result<T, CapError>) -> Result<Output, ToolError> {
    match result {
        Ok(value) => Ok(Output::new(format!("{value:?}"))),
        Err(e) => Err(ToolError::from_cap(e, "function", "io_error")),
    }
}

fn unknown(capability: &str, function: &str) -> ToolError {
    match FUNCTIONS.iter().find(|(c, _)| *c == capability) {
        None => ToolError::invalid_args("capability", format!("no stub capability `{capability}`")),
        Some((_, functions)) => ToolError::invalid_args(
            "function",
            format!(
                "`{capability}` has no function `{function}`; expected: {}",
                functions.join(", ")
            ),
        ),
    }
}
