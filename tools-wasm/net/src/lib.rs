//! The `net` tool: `list_interfaces {}`, `resolve {host, type?}` and
//! `ping {host, count?, timeout_ms?}` through the `net` host capability,
//! as the role's `[roles.R.net]` section allows.
//!
//! Kept from the predecessor (reference §1.4): the three actions and the
//! `host` argument; `resolve` answers a list of strings with metadata
//! `{host}`; `ping` answers `{reachable, rtt_ms}` with metadata `{host,
//! reachable}`; `list_interfaces` has metadata `{action:
//! "list_interfaces"}`.
//!
//! Improved: interfaces come from the kernel, not `ip`, as `{name, index,
//! state, flags, mtu, mac, addresses: [{family, address, prefix_len}]}`;
//! `resolve` takes a record `type` (A, AAAA, CNAME, MX, TXT; default A and
//! AAAA); `ping` takes `count` and `timeout_ms` and answers `rtt_ms` as
//! `{min, avg, max}` with `sent`, `received` and the `address` probed; a
//! host is a name or an address, never an option (`invalid_args`); a host
//! the role may not reach is `denied` naming the key.

#![deny(missing_docs)]

use llmagent_guest::net::{self, InterfaceInfo, PingResult};
use llmagent_guest::{Action, Args, Output, Spec, Tool, ToolError};
use serde_json::{Value, json};

/// Echo requests when `count` is not given.
const DEFAULT_COUNT: u32 = 1;
/// How long a ping waits in all when `timeout_ms` is not given.
const DEFAULT_TIMEOUT_MS: u32 = 3_000;

/// The net tool.
pub struct NetTool;

fn spec() -> Spec {
    let host = |a: Action| {
        a.required(
            "host",
            || json!({"type": "string", "minLength": 1, "maxLength": 253}),
            "Host name or IP address",
        )
    };
    Spec::new(
        "net",
        "Lists network interfaces, resolves names and pings hosts, as far as the role's policy allows.",
        env!("CARGO_PKG_VERSION"),
    )
    .action(Action::new(
        "list_interfaces",
        "Every interface: [{name, index, state, flags, mtu, mac, addresses: [{family, address, prefix_len}]}]; metadata {action, count}.",
    ))
    .action(
        host(Action::new(
            "resolve",
            "DNS records of a host as strings (A and AAAA by default); metadata {host, type}. A name without records gives [].",
        ))
        .optional(
            "type",
            || json!({"type": "string", "enum": ["A", "AAAA", "CNAME", "MX", "TXT"]}),
            "Record type",
        ),
    )
    .action(
        host(Action::new(
            "ping",
            "ICMP echo: {reachable, rtt_ms: {min, avg, max} or null, sent, received, address}; metadata {host, reachable}.",
        ))
        .optional("count", || json!({"type": "integer", "minimum": 1, "maximum": 10}), "Echo requests, one a second (default 1)")
        .optional("timeout_ms", || json!({"type": "integer", "minimum": 1, "maximum": 60000}), "Time to wait in all (default 3000)"),
    )
}

fn interface(i: &InterfaceInfo) -> Value {
    json!({
        "name": i.name,
        "index": i.index,
        "state": i.state,
        "flags": i.flags,
        "mtu": i.mtu,
        "mac": i.mac,
        "addresses": i.addresses.iter().map(|a| json!({
            "family": a.family, "address": a.address, "prefix_len": a.prefix_len,
        })).collect::<Vec<_>>(),
    })
}

fn ping_answer(host: &str, p: &PingResult) -> Output {
    let rtt = p
        .rtt_ms
        .as_ref()
        .map(|r| json!({"min": r.min, "avg": r.avg, "max": r.max}));
    Output::new(json!({
        "reachable": p.reachable,
        "rtt_ms": rtt,
        "sent": p.sent,
        "received": p.received,
        "address": p.address,
    }))
    .meta("host", host)
    .meta("reachable", p.reachable)
}

fn resolve(host: &str, kind: Option<&str>) -> Result<Output, ToolError> {
    let kinds: Vec<&str> = match kind {
        Some(k) => vec![k],
        None => vec!["A", "AAAA"],
    };
    let mut records = Vec::new();
    for k in &kinds {
        match net::resolve(host, k) {
            Ok(found) => records.extend(found),
            // A name without records of one type is an empty answer.
            Err(llmagent_guest::bindings::llmagent::tools::types::CapError::NotFound(_)) => {}
            Err(e) => return Err(ToolError::from_cap(e, "host", "net_error")),
        }
    }
    Ok(Output::new(records)
        .meta("host", host)
        .meta("type", kind.unwrap_or("A,AAAA")))
}

impl Tool for NetTool {
    fn spec() -> Spec {
        spec()
    }

    fn invoke(action: &str, args: Args) -> Result<Output, ToolError> {
        match action {
            "list_interfaces" => {
                let list = net::list_interfaces()
                    .map_err(|e| ToolError::from_cap(e, "interfaces", "net_error"))?;
                Ok(Output::new(list.iter().map(interface).collect::<Vec<_>>())
                    .meta("action", "list_interfaces")
                    .meta("count", list.len()))
            }
            "resolve" => {
                let host = args.str("host")?;
                let kind = args.opt_choice("type", &["A", "AAAA", "CNAME", "MX", "TXT"])?;
                resolve(host, kind)
            }
            "ping" => {
                let host = args.str("host")?;
                let count = args.opt_u64("count")?.map_or(DEFAULT_COUNT, |c| {
                    u32::try_from(c.clamp(1, 10)).unwrap_or(1)
                });
                let timeout = args.opt_u64("timeout_ms")?.map_or(DEFAULT_TIMEOUT_MS, |t| {
                    u32::try_from(t.clamp(1, 60_000)).unwrap_or(DEFAULT_TIMEOUT_MS)
                });
                net::ping(host, count, timeout)
                    .map(|p| ping_answer(host, &p))
                    .map_err(|e| ToolError::from_cap(e, "host", "net_error"))
            }
            other => Err(ToolError::unknown_action_of(&spec(), other)),
        }
    }
}

llmagent_guest::export_tool!(NetTool);
