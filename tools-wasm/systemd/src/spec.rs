//! What the systemd tool tells the model about itself.

use llmagent_guest::{Action, Spec};
use serde_json::json;

fn with_unit(action: Action) -> Action {
    action.required(
        "unit",
        || json!({"type": "string", "minLength": 1, "maxLength": 255}),
        "Unit name, e.g. nginx.service",
    )
}

/// The tool's self-description.
pub fn spec() -> Spec {
    Spec::new(
        "systemd",
        "Lists, inspects, starts, stops and restarts systemd units over D-Bus, as far as the role's policy allows.",
        env!("CARGO_PKG_VERSION"),
    )
    .action(Action::new(
        "list",
        "Running services the role may see. Output: an array of {unit, load, active, sub, description}; \
         metadata {action: \"list\", count}.",
    ))
    .action(with_unit(Action::new(
        "status",
        "All properties of a unit as lower-cased name → value (activestate, substate, loadstate, \
         description, mainpid …); metadata {unit, active}. An unknown unit has loadstate not-found.",
    )))
    .action(with_unit(Action::new(
        "start",
        "Start a unit and wait for the job; output the job result (done). Another result is command_failed.",
    )))
    .action(with_unit(Action::new(
        "stop",
        "Stop a unit and wait for the job; output the job result (done). Another result is command_failed.",
    )))
    .action(with_unit(Action::new(
        "restart",
        "Restart a unit and wait for the job; output the job result (done). Another result is command_failed.",
    )))
}
