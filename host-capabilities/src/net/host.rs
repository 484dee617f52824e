//! The `net` host functions: check the host, decide, report, then ask
//! the kernel or the resolver.

use std::net::IpAddr;
use std::time::Duration;

use hickory_resolver::proto::rr::RecordType;

use super::{interfaces, ping};
use crate::bindings::CapError;
use crate::bindings::net::{Host, InterfaceInfo, PingResult};
use crate::ctx::Capabilities;
use crate::decision::Decision;
use crate::http::policy::check_host;
use crate::resolver::ResolveError;
use crate::sink::enforce;

/// Echo requests one ping may send: enough to see loss, short of a flood.
const MAX_COUNT: u32 = 10;

/// The host as the policy sees it: a name (lower-case, no trailing dot)
/// or an address; never an option.
fn host_arg(host: &str) -> Result<String, CapError> {
    if let Ok(ip) = host.parse::<IpAddr>() {
        return Ok(ip.to_string());
    }
    check_host(host).map_err(CapError::InvalidArgument)
}

fn resolve_error(e: ResolveError) -> CapError {
    match e {
        ResolveError::NotFound(m) => CapError::NotFound(m),
        ResolveError::Timeout => CapError::Timeout("the name did not resolve in time".into()),
        ResolveError::Failed(m) => CapError::Io(m),
    }
}

impl Host for Capabilities {
    fn list_interfaces(&mut self) -> wasmtime::Result<Result<Vec<InterfaceInfo>, CapError>> {
        let ruling = self.grants.net.decide_interfaces();
        if let Err(e) = enforce(
            self.sink.as_ref(),
            &Decision::capability("net", "interfaces", "", &ruling),
        ) {
            return Ok(Err(e));
        }
        Ok(interfaces::list())
    }

    fn resolve(
        &mut self,
        host: String,
        record_type: String,
    ) -> wasmtime::Result<Result<Vec<String>, CapError>> {
        let host = match host_arg(&host) {
            Ok(h) => h,
            Err(e) => return Ok(Err(e)),
        };
        let kind = match record_type.to_ascii_uppercase().as_str() {
            "A" => RecordType::A,
            "AAAA" => RecordType::AAAA,
            "CNAME" => RecordType::CNAME,
            "MX" => RecordType::MX,
            "TXT" => RecordType::TXT,
            other => {
                return Ok(Err(CapError::InvalidArgument(format!(
                    "\"{other}\" is not a record type; use A, AAAA, CNAME, MX or TXT"
                ))));
            }
        };
        let policy = &self.grants.net;
        let ruling = policy.decide_resolve(&host);
        if let Err(e) = enforce(
            self.sink.as_ref(),
            &Decision::capability("net", "resolve", &host, &ruling),
        ) {
            return Ok(Err(e));
        }
        let within = Duration::from_millis(policy.timeout_ms);
        let resolver = policy.resolver.clone();
        let found = wasmtime_wasi::runtime::in_tokio(async move {
            if let Ok(ip) = host.parse::<IpAddr>() {
                // An address is its own A or AAAA record.
                return Ok(match (kind, ip) {
                    (RecordType::A, IpAddr::V4(_)) | (RecordType::AAAA, IpAddr::V6(_)) => {
                        vec![ip.to_string()]
                    }
                    _ => Vec::new(),
                });
            }
            resolver.records(&host, kind, within).await
        });
        Ok(found.map_err(resolve_error))
    }

    fn ping(
        &mut self,
        host: String,
        count: u32,
        timeout_ms: u32,
    ) -> wasmtime::Result<Result<PingResult, CapError>> {
        let host = match host_arg(&host) {
            Ok(h) => h,
            Err(e) => return Ok(Err(e)),
        };
        let policy = &self.grants.net;
        let sink = self.sink.as_ref();
        let named = policy.decide_ping_name(&host);
        let is_address = host.parse::<IpAddr>().is_ok();
        if !is_address
            && let Err(e) = enforce(sink, &Decision::capability("net", "ping", &host, &named))
        {
            return Ok(Err(e));
        }
        let within = Duration::from_millis(u64::from(timeout_ms).clamp(1, policy.timeout_ms));
        let resolver = policy.resolver.clone();
        let lookup = host.clone();
        let ips = match wasmtime_wasi::runtime::in_tokio(async move {
            resolver.addresses(&lookup, within).await
        }) {
            Ok(ips) => ips,
            Err(e) => return Ok(Err(resolve_error(e))),
        };
        let Some(ip) = ips.first().copied() else {
            return Ok(Err(CapError::NotFound(format!("{host} has no address"))));
        };
        let ruling = policy.decide_ping(&host, ip);
        let target = if is_address {
            host.clone()
        } else {
            format!("{host} at {ip}")
        };
        if let Err(e) = enforce(sink, &Decision::capability("net", "ping", &target, &ruling)) {
            return Ok(Err(e));
        }
        Ok(crate::blocking(|| {
            ping::ping(ip, count.clamp(1, MAX_COUNT), within)
        }))
    }
}
