//! What the inotify tool tells the model about itself.

use llmagent_guest::{Action, Spec};
use serde_json::json;

fn with_id(action: Action) -> Action {
    action.required(
        "watch_id",
        || json!({"type": ["integer", "string"]}),
        "The id `watch` answered",
    )
}

/// The tool's self-description.
pub fn spec() -> Spec {
    Spec::new(
        "inotify",
        "Watches files and directories for changes (inotify) and reports them when polled; \
         watches stay until stopped, across calls.",
        env!("CARGO_PKG_VERSION"),
    )
    .action(
        Action::new(
            "watch",
            "Start watching a path; output the integer watch_id, metadata {path, status: \"watching\"}.",
        )
        .required("path", || json!({"type": "string", "minLength": 1}), "Absolute path of a file or directory")
        .optional(
            "events",
            || json!({"type": "array", "items": {"type": "string"}}),
            "Only these events: create, modify, attrib, close_write, close, open, access, moved_from, moved_to, move, delete, delete_self, move_self (all when absent)",
        )
        .optional("recursive", || json!({"type": "boolean"}), "Also watch the directories below"),
    )
    .action(
        with_id(Action::new(
            "poll",
            "Take the events seen since the last poll, oldest first: [{event, path, timestamp}]; \
             metadata {watch_id, count, overflowed} (overflowed: events were dropped).",
        ))
        .optional("max", || json!({"type": "integer", "minimum": 1}), "At most this many events"),
    )
    .action(with_id(Action::new(
        "stop",
        "Stop a watch; output the events it still held; metadata {watch_id, status: \"stopped\", count}.",
    )))
    .action(Action::new(
        "list",
        "This agent's watches: [{watch_id, path, pending}]; metadata {count}.",
    ))
}
