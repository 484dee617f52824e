//! The `dbus` tool: `list {}`, `introspect {service, path}`, `call
//! {service, path, interface, method, signature?, args?}`, `get_property`
//! and `set_property {service, path, interface, property, value?,
//! signature?}` through the `dbus` host capability, which talks to the bus
//! with zbus (no `busctl`) as the role's `[roles.R.dbus]` section allows.
//!
//! Kept from the predecessor (reference §1.7): the tool name, the `list`,
//! `introspect` and `call` actions with their argument keys, `list`'s
//! `name` and metadata `{action: "list", count}`, `introspect`'s metadata
//! `{service, path}`, `call`'s metadata `{service, path, interface,
//! method}`, and `command_failed` for an error the service answers.
//!
//! Improved: `list` shows each name's owner, pid, uid and whether it is
//! activatable; `introspect` is parsed (interfaces, methods with argument
//! signatures, signals, properties) and keeps the XML; `call` passes
//! arguments, converted from JSON by the D-Bus signature, and answers the
//! reply's values as JSON; properties can be read and written. A request
//! outside the role's rules is `denied` naming the key; malformed names
//! and arguments are `invalid_args`; no bus is `unavailable`.

#![deny(missing_docs)]

mod answer;
mod spec;

use llmagent_guest::dbus;
use llmagent_guest::{Args, Output, Spec, Tool, ToolError};
use serde_json::Value;

/// The dbus tool.
pub struct DbusTool;

/// The object a request is about: service, path, interface.
struct Target<'a> {
    service: &'a str,
    path: &'a str,
}

impl<'a> Target<'a> {
    fn of(args: &'a Args) -> Result<Self, ToolError> {
        Ok(Self {
            service: args.str("service")?,
            path: args.str("path")?,
        })
    }
}

impl Tool for DbusTool {
    fn spec() -> Spec {
        spec::spec()
    }

    fn invoke(action: &str, args: Args) -> Result<Output, ToolError> {
        match action {
            "list" => dbus::list_names()
                .map(|l| answer::list(&l))
                .map_err(|e| ToolError::from_service_cap(e, None)),
            "introspect" => {
                let t = Target::of(&args)?;
                dbus::introspect(t.service, t.path)
                    .map(|found| answer::introspection(t.service, t.path, &found))
                    .map_err(|e| ToolError::from_service_cap(e, Some("path")))
            }
            "call" => {
                let t = Target::of(&args)?;
                let interface = args.str("interface")?;
                let method = args.str("method")?;
                let signature = args.opt_str("signature")?;
                let call_args = args
                    .value("args")
                    .cloned()
                    .unwrap_or(Value::Array(Vec::new()));
                let reply = dbus::call(
                    t.service,
                    t.path,
                    interface,
                    method,
                    signature,
                    &call_args.to_string(),
                )
                .map_err(|e| ToolError::from_service_cap(e, Some("method")))?;
                let values: Value = serde_json::from_str(&reply.values_json).map_err(|e| {
                    ToolError::new("command_failed", format!("the reply is not JSON: {e}"))
                })?;
                Ok(Output::new(values)
                    .meta("service", t.service)
                    .meta("path", t.path)
                    .meta("interface", interface)
                    .meta("method", method)
                    .meta("signature", reply.signature))
            }
            "get_property" | "set_property" => {
                let t = Target::of(&args)?;
                let interface = args.str("interface")?;
                let property = args.str("property")?;
                let value = if action == "get_property" {
                    let text = dbus::get_property(t.service, t.path, interface, property)
                        .map_err(|e| ToolError::from_service_cap(e, Some("property")))?;
                    serde_json::from_str(&text).map_err(|e| {
                        ToolError::new("command_failed", format!("the value is not JSON: {e}"))
                    })?
                } else {
                    let value = args.value("value").cloned().unwrap_or(Value::Null);
                    dbus::set_property(
                        t.service,
                        t.path,
                        interface,
                        property,
                        args.opt_str("signature")?,
                        &value.to_string(),
                    )
                    .map_err(|e| ToolError::from_service_cap(e, Some("value")))?;
                    value
                };
                Ok(Output::new(value)
                    .meta("service", t.service)
                    .meta("path", t.path)
                    .meta("interface", interface)
                    .meta("property", property))
            }
            other => Err(ToolError::unknown_action_of(&spec::spec(), other)),
        }
    }
}

llmagent_guest::export_tool!(DbusTool);
