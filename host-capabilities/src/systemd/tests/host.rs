//! The host functions against a private bus serving the systemd double,
//! and against a bus with no systemd on it.

/// Generated WIT types have no `PartialEq`: compare whole values by
/// their `Debug` form.
macro_rules! assert_dbg_eq {
    ($a:expr, $b:expr $(,)?) => {
        same_debug($a, $b)
    };
}

#[track_caller]
fn same_debug<T: std::fmt::Debug>(actual: T, expected: T) {
    assert_eq!(format!("{actual:?}"), format!("{expected:?}"));
}

use super::double::SystemdDouble;
use super::*;
use crate::bindings::systemd::{Host, JobResult, Unit};
use crate::bindings::{CapError, Denial};
use crate::dbus::tests::service::DbusDaemon;

const ALL: &[&str] = &["list", "status", "start", "stop", "restart"];

/// A private bus with the double on it, and capabilities for `units`.
fn served(
    units: &[&str],
    actions: &[&str],
) -> (DbusDaemon, SystemdDouble, Capabilities, Arc<Recorder>) {
    let daemon = DbusDaemon::start();
    let double = SystemdDouble::serve(&daemon.address);
    let (caps, sink) = caps(&section(units, Some(actions), Some(&daemon.address)));
    (daemon, double, caps, sink)
}

#[cfg_attr(not(llmagent_dbus), ignore = "needs dbus-daemon (Debian's dbus)")]
#[test]
fn list_answers_running_services_the_role_covers() {
    let (_d, _s, mut caps, sink) = served(&["*.service"], ALL);
    let units = caps
        .list_units("service".into(), "running".into())
        .unwrap()
        .unwrap();
    let unit = |n: &str, d: &str| Unit {
        unit: n.into(),
        load: "loaded".into(),
        active: "active".into(),
        sub: "running".into(),
        description: d.into(),
    };
    assert_dbg_eq!(
        units,
        [
            unit(
                "cron.service",
                "Regular background program processing daemon"
            ),
            unit("nginx.service", "A high performance web server"),
        ]
        .to_vec()
    );
    // The timer is running ("waiting") but not covered by the role.
    let all = caps
        .list_units(String::new(), String::new())
        .unwrap()
        .unwrap();
    assert_eq!(all.len(), 4, "{all:?}");
    assert_eq!(
        sink.seen()[0],
        (
            "list".into(),
            String::new(),
            true,
            "[roles.ops.systemd].actions has \"list\"".into()
        )
    );
}

#[cfg_attr(not(llmagent_dbus), ignore = "needs dbus-daemon (Debian's dbus)")]
#[test]
fn status_answers_unit_and_service_properties_as_text() {
    let (_d, _s, mut caps, sink) = served(&["nginx.service", "ghost.service"], ALL);
    let props = caps.status("nginx.service".into()).unwrap().unwrap();
    let expected: Vec<(String, String)> = [
        ("ActiveState", "active"),
        ("CanStart", "yes"),
        ("Description", "A high performance web server"),
        ("Id", "nginx.service"),
        ("LoadState", "loaded"),
        ("MainPID", "4242"),
        ("Restart", "on-failure"),
        ("SubState", "running"),
    ]
    .iter()
    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
    .collect();
    assert_eq!(props, expected);
    // Not loaded: found through LoadUnit, as systemctl show does.
    let ghost = caps.status("ghost.service".into()).unwrap().unwrap();
    assert!(
        ghost.contains(&("LoadState".into(), "not-found".into())),
        "{ghost:?}"
    );
    assert_eq!(
        sink.seen()[0],
        (
            "status".into(),
            "nginx.service".into(),
            true,
            "[roles.ops.systemd].units has \"nginx.service\"".into()
        )
    );
}

#[cfg_attr(not(llmagent_dbus), ignore = "needs dbus-daemon (Debian's dbus)")]
#[test]
fn start_waits_for_the_job_and_a_failing_job_says_failed() {
    let (_d, _s, mut caps, _) = served(&["*.service"], ALL);
    assert_dbg_eq!(
        caps.stop("nginx.service".into(), 5000).unwrap(),
        Ok(JobResult {
            unit: "nginx.service".into(),
            job_result: "done".into()
        })
    );
    let props = caps.status("nginx.service".into()).unwrap().unwrap();
    assert!(
        props.contains(&("ActiveState".into(), "inactive".into())),
        "{props:?}"
    );
    assert_dbg_eq!(
        caps.start("nginx.service".into(), 5000).unwrap(),
        Ok(JobResult {
            unit: "nginx.service".into(),
            job_result: "done".into()
        })
    );
    assert_dbg_eq!(
        caps.restart("broken.service".into(), 5000).unwrap(),
        Ok(JobResult {
            unit: "broken.service".into(),
            job_result: "failed".into()
        })
    );
}

#[cfg_attr(not(llmagent_dbus), ignore = "needs dbus-daemon (Debian's dbus)")]
#[test]
fn a_job_that_never_ends_is_a_timeout() {
    let (_d, _s, mut caps, _) = served(&["*.service"], ALL);
    let started = std::time::Instant::now();
    let answer = caps.start("hang.service".into(), 300).unwrap();
    assert_dbg_eq!(
        answer,
        Err(CapError::Timeout(
            "the start job of hang.service did not finish within 300 ms".into()
        ))
    );
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
}

/// Issue 15: the job wait took its timeout from the tool, uncapped.
#[cfg_attr(not(llmagent_dbus), ignore = "needs dbus-daemon (Debian's dbus)")]
#[test]
fn the_job_wait_is_capped_by_the_roles_timeout() {
    let daemon = DbusDaemon::start();
    let _double = SystemdDouble::serve(&daemon.address);
    let raw = section(&["*.service"], Some(ALL), Some(&daemon.address));
    let scope = crate::RoleScope {
        role: "ops",
        timeout_ms: 300,
    };
    let mut grants = Grants::none("ops");
    grants.systemd = <SystemdPolicy as crate::Capability>::compile(scope, &raw).unwrap();
    let mut caps = Capabilities::new(Arc::new(grants), Arc::new(Recorder::new("systemd")));
    let started = std::time::Instant::now();
    let answer = caps.start("hang.service".into(), u32::MAX).unwrap();
    assert_dbg_eq!(
        answer,
        Err(CapError::Timeout(
            "the start job of hang.service did not finish within 300 ms".into()
        ))
    );
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
}

#[cfg_attr(not(llmagent_dbus), ignore = "needs dbus-daemon (Debian's dbus)")]
#[test]
fn a_unit_or_action_outside_the_policy_is_denied_naming_the_key() {
    let (_d, _s, mut caps, sink) = served(&["nginx.service"], &["status"]);
    assert_dbg_eq!(
        caps.status("cron.service".into()).unwrap(),
        Err(CapError::Denied(Denial {
            capability: "systemd".into(),
            target: "status of cron.service".into(),
            hint: "add \"cron.service\" to [roles.ops.systemd].units".into(),
        }))
    );
    assert_dbg_eq!(
        caps.restart("nginx.service".into(), 1000).unwrap(),
        Err(CapError::Denied(Denial {
            capability: "systemd".into(),
            target: "restart of nginx.service".into(),
            hint: "add \"restart\" to [roles.ops.systemd].actions".into(),
        }))
    );
    assert_eq!(
        sink.seen(),
        [
            (
                "status".into(),
                "cron.service".into(),
                false,
                "add \"cron.service\" to [roles.ops.systemd].units".into()
            ),
            (
                "restart".into(),
                "nginx.service".into(),
                false,
                "add \"restart\" to [roles.ops.systemd].actions".into()
            ),
        ]
    );
}

#[test]
fn an_invalid_unit_name_is_refused_before_policy_and_bus() {
    let (mut caps, sink) = caps(&section(&["*"], Some(ALL), Some("unix:path=/nonexistent")));
    assert_dbg_eq!(
        caps.start("-nginx.service".into(), 1000).unwrap(),
        Err(CapError::InvalidArgument(
            "\"-nginx.service\" is not a unit name: it starts with '-' or '.'".into()
        ))
    );
    assert!(matches!(
        caps.list_units("services".into(), String::new()).unwrap(),
        Err(CapError::InvalidArgument(_))
    ));
    assert_eq!(sink.seen(), []);
}

#[cfg_attr(not(llmagent_dbus), ignore = "needs dbus-daemon (Debian's dbus)")]
#[test]
fn a_bus_without_systemd_is_unsupported() {
    let daemon = DbusDaemon::start();
    let (mut caps, _) = caps(&section(&["*"], None, Some(&daemon.address)));
    assert_dbg_eq!(
        caps.status("nginx.service".into()).unwrap(),
        Err(CapError::Unsupported(format!(
            "systemd is not reachable on the bus at {}: no process owns the name org.freedesktop.systemd1",
            daemon.address
        )))
    );
    let (mut caps, _) = super::caps(&section(&["*"], None, Some("unix:path=/nonexistent/bus")));
    match caps.list_units(String::new(), String::new()).unwrap() {
        Err(CapError::Unsupported(m)) => assert!(
            m.starts_with("systemd is not reachable on the bus at unix:path=/nonexistent/bus: "),
            "{m}"
        ),
        other => panic!("{other:?}"),
    }
}
