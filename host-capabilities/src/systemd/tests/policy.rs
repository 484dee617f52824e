//! The pure policy: compiling `[roles.R.systemd]` and deciding on actions
//! and units.

use super::*;
use crate::Ruling;
use crate::error::CompileError;
use crate::systemd::{Action, Bus};

#[test]
fn the_section_compiles_with_list_and_status_by_default_on_the_system_bus() {
    let p = SystemdPolicy::compile("ops", &SystemdToml::default()).unwrap();
    assert_eq!(p, SystemdPolicy::deny_all("ops"));
    assert_eq!(p.summary(), Vec::<String>::new());
    let p =
        SystemdPolicy::compile("ops", &section(&["nginx.service", "*.timer"], None, None)).unwrap();
    assert_eq!(
        (p.actions.clone(), p.bus.clone()),
        (vec![Action::List, Action::Status], Bus::System)
    );
    assert_eq!(p.summary(), ["list, status units nginx.service, *.timer"]);
    let p = SystemdPolicy::compile(
        "ops",
        &section(&["*"], Some(&["restart"]), Some("unix:path=/tmp/bus")),
    )
    .unwrap();
    assert_eq!(p.bus, Bus::Address("unix:path=/tmp/bus".into()));
    assert_eq!(p.summary(), ["restart units *", "bus unix:path=/tmp/bus"]);
}

#[test]
fn bad_keys_are_compile_errors_naming_the_key() {
    let e = SystemdPolicy::compile(
        "ops",
        &section(&["a.service"], Some(&["list", "kill"]), None),
    )
    .unwrap_err();
    assert_eq!(
        e,
        CompileError::new(
            "actions[1]",
            "\"kill\" is not an action; use \"list\", \"status\", \"start\", \"stop\" or \"restart\""
        )
    );
    let e = SystemdPolicy::compile("ops", &section(&["a.service", "-x*"], None, None)).unwrap_err();
    assert_eq!(e.key, "units[1]");
    let e = SystemdPolicy::compile("ops", &section(&["[a"], None, None)).unwrap_err();
    assert_eq!(e.key, "units[0]");
    let e = SystemdPolicy::compile("ops", &section(&[], None, Some("session"))).unwrap_err();
    assert_eq!(e.key, "bus");
}

#[test]
fn decisions_need_the_action_and_a_covering_glob() {
    let p = SystemdPolicy::compile(
        "ops",
        &section(
            &["nginx.service", "*.timer"],
            Some(&["list", "status", "restart"]),
            None,
        ),
    )
    .unwrap();
    assert_eq!(
        p.decide(Action::Status, "backup.timer"),
        Ruling::allow("[roles.ops.systemd].units has \"*.timer\"")
    );
    assert_eq!(
        p.decide(Action::List, ""),
        Ruling::allow("[roles.ops.systemd].actions has \"list\"")
    );
    assert_eq!(
        p.decide(Action::Status, "sshd.service"),
        Ruling::deny("add \"sshd.service\" to [roles.ops.systemd].units")
    );
    assert_eq!(
        p.decide(Action::Stop, "nginx.service"),
        Ruling::deny("add \"stop\" to [roles.ops.systemd].actions")
    );
    assert!(p.covers("a.timer") && !p.covers("a.service"));
}
