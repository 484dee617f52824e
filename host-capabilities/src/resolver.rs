//! The one name resolver of the `http` and `net` capabilities.
//!
//! Names are resolved by the runtime itself, with hickory: `/etc/hosts`
//! first, then the nameservers of `/etc/resolv.conf` (or the ones a
//! section names with `nameservers`). The `http` capability checks the
//! addresses it gets and connects to the very one it checked, so a second
//! lookup (DNS rebinding) cannot switch the target; `net resolve` answers
//! from the same resolver, so what a model sees is what `http` would use.

use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use hickory_resolver::config::{ConnectionConfig, NameServerConfig, ResolverConfig};
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::proto::rr::RecordType;
use hickory_resolver::{Resolver as Hickory, TokioResolver};

use crate::error::CompileError;

/// Where names are resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Nameservers {
    /// `/etc/hosts`, then the nameservers of `/etc/resolv.conf`.
    System,
    /// These nameservers (UDP, then TCP), and `/etc/hosts` first.
    Custom(Vec<SocketAddr>),
}

impl Nameservers {
    /// Compiles a section's `nameservers` (`"10.0.0.53"`,
    /// `"127.0.0.1:5353"`); empty means the system's.
    pub fn compile(raw: &[String]) -> Result<Self, CompileError> {
        if raw.is_empty() {
            return Ok(Self::System);
        }
        raw.iter()
            .enumerate()
            .map(|(i, s)| {
                s.parse::<SocketAddr>()
                    .or_else(|_| s.parse::<IpAddr>().map(|ip| SocketAddr::new(ip, 53)))
                    .map_err(|_| {
                        CompileError::new(
                            format!("nameservers[{i}]"),
                            format!(
                                "\"{s}\" is not an address; write \"10.0.0.53\" or \"127.0.0.1:5353\""
                            ),
                        )
                    })
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Self::Custom)
    }

    /// What `policy check` shows; `None` for the system's.
    pub fn summary(&self) -> Option<String> {
        match self {
            Self::System => None,
            Self::Custom(servers) => Some(format!(
                "names resolved by {}",
                servers
                    .iter()
                    .map(SocketAddr::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
        }
    }
}

/// Why a name did not resolve.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResolveError {
    /// The name has no record of the asked type (or does not exist).
    NotFound(String),
    /// No answer within the time left.
    Timeout,
    /// The resolver failed (no nameserver reachable, a bad name …).
    Failed(String),
}

impl std::fmt::Display for ResolveError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::NotFound(m) | Self::Failed(m) => f.write_str(m),
            Self::Timeout => f.write_str("the name did not resolve in time"),
        }
    }
}

/// A resolver, built on first use (inside the async runtime) and shared by
/// every call of the role.
#[derive(Debug, Clone)]
pub struct Resolver {
    nameservers: Nameservers,
    inner: Arc<OnceLock<Result<TokioResolver, String>>>,
}

impl PartialEq for Resolver {
    fn eq(&self, other: &Self) -> bool {
        self.nameservers == other.nameservers
    }
}

impl Eq for Resolver {}

impl Resolver {
    /// A resolver over `nameservers`.
    pub fn new(nameservers: Nameservers) -> Self {
        Self {
            nameservers,
            inner: Arc::default(),
        }
    }

    /// Where it resolves.
    pub fn nameservers(&self) -> &Nameservers {
        &self.nameservers
    }

    fn get(&self) -> Result<&TokioResolver, ResolveError> {
        self.inner
            .get_or_init(|| build(&self.nameservers))
            .as_ref()
            .map_err(|e| ResolveError::Failed(e.clone()))
    }

    /// The addresses of `host` (A and AAAA, `/etc/hosts` first), IPv4
    /// ones first, within `within`. An address literal is answered as itself.
    pub async fn addresses(
        &self,
        host: &str,
        within: Duration,
    ) -> Result<Vec<IpAddr>, ResolveError> {
        if let Ok(ip) = host.parse::<IpAddr>() {
            return Ok(vec![ip]);
        }
        let resolver = self.get()?;
        let found = tokio::time::timeout(within, resolver.lookup_ip(host))
            .await
            .map_err(|_| ResolveError::Timeout)?
            .map_err(|e| lookup_error(host, &e))?;
        // IPv4 first (a stable sort keeps the resolver's order within a
        // family): servers on a dual-stack name listen on IPv4 more often.
        let mut ips: Vec<IpAddr> = found.iter().collect();
        ips.sort_by_key(IpAddr::is_ipv6);
        ips.dedup();
        if ips.is_empty() {
            return Err(ResolveError::NotFound(format!("{host} has no address")));
        }
        Ok(ips)
    }

    /// The records of `kind` for `host` as text (`A`, `AAAA`: addresses;
    /// `CNAME`: the target; `MX`: `"10 mail.example.com."`; `TXT`: the
    /// strings joined), within `within`.
    pub async fn records(
        &self,
        host: &str,
        kind: RecordType,
        within: Duration,
    ) -> Result<Vec<String>, ResolveError> {
        let resolver = self.get()?;
        let found = tokio::time::timeout(within, resolver.lookup(host, kind))
            .await
            .map_err(|_| ResolveError::Timeout)?
            .map_err(|e| lookup_error(host, &e))?;
        Ok(found
            .answers()
            .iter()
            .filter(|r| r.record_type() == kind)
            .map(|r| r.data.to_string())
            .collect())
    }
}

fn lookup_error(host: &str, e: &hickory_resolver::net::NetError) -> ResolveError {
    if e.is_no_records_found() || e.is_nx_domain() {
        ResolveError::NotFound(format!("{host} does not resolve"))
    } else {
        ResolveError::Failed(format!("resolving {host} failed: {e}"))
    }
}

fn build(nameservers: &Nameservers) -> Result<TokioResolver, String> {
    let provider = TokioRuntimeProvider::default();
    let builder = match nameservers {
        Nameservers::System => Hickory::builder(provider)
            .map_err(|e| format!("cannot read the system's resolver configuration: {e}"))?,
        Nameservers::Custom(servers) => {
            let servers = servers
                .iter()
                .map(|s| {
                    let mut udp = ConnectionConfig::udp();
                    udp.port = s.port();
                    let mut tcp = ConnectionConfig::tcp();
                    tcp.port = s.port();
                    NameServerConfig::new(s.ip(), true, vec![udp, tcp])
                })
                .collect();
            Hickory::builder_with_config(ResolverConfig::from_name_servers(servers), provider)
        }
    };
    builder
        .build()
        .map_err(|e| format!("cannot start the resolver: {e}"))
}
