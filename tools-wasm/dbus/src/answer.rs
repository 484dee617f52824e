//! From the `dbus` capability's records to the tool's answers. Pure, so
//! it is tested natively.

use llmagent_guest::Output;
use llmagent_guest::dbus::{BusName, DbusArg, Introspection};
use serde_json::{Value, json};

/// The listing, metadata `{action: "list", count}`.
pub fn list(names: &[BusName]) -> Output {
    let lines: Vec<Value> = names
        .iter()
        .map(|n| {
            json!({"name": n.name, "owner": n.owner, "pid": n.pid, "uid": n.uid,
                   "activatable": n.activatable})
        })
        .collect();
    let count = lines.len();
    Output::new(Value::Array(lines))
        .meta("action", "list")
        .meta("count", count)
}

fn args(list: &[DbusArg]) -> Value {
    list.iter()
        .map(|a| json!({"name": a.name, "signature": a.signature, "direction": a.direction}))
        .collect()
}

/// The parsed introspection; metadata `{service, path}`.
pub fn introspection(service: &str, path: &str, found: &Introspection) -> Output {
    let interfaces: Vec<Value> = found
        .interfaces
        .iter()
        .map(|i| {
            json!({
                "name": i.name,
                "methods": i.methods.iter().map(|m| json!({"name": m.name, "args": args(&m.args)})).collect::<Vec<_>>(),
                "signals": i.signals.iter().map(|s| json!({"name": s.name, "args": args(&s.args)})).collect::<Vec<_>>(),
                "properties": i.properties.iter().map(|p| json!({"name": p.name, "signature": p.signature, "access": p.access})).collect::<Vec<_>>(),
            })
        })
        .collect();
    Output::new(json!({"interfaces": interfaces, "children": found.children, "xml": found.xml}))
        .meta("service", service)
        .meta("path", path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_listing_keeps_every_field_and_counts() {
        let out = list(&[BusName {
            name: "org.example.A".into(),
            owner: Some(":1.4".into()),
            pid: Some(42),
            uid: Some(0),
            activatable: false,
        }]);
        assert_eq!(
            out.output(),
            &json!([{"name": "org.example.A", "owner": ":1.4", "pid": 42, "uid": 0, "activatable": false}])
        );
        assert_eq!(
            Value::Object(out.metadata().clone()),
            json!({"action": "list", "count": 1})
        );
    }
}
