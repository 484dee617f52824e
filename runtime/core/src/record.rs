//! What the sandbox puts on record: every policy decision (tool-level and
//! capability-level) as `policy.decision`, every call as `tool.<name>` /
//! `invocation` with its sanitised arguments and `duration_ms`, and every
//! trap as `tool.trap`. Events carry the agent and request context of the
//! task that made the call. A call whose decision cannot be stored does not
//! run, unless the policy says `[events] on_failure = "continue"`.

use host_capabilities::{Decision, Ruling, Sink, Subject};
use llmagent_events::{Events, names};
use serde_json::{Value, json};

use crate::outcome::{CallOutcome, CallRequest};
use crate::reason::Reason;

/// A top-level string argument longer than this is cut in the stored
/// event (the predecessor's rule), so a large payload does not bloat the
/// log; secrets are redacted by the store whatever their length.
const MAX_ARG_CHARS: usize = 200;

/// A capability decision sink that records `policy.decision` events.
pub(crate) struct EventSink {
    events: Events,
}

impl EventSink {
    pub(crate) fn new(events: Events) -> Self {
        Self { events }
    }
}

impl Sink for EventSink {
    fn decision(&self, d: &Decision<'_>) {
        self.events.emit(
            names::kind::DECISION,
            names::topic::POLICY_DECISION,
            decision_data(d),
        );
    }
}

/// The data of a `policy.decision` event: the decision as it serialises.
fn decision_data(d: &Decision<'_>) -> Value {
    serde_json::to_value(d).unwrap_or_else(|e| json!({ "error": e.to_string() }))
}

/// Forwards decisions to two sinks (the event store and the embedder's).
pub(crate) struct Tee(
    pub(crate) Box<dyn Sink>,
    pub(crate) std::sync::Arc<dyn Sink>,
);

impl Sink for Tee {
    fn decision(&self, d: &Decision<'_>) {
        self.0.decision(d);
        self.1.decision(d);
    }
}

/// Records the tool-level decision of a call; `false` when the store could
/// not (the failure is logged and counted by the store).
pub(crate) fn decision(events: &Events, request: &CallRequest, ruling: &Ruling) -> bool {
    let approved = matches!(ruling, Ruling::Approve { .. }).then_some(request.approved);
    let d = Decision {
        subject: Subject::Tool(&request.tool),
        operation: &request.action,
        target: "",
        ruling,
        approved,
    };
    events
        .emit(
            names::kind::DECISION,
            names::topic::POLICY_DECISION,
            decision_data(&d),
        )
        .is_some()
}

/// Records a finished (or refused) call, and a trap if there was one.
pub(crate) fn invocation(events: &Events, request: &CallRequest, outcome: &CallOutcome) {
    let agent = llmagent_events::current_agent().unwrap_or_default();
    let duration_ms = u64::try_from(outcome.duration.as_millis()).unwrap_or(u64::MAX);
    let mut data = names::invocation_data(
        &agent,
        &request.action,
        sanitise(&request.args_json),
        outcome.result.is_ok(),
        duration_ms,
    );
    if let Some(obj) = data.as_object_mut() {
        if let Err(f) = &outcome.result {
            obj.insert(
                "error".into(),
                json!({"reason": f.reason, "message": f.message, "field": f.field}),
            );
        }
        if !outcome.stdout.is_empty() {
            obj.insert("stdout".into(), Value::String(outcome.stdout.clone()));
        }
        if !outcome.stderr.is_empty() {
            obj.insert("stderr".into(), Value::String(outcome.stderr.clone()));
        }
        if outcome.stdio_truncated {
            obj.insert("stdio_truncated".into(), Value::Bool(true));
        }
    }
    events.emit(
        names::kind::INVOCATION,
        &names::tool_topic(&request.tool),
        data,
    );
    if let Err(f) = &outcome.result
        && f.runtime_reason().is_some_and(Reason::is_trap)
    {
        let data = names::trap_data(&request.tool, &request.action, &f.reason, &f.message);
        events.emit(names::kind::TRAP, names::topic::TOOL_TRAP, data);
    }
}

/// The arguments as stored: top-level strings cut at [`MAX_ARG_CHARS`]
/// characters with the predecessor's `...(truncated)` marker; arguments
/// that are not a JSON object are kept as a (cut) string.
fn sanitise(args_json: &str) -> Value {
    let cut = |s: &str| -> Value {
        match s.char_indices().nth(MAX_ARG_CHARS) {
            Some((i, _)) => Value::String(format!("{}...(truncated)", &s[..i])),
            None => Value::String(s.to_owned()),
        }
    };
    match serde_json::from_str::<Value>(args_json) {
        Ok(Value::Object(map)) => Value::Object(
            map.into_iter()
                .map(|(k, v)| match v {
                    Value::String(s) => (k, cut(&s)),
                    other => (k, other),
                })
                .collect(),
        ),
        Ok(other) => other,
        Err(_) => cut(args_json),
    }
}

#[cfg(test)]
mod tests {
    use super::{Decision, Ruling, Subject, decision_data, sanitise};
    use serde_json::json;

    #[test]
    fn decisions_serialise_to_the_documented_event_data() {
        let deny = Ruling::deny("add \"/etc/shadow\" to [roles.ops.fs].read");
        let d = Decision::capability("fs", "read", "/etc/shadow", &deny);
        assert_eq!(
            decision_data(&d),
            json!({"capability": "fs", "operation": "read", "target": "/etc/shadow",
                   "verdict": "deny", "rule": null,
                   "hint": "add \"/etc/shadow\" to [roles.ops.fs].read"})
        );
        let approve = Ruling::Approve {
            rule: "[roles.ops].approve \"file.write\"".into(),
        };
        let d = Decision {
            subject: Subject::Tool("file"),
            operation: "write",
            target: "",
            ruling: &approve,
            approved: Some(false),
        };
        assert_eq!(
            decision_data(&d),
            json!({"tool": "file", "operation": "write", "target": "", "verdict": "approve",
                   "rule": "[roles.ops].approve \"file.write\"", "approved": false})
        );
    }

    #[test]
    fn long_top_level_strings_are_cut_with_the_seed_marker() {
        let long = "é".repeat(250);
        let args = json!({"data": long, "n": 3, "nested": {"s": "x".repeat(300)}}).to_string();
        assert_eq!(
            sanitise(&args),
            json!({
                "data": format!("{}...(truncated)", "é".repeat(200)),
                "n": 3,
                "nested": {"s": "x".repeat(300)},
            })
        );
    }

    #[test]
    fn arguments_that_are_not_json_are_kept_as_text() {
        assert_eq!(sanitise("{oops"), json!("{oops"));
    }
}
