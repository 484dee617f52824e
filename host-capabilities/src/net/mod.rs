//! The `net` capability (`wit/net.wit`) and its policy section
//! `[roles.R.net]`.
//!
//! ```toml
//! [roles.ops.net]
//! interfaces = true                      # list interfaces (default false)
//! resolve = ["*"]                        # names the role may resolve
//! ping = ["10.0.0.0/8", "*.example.com"] # hosts the role may ping
//! nameservers = ["10.0.0.53"]            # instead of /etc/resolv.conf
//! ```
//!
//! **Interfaces** come from the kernel (`getifaddrs`, `/sys/class/net`),
//! never from `ip`. **Resolution** uses the resolver `http` uses
//! ([`crate::resolver`]): A, AAAA, CNAME, MX and TXT. **Ping** sends ICMP
//! echoes over unprivileged ICMP datagram sockets. A host argument is a
//! name or an address, checked before anything else (a leading `-` or a
//! space is refused: it is never an option to anything).
//!
//! **Decisions.** `list-interfaces` needs `interfaces = true`; `resolve`
//! a `resolve` pattern covering the name; `ping` a `ping` pattern covering
//! the name, and at the address it resolves to — loopback, private,
//! link-local and the other special ranges only through an address or
//! range rule (`"127.0.0.1"`, `"10.0.0.0/8"`), never through `*` or a name.
//! Every decision goes to the [`Sink`](crate::Sink) as capability `net`,
//! operation `interfaces`, `resolve` or `ping`, target the host (for
//! `ping`, `HOST at ADDRESS`).

mod host;
mod interfaces;
mod ping;
mod policy;

pub use policy::{NetPolicy, NetToml};
