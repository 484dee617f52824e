//! The built-in `systemd` tool through the runtime, against a private
//! `dbus-daemon` started here that has no systemd on it: the answer is a
//! clear `unavailable`, and the policy still decides first. (Calls against
//! a double of systemd's D-Bus API are tested at the host level in
//! `host-capabilities/src/systemd/tests`.)

use serde_json::json;

use crate::dbus::service::DbusDaemon;
use crate::harness::Env;

#[cfg_attr(not(llmagent_dbus), ignore = "needs dbus-daemon (Debian's dbus)")]
#[test]
fn status_on_a_bus_without_systemd_is_unavailable_and_policy_decides_first() {
    let bus = DbusDaemon::start();
    let env = Env::new(&format!(
        r#"
version = 1
[roles.ops]
tools = ["systemd"]
[roles.ops.systemd]
units = ["nginx.service"]
actions = ["list", "status"]
bus = "{}"
"#,
        bus.address
    ));
    let failure = env.err("ops", "systemd", "status", json!({"unit": "nginx.service"}));
    assert_eq!(failure.reason, "unavailable", "{failure:?}");
    assert!(
        failure
            .message
            .starts_with("systemd is not reachable on the bus at "),
        "{}",
        failure.message
    );
    let denied = env.err("ops", "systemd", "status", json!({"unit": "sshd.service"}));
    assert_eq!(
        (denied.reason.as_str(), denied.suggestion.as_deref()),
        (
            "denied",
            Some("add \"sshd.service\" to [roles.ops.systemd].units")
        )
    );
    let denied = env.err(
        "ops",
        "systemd",
        "restart",
        json!({"unit": "nginx.service"}),
    );
    assert_eq!(denied.reason, "denied");
    let bad = env.err("ops", "systemd", "status", json!({"unit": "-H.service"}));
    assert_eq!(
        (bad.reason.as_str(), bad.field.as_deref()),
        ("invalid_args", Some("unit"))
    );
}
