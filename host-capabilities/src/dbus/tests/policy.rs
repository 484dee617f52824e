//! The pure decisions of `[roles.R.dbus]`.

use super::super::{DbusPolicy, DbusToml, Operation, Request};
use crate::capability::Capability;
use crate::decision::Ruling;

fn policy(text: &str) -> DbusPolicy {
    let raw: DbusToml = toml::from_str(text).unwrap();
    DbusPolicy::compile("ops", &raw).unwrap()
}

fn req<'a>(
    destination: &'a str,
    path: &'a str,
    interface: &'a str,
    member: &'a str,
) -> Request<'a> {
    Request {
        destination,
        path,
        interface,
        member,
    }
}

const CALC: &str = r#"
call = [
  { destination = "org.example.Calc", path = "/org/example/*", interface = "org.example.Calc", member = "Add" },
  { destination = "org.example.*", path = "/org/example/Tree/**", member = "Get*" },
]
get = [{ destination = "org.example.Calc" }]
"#;

#[test]
fn a_call_needs_a_rule_covering_all_four_parts() {
    let p = policy(CALC);
    assert_eq!(
        p.decide(
            Operation::Call,
            &req(
                "org.example.Calc",
                "/org/example/Calc",
                "org.example.Calc",
                "Add"
            )
        ),
        Ruling::allow(
            "[roles.ops.dbus].call[0] {destination = \"org.example.Calc\", path = \"/org/example/*\", interface = \"org.example.Calc\", member = \"Add\"}"
        )
    );
    assert_eq!(
        p.decide(
            Operation::Call,
            &req(
                "org.example.Calc",
                "/org/example/Calc",
                "org.example.Calc",
                "Mul"
            )
        ),
        Ruling::deny(
            "add {destination = \"org.example.Calc\", path = \"/org/example/Calc\", interface = \"org.example.Calc\", member = \"Mul\"} to [roles.ops.dbus].call"
        )
    );
    // `*` in a path stays within one element; `**` crosses.
    assert_eq!(
        p.decide(
            Operation::Call,
            &req(
                "org.example.Calc",
                "/org/example/a/b",
                "org.example.Calc",
                "Add"
            )
        )
        .verdict(),
        crate::Verdict::Deny
    );
    assert_eq!(
        p.decide(
            Operation::Call,
            &req(
                "org.example.Other",
                "/org/example/Tree/a/b",
                "x.Y",
                "GetAll"
            )
        )
        .rule(),
        Some(
            "[roles.ops.dbus].call[1] {destination = \"org.example.*\", path = \"/org/example/Tree/**\", member = \"Get*\"}"
        )
    );
    // Each operation has its own rules: a call grant is no get grant.
    assert_eq!(
        p.decide(
            Operation::Set,
            &req("org.example.Calc", "/", "org.example.Calc", "Precision")
        )
        .verdict(),
        crate::Verdict::Deny
    );
    assert_eq!(
        p.decide(
            Operation::Get,
            &req("org.example.Calc", "/", "org.example.Calc", "Precision")
        )
        .verdict(),
        crate::Verdict::Allow
    );
}

#[test]
fn systemd_and_the_bus_driver_need_a_rule_naming_them() {
    let p = policy(
        r#"
call = [{ destination = "*" }, { destination = "org.freedesktop.*" }]
"#,
    );
    for protected in ["org.freedesktop.systemd1", "org.freedesktop.DBus"] {
        let ruling = p.decide(Operation::Call, &req(protected, "/", "a.B", "C"));
        assert_eq!(
            ruling,
            Ruling::deny(format!(
                "add {{destination = \"{protected}\", path = \"/\", interface = \"a.B\", member = \"C\"}} to [roles.ops.dbus].call (only a rule naming {protected} exactly reaches it)"
            ))
        );
    }
    assert_eq!(
        p.decide(
            Operation::Call,
            &req("org.freedesktop.login1", "/", "a.B", "C")
        )
        .verdict(),
        crate::Verdict::Allow
    );
    let named =
        policy(r#"call = [{ destination = "org.freedesktop.systemd1", member = "ListUnits" }]"#);
    assert_eq!(
        named
            .decide(
                Operation::Call,
                &req(
                    "org.freedesktop.systemd1",
                    "/org/freedesktop/systemd1",
                    "org.freedesktop.systemd1.Manager",
                    "ListUnits"
                )
            )
            .verdict(),
        crate::Verdict::Allow
    );
}

#[test]
fn unique_names_are_reached_only_by_rules_for_unique_names() {
    let p = policy(r#"call = [{ destination = "*" }]"#);
    assert_eq!(
        p.decide(Operation::Call, &req(":1.5", "/", "a.B", "C"))
            .verdict(),
        crate::Verdict::Deny
    );
    let p = policy(r#"call = [{ destination = ":1.*" }]"#);
    assert_eq!(
        p.decide(Operation::Call, &req(":1.5", "/", "a.B", "C"))
            .verdict(),
        crate::Verdict::Allow
    );
    assert_eq!(
        p.decide(Operation::Call, &req("a.B", "/", "a.B", "C"))
            .verdict(),
        crate::Verdict::Deny
    );
}

#[test]
fn listing_needs_list_and_nothing_is_granted_by_default() {
    let none = DbusPolicy::deny_all("ops");
    let empty = req("", "", "", "");
    assert_eq!(
        none.decide(Operation::List, &empty),
        Ruling::deny("set list = true in [roles.ops.dbus]")
    );
    for op in [
        Operation::Introspect,
        Operation::Call,
        Operation::Get,
        Operation::Set,
    ] {
        assert_eq!(
            none.decide(op, &req("a.B", "/", "a.B", "C")).verdict(),
            crate::Verdict::Deny
        );
    }
    assert!(none.summary().is_empty());
    let p = policy("list = true\nbus = \"session\"");
    assert_eq!(
        p.decide(Operation::List, &empty),
        Ruling::allow("[roles.ops.dbus].list is true")
    );
    assert_eq!(p.summary(), vec!["list names", "on the session bus"]);
}

#[test]
fn bad_sections_name_the_key() {
    for (text, key) in [
        (r#"call = [{ destination = "" }]"#, "call[0].destination"),
        (
            r#"get = [{ destination = "a.B", path = "relative" }]"#,
            "get[0].path",
        ),
        (
            r#"set = [{ destination = "a.B", member = "[" }]"#,
            "set[0].member",
        ),
        (
            r#"introspect = [{ destination = "a.B", member = "X" }]"#,
            "introspect[0]",
        ),
        (r#"bus = "nowhere""#, "bus"),
    ] {
        let raw: DbusToml = toml::from_str(text).unwrap();
        assert_eq!(
            DbusPolicy::compile("ops", &raw).unwrap_err().key,
            key,
            "{text}"
        );
    }
    assert!(toml::from_str::<DbusToml>(r#"call = [{ destination = "a", method = "b" }]"#).is_err());
}

#[test]
fn explain_takes_the_same_requests() {
    let p = policy(CALC);
    assert_eq!(
        p.explain(
            "call",
            &[
                "org.example.Calc".into(),
                "/org/example/Calc".into(),
                "org.example.Calc".into(),
                "Add".into()
            ]
        )
        .unwrap()
        .verdict(),
        crate::Verdict::Allow
    );
    assert!(p.explain("call", &["org.example.Calc".into()]).is_err());
    assert!(p.explain("reboot", &[]).is_err());
}
