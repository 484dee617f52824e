//! The built-in `dbus` tool through the runtime, against a private
//! `dbus-daemon` started here with the test service of
//! `host-capabilities/src/dbus/tests/service.rs` on it: list, introspect,
//! calls with arguments of several signatures, properties, and each
//! denial naming its key.

use serde_json::json;

use crate::harness::Env;

#[path = "../../host-capabilities/src/dbus/tests/service.rs"]
pub(crate) mod service;

use service::{CALC, DbusDaemon, PATH, SERVICE, TestService};

/// A role granting list, introspection of the service, calls of `Add`,
/// `Repeat` and `Describe`, reads of every Calc property and writes of
/// `Precision`; `{bus}` is the private bus.
const POLICY: &str = r#"
version = 1
[roles.ops]
tools = ["dbus"]
[roles.ops.dbus]
bus = "{bus}"
list = true
introspect = [{ destination = "org.llmagent.Test", path = "/org/llmagent/**" }]
call = [{ destination = "org.llmagent.Test", path = "/org/llmagent/Test", interface = "org.llmagent.Test.Calc", member = "Add" },
        { destination = "org.llmagent.Test", interface = "org.llmagent.Test.Calc", member = "Repeat" },
        { destination = "org.llmagent.Test", interface = "org.llmagent.Test.Calc", member = "Describe" }]
get = [{ destination = "org.llmagent.Test", interface = "org.llmagent.Test.Calc" }]
set = [{ destination = "org.llmagent.Test", interface = "org.llmagent.Test.Calc", member = "Precision" }]
[roles.nobody]
tools = ["dbus"]
"#;

fn setup() -> (DbusDaemon, TestService, Env) {
    let daemon = DbusDaemon::start();
    let service = TestService::serve(&daemon.address);
    let env = Env::new(&POLICY.replace("{bus}", &daemon.address));
    (daemon, service, env)
}

fn method(name: &str) -> serde_json::Value {
    json!({"service": SERVICE, "path": PATH, "interface": CALC, "method": name})
}

#[cfg_attr(not(llmagent_dbus), ignore = "needs dbus-daemon (Debian's dbus)")]
#[test]
fn a_method_with_two_arguments_answers_its_result() {
    let (_d, _s, env) = setup();
    let mut args = method("Add");
    args["args"] = json!([20, 22]);
    assert_eq!(
        env.ok("ops", "dbus", "call", args.clone()),
        (
            json!([42]),
            json!({"service": SERVICE, "path": PATH, "interface": CALC, "method": "Add", "signature": "i"})
        )
    );
    args["signature"] = json!("ii");
    args["args"] = json!([-1, 1]);
    assert_eq!(env.ok("ops", "dbus", "call", args).0, json!([0]));
    let mut args = method("Repeat");
    args["args"] = json!(["ab", 2]);
    assert_eq!(env.ok("ops", "dbus", "call", args).0, json!(["abab"]));
    let mut args = method("Describe");
    args["args"] = json!([{"on": true, "tags": {"signature": "as", "value": ["x"]}}]);
    assert_eq!(
        env.ok("ops", "dbus", "call", args).0,
        json!(["on=true,tags=[\"x\"]"])
    );
}

#[cfg_attr(not(llmagent_dbus), ignore = "needs dbus-daemon (Debian's dbus)")]
#[test]
fn a_member_outside_the_rules_is_denied_naming_the_key() {
    let (_d, _s, env) = setup();
    let mut args = method("Sum");
    args["args"] = json!([[1, 2]]);
    let failure = env.err("ops", "dbus", "call", args);
    assert_eq!(
        failure,
        llmagent_core::ToolFailure {
            reason: "denied".into(),
            message: "dbus denied access to call of org.llmagent.Test /org/llmagent/Test org.llmagent.Test.Calc.Sum".into(),
            field: Some("method".into()),
            suggestion: Some("add {destination = \"org.llmagent.Test\", path = \"/org/llmagent/Test\", interface = \"org.llmagent.Test.Calc\", member = \"Sum\"} to [roles.ops.dbus].call".into()),
        }
    );
    let denied = env.err(
        "ops",
        "dbus",
        "set_property",
        json!({"service": SERVICE, "path": PATH, "interface": CALC, "property": "Tags", "value": ["b"]}),
    );
    assert_eq!(
        (denied.reason.as_str(), denied.suggestion.as_deref()),
        (
            "denied",
            Some(
                "add {destination = \"org.llmagent.Test\", path = \"/org/llmagent/Test\", interface = \"org.llmagent.Test.Calc\", member = \"Tags\"} to [roles.ops.dbus].set"
            )
        )
    );
    let denied = env.err("nobody", "dbus", "list", json!({}));
    assert_eq!(
        (denied.reason.as_str(), denied.suggestion.as_deref()),
        ("denied", Some("set list = true in [roles.nobody.dbus]"))
    );
    let denied = env.err(
        "nobody",
        "dbus",
        "introspect",
        json!({"service": SERVICE, "path": PATH}),
    );
    assert_eq!(
        denied.suggestion.as_deref(),
        Some(
            "add {destination = \"org.llmagent.Test\", path = \"/org/llmagent/Test\"} to [roles.nobody.dbus].introspect"
        )
    );
    let decisions: Vec<_> = env
        .events()
        .into_iter()
        .filter(|e| e.topic == "policy.decision" && e.data["capability"] == "dbus")
        .map(|e| (e.data["operation"].clone(), e.data["verdict"].clone()))
        .collect();
    assert_eq!(
        decisions,
        vec![
            (json!("call"), json!("deny")),
            (json!("set"), json!("deny")),
            (json!("list"), json!("deny")),
            (json!("introspect"), json!("deny")),
        ]
    );
}

#[cfg_attr(not(llmagent_dbus), ignore = "needs dbus-daemon (Debian's dbus)")]
#[test]
fn list_introspect_and_properties() {
    let (_d, _s, env) = setup();
    let (names, meta) = env.ok("ops", "dbus", "list", json!({}));
    let test = names
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["name"] == SERVICE)
        .unwrap();
    assert_eq!(test["pid"], json!(std::process::id()));
    assert_eq!(test["activatable"], json!(false));
    assert_eq!(meta["action"], json!("list"));
    assert_eq!(meta["count"], json!(names.as_array().unwrap().len()));

    let (found, meta) = env.ok(
        "ops",
        "dbus",
        "introspect",
        json!({"service": SERVICE, "path": PATH}),
    );
    assert_eq!(meta, json!({"service": SERVICE, "path": PATH}));
    assert_eq!(found["children"], json!(["child"]));
    let calc = found["interfaces"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["name"] == CALC)
        .unwrap();
    assert_eq!(
        calc["methods"][0],
        json!({"name": "Add", "args": [
            {"name": "a", "signature": "i", "direction": "in"},
            {"name": "b", "signature": "i", "direction": "in"},
            {"name": null, "signature": "i", "direction": "out"},
        ]})
    );
    assert!(
        found["xml"]
            .as_str()
            .unwrap()
            .contains("<interface name=\"org.llmagent.Test.Calc\">")
    );

    let prop =
        |name: &str| json!({"service": SERVICE, "path": PATH, "interface": CALC, "property": name});
    assert_eq!(
        env.ok("ops", "dbus", "get_property", prop("Precision")),
        (
            json!(2),
            json!({"service": SERVICE, "path": PATH, "interface": CALC, "property": "Precision"})
        )
    );
    let mut set = prop("Precision");
    set["value"] = json!(7);
    assert_eq!(env.ok("ops", "dbus", "set_property", set).0, json!(7));
    assert_eq!(
        env.ok("ops", "dbus", "get_property", prop("Precision")).0,
        json!(7)
    );
    let mut bad = prop("Precision");
    bad["value"] = json!("seven");
    let failure = env.err("ops", "dbus", "set_property", bad);
    assert_eq!(
        (
            failure.reason.as_str(),
            failure.message.as_str(),
            failure.field.as_deref()
        ),
        (
            "invalid_args",
            "value: expected an integer (type u), got \"seven\"",
            Some("value")
        )
    );
}

#[cfg_attr(not(llmagent_dbus), ignore = "needs dbus-daemon (Debian's dbus)")]
#[test]
fn errors_from_the_service_and_a_missing_bus_are_answers() {
    let (daemon, service, env) = setup();
    let mut args = method("Add");
    args["args"] = json!(["x", 1]);
    let failure = env.err("ops", "dbus", "call", args.clone());
    assert_eq!(
        (failure.reason.as_str(), failure.message.as_str()),
        (
            "invalid_args",
            "args[0]: expected an integer (type i), got \"x\""
        )
    );
    drop(service);
    drop(daemon);
    args["args"] = json!([1, 2]);
    let failure = env.err("ops", "dbus", "call", args);
    assert_eq!(failure.reason, "unavailable", "{failure:?}");
}
