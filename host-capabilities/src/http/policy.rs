//! `[roles.R.http]`: the raw TOML shape, its compiled form and the pure
//! decisions (may this method reach this URL; may it reach it at this
//! address).

use std::collections::BTreeMap;
use std::net::IpAddr;

use ipnet::IpNet;
use serde::Deserialize;

use super::address;
use crate::capability::{Capability, RoleScope, usage};
use crate::ctx::DEFAULT_MAX_OUTPUT_BYTES;
use crate::decision::Ruling;
use crate::error::CompileError;
use crate::resolver::{Nameservers, Resolver};

/// Methods a role may use when `methods` is not written.
const ALL_METHODS: &[&str] = &["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"];

/// The raw `[roles.R.http]` section.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpToml {
    /// Destinations: `scheme://host[:port][/path-prefix]`; no scheme means
    /// https, no port the scheme's; `*.example.com` matches subdomains.
    #[serde(default)]
    pub allow: Vec<String>,
    /// Methods allowed (default: every common one).
    pub methods: Option<Vec<String>>,
    /// Response bodies are cut after this many bytes (default 1 MiB).
    pub max_response_bytes: Option<u64>,
    /// How long one request may take, from lookup to the body's last byte
    /// (default and ceiling: the role's `timeout_ms`).
    pub timeout_ms: Option<u64>,
    /// Special address ranges (`10.0.0.0/8`) that granted names may
    /// resolve into.
    #[serde(default)]
    pub addresses: Vec<String>,
    /// Headers the runtime adds to requests to one `allow` entry, by
    /// header name, from an environment variable of the runtime:
    /// `[roles.R.http.headers."https://api.github.com"] Authorization =
    /// "GITHUB_AUTH"`. The tool never sees them.
    #[serde(default)]
    pub headers: BTreeMap<String, BTreeMap<String, String>>,
    /// Nameservers instead of `/etc/resolv.conf` (`"127.0.0.1:5353"`).
    #[serde(default)]
    pub nameservers: Vec<String>,
}

/// How a destination's host is matched.
#[derive(Debug, Clone, PartialEq, Eq)]
enum HostPattern {
    /// This name exactly.
    Name(String),
    /// Any name ending in `.suffix` (the suffix itself not included).
    Subdomains(String),
    /// This address, named explicitly: it may be special.
    Address(IpAddr),
}

/// `http` or `https`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    /// Plain HTTP.
    Http,
    /// HTTP over TLS.
    Https,
}

impl Scheme {
    fn parse(s: &str) -> Option<Self> {
        match s.to_ascii_lowercase().as_str() {
            "http" => Some(Self::Http),
            "https" => Some(Self::Https),
            _ => None,
        }
    }

    /// `http` or `https`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Http => "http",
            Self::Https => "https",
        }
    }

    /// 80 or 443.
    pub fn default_port(self) -> u16 {
        match self {
            Self::Http => 80,
            Self::Https => 443,
        }
    }
}

/// One compiled `allow` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Destination {
    /// As written.
    pub pattern: String,
    scheme: Scheme,
    host: HostPattern,
    port: u16,
    /// A path prefix without a trailing `/`, if any.
    path: Option<String>,
    /// Headers added by the runtime: (name, environment variable).
    pub(crate) headers: Vec<(http::HeaderName, String)>,
}

/// A request's destination as the host parsed it from the URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The scheme.
    pub scheme: Scheme,
    /// The host, lower-cased, without a trailing dot or IPv6 brackets.
    pub host: String,
    /// The port (the scheme's when the URL has none).
    pub port: u16,
    /// The path (without the query).
    pub path: String,
}

impl Target {
    /// Parses `url` as the tool wrote it (`http://127.0.0.1:8080/x?y`);
    /// `Err` says what is wrong.
    pub fn parse(url: &str) -> Result<Self, String> {
        let (scheme, rest) = match url.split_once("://") {
            Some((s, rest)) => (
                Scheme::parse(s).ok_or_else(|| format!("\"{s}\" is not http or https"))?,
                rest,
            ),
            None => (Scheme::Https, url),
        };
        let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        let (authority, path) = rest.split_at(end);
        let path = path.split(['?', '#']).next().unwrap_or("");
        let (host, port) = split_authority(authority)?;
        let port = port.unwrap_or(scheme.default_port());
        Ok(Self {
            scheme,
            host,
            port,
            path: if path.is_empty() {
                "/".into()
            } else {
                path.into()
            },
        })
    }

    /// `scheme://host[:port]`, the port only when not the scheme's.
    pub fn origin(&self) -> String {
        let host = match self.host.parse::<IpAddr>() {
            Ok(IpAddr::V6(v6)) => format!("[{v6}]"),
            _ => self.host.clone(),
        };
        if self.port == self.scheme.default_port() {
            format!("{}://{host}", self.scheme.as_str())
        } else {
            format!("{}://{host}:{}", self.scheme.as_str(), self.port)
        }
    }

    /// The host as an address, when it is one.
    pub fn address(&self) -> Option<IpAddr> {
        self.host.parse().ok()
    }
}

/// Splits `host[:port]` / `[v6][:port]`, checking the host.
fn split_authority(authority: &str) -> Result<(String, Option<u16>), String> {
    if authority.contains('@') {
        return Err("a URL with user information (user@host) is not accepted".into());
    }
    let (host, port) = if let Some(rest) = authority.strip_prefix('[') {
        let (v6, after) = rest
            .split_once(']')
            .ok_or_else(|| format!("\"{authority}\" has an unclosed ["))?;
        let ip: std::net::Ipv6Addr = v6
            .parse()
            .map_err(|_| format!("\"{v6}\" is not an IPv6 address"))?;
        let port = match after {
            "" => None,
            p => Some(
                p.strip_prefix(':')
                    .ok_or_else(|| format!("\"{authority}\" is malformed"))?,
            ),
        };
        (ip.to_string(), port)
    } else {
        let (host, port) = match authority.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (authority, None),
        };
        (check_host(host)?, port)
    };
    let port = port
        .map(|p| match p.parse::<u16>() {
            Ok(n) if n > 0 => Ok(n),
            _ => Err(format!("\"{p}\" is not a port")),
        })
        .transpose()?;
    Ok((host, port))
}

/// A host name or dotted-decimal IPv4 address, lower-cased and without a
/// trailing dot. Numbers in other forms (`0x7f.1`, `2130706433`, `0177.1`),
/// which some resolvers read as addresses, are refused: a host whose last
/// label is numeric must be a canonical IPv4 address.
pub(crate) fn check_host(host: &str) -> Result<String, String> {
    let h = host.trim_end_matches('.').to_ascii_lowercase();
    if h.is_empty() {
        return Err("the URL has no host".into());
    }
    let last = h.rsplit('.').next().unwrap_or("");
    let numeric = last.bytes().all(|b| b.is_ascii_digit()) || last.starts_with("0x");
    if numeric {
        return match h.parse::<std::net::Ipv4Addr>() {
            Ok(ip) if ip.to_string() == h => Ok(h),
            _ => Err(format!(
                "\"{host}\" is not a host name nor an IPv4 address in dotted decimal (a.b.c.d)"
            )),
        };
    }
    let ok = h.split('.').all(|label| {
        !label.is_empty()
            && label.len() <= 63
            && label
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            && !label.starts_with('-')
    });
    if !ok || h.len() > 253 {
        return Err(format!("\"{host}\" is not a host name"));
    }
    Ok(h)
}

impl Destination {
    fn compile(pattern: &str) -> Result<Self, String> {
        let (scheme, rest) = match pattern.split_once("://") {
            Some((s, rest)) => (
                Scheme::parse(s)
                    .ok_or_else(|| format!("\"{s}\" is not a scheme; use http or https"))?,
                rest,
            ),
            None => (Scheme::Https, pattern),
        };
        if rest.contains(['?', '#']) {
            return Err("a destination has no query or fragment".into());
        }
        let end = rest.find('/').unwrap_or(rest.len());
        let (authority, path) = rest.split_at(end);
        let (host, port) = match authority.strip_prefix("*.") {
            Some(suffix) => {
                let (h, p) = split_authority(suffix)?;
                if h.parse::<IpAddr>().is_ok() {
                    return Err("a wildcard goes before a name, not an address".into());
                }
                (HostPattern::Subdomains(h), p)
            }
            None => {
                let (h, p) = split_authority(authority)?;
                match h.parse::<IpAddr>() {
                    Ok(ip) => (HostPattern::Address(ip), p),
                    Err(_) => (HostPattern::Name(h), p),
                }
            }
        };
        let path = path.trim_end_matches('/');
        if has_dot_segment(path) {
            return Err("a path prefix has no . or .. segments".into());
        }
        Ok(Self {
            pattern: pattern.to_owned(),
            scheme,
            host,
            port: port.unwrap_or(scheme.default_port()),
            path: (!path.is_empty()).then(|| path.to_owned()),
            headers: Vec::new(),
        })
    }

    /// Whether `target` is inside this destination.
    pub fn matches(&self, target: &Target) -> bool {
        if self.scheme != target.scheme || self.port != target.port {
            return false;
        }
        let host = match &self.host {
            HostPattern::Name(n) => *n == target.host,
            HostPattern::Subdomains(s) => target
                .host
                .strip_suffix(s.as_str())
                .is_some_and(|head| head.len() > 1 && head.ends_with('.')),
            HostPattern::Address(ip) => target.address() == Some(*ip),
        };
        host && match &self.path {
            None => true,
            Some(prefix) => {
                !has_dot_segment(&target.path)
                    && target
                        .path
                        .strip_prefix(prefix.as_str())
                        .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
            }
        }
    }

    /// Whether this destination names `ip` itself.
    fn names(&self, ip: IpAddr) -> bool {
        matches!(self.host, HostPattern::Address(a) if a == ip)
    }
}

/// `.` or `..` as a path segment, also percent-encoded: a server would
/// step out of a granted prefix with them.
fn has_dot_segment(path: &str) -> bool {
    path.split('/').any(|seg| {
        let seg = seg.to_ascii_lowercase().replace("%2e", ".");
        seg == "." || seg == ".."
    })
}

/// The compiled `[roles.R.http]` section of one role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpPolicy {
    role: String,
    /// Granted destinations, in file order.
    pub allow: Vec<Destination>,
    /// Methods allowed, upper-case.
    pub methods: Vec<String>,
    /// Response bodies are cut after this many bytes.
    pub max_response_bytes: u64,
    /// How long one request may take, in milliseconds.
    pub timeout_ms: u64,
    /// Special ranges granted names may resolve into.
    pub addresses: Vec<IpNet>,
    /// The resolver.
    pub resolver: Resolver,
}

impl HttpPolicy {
    /// A policy granting nothing.
    pub fn deny_all(scope: RoleScope<'_>) -> Self {
        Self {
            role: scope.role.to_owned(),
            allow: Vec::new(),
            methods: ALL_METHODS.iter().map(|m| (*m).to_owned()).collect(),
            max_response_bytes: DEFAULT_MAX_OUTPUT_BYTES,
            timeout_ms: scope.timeout_ms,
            addresses: Vec::new(),
            resolver: Resolver::new(Nameservers::System),
        }
    }

    /// Compiles the section.
    pub fn compile(scope: RoleScope<'_>, raw: &HttpToml) -> Result<Self, CompileError> {
        let mut p = Self::deny_all(scope);
        for (i, pattern) in raw.allow.iter().enumerate() {
            let d = Destination::compile(pattern).map_err(|m| {
                CompileError::new(
                    format!("allow[{i}]"),
                    format!(
                        "{m}; write scheme://host[:port][/path], e.g. \"https://api.example.com\""
                    ),
                )
            })?;
            p.allow.push(d);
        }
        if let Some(methods) = &raw.methods {
            p.methods = Vec::new();
            for (i, m) in methods.iter().enumerate() {
                let up = m.to_ascii_uppercase();
                if !ALL_METHODS.contains(&up.as_str()) {
                    return Err(CompileError::new(
                        format!("methods[{i}]"),
                        format!("\"{m}\" is not a method; use {}", ALL_METHODS.join(", ")),
                    ));
                }
                p.methods.push(up);
            }
        }
        if let Some(max) = raw.max_response_bytes {
            p.max_response_bytes = max;
        }
        if let Some(t) = raw.timeout_ms {
            if t == 0 || t > scope.timeout_ms {
                return Err(CompileError::new(
                    "timeout_ms",
                    format!(
                        "{t} is not between 1 and the role's timeout_ms ({})",
                        scope.timeout_ms
                    ),
                ));
            }
            p.timeout_ms = t;
        }
        for (i, a) in raw.addresses.iter().enumerate() {
            let net = a
                .parse::<IpNet>()
                .or_else(|_| a.parse::<IpAddr>().map(IpNet::from))
                .map_err(|_| {
                    CompileError::new(
                        format!("addresses[{i}]"),
                        format!("\"{a}\" is not an address range; write \"10.0.0.0/8\""),
                    )
                })?;
            p.addresses.push(net.trunc());
        }
        for (dest, headers) in &raw.headers {
            let key = format!("headers.\"{dest}\"");
            let d = p
                .allow
                .iter_mut()
                .find(|d| d.pattern == *dest)
                .ok_or_else(|| {
                    CompileError::new(&key, "name a destination exactly as written in allow")
                })?;
            for (name, var) in headers {
                let header = http::HeaderName::from_bytes(name.as_bytes())
                    .map_err(|_| CompileError::new(format!("{key}.{name}"), "not a header name"))?;
                if var.is_empty() || !var.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
                    return Err(CompileError::new(
                        format!("{key}.{name}"),
                        format!("\"{var}\" is not an environment variable's name"),
                    ));
                }
                d.headers.push((header, var.clone()));
            }
        }
        p.resolver = Resolver::new(Nameservers::compile(&raw.nameservers)?);
        Ok(p)
    }

    /// What `policy check` shows.
    pub fn summary(&self) -> Vec<String> {
        if self.allow.is_empty() {
            return Vec::new();
        }
        let mut lines = vec![format!(
            "{} to {}",
            self.methods.join(", "),
            self.allow
                .iter()
                .map(|d| d.pattern.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )];
        lines.push(format!(
            "responses cut at {} bytes, {} ms per request",
            self.max_response_bytes, self.timeout_ms
        ));
        if !self.addresses.is_empty() {
            lines.push(format!(
                "names may resolve into {}",
                self.addresses
                    .iter()
                    .map(IpNet::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        for d in &self.allow {
            for (name, var) in &d.headers {
                lines.push(format!("header {name} to {} from ${var}", d.pattern));
            }
        }
        lines.extend(self.resolver.nameservers().summary());
        lines
    }

    /// The ruling on `method` to `target` by the URL alone, and the
    /// destination that allows it.
    pub fn decide(&self, method: &str, target: &Target) -> (Ruling, Option<&Destination>) {
        if !self.methods.iter().any(|m| m == method) {
            return (
                Ruling::deny(format!(
                    "add \"{method}\" to [roles.{}.http].methods",
                    self.role
                )),
                None,
            );
        }
        match self.allow.iter().find(|d| d.matches(target)) {
            Some(d) => (
                Ruling::allow(format!(
                    "[roles.{}.http].allow \"{}\"",
                    self.role, d.pattern
                )),
                Some(d),
            ),
            None => (
                Ruling::deny(format!(
                    "add \"{}\" to [roles.{}.http].allow",
                    target.origin(),
                    self.role
                )),
                None,
            ),
        }
    }

    /// The ruling on connecting to `ip` for `target`, allowed by `dest`.
    pub fn decide_address(&self, target: &Target, dest: &Destination, ip: IpAddr) -> Ruling {
        let rule = format!("[roles.{}.http].allow \"{}\"", self.role, dest.pattern);
        let Some(kind) = address::special(ip) else {
            return Ruling::allow(rule);
        };
        let ip = address::canonical(ip);
        if dest.names(ip) {
            return Ruling::allow(rule);
        }
        if let Some(net) = self.addresses.iter().find(|n| n.contains(&ip)) {
            return Ruling::allow(format!("[roles.{}.http].addresses \"{net}\"", self.role));
        }
        let named = match ip {
            IpAddr::V6(v6) => format!("{}://[{v6}]", target.scheme.as_str()),
            IpAddr::V4(v4) => format!("{}://{v4}", target.scheme.as_str()),
        };
        let named = if target.port == target.scheme.default_port() {
            named
        } else {
            format!("{named}:{}", target.port)
        };
        Ruling::deny(format!(
            "{} resolves to {ip}, a {kind} address, which only a grant naming it reaches: add \"{named}\" to [roles.{role}.http].allow or \"{ip}/{bits}\" to [roles.{role}.http].addresses",
            target.host,
            role = self.role,
            bits = if ip.is_ipv4() { 32 } else { 128 },
        ))
    }
}

impl Capability for HttpPolicy {
    const NAME: &'static str = "http";
    type Toml = HttpToml;

    fn deny_all(scope: RoleScope<'_>) -> Self {
        HttpPolicy::deny_all(scope)
    }

    fn compile(scope: RoleScope<'_>, raw: &HttpToml) -> Result<Self, CompileError> {
        HttpPolicy::compile(scope, raw)
    }

    fn summary(&self) -> Vec<String> {
        HttpPolicy::summary(self)
    }

    fn requests() -> &'static [&'static str] {
        &["METHOD URL"]
    }

    /// Decides by the URL and, for an address in the URL, by the address;
    /// a name is not resolved here (the host resolves it at each request
    /// and decides again on what it gets).
    fn explain(&self, operation: &str, args: &[String]) -> Result<Ruling, String> {
        let method = operation.to_ascii_uppercase();
        if !ALL_METHODS.contains(&method.as_str()) {
            return Err(usage::<Self>(operation));
        }
        let [url] = args else {
            return Err(format!("http {operation} takes one URL"));
        };
        let target = Target::parse(url)?;
        let (ruling, dest) = self.decide(&method, &target);
        match (dest, target.address()) {
            (Some(d), Some(ip)) => Ok(self.decide_address(&target, d, ip)),
            _ => Ok(ruling),
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

    fn policy(allow: &[&str]) -> HttpPolicy {
        let raw = HttpToml {
            allow: allow.iter().map(|s| (*s).to_owned()).collect(),
            ..HttpToml::default()
        };
        HttpPolicy::compile(SCOPE, &raw).unwrap()
    }

    fn decide(p: &HttpPolicy, method: &str, url: &str) -> Ruling {
        p.decide(method, &Target::parse(url).unwrap()).0
    }

    #[test]
    fn scheme_host_port_and_path_must_all_match() {
        let p = policy(&[
            "api.example.com",
            "http://127.0.0.1:8080",
            "https://*.corp.example:8443/v1",
        ]);
        let allowed = |u: &str| matches!(decide(&p, "GET", u), Ruling::Allow { .. });
        assert!(allowed("https://api.example.com/x"));
        assert!(allowed("https://API.example.com./x"));
        assert!(allowed("https://api.example.com:443/"));
        assert!(!allowed("http://api.example.com/x"));
        assert!(!allowed("https://api.example.com:8443/x"));
        assert!(!allowed("https://sub.api.example.com/"));
        assert!(allowed("http://127.0.0.1:8080/anything"));
        assert!(!allowed("http://127.0.0.1/"));
        assert!(!allowed("http://127.0.0.1:8081/"));
        assert!(allowed("https://a.corp.example:8443/v1"));
        assert!(allowed("https://a.b.corp.example:8443/v1/x"));
        assert!(!allowed("https://corp.example:8443/v1"));
        assert!(!allowed("https://a.corp.example:8443/v10"));
        assert!(!allowed("https://a.corp.example:8443/v1/../admin"));
        assert!(!allowed("https://a.corp.example:8443/v1/%2e%2E/admin"));
        assert!(!allowed("https://evilcorp.example:8443/v1"));
    }

    #[test]
    fn denials_name_the_key_to_add() {
        let p = policy(&["http://127.0.0.1:8080"]);
        assert_eq!(
            decide(&p, "GET", "http://localhost:8080/x"),
            Ruling::deny("add \"http://localhost:8080\" to [roles.ops.http].allow")
        );
        assert_eq!(
            decide(&p, "GET", "https://[::1]/"),
            Ruling::deny("add \"https://[::1]\" to [roles.ops.http].allow")
        );
        let raw = HttpToml {
            allow: vec!["http://127.0.0.1:8080".into()],
            methods: Some(vec!["get".into()]),
            ..HttpToml::default()
        };
        let p = HttpPolicy::compile(SCOPE, &raw).unwrap();
        assert_eq!(
            decide(&p, "POST", "http://127.0.0.1:8080/"),
            Ruling::deny("add \"POST\" to [roles.ops.http].methods")
        );
    }

    #[test]
    fn special_addresses_need_a_grant_naming_them() {
        let raw = HttpToml {
            allow: vec![
                "http://intranet.example".into(),
                "http://127.0.0.1:8080".into(),
            ],
            addresses: vec!["10.0.0.0/8".into()],
            ..HttpToml::default()
        };
        let p = HttpPolicy::compile(SCOPE, &raw).unwrap();
        let t = Target::parse("http://intranet.example/").unwrap();
        let d = p.decide("GET", &t).1.unwrap().clone();
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        assert_eq!(
            p.decide_address(&t, &d, ip("93.184.215.14")),
            Ruling::allow("[roles.ops.http].allow \"http://intranet.example\"")
        );
        assert_eq!(
            p.decide_address(&t, &d, ip("10.2.3.4")),
            Ruling::allow("[roles.ops.http].addresses \"10.0.0.0/8\"")
        );
        assert_eq!(
            p.decide_address(&t, &d, ip("::ffff:169.254.169.254")),
            Ruling::deny(
                "intranet.example resolves to 169.254.169.254, a link-local address, which only a grant naming it reaches: add \"http://169.254.169.254\" to [roles.ops.http].allow or \"169.254.169.254/32\" to [roles.ops.http].addresses"
            )
        );
        let t = Target::parse("http://127.0.0.1:8080/").unwrap();
        let d = p.decide("GET", &t).1.unwrap().clone();
        assert_eq!(
            p.decide_address(&t, &d, ip("127.0.0.1")),
            Ruling::allow("[roles.ops.http].allow \"http://127.0.0.1:8080\"")
        );
    }

    #[test]
    fn odd_hosts_and_bad_entries_are_refused() {
        for url in [
            "http://0x7f.1/",
            "http://2130706433/",
            "http://0177.0.0.1/",
            "http://127.1/",
            "http://u@example.com/",
            "http://exa mple.com/",
            "ftp://example.com/",
        ] {
            assert!(Target::parse(url).is_err(), "{url}");
        }
        let bad = |allow: &str| {
            HttpPolicy::compile(
                SCOPE,
                &HttpToml {
                    allow: vec!["https://ok.example".into(), allow.into()],
                    ..HttpToml::default()
                },
            )
            .unwrap_err()
            .key
        };
        assert_eq!(bad("ftp://x.example"), "allow[1]");
        assert_eq!(bad("*.10.0.0.1"), "allow[1]");
        assert_eq!(bad("https://x.example:0"), "allow[1]");
        assert_eq!(bad("https://x.example/a/../b"), "allow[1]");
        let e = HttpPolicy::compile(
            SCOPE,
            &HttpToml {
                timeout_ms: Some(20_000),
                ..HttpToml::default()
            },
        )
        .unwrap_err();
        assert_eq!(
            e,
            CompileError::new(
                "timeout_ms",
                "20000 is not between 1 and the role's timeout_ms (10000)"
            )
        );
        let e = HttpPolicy::compile(
            SCOPE,
            &HttpToml {
                allow: vec!["https://api.example".into()],
                headers: [(
                    "https://other.example".to_owned(),
                    [("Authorization".to_owned(), "TOKEN".to_owned())].into(),
                )]
                .into(),
                ..HttpToml::default()
            },
        )
        .unwrap_err();
        assert_eq!(e.key, "headers.\"https://other.example\"");
    }

    #[test]
    fn the_summary_says_what_is_granted_and_never_a_secret() {
        let raw = HttpToml {
            allow: vec!["https://api.example".into()],
            methods: Some(vec!["GET".into()]),
            headers: [(
                "https://api.example".to_owned(),
                [("Authorization".to_owned(), "API_AUTH".to_owned())].into(),
            )]
            .into(),
            nameservers: vec!["127.0.0.1:5353".into()],
            ..HttpToml::default()
        };
        let p = HttpPolicy::compile(SCOPE, &raw).unwrap();
        assert_eq!(
            p.summary(),
            [
                "GET to https://api.example",
                "responses cut at 1048576 bytes, 10000 ms per request",
                "header authorization to https://api.example from $API_AUTH",
                "names resolved by 127.0.0.1:5353",
            ]
        );
        assert_eq!(HttpPolicy::deny_all(SCOPE).summary(), Vec::<String>::new());
    }
}
