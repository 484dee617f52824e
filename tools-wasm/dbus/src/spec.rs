//! What the dbus tool tells the model about itself.

use llmagent_guest::{Action, Spec};
use serde_json::json;

fn object(action: Action) -> Action {
    action
        .required(
            "service",
            || json!({"type": "string", "minLength": 1, "maxLength": 255}),
            "Bus name of the service, e.g. org.freedesktop.hostname1",
        )
        .required(
            "path",
            || json!({"type": "string", "minLength": 1}),
            "Object path, e.g. /org/freedesktop/hostname1",
        )
}

fn member(action: Action, what: &'static str) -> Action {
    object(action)
        .required(
            "interface",
            || json!({"type": "string", "minLength": 1, "maxLength": 255}),
            "Interface name, e.g. org.freedesktop.hostname1",
        )
        .required(
            what,
            || json!({"type": "string", "minLength": 1, "maxLength": 255}),
            if what == "method" {
                "Method name"
            } else {
                "Property name"
            },
        )
}

/// The tool's self-description.
pub fn spec() -> Spec {
    Spec::new(
        "dbus",
        "Talks to services on D-Bus: lists names, introspects objects, calls methods with typed \
         arguments and reads or writes properties, as far as the role's policy allows.",
        env!("CARGO_PKG_VERSION"),
    )
    .action(Action::new(
        "list",
        "Names on the bus and activatable ones. Output: an array of {name, owner, pid, uid, \
         activatable}; metadata {action: \"list\", count}.",
    ))
    .action(object(Action::new(
        "introspect",
        "An object's interfaces with their methods (args with signature and direction), signals \
         and properties (signature, access), its child nodes, and the raw XML; metadata {service, path}.",
    )))
    .action(
        member(
            Action::new(
                "call",
                "Call a method. `args` is a JSON array, one element per argument, converted by \
                 `signature` (the D-Bus signature of all arguments, e.g. \"su\"; taken from \
                 introspection when absent). A variant argument is {\"signature\": \"…\", \"value\": …}. \
                 Output: the reply values as a JSON array; metadata {service, path, interface, method, signature}.",
            ),
            "method",
        )
        .optional(
            "signature",
            || json!({"type": "string", "maxLength": 255}),
            "D-Bus signature of the arguments, e.g. \"si\"",
        )
        .optional("args", || json!({"type": "array"}), "Arguments in order"),
    )
    .action(member(
        Action::new(
            "get_property",
            "Read a property. Output: its value; metadata {service, path, interface, property}.",
        ),
        "property",
    ))
    .action(
        member(
            Action::new(
                "set_property",
                "Write a property from `value`, converted by `signature` or the property's type. \
                 Output: the value written; metadata {service, path, interface, property}.",
            ),
            "property",
        )
        .required("value", || json!({}), "The new value")
        .optional(
            "signature",
            || json!({"type": "string", "maxLength": 255}),
            "D-Bus type of the value, e.g. \"u\"",
        ),
    )
}
