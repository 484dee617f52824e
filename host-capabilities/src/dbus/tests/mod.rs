//! Host-level tests: `dbus` called directly on a [`Capabilities`] built
//! from an inline policy, against a private `dbus-daemon` serving the
//! [`service`]; and the pure policy tests.

mod host;
mod policy;
pub(crate) mod service;

use std::sync::Arc;

use super::{DbusPolicy, DbusToml};
use crate::ctx::{Capabilities, Grants};
pub(super) use crate::sink::Recorder;

/// Capabilities of role `ops` with the `dbus` section parsed from `toml`,
/// and its sink.
pub(super) fn caps(toml_text: &str) -> (Capabilities, Arc<Recorder>) {
    let raw: DbusToml = toml::from_str(toml_text).unwrap();
    let mut grants = Grants::none("ops");
    grants.dbus = DbusPolicy::compile("ops", &raw).unwrap();
    let sink = Arc::new(Recorder::new("dbus"));
    (Capabilities::new(Arc::new(grants), sink.clone()), sink)
}
