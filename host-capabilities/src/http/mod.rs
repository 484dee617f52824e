//! The `http` capability: outgoing HTTP through the standard
//! `wasi:http/outgoing-handler`, filtered by the role's `[roles.R.http]`
//! section, plus `wit/http.wit` (why the last request was refused).
//!
//! ```toml
//! [roles.ops.http]
//! allow = ["https://api.github.com", "http://127.0.0.1:8080/status", "*.example.com"]
//! methods = ["GET", "HEAD"]          # default: GET HEAD POST PUT PATCH DELETE OPTIONS
//! max_response_bytes = 1048576       # bodies are cut here (default 1 MiB)
//! timeout_ms = 5000                  # per request (default and ceiling: the role's)
//! addresses = ["10.0.0.0/8"]         # special ranges granted names may resolve into
//! nameservers = ["10.0.0.53"]        # instead of /etc/resolv.conf
//! [roles.ops.http.headers."https://api.github.com"]
//! Authorization = "GITHUB_AUTH"      # header value from the runtime's environment
//! ```
//!
//! **Decisions.** A request is decided first by its URL: the method must
//! be in `methods`, and scheme, host, port and path must fall inside an
//! `allow` entry (`scheme://host[:port][/path-prefix]`; no scheme means
//! https, no port the scheme's, so a port always matters; `*.example.com`
//! is any subdomain; a path prefix matches whole segments and refuses `.`
//! and `..`). Hosts in odd numeric forms (`0x7f.1`, `2130706433`) are
//! refused. Then the runtime resolves the name itself ([`crate::resolver`])
//! and decides on each address ([`address`]): special ranges (loopback,
//! link-local, private …, IPv4-mapped forms included) only when the grant
//! names that address or `addresses` lists its range. The request is sent
//! to the very address decided on, with `Host` and TLS SNI naming the
//! granted host; no proxy settings apply; redirects are not followed here
//! (a tool follows them, and each hop is decided again). Response bodies
//! end with `HTTP-response-body-size` after `max_response_bytes`, and
//! everything ends at `timeout_ms`.
//!
//! Each request makes one decision for the [`Sink`](crate::Sink):
//! capability `http`, operation the method, target the URL — and, once it
//! is resolved, `URL at ADDRESS:PORT`.

pub mod address;
pub(crate) mod policy;
mod send;

pub use policy::{Destination, HttpPolicy, HttpToml, Scheme, Target};
pub(crate) use send::DenialSlot;
pub use send::HttpHooks;

use crate::bindings::Denial;
use crate::bindings::http::Host;
use crate::ctx::Capabilities;

impl Host for Capabilities {
    fn last_denial(&mut self) -> wasmtime::Result<Option<Denial>> {
        Ok(self.http_denial.lock().ok().and_then(|mut d| d.take()))
    }
}
