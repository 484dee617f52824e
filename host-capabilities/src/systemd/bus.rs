//! The D-Bus side: `org.freedesktop.systemd1` reached with zbus. zbus 6 is
//! async only; every call here runs to completion in [`zbus::block_on`] on
//! the host call's own (blocking) thread.

use std::future::poll_fn;
use std::num::NonZeroUsize;
use std::pin::Pin;
use std::time::Duration;

use futures_core::Stream;
use zbus::message::Type as MessageType;
use zbus::{Connection, MatchRule, MessageStream, OwnedObjectPath, OwnedVariant, Variant};

use super::policy::Bus;
use crate::bindings::CapError;
use crate::bindings::systemd::{JobResult, Unit};

const SYSTEMD: &str = "org.freedesktop.systemd1";
const MANAGER_PATH: &str = "/org/freedesktop/systemd1";
const MANAGER: &str = "org.freedesktop.systemd1.Manager";
const UNIT: &str = "org.freedesktop.systemd1.Unit";
const SERVICE: &str = "org.freedesktop.systemd1.Service";
const PROPERTIES: &str = "org.freedesktop.DBus.Properties";

/// How long one method call may take: systemd answers queries in
/// milliseconds, and a wedged manager must not hold a tool call forever.
const METHOD_TIMEOUT: Duration = Duration::from_secs(10);

/// `ListUnits`' row: name, description, load, active, sub, following,
/// path, job id, job type, job path.
type UnitRow = (
    String,
    String,
    String,
    String,
    String,
    String,
    OwnedObjectPath,
    u32,
    String,
    OwnedObjectPath,
);

/// A unit job to run.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Verb {
    Start,
    Stop,
    Restart,
}

impl Verb {
    fn method(self) -> &'static str {
        match self {
            Self::Start => "StartUnit",
            Self::Stop => "StopUnit",
            Self::Restart => "RestartUnit",
        }
    }

    fn word(self) -> &'static str {
        match self {
            Self::Start => "start",
            Self::Stop => "stop",
            Self::Restart => "restart",
        }
    }
}

/// Opens the bus and checks that systemd is on it; anything missing is
/// `unsupported` with the reason.
async fn connect(bus: &Bus) -> Result<Connection, CapError> {
    let unreachable = |why: String| {
        CapError::Unsupported(format!(
            "systemd is not reachable on {}: {why}",
            bus.describe()
        ))
    };
    let builder = match bus {
        Bus::System => zbus::connection::Builder::system(),
        Bus::Address(a) => zbus::connection::Builder::address(a.as_str()),
    };
    let conn = builder
        .method_timeout(METHOD_TIMEOUT)
        .build()
        .await
        .map_err(|e| unreachable(e.to_string()))?;
    let reply = conn
        .call_method(
            Some("org.freedesktop.DBus"),
            "/org/freedesktop/DBus",
            Some("org.freedesktop.DBus"),
            "NameHasOwner",
            &(SYSTEMD,),
        )
        .await
        .map_err(|e| unreachable(e.to_string()))?;
    let owned: bool = reply
        .body()
        .deserialize()
        .map_err(|e| unreachable(e.to_string()))?;
    if owned {
        Ok(conn)
    } else {
        Err(unreachable(format!("no process owns the name {SYSTEMD}")))
    }
}

/// Turns a failed call into the guest's error.
fn failed(what: &str, e: zbus::Error) -> CapError {
    match &e {
        zbus::Error::MethodError(name, msg, _) => {
            let msg = msg.clone().unwrap_or_default();
            match name.as_str() {
                "org.freedesktop.systemd1.NoSuchUnit" => CapError::NotFound(msg),
                "org.freedesktop.DBus.Error.ServiceUnknown"
                | "org.freedesktop.DBus.Error.NameHasNoOwner" => {
                    CapError::Unsupported(format!("systemd is not reachable: {msg}"))
                }
                _ => CapError::Io(format!("{what}: {name}: {msg}")),
            }
        }
        zbus::Error::FDO(fdo) => match fdo.as_ref() {
            zbus::fdo::Error::NoReply(m) | zbus::fdo::Error::Timeout(m) => {
                CapError::Timeout(format!("{what}: systemd did not answer: {m}"))
            }
            zbus::fdo::Error::ServiceUnknown(m) | zbus::fdo::Error::NameHasNoOwner(m) => {
                CapError::Unsupported(format!("systemd is not reachable: {m}"))
            }
            other => CapError::Io(format!("{what}: {other}")),
        },
        zbus::Error::InputOutput(io) if io.kind() == std::io::ErrorKind::TimedOut => {
            CapError::Timeout(format!("{what}: systemd did not answer in time"))
        }
        _ => CapError::Io(format!("{what}: {e}")),
    }
}

async fn manager<B>(conn: &Connection, method: &str, body: &B) -> Result<zbus::Message, CapError>
where
    B: serde::Serialize + zbus::DynamicType,
{
    conn.call_method(Some(SYSTEMD), MANAGER_PATH, Some(MANAGER), method, body)
        .await
        .map_err(|e| failed(method, e))
}

/// Loaded units whose type is `kind` (all when empty) and whose sub or
/// active state is `state` (all when empty).
pub(crate) fn list(bus: &Bus, kind: &str, state: &str) -> Result<Vec<Unit>, CapError> {
    crate::block_on_bus(async {
        let conn = connect(bus).await?;
        let reply = manager(&conn, "ListUnits", &()).await?;
        let rows: Vec<UnitRow> = reply
            .body()
            .deserialize()
            .map_err(|e| CapError::Io(format!("ListUnits answered something else: {e}")))?;
        let suffix = format!(".{kind}");
        let mut units: Vec<Unit> = rows
            .into_iter()
            .filter(|r| kind.is_empty() || r.0.ends_with(&suffix))
            .filter(|r| state.is_empty() || r.4 == state || r.3 == state)
            .map(|r| Unit {
                unit: r.0,
                description: r.1,
                load: r.2,
                active: r.3,
                sub: r.4,
            })
            .collect();
        units.sort_by(|a, b| a.unit.cmp(&b.unit));
        Ok(units)
    })
}

/// Every property of `unit` (and of its service, for a `.service`) as
/// name → text, sorted by name.
pub(crate) fn status(bus: &Bus, unit: &str) -> Result<Vec<(String, String)>, CapError> {
    crate::block_on_bus(async {
        let conn = connect(bus).await?;
        let reply = match manager(&conn, "GetUnit", &(unit,)).await {
            Ok(reply) => reply,
            // Not loaded: LoadUnit loads it, or answers for a unit with
            // LoadState `not-found`, as `systemctl show` does.
            Err(CapError::NotFound(_)) => manager(&conn, "LoadUnit", &(unit,)).await?,
            Err(e) => return Err(e),
        };
        let path: OwnedObjectPath = reply
            .body()
            .deserialize()
            .map_err(|e| CapError::Io(format!("GetUnit answered something else: {e}")))?;
        let mut props = properties(&conn, &path, UNIT).await?;
        if unit.ends_with(".service") {
            // A unit that is not loaded has no Service interface: its
            // absence is no error.
            if let Ok(more) = properties(&conn, &path, SERVICE).await {
                props.extend(more);
            }
        }
        props.sort();
        props.dedup_by(|a, b| a.0 == b.0);
        Ok(props)
    })
}

async fn properties(
    conn: &Connection,
    path: &OwnedObjectPath,
    interface: &str,
) -> Result<Vec<(String, String)>, CapError> {
    let reply = conn
        .call_method(
            Some(SYSTEMD),
            path.as_str(),
            Some(PROPERTIES),
            "GetAll",
            &(interface,),
        )
        .await
        .map_err(|e| failed("GetAll", e))?;
    let map: std::collections::HashMap<String, OwnedVariant> = reply
        .body()
        .deserialize()
        .map_err(|e| CapError::Io(format!("GetAll answered something else: {e}")))?;
    Ok(map.into_iter().map(|(k, v)| (k, render(&v))).collect())
}

/// A property value as `systemctl show` would roughly print it: strings
/// bare, booleans `yes`/`no`, numbers in decimal, arrays space-separated.
fn render(v: &Variant<'_>) -> String {
    match v {
        Variant::Str(s) => s.as_str().to_owned(),
        Variant::ObjectPath(p) => p.as_str().to_owned(),
        Variant::Bool(b) => if *b { "yes" } else { "no" }.to_owned(),
        Variant::U8(n) => n.to_string(),
        Variant::I16(n) => n.to_string(),
        Variant::U16(n) => n.to_string(),
        Variant::I32(n) => n.to_string(),
        Variant::U32(n) => n.to_string(),
        Variant::I64(n) => n.to_string(),
        Variant::U64(n) => n.to_string(),
        Variant::F64(n) => n.to_string(),
        Variant::Variant(inner) => render(inner),
        Variant::Array(a) => a.inner().iter().map(render).collect::<Vec<_>>().join(" "),
        other => other.to_string(),
    }
}

/// Runs `verb` on `unit` in mode `replace` and waits up to `timeout` for
/// systemd's `JobRemoved` signal of that job.
pub(crate) fn job(
    bus: &Bus,
    verb: Verb,
    unit: &str,
    timeout: Duration,
) -> Result<JobResult, CapError> {
    crate::block_on_bus(async {
        let conn = connect(bus).await?;
        // Subscribe before the call: the job may end before its reply.
        // No `sender`: a well-known sender name does not match the unique
        // name signals carry; the job path is what identifies ours.
        let rule = MatchRule::builder()
            .msg_type(MessageType::Signal)
            .interface(MANAGER)
            .member("JobRemoved")
            .build()
            .map_err(|e| CapError::Io(format!("JobRemoved match rule: {e}")))?;
        // A few hundred jobs may end while we wait; more are dropped.
        let mut stream = MessageStream::for_match_rule(rule, &conn, NonZeroUsize::new(512))
            .await
            .map_err(|e| failed("AddMatch", e))?;
        // systemd sends JobRemoved only to subscribed clients.
        manager(&conn, "Subscribe", &()).await?;
        let reply = manager(&conn, verb.method(), &(unit, "replace")).await?;
        let job: OwnedObjectPath = reply
            .body()
            .deserialize()
            .map_err(|e| CapError::Io(format!("{} answered something else: {e}", verb.method())))?;
        let wait = async {
            loop {
                let next = poll_fn(|cx| Pin::new(&mut stream).poll_next(cx)).await;
                let Some(Ok(msg)) = next else {
                    if next.is_none() {
                        return Err(CapError::Io("the bus connection closed".into()));
                    }
                    continue;
                };
                let body = msg.body();
                let Ok((_, path, name, result)) =
                    body.deserialize::<(u32, OwnedObjectPath, String, String)>()
                else {
                    continue;
                };
                if path == job {
                    return Ok(JobResult {
                        unit: name,
                        job_result: result,
                    });
                }
            }
        };
        let runtime = zruntime::SharedRuntime::current()
            .map_err(|e| CapError::Io(format!("no timer for the job wait: {e}")))?;
        runtime.timeout(timeout, wait).await.unwrap_or_else(|_| {
            Err(CapError::Timeout(format!(
                "the {} job of {unit} did not finish within {} ms",
                verb.word(),
                timeout.as_millis()
            )))
        })
    })
}
