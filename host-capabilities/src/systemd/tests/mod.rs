//! Host-level tests: `systemd` called directly on a [`Capabilities`] built
//! from an inline policy, against a private `dbus-daemon` serving the
//! [`double`] of systemd's D-Bus API; the pure policy tests; and one test
//! against the machine's real systemd when there is one.

mod double;
mod host;
mod policy;
mod real;

use std::sync::Arc;

use super::{SystemdPolicy, SystemdToml};
use crate::ctx::{Capabilities, Grants};
pub(super) use crate::sink::Recorder;

/// A `[roles.ops.systemd]` section.
pub(super) fn section(units: &[&str], actions: Option<&[&str]>, bus: Option<&str>) -> SystemdToml {
    SystemdToml {
        units: units.iter().map(|s| (*s).to_owned()).collect(),
        actions: actions.map(|a| a.iter().map(|s| (*s).to_owned()).collect()),
        bus: bus.map(str::to_owned),
    }
}

/// Capabilities of role `ops` with the `systemd` section `raw`, and its sink.
pub(super) fn caps(raw: &SystemdToml) -> (Capabilities, Arc<Recorder>) {
    let mut grants = Grants::none("ops");
    grants.systemd = SystemdPolicy::compile("ops", raw).unwrap();
    let sink = Arc::new(Recorder::new("systemd"));
    (Capabilities::new(Arc::new(grants), sink.clone()), sink)
}
