//! The `stub` action: calls one function of a capability that is in the
//! contract (`wit/`) but not built yet (`net`),
//! with fixed harmless arguments, and answers what the host said. A cap
//! error comes back as the tool error [`ToolError::from_cap`] makes of it
//! (field `function`), so a test sees the variant and the host's message;
//! a success (a stub that grew an implementation) comes back as the value's
//! debug text, which the tests will notice.

use llmagent_guest::bindings::llmagent::tools::net;
use llmagent_guest::bindings::llmagent::tools::types::CapError;
use llmagent_guest::{Output, ToolError};

/// Capabilities the action can call, each with its functions (WIT names);
/// the `capability` enum in the spec lists the same one.
pub const FUNCTIONS: &[(&str, &[&str])] = &[("net", &["list-interfaces", "resolve", "ping"])];

/// Calls `capability`'s `function`.
pub fn call(capability: &str, function: &str) -> Result<Output, ToolError> {
    match (capability, function) {
        ("net", "list-interfaces") => answer(net::list_interfaces()),
        ("net", "resolve") => answer(net::resolve("localhost")),
        ("net", "ping") => answer(net::ping("127.0.0.1", 100)),
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
