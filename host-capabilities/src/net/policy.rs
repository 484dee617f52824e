//! `[roles.R.net]`: the raw TOML shape, its compiled form and the pure
//! decisions (may the role list interfaces, resolve this name, ping this
//! host at this address).

use std::net::IpAddr;

use ipnet::IpNet;
use serde::Deserialize;

use crate::capability::{Capability, RoleScope, usage};
use crate::decision::Ruling;
use crate::error::CompileError;
use crate::http::address;
use crate::http::policy::check_host;
use crate::resolver::{Nameservers, Resolver};

/// The raw `[roles.R.net]` section.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NetToml {
    /// Whether the role may list interfaces and their addresses.
    #[serde(default)]
    pub interfaces: bool,
    /// Names the role may resolve: `"*"`, `"*.example.com"`,
    /// `"example.com"`.
    #[serde(default)]
    pub resolve: Vec<String>,
    /// Hosts the role may ping: names as in `resolve`, addresses and
    /// ranges (`"10.0.0.0/8"`).
    #[serde(default)]
    pub ping: Vec<String>,
    /// Nameservers instead of `/etc/resolv.conf` (`"127.0.0.1:5353"`).
    #[serde(default)]
    pub nameservers: Vec<String>,
}

/// One compiled host pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
enum HostRule {
    /// Any name (`*`); special addresses still need an address rule.
    Any,
    /// This name.
    Name(String),
    /// Subdomains of this name (`*.example.com`).
    Subdomains(String),
    /// Addresses in this range.
    Range(IpNet),
}

impl HostRule {
    fn compile(s: &str) -> Result<Self, String> {
        if s == "*" {
            return Ok(Self::Any);
        }
        if let Ok(net) = s.parse::<IpNet>() {
            return Ok(Self::Range(net.trunc()));
        }
        if let Ok(ip) = s.parse::<IpAddr>() {
            return Ok(Self::Range(IpNet::from(ip)));
        }
        match s.strip_prefix("*.") {
            Some(rest) => check_host(rest).map(Self::Subdomains),
            None => check_host(s).map(Self::Name),
        }
    }

    /// Whether the rule covers the name `host` (as the tool wrote it).
    fn covers_name(&self, host: &str) -> bool {
        match self {
            Self::Any => true,
            Self::Name(n) => n == host,
            Self::Subdomains(s) => host
                .strip_suffix(s.as_str())
                .is_some_and(|head| head.len() > 1 && head.ends_with('.')),
            Self::Range(net) => host.parse::<IpAddr>().is_ok_and(|ip| net.contains(&ip)),
        }
    }
}

/// The compiled `[roles.R.net]` section of one role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetPolicy {
    role: String,
    /// Whether listing interfaces is granted.
    pub interfaces: bool,
    resolve: Vec<(String, HostRule)>,
    ping: Vec<(String, HostRule)>,
    /// The role's timeout: the ceiling of any wait.
    pub timeout_ms: u64,
    /// The resolver (the same kind `http` uses).
    pub resolver: Resolver,
}

impl NetPolicy {
    /// A policy granting nothing.
    pub fn deny_all(scope: RoleScope<'_>) -> Self {
        Self {
            role: scope.role.to_owned(),
            interfaces: false,
            resolve: Vec::new(),
            ping: Vec::new(),
            timeout_ms: scope.timeout_ms,
            resolver: Resolver::new(Nameservers::System),
        }
    }

    /// Compiles the section.
    pub fn compile(scope: RoleScope<'_>, raw: &NetToml) -> Result<Self, CompileError> {
        let rules = |key: &str, list: &[String]| {
            list.iter()
                .enumerate()
                .map(|(i, s)| {
                    HostRule::compile(s).map(|r| (s.clone(), r)).map_err(|m| {
                        CompileError::new(
                            format!("{key}[{i}]"),
                            format!("{m}; write \"*\", \"*.example.com\", \"host.example.com\", an address or a range (\"10.0.0.0/8\")"),
                        )
                    })
                })
                .collect::<Result<Vec<_>, _>>()
        };
        Ok(Self {
            role: scope.role.to_owned(),
            interfaces: raw.interfaces,
            resolve: rules("resolve", &raw.resolve)?,
            ping: rules("ping", &raw.ping)?,
            timeout_ms: scope.timeout_ms,
            resolver: Resolver::new(Nameservers::compile(&raw.nameservers)?),
        })
    }

    /// What `policy check` shows.
    pub fn summary(&self) -> Vec<String> {
        let mut lines = Vec::new();
        if self.interfaces {
            lines.push("list interfaces".to_owned());
        }
        let join = |l: &[(String, HostRule)]| {
            l.iter()
                .map(|(s, _)| s.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        };
        if !self.resolve.is_empty() {
            lines.push(format!("resolve {}", join(&self.resolve)));
        }
        if !self.ping.is_empty() {
            lines.push(format!("ping {}", join(&self.ping)));
        }
        if !lines.is_empty() {
            lines.extend(self.resolver.nameservers().summary());
        }
        lines
    }

    /// May the role list interfaces.
    pub fn decide_interfaces(&self) -> Ruling {
        if self.interfaces {
            Ruling::allow(format!("[roles.{}.net].interfaces", self.role))
        } else {
            Ruling::deny(format!(
                "set interfaces = true in [roles.{}.net]",
                self.role
            ))
        }
    }

    /// May the role resolve `host` (checked, lower-case).
    pub fn decide_resolve(&self, host: &str) -> Ruling {
        match self.resolve.iter().find(|(_, r)| r.covers_name(host)) {
            Some((s, _)) => Ruling::allow(format!("[roles.{}.net].resolve \"{s}\"", self.role)),
            None => Ruling::deny(format!(
                "add \"{host}\" (or a pattern matching it) to [roles.{}.net].resolve",
                self.role
            )),
        }
    }

    /// May the role ping `host` (checked, lower-case) by the name alone.
    pub fn decide_ping_name(&self, host: &str) -> Ruling {
        match self.ping.iter().find(|(_, r)| r.covers_name(host)) {
            Some((s, _)) => Ruling::allow(format!("[roles.{}.net].ping \"{s}\"", self.role)),
            None => Ruling::deny(format!(
                "add \"{host}\" (or a pattern matching it) to [roles.{}.net].ping",
                self.role
            )),
        }
    }

    /// May the role ping `host` at `ip`: a special address needs an
    /// address rule containing it, whatever name led there.
    pub fn decide_ping(&self, host: &str, ip: IpAddr) -> Ruling {
        let ip = address::canonical(ip);
        let by_range = self
            .ping
            .iter()
            .find(|(_, r)| matches!(r, HostRule::Range(net) if net.contains(&ip)));
        if let Some((s, _)) = by_range {
            return Ruling::allow(format!("[roles.{}.net].ping \"{s}\"", self.role));
        }
        let by_name = self.decide_ping_name(host);
        match (address::special(ip), by_name) {
            (Some(kind), Ruling::Allow { .. }) => Ruling::deny(format!(
                "{host} is {ip}, a {kind} address, which only an address rule reaches: add \"{ip}\" to [roles.{}.net].ping",
                self.role
            )),
            (_, ruling) => ruling,
        }
    }
}

impl Capability for NetPolicy {
    const NAME: &'static str = "net";
    type Toml = NetToml;

    fn deny_all(scope: RoleScope<'_>) -> Self {
        NetPolicy::deny_all(scope)
    }

    fn compile(scope: RoleScope<'_>, raw: &NetToml) -> Result<Self, CompileError> {
        NetPolicy::compile(scope, raw)
    }

    fn summary(&self) -> Vec<String> {
        NetPolicy::summary(self)
    }

    fn requests() -> &'static [&'static str] {
        &["interfaces", "resolve HOST", "ping HOST"]
    }

    /// `ping` decides by the name, and for an address by the address; a
    /// name is not resolved here.
    fn explain(&self, operation: &str, args: &[String]) -> Result<Ruling, String> {
        match (operation, args) {
            ("interfaces", []) => Ok(self.decide_interfaces()),
            ("resolve", [host]) => Ok(self.decide_resolve(&check_host(host)?)),
            ("ping", [host]) => match host.parse::<IpAddr>() {
                Ok(ip) => Ok(self.decide_ping(&ip.to_string(), ip)),
                Err(_) => Ok(self.decide_ping_name(&check_host(host)?)),
            },
            ("interfaces" | "resolve" | "ping", _) => Err(format!(
                "net {operation} takes {}",
                if operation == "interfaces" {
                    "no argument"
                } else {
                    "one host"
                }
            )),
            (other, _) => Err(usage::<Self>(other)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SCOPE: RoleScope<'static> = RoleScope {
        role: "ops",
        timeout_ms: 10_000,
    };

    fn policy(resolve: &[&str], ping: &[&str]) -> NetPolicy {
        let raw = NetToml {
            interfaces: true,
            resolve: resolve.iter().map(|s| (*s).to_owned()).collect(),
            ping: ping.iter().map(|s| (*s).to_owned()).collect(),
            nameservers: Vec::new(),
        };
        NetPolicy::compile(SCOPE, &raw).unwrap()
    }

    #[test]
    fn interfaces_need_the_flag() {
        assert_eq!(
            NetPolicy::deny_all(SCOPE).decide_interfaces(),
            Ruling::deny("set interfaces = true in [roles.ops.net]")
        );
        assert_eq!(
            policy(&[], &[]).decide_interfaces(),
            Ruling::allow("[roles.ops.net].interfaces")
        );
    }

    #[test]
    fn names_are_matched_by_pattern() {
        let p = policy(&["*.example.com", "localhost"], &[]);
        assert!(matches!(
            p.decide_resolve("a.example.com"),
            Ruling::Allow { .. }
        ));
        assert!(matches!(
            p.decide_resolve("localhost"),
            Ruling::Allow { .. }
        ));
        assert_eq!(
            p.decide_resolve("example.com"),
            Ruling::deny(
                "add \"example.com\" (or a pattern matching it) to [roles.ops.net].resolve"
            )
        );
    }

    #[test]
    fn special_addresses_need_an_address_rule() {
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        let p = policy(&[], &["*", "127.0.0.1"]);
        assert_eq!(
            p.decide_ping("127.0.0.1", ip("127.0.0.1")),
            Ruling::allow("[roles.ops.net].ping \"127.0.0.1\"")
        );
        assert_eq!(
            p.decide_ping("router.lan", ip("192.168.1.1")),
            Ruling::deny(
                "router.lan is 192.168.1.1, a private address, which only an address rule reaches: add \"192.168.1.1\" to [roles.ops.net].ping"
            )
        );
        assert_eq!(
            p.decide_ping("dns.example", ip("8.8.8.8")),
            Ruling::allow("[roles.ops.net].ping \"*\"")
        );
        let p = policy(&[], &["10.0.0.0/8"]);
        assert!(matches!(
            p.decide_ping("10.1.2.3", ip("10.1.2.3")),
            Ruling::Allow { .. }
        ));
        assert!(matches!(
            p.decide_ping("11.0.0.1", ip("11.0.0.1")),
            Ruling::Deny { .. }
        ));
    }

    #[test]
    fn bad_patterns_name_their_key() {
        let raw = NetToml {
            ping: vec!["ok.example".into(), "-c 1".into()],
            ..NetToml::default()
        };
        assert_eq!(NetPolicy::compile(SCOPE, &raw).unwrap_err().key, "ping[1]");
    }
}
