//! The D-Bus side: zbus (async) run to completion in [`zbus::block_on`] on
//! the host call's own thread, each operation bounded by the time the
//! call has left.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use serde_json::Value as Json;
use zbus::{Connection, OwnedVariant, Structure, Variant};

use super::policy::{Bus, EXPLICIT_ONLY};
use super::value::{self, ConvertError};
use crate::bindings::CapError;
use crate::bindings::dbus::{
    BusName, DbusArg, DbusInterface, DbusMethod, DbusProperty, DbusSignal, Introspection, Reply,
};

const DBUS: &str = "org.freedesktop.DBus";
const DBUS_PATH: &str = "/org/freedesktop/DBus";
const INTROSPECTABLE: &str = "org.freedesktop.DBus.Introspectable";
const PROPERTIES: &str = "org.freedesktop.DBus.Properties";

/// A listing stops here: a bus with more names is broken or hostile, and
/// the answer must fit a tool's output.
const MAX_NAMES: usize = 10_000;

/// Runs `work` against `bus` within `budget`; past it the answer is
/// `timeout`.
fn run<T>(
    bus: &Bus,
    budget: Duration,
    what: &str,
    work: impl AsyncFnOnce(&Connection) -> Result<T, CapError>,
) -> Result<T, CapError> {
    if budget.is_zero() {
        return Err(CapError::Timeout(format!(
            "{what}: the call has no time left"
        )));
    }
    crate::block_on_bus(async {
        let runtime = zruntime::SharedRuntime::current()
            .map_err(|e| CapError::Io(format!("no timer for the D-Bus wait: {e}")))?;
        let job = async {
            let conn = connect(bus, budget).await?;
            work(&conn).await
        };
        runtime.timeout(budget, job).await.unwrap_or_else(|_| {
            Err(CapError::Timeout(format!(
                "{what}: no answer on {} within {} ms",
                bus.describe(),
                budget.as_millis()
            )))
        })
    })
}

/// Opens the bus; an unreachable bus is `unsupported` with the reason.
async fn connect(bus: &Bus, budget: Duration) -> Result<Connection, CapError> {
    let builder = match bus {
        Bus::System => zbus::connection::Builder::system(),
        Bus::Session => zbus::connection::Builder::session(),
        Bus::Address(a) => zbus::connection::Builder::address(a.as_str()),
    };
    builder
        .method_timeout(budget)
        .build()
        .await
        .map_err(|e| CapError::Unsupported(format!("{} is not reachable: {e}", bus.describe())))
}

/// Turns a failed call into the guest's error: unknown names, objects,
/// interfaces, methods and properties are `not-found`, bad arguments
/// `invalid-argument`, no reply `timeout`, the rest `io` with the D-Bus
/// error name.
fn failed(what: &str, e: zbus::Error) -> CapError {
    use zbus::DBusError as _;
    let (name, msg) = match &e {
        zbus::Error::MethodError(name, msg, _) => {
            (name.to_string(), msg.clone().unwrap_or_default())
        }
        zbus::Error::FDO(fdo) => (
            fdo.name().to_string(),
            fdo.description().unwrap_or_default().to_owned(),
        ),
        zbus::Error::InputOutput(io) if io.kind() == std::io::ErrorKind::TimedOut => {
            return CapError::Timeout(format!("{what}: no answer in time"));
        }
        _ => return CapError::Io(format!("{what}: {e}")),
    };
    let text = format!("{what}: {name}: {msg}");
    match name.trim_start_matches("org.freedesktop.DBus.Error.") {
        "ServiceUnknown" | "NameHasNoOwner" | "UnknownObject" | "UnknownInterface"
        | "UnknownMethod" | "UnknownProperty" => CapError::NotFound(text),
        "InvalidArgs" | "InvalidSignature" | "PropertyReadOnly" => CapError::InvalidArgument(text),
        "NoReply" | "Timeout" | "TimedOut" => CapError::Timeout(text),
        _ => CapError::Io(text),
    }
}

async fn driver<B>(conn: &Connection, method: &str, body: &B) -> Result<zbus::Message, CapError>
where
    B: serde::Serialize + zbus::DynamicType,
{
    conn.call_method(Some(DBUS), DBUS_PATH, Some(DBUS), method, body)
        .await
        .map_err(|e| failed(method, e))
}

/// Every name on the bus and every activatable one, sorted, with owners.
pub(crate) fn list(bus: &Bus, budget: Duration) -> Result<Vec<BusName>, CapError> {
    run(bus, budget, "ListNames", async |conn| {
        let running: Vec<String> = driver(conn, "ListNames", &())
            .await?
            .body()
            .deserialize()
            .map_err(|e| CapError::Io(format!("ListNames answered something else: {e}")))?;
        let activatable: Vec<String> = match driver(conn, "ListActivatableNames", &()).await {
            Ok(reply) => reply.body().deserialize().unwrap_or_default(),
            Err(_) => Vec::new(),
        };
        let mut names: BTreeMap<String, bool> = BTreeMap::new();
        for name in running.iter() {
            names.insert(name.clone(), false);
        }
        for name in activatable {
            names.insert(name, true);
        }
        if names.len() > MAX_NAMES {
            return Err(CapError::TooLarge(format!(
                "the bus has {} names, more than the {MAX_NAMES} a listing holds",
                names.len()
            )));
        }
        let mut out = Vec::with_capacity(names.len());
        for (name, activatable) in names {
            let is_running = running.contains(&name);
            let owner = if name.starts_with(':') {
                Some(name.clone())
            } else if is_running {
                match driver(conn, "GetNameOwner", &(name.as_str(),)).await {
                    Ok(reply) => reply.body().deserialize::<String>().ok(),
                    Err(_) => None,
                }
            } else {
                None
            };
            let (pid, uid) = if is_running {
                credentials(conn, &name).await
            } else {
                (None, None)
            };
            out.push(BusName {
                name,
                owner,
                pid,
                uid,
                activatable,
            });
        }
        Ok(out)
    })
}

/// The owner's process and user ids, as far as the bus daemon tells.
async fn credentials(conn: &Connection, name: &str) -> (Option<u32>, Option<u32>) {
    let Ok(reply) = driver(conn, "GetConnectionCredentials", &(name,)).await else {
        return (None, None);
    };
    let Ok(map) = reply.body().deserialize::<HashMap<String, OwnedVariant>>() else {
        return (None, None);
    };
    let get = |key: &str| match map.get(key).map(|v| &**v) {
        Some(Variant::U32(n)) => Some(*n),
        _ => None,
    };
    (get("ProcessID"), get("UnixUserID"))
}

/// Refuses a unique connection name that owns one of the names only an
/// exact rule reaches: `:1.5` must not be a way around
/// `org.freedesktop.systemd1`'s protection.
pub(crate) async fn not_a_protected_owner(
    conn: &Connection,
    destination: &str,
) -> Result<(), CapError> {
    if !destination.starts_with(':') {
        return Ok(());
    }
    for protected in EXPLICIT_ONLY {
        if let Ok(reply) = driver(conn, "GetNameOwner", &(*protected,)).await
            && reply.body().deserialize::<String>().ok().as_deref() == Some(destination)
        {
            return Err(CapError::InvalidArgument(format!(
                "{destination} owns {protected}: call it by that name (only a rule naming it exactly allows it)"
            )));
        }
    }
    Ok(())
}

async fn introspect_xml(conn: &Connection, service: &str, path: &str) -> Result<String, CapError> {
    conn.call_method(Some(service), path, Some(INTROSPECTABLE), "Introspect", &())
        .await
        .map_err(|e| failed("Introspect", e))?
        .body()
        .deserialize::<String>()
        .map_err(|e| CapError::Io(format!("Introspect answered something else: {e}")))
}

fn parse(xml: String) -> Result<Introspection, CapError> {
    let node = zbus_xml::Node::from_reader(xml.as_bytes())
        .map_err(|e| CapError::Io(format!("the introspection XML does not parse: {e}")))?;
    let args = |list: &[zbus_xml::Arg<'_>]| -> Vec<DbusArg> {
        list.iter()
            .map(|a| DbusArg {
                name: a.name().map(str::to_owned),
                signature: a.ty().to_string_no_parens(),
                direction: a.direction().map(|d| {
                    match d {
                        zbus_xml::ArgDirection::In => "in",
                        zbus_xml::ArgDirection::Out => "out",
                    }
                    .to_owned()
                }),
            })
            .collect()
    };
    let interfaces = node
        .interfaces()
        .iter()
        .map(|i| DbusInterface {
            name: i.name().to_string(),
            methods: i
                .methods()
                .map(|m| DbusMethod {
                    name: m.name().to_string(),
                    args: args(m.args()),
                })
                .collect(),
            signals: i
                .signals()
                .map(|s| DbusSignal {
                    name: s.name().to_string(),
                    args: args(s.args()),
                })
                .collect(),
            properties: i
                .properties()
                .map(|p| DbusProperty {
                    name: p.name().to_string(),
                    signature: p.ty().to_string_no_parens(),
                    access: match p.access() {
                        zbus_xml::PropertyAccess::Read => "read",
                        zbus_xml::PropertyAccess::Write => "write",
                        zbus_xml::PropertyAccess::ReadWrite => "readwrite",
                    }
                    .to_owned(),
                })
                .collect(),
        })
        .collect();
    let children = node
        .nodes()
        .iter()
        .filter_map(|n| n.name().map(str::to_owned))
        .collect();
    Ok(Introspection {
        interfaces,
        children,
        xml,
    })
}

/// The parsed introspection of `path` on `service`.
pub(crate) fn introspect(
    bus: &Bus,
    budget: Duration,
    service: &str,
    path: &str,
) -> Result<Introspection, CapError> {
    run(bus, budget, "Introspect", async |conn| {
        not_a_protected_owner(conn, service).await?;
        parse(introspect_xml(conn, service, path).await?)
    })
}

/// What introspection says of one interface, for a call or a write
/// without a signature.
async fn declared(
    conn: &Connection,
    service: &str,
    path: &str,
    interface: &str,
) -> Result<DbusInterface, CapError> {
    let found = parse(introspect_xml(conn, service, path).await?)?;
    found
        .interfaces
        .into_iter()
        .find(|i| i.name == interface)
        .ok_or_else(|| {
            CapError::NotFound(format!(
                "{service} {path} has no interface {interface}; pass a signature, or check the names with introspect"
            ))
        })
}

fn invalid(e: ConvertError) -> CapError {
    CapError::InvalidArgument(e.0)
}

/// Calls `interface.method` on `path` of `service` with `args` (a JSON
/// array) converted by `signature` or by the method's declared one.
#[allow(clippy::too_many_arguments)]
pub(crate) fn call(
    bus: &Bus,
    budget: Duration,
    service: &str,
    path: &str,
    interface: &str,
    method: &str,
    signature: Option<&str>,
    args: &Json,
) -> Result<Reply, CapError> {
    run(bus, budget, method, async |conn| {
        not_a_protected_owner(conn, service).await?;
        let signature = match signature {
            Some(s) => s.to_owned(),
            None => {
                let iface = declared(conn, service, path, interface).await?;
                let m = iface
                    .methods
                    .iter()
                    .find(|m| m.name == method)
                    .ok_or_else(|| {
                        CapError::NotFound(format!(
                            "{interface} of {service} {path} has no method {method}"
                        ))
                    })?;
                m.args
                    .iter()
                    .filter(|a| a.direction.as_deref() != Some("out"))
                    .map(|a| a.signature.as_str())
                    .collect()
            }
        };
        let body = value::to_body(&signature, args).map_err(invalid)?;
        let reply = match &body {
            Some(body) => {
                conn.call_method(Some(service), path, Some(interface), method, body)
                    .await
            }
            None => {
                conn.call_method(Some(service), path, Some(interface), method, &())
                    .await
            }
        }
        .map_err(|e| failed(method, e))?;
        let body = reply.body();
        let reply_signature = body.signature().to_string_no_parens();
        let values = if reply_signature.is_empty() {
            Vec::new()
        } else {
            body.deserialize::<Structure<'_>>()
                .map_err(|e| CapError::Io(format!("{method}'s reply does not decode: {e}")))?
                .fields()
                .iter()
                .map(value::to_json)
                .collect()
        };
        Ok(Reply {
            signature: reply_signature,
            values_json: Json::Array(values).to_string(),
        })
    })
}

/// Reads a property as JSON.
pub(crate) fn get_property(
    bus: &Bus,
    budget: Duration,
    service: &str,
    path: &str,
    interface: &str,
    name: &str,
) -> Result<Json, CapError> {
    run(bus, budget, "Get", async |conn| {
        not_a_protected_owner(conn, service).await?;
        let reply = conn
            .call_method(
                Some(service),
                path,
                Some(PROPERTIES),
                "Get",
                &(interface, name),
            )
            .await
            .map_err(|e| failed("Get", e))?;
        let value: OwnedVariant = reply
            .body()
            .deserialize()
            .map_err(|e| CapError::Io(format!("Get answered something else: {e}")))?;
        Ok(value::to_json(&value))
    })
}

/// Writes a property from JSON, converted by `signature` or by the
/// property's declared type.
#[allow(clippy::too_many_arguments)]
pub(crate) fn set_property(
    bus: &Bus,
    budget: Duration,
    service: &str,
    path: &str,
    interface: &str,
    name: &str,
    signature: Option<&str>,
    value_json: &Json,
) -> Result<(), CapError> {
    run(bus, budget, "Set", async |conn| {
        not_a_protected_owner(conn, service).await?;
        let signature = match signature {
            Some(s) => s.to_owned(),
            None => {
                let iface = declared(conn, service, path, interface).await?;
                iface
                    .properties
                    .iter()
                    .find(|p| p.name == name)
                    .map(|p| p.signature.clone())
                    .ok_or_else(|| {
                        CapError::NotFound(format!(
                            "{interface} of {service} {path} has no property {name}"
                        ))
                    })?
            }
        };
        let mut types = value::body_types(&signature).map_err(invalid)?;
        if types.len() != 1 {
            return Err(CapError::InvalidArgument(format!(
                "signature: a property has one complete type, not \"{signature}\""
            )));
        }
        let ty = types.remove(0);
        let value = value::to_variant(&ty, value_json, "value").map_err(invalid)?;
        conn.call_method(
            Some(service),
            path,
            Some(PROPERTIES),
            "Set",
            &(interface, name, value),
        )
        .await
        .map_err(|e| failed("Set", e))?;
        Ok(())
    })
}
