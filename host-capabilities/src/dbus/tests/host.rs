//! `dbus` host functions against a private `dbus-daemon` serving the test
//! service.

use serde_json::{Value, json};

use super::caps;
use super::service::{CALC, DbusDaemon, PATH, SERVICE, TestService};
use crate::bindings::CapError;
use crate::bindings::dbus::{Host, Reply};

/// An argument as the assertions write it: signature and direction.
type Arg = (String, Option<String>);

/// Asserts two values are equal by their `Debug` form (the generated
/// `CapError` has no `PartialEq`).
#[track_caller]
fn same<T: std::fmt::Debug>(actual: T, expected: T) {
    assert_eq!(format!("{actual:?}"), format!("{expected:?}"));
}

/// The test service on a fresh bus, and a role granting what `rules` says
/// on that bus.
fn setup(
    rules: &str,
) -> (
    DbusDaemon,
    TestService,
    crate::Capabilities,
    std::sync::Arc<super::Recorder>,
) {
    let daemon = DbusDaemon::start();
    let service = TestService::serve(&daemon.address);
    let (caps, sink) = caps(&format!("bus = \"{}\"\n{rules}", daemon.address));
    (daemon, service, caps, sink)
}

const ALL: &str = r#"
list = true
introspect = [{ destination = "org.llmagent.Test" }]
call = [{ destination = "org.llmagent.Test", path = "/org/llmagent/Test", interface = "org.llmagent.Test.Calc" }]
get = [{ destination = "org.llmagent.Test", interface = "org.llmagent.Test.Calc" }]
set = [{ destination = "org.llmagent.Test", interface = "org.llmagent.Test.Calc", member = "Precision" },
       { destination = "org.llmagent.Test", interface = "org.llmagent.Test.Calc", member = "Name" }]
"#;

fn call(
    caps: &mut crate::Capabilities,
    method: &str,
    signature: Option<&str>,
    args: Value,
) -> Result<(String, Value), CapError> {
    caps.call(
        SERVICE.into(),
        PATH.into(),
        CALC.into(),
        method.into(),
        signature.map(str::to_owned),
        args.to_string(),
    )
    .unwrap()
    .map(
        |Reply {
             signature,
             values_json,
         }| (signature, serde_json::from_str(&values_json).unwrap()),
    )
}

#[cfg_attr(not(llmagent_dbus), ignore = "needs dbus-daemon (Debian's dbus)")]
#[test]
fn calls_convert_arguments_and_replies_by_signature() {
    let (_d, _s, mut caps, sink) = setup(ALL);
    same(
        call(&mut caps, "Add", Some("ii"), json!([2, 40])),
        Ok(("i".into(), json!([42]))),
    );
    // Without a signature, the method's comes from introspection.
    same(
        call(&mut caps, "Add", None, json!([-2, 1])),
        Ok(("i".into(), json!([-1]))),
    );
    same(
        call(&mut caps, "Repeat", None, json!(["ab", 3])),
        Ok(("s".into(), json!(["ababab"]))),
    );
    same(
        call(&mut caps, "Sum", Some("ai"), json!([[1, 2, 3]])),
        Ok(("x".into(), json!([6]))),
    );
    same(
        call(
            &mut caps,
            "Describe",
            Some("a{sv}"),
            json!([{"b": true, "n": 7, "s": "x"}]),
        ),
        Ok(("s".into(), json!(["b=true,n=int64 7,s=\"x\""]))),
    );
    same(
        call(&mut caps, "Split", None, json!(["hello world"])),
        Ok(("si".into(), json!(["hello", 11]))),
    );
    same(
        call(
            &mut caps,
            "Echo",
            Some("v"),
            json!([{"signature": "au", "value": [1, 2]}]),
        ),
        Ok(("v".into(), json!([[1, 2]]))),
    );
    same(
        call(&mut caps, "Nothing", None, json!([])),
        Ok((String::new(), json!([]))),
    );
    let seen = sink.seen();
    same(
        seen[0].clone(),
        (
            "call".into(),
            "org.llmagent.Test /org/llmagent/Test org.llmagent.Test.Calc.Add".into(),
            true,
            "[roles.ops.dbus].call[0] {destination = \"org.llmagent.Test\", path = \"/org/llmagent/Test\", interface = \"org.llmagent.Test.Calc\"}".into()
        )
    );
}

#[cfg_attr(not(llmagent_dbus), ignore = "needs dbus-daemon (Debian's dbus)")]
#[test]
fn bad_arguments_and_service_errors_are_answers() {
    let (_d, _s, mut caps, _sink) = setup(ALL);
    same(
        call(&mut caps, "Add", Some("ii"), json!([1])),
        Err(CapError::InvalidArgument(
            "args: the signature \"ii\" takes 2 argument(s), 1 given".into(),
        )),
    );
    same(
        call(&mut caps, "Add", Some("ii"), json!([1, 3_000_000_000_u64])),
        Err(CapError::InvalidArgument(
            "args[1]: 3000000000 does not fit the type i".into(),
        )),
    );
    same(
        call(&mut caps, "Fail", None, json!([])),
        Err(CapError::Io(
            "Fail: org.llmagent.Test.Error.Refused: the test service refuses".into(),
        )),
    );
    assert!(matches!(
        call(&mut caps, "Missing", None, json!([])),
        Err(CapError::NotFound(_))
    ));
    // A signature the method does not take: the service says so.
    assert!(matches!(
        call(&mut caps, "Add", Some("s"), json!(["x"])),
        Err(CapError::InvalidArgument(_))
    ));
}

#[cfg_attr(not(llmagent_dbus), ignore = "needs dbus-daemon (Debian's dbus)")]
#[test]
fn introspection_is_parsed_and_keeps_the_xml() {
    let (_d, _s, mut caps, _sink) = setup(ALL);
    let found = caps
        .introspect(SERVICE.into(), PATH.into())
        .unwrap()
        .unwrap();
    assert!(
        found.xml.trim_start().starts_with("<!DOCTYPE node"),
        "{}",
        found.xml
    );
    same(found.children, vec!["child".to_owned()]);
    let calc = found.interfaces.iter().find(|i| i.name == CALC).unwrap();
    let methods: Vec<(String, Vec<Arg>)> = calc
        .methods
        .iter()
        .map(|m| {
            (
                m.name.clone(),
                m.args
                    .iter()
                    .map(|a| (a.signature.clone(), a.direction.clone()))
                    .collect(),
            )
        })
        .collect();
    let inn = |s: &str| (s.to_owned(), Some("in".to_owned()));
    let out = |s: &str| (s.to_owned(), Some("out".to_owned()));
    same(
        methods,
        vec![
            ("Add".into(), vec![inn("i"), inn("i"), out("i")]),
            ("Repeat".into(), vec![inn("s"), inn("u"), out("s")]),
            ("Sum".into(), vec![inn("ai"), out("x")]),
            ("Describe".into(), vec![inn("a{sv}"), out("s")]),
            ("Split".into(), vec![inn("s"), out("s"), out("i")]),
            ("Echo".into(), vec![inn("v"), out("v")]),
            ("Nothing".into(), vec![]),
            ("Hang".into(), vec![]),
            ("Fail".into(), vec![]),
        ],
    );
    let props: Vec<(String, String, String)> = calc
        .properties
        .iter()
        .map(|p| (p.name.clone(), p.signature.clone(), p.access.clone()))
        .collect();
    same(
        props,
        vec![
            ("Name".into(), "s".into(), "read".into()),
            ("Precision".into(), "u".into(), "readwrite".into()),
            ("Tags".into(), "as".into(), "readwrite".into()),
        ],
    );
}

#[cfg_attr(not(llmagent_dbus), ignore = "needs dbus-daemon (Debian's dbus)")]
#[test]
fn properties_are_read_and_written_by_their_type() {
    let (_d, _s, mut caps, _sink) = setup(ALL);
    let get = |caps: &mut crate::Capabilities, name: &str| {
        caps.get_property(SERVICE.into(), PATH.into(), CALC.into(), name.into())
            .unwrap()
            .map(|v| serde_json::from_str::<Value>(&v).unwrap())
    };
    same(get(&mut caps, "Precision"), Ok(json!(2)));
    same(get(&mut caps, "Tags"), Ok(json!(["a"])));
    let set = |caps: &mut crate::Capabilities, name: &str, sig: Option<&str>, v: Value| {
        caps.set_property(
            SERVICE.into(),
            PATH.into(),
            CALC.into(),
            name.into(),
            sig.map(str::to_owned),
            v.to_string(),
        )
        .unwrap()
    };
    same(set(&mut caps, "Precision", None, json!(9)), Ok(()));
    same(get(&mut caps, "Precision"), Ok(json!(9)));
    same(set(&mut caps, "Precision", Some("u"), json!(4)), Ok(()));
    same(get(&mut caps, "Precision"), Ok(json!(4)));
    same(
        set(&mut caps, "Precision", None, json!(-1)),
        Err(CapError::InvalidArgument(
            "value: -1 does not fit the type u".into(),
        )),
    );
    // Granted by the policy, refused by the service: zbus answers a write
    // of a read-only property as an unknown one.
    same(
        set(&mut caps, "Name", Some("s"), json!("x")),
        Err(CapError::NotFound(
            "Set: org.freedesktop.DBus.Error.UnknownProperty: Unknown property 'Name'".into(),
        )),
    );
    // Not granted: Tags is outside the set rules.
    let Err(CapError::Denied(d)) = set(&mut caps, "Tags", None, json!(["b"])) else {
        panic!("Tags is not granted");
    };
    same(
        (d.capability.as_str(), d.target.as_str(), d.hint.as_str()),
        (
            "dbus",
            "set of org.llmagent.Test /org/llmagent/Test org.llmagent.Test.Calc.Tags",
            "add {destination = \"org.llmagent.Test\", path = \"/org/llmagent/Test\", interface = \"org.llmagent.Test.Calc\", member = \"Tags\"} to [roles.ops.dbus].set",
        ),
    );
}

#[cfg_attr(not(llmagent_dbus), ignore = "needs dbus-daemon (Debian's dbus)")]
#[test]
fn listing_shows_names_with_owner_pid_and_uid() {
    let (_d, _s, mut caps, _sink) = setup(ALL);
    let names = caps.list_names().unwrap().unwrap();
    let me = std::process::id();
    let test = names.iter().find(|n| n.name == SERVICE).unwrap();
    same(test.pid, Some(me));
    assert!(test.owner.as_deref().is_some_and(|o| o.starts_with(':')));
    assert!(!test.activatable);
    let driver = names
        .iter()
        .find(|n| n.name == "org.freedesktop.DBus")
        .unwrap();
    same(driver.owner.as_deref(), Some("org.freedesktop.DBus"));
}

#[cfg_attr(not(llmagent_dbus), ignore = "needs dbus-daemon (Debian's dbus)")]
#[test]
fn each_operation_is_denied_without_its_rule_before_the_bus_is_asked() {
    let (_d, _s, mut caps, sink) = setup("");
    let denied = |r: Result<(), CapError>| match r {
        Err(CapError::Denied(d)) => d.hint,
        other => panic!("expected a denial, got {other:?}"),
    };
    assert_eq!(
        denied(caps.list_names().unwrap().map(drop)),
        "set list = true in [roles.ops.dbus]"
    );
    assert_eq!(
        denied(
            caps.introspect(SERVICE.into(), PATH.into())
                .unwrap()
                .map(drop)
        ),
        "add {destination = \"org.llmagent.Test\", path = \"/org/llmagent/Test\"} to [roles.ops.dbus].introspect"
    );
    assert!(
        denied(call(&mut caps, "Add", Some("ii"), json!([1, 2])).map(drop))
            .ends_with("to [roles.ops.dbus].call")
    );
    assert!(
        denied(
            caps.get_property(SERVICE.into(), PATH.into(), CALC.into(), "Name".into())
                .unwrap()
                .map(drop)
        )
        .ends_with("to [roles.ops.dbus].get")
    );
    same(sink.seen().len(), 4);
    assert!(sink.seen().iter().all(|(_, _, allowed, _)| !allowed));
    // Malformed names are refused before the policy is asked.
    assert!(matches!(
        caps.introspect("not a name".into(), PATH.into()).unwrap(),
        Err(CapError::InvalidArgument(_))
    ));
    assert!(matches!(
        caps.introspect(SERVICE.into(), "no/slash".into()).unwrap(),
        Err(CapError::InvalidArgument(_))
    ));
    same(sink.seen().len(), 4);
}

#[cfg_attr(not(llmagent_dbus), ignore = "needs dbus-daemon (Debian's dbus)")]
#[test]
fn a_unique_name_owning_a_protected_name_is_refused() {
    let daemon = DbusDaemon::start();
    // The test service also takes the bus name systemd would own.
    let conn = zbus::block_on(async {
        zbus::connection::Builder::address(daemon.address.as_str())
            .name("org.freedesktop.systemd1")
            .build()
            .await
    })
    .unwrap();
    let unique = conn.unique_name().unwrap().to_string();
    let (mut caps, _sink) = caps(&format!(
        "bus = \"{}\"\nintrospect = [{{ destination = \":*\" }}]",
        daemon.address
    ));
    same(
        caps.introspect(unique.clone(), "/".into())
            .unwrap()
            .map(drop),
        Err(CapError::InvalidArgument(format!(
            "{unique} owns org.freedesktop.systemd1: call it by that name (only a rule naming it exactly allows it)"
        ))),
    );
}

#[test]
fn no_bus_is_unsupported() {
    let (mut caps, _sink) = caps("bus = \"unix:path=/nonexistent/llmagent-test-bus\"\nlist = true");
    let Err(CapError::Unsupported(why)) = caps.list_names().unwrap() else {
        panic!("expected unsupported");
    };
    assert!(
        why.starts_with("the bus at unix:path=/nonexistent/llmagent-test-bus is not reachable: "),
        "{why}"
    );
}

#[cfg_attr(not(llmagent_dbus), ignore = "needs dbus-daemon (Debian's dbus)")]
#[test]
fn a_call_waits_no_longer_than_the_calls_deadline() {
    let (_d, _s, caps, _sink) = setup(ALL);
    let deadline = std::time::Instant::now() + std::time::Duration::from_millis(300);
    let mut caps = caps.with_deadline(deadline);
    let r = call(&mut caps, "Hang", None, json!([]));
    assert!(matches!(r, Err(CapError::Timeout(_))), "{r:?}");
    // A call with no time left does not even start.
    let r = call(&mut caps, "Nothing", None, json!([]));
    same(
        r,
        Err(CapError::Timeout(
            "Nothing: the call has no time left".into(),
        )),
    );
}
