//! The `dbus` host functions: check the names, decide, report the
//! decision, then ask the bus.

use serde_json::Value as Json;

use super::bus;
use super::policy::{Operation, Request};
use crate::bindings::CapError;
use crate::bindings::dbus::{BusName, Host, Introspection, Reply};
use crate::ctx::Capabilities;
use crate::decision::Decision;
use crate::sink::enforce;

/// A JSON argument larger than this is refused before it is parsed: a
/// D-Bus message is at most 128 MiB, and a tool's call far less.
const MAX_JSON_BYTES: usize = 1 << 20;

impl Capabilities {
    /// Checks the request's names, then decides and reports.
    fn dbus_allow(&self, op: Operation, request: &Request<'_>) -> Result<(), CapError> {
        check_names(op, request)?;
        let policy = &self.grants.dbus;
        let ruling = policy.decide(op, request);
        let target = request.target();
        let target = if op == Operation::List {
            ""
        } else {
            target.as_str()
        };
        enforce(
            self.sink.as_ref(),
            &Decision::capability("dbus", op.as_str(), target, &ruling),
        )
        .map_err(|e| match e {
            CapError::Denied(mut d) => {
                d.target = if op == Operation::List {
                    "list of bus names".to_owned()
                } else {
                    format!("{} of {target}", op.as_str())
                };
                CapError::Denied(d)
            }
            other => other,
        })
    }

    fn dbus_budget(&self) -> std::time::Duration {
        self.time_left(self.grants.dbus.max_wait_ms)
    }
}

/// Names must be valid D-Bus names before anything else is asked.
fn check_names(op: Operation, r: &Request<'_>) -> Result<(), CapError> {
    if op == Operation::List {
        return Ok(());
    }
    let bad = |what: &str, value: &str, e: zbus::Error| {
        CapError::InvalidArgument(format!("\"{value}\" is not a D-Bus {what}: {e}"))
    };
    zbus::names::BusName::try_from(r.destination).map_err(|e| bad("bus name", r.destination, e))?;
    zbus::ObjectPath::try_from(r.path).map_err(|e| {
        CapError::InvalidArgument(format!("\"{}\" is not a D-Bus object path: {e}", r.path))
    })?;
    if op == Operation::Introspect {
        return Ok(());
    }
    zbus::names::InterfaceName::try_from(r.interface)
        .map_err(|e| bad("interface name", r.interface, e))?;
    if op == Operation::Call {
        zbus::names::MemberName::try_from(r.member).map_err(|e| bad("method name", r.member, e))?;
    } else {
        zbus::names::PropertyName::try_from(r.member)
            .map_err(|e| bad("property name", r.member, e))?;
    }
    Ok(())
}

fn parse_json(what: &str, text: &str) -> Result<Json, CapError> {
    if text.len() > MAX_JSON_BYTES {
        return Err(CapError::TooLarge(format!(
            "{what} is {} bytes, more than {MAX_JSON_BYTES}",
            text.len()
        )));
    }
    if text.trim().is_empty() {
        return Ok(Json::Null);
    }
    serde_json::from_str(text)
        .map_err(|e| CapError::InvalidArgument(format!("{what} is not JSON: {e}")))
}

impl Host for Capabilities {
    fn list_names(&mut self) -> wasmtime::Result<Result<Vec<BusName>, CapError>> {
        let request = Request {
            destination: "",
            path: "",
            interface: "",
            member: "",
        };
        Ok(self
            .dbus_allow(Operation::List, &request)
            .and_then(|()| bus::list(&self.grants.dbus.bus, self.dbus_budget())))
    }

    fn introspect(
        &mut self,
        service: String,
        path: String,
    ) -> wasmtime::Result<Result<Introspection, CapError>> {
        let request = Request {
            destination: &service,
            path: &path,
            interface: "",
            member: "",
        };
        Ok(self
            .dbus_allow(Operation::Introspect, &request)
            .and_then(|()| {
                bus::introspect(&self.grants.dbus.bus, self.dbus_budget(), &service, &path)
            }))
    }

    fn call(
        &mut self,
        service: String,
        path: String,
        interface: String,
        method: String,
        signature: Option<String>,
        args_json: String,
    ) -> wasmtime::Result<Result<Reply, CapError>> {
        let request = Request {
            destination: &service,
            path: &path,
            interface: &interface,
            member: &method,
        };
        Ok(self.dbus_allow(Operation::Call, &request).and_then(|()| {
            let args = parse_json("args", &args_json)?;
            bus::call(
                &self.grants.dbus.bus,
                self.dbus_budget(),
                &service,
                &path,
                &interface,
                &method,
                signature.as_deref(),
                &args,
            )
        }))
    }

    fn get_property(
        &mut self,
        service: String,
        path: String,
        interface: String,
        name: String,
    ) -> wasmtime::Result<Result<String, CapError>> {
        let request = Request {
            destination: &service,
            path: &path,
            interface: &interface,
            member: &name,
        };
        Ok(self.dbus_allow(Operation::Get, &request).and_then(|()| {
            bus::get_property(
                &self.grants.dbus.bus,
                self.dbus_budget(),
                &service,
                &path,
                &interface,
                &name,
            )
            .map(|v| v.to_string())
        }))
    }

    fn set_property(
        &mut self,
        service: String,
        path: String,
        interface: String,
        name: String,
        signature: Option<String>,
        value_json: String,
    ) -> wasmtime::Result<Result<(), CapError>> {
        let request = Request {
            destination: &service,
            path: &path,
            interface: &interface,
            member: &name,
        };
        Ok(self.dbus_allow(Operation::Set, &request).and_then(|()| {
            let value = parse_json("value", &value_json)?;
            bus::set_property(
                &self.grants.dbus.bus,
                self.dbus_budget(),
                &service,
                &path,
                &interface,
                &name,
                signature.as_deref(),
                &value,
            )
        }))
    }
}
