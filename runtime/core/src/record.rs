//! What the sandbox puts on record: every policy decision (tool-level and
//! capability-level) as `policy.decision`, every call as `tool.<name>` /
//! `invocation` with its sanitised arguments and `duration_ms`, and every
//! trap as `tool.trap`. Events carry the agent and request context of the
//! task that made the call. A call whose decision cannot be stored does not
//! run, and an operation whose capability decision cannot be stored is
//! refused (the call then answers `audit_unavailable`), unless the policy
//! says `[events] on_failure = "continue"`.

use host_capabilities::{Decision, Ruling, Sink, Subject, Unrecorded, Verdict};
use llmagent_events::{Events, names};
use serde_json::{Value, json};

use crate::outcome::{CallOutcome, CallRequest};
use crate::reason::Reason;
use crate::redact::Unsealed;

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
    fn decision(&self, d: &Decision<'_>) -> Result<(), Unrecorded> {
        self.events
            .emit(
                names::kind::DECISION,
                names::topic::POLICY_DECISION,
                decision_data(d),
            )
            .map(drop)
            .ok_or_else(|| Unrecorded(last_failure(&self.events)))
    }

    fn event(&self, topic: &str, kind: &str, data: &Value) {
        self.events.emit(kind, topic, data.clone());
    }
}

/// Why the store last failed, as a message can say it.
pub(crate) fn last_failure(events: &Events) -> String {
    events
        .last_failure()
        .unwrap_or_else(|| "unknown failure".to_owned())
}

/// The data of a `policy.decision` event: the decision as it serialises.
fn decision_data(d: &Decision<'_>) -> Value {
    serde_json::to_value(d).unwrap_or_else(|e| json!({ "error": e.to_string() }))
}

/// Forwards decisions to two sinks (the event store and the embedder's);
/// a decision is on record when both took it.
pub(crate) struct Tee(
    pub(crate) Box<dyn Sink>,
    pub(crate) std::sync::Arc<dyn Sink>,
);

impl Sink for Tee {
    fn decision(&self, d: &Decision<'_>) -> Result<(), Unrecorded> {
        let stored = self.0.decision(d);
        let embedder = self.1.decision(d);
        stored.and(embedder)
    }

    fn event(&self, topic: &str, kind: &str, data: &Value) {
        self.0.event(topic, kind, data);
        self.1.event(topic, kind, data);
    }
}

/// A call may record this many distinct capability decisions one by one;
/// beyond them decisions are only counted. A tool that probes thousands of
/// paths is still on record (in the count), without a flood of events.
const MAX_DISTINCT_DECISIONS: usize = 256;

/// The kind of the `policy.decision` event that records the decisions of
/// a call that were counted rather than recorded one by one.
const DECISIONS_COUNTED: &str = "decisions_counted";

/// How many of the repeated decisions a summary lists by name.
const MAX_LISTED_REPEATS: usize = 16;

/// One decision as the per-call sink tells them apart.
type DecisionKey = (String, String, String, &'static str);

/// The capability decisions of one call: each distinct decision (subject,
/// operation, target, verdict) is passed on once, up to
/// [`MAX_DISTINCT_DECISIONS`]; repeats and the decisions beyond are counted
/// and recorded once, when the call ends ([`CallSink::finish`]). A tool
/// looping on a denied request therefore costs one event, not millions.
///
/// The audit log fails closed here too: under `[events] on_failure =
/// "refuse"`, an allowed operation stands only when it is on record — its
/// decision passed on without error (when it was passed on), and no store
/// failure since the call began (a repeat is on record only through the
/// count written at the end, which a failing store would lose).
pub(crate) struct CallSink {
    inner: std::sync::Arc<dyn Sink>,
    seen: std::sync::Mutex<CallDecisions>,
    /// Secrets unsealed into the call: a decision's target that holds one
    /// (a tool passing a key on as a path) is passed on scrubbed.
    secrets: Unsealed,
    /// Whether an allowed operation that is not on record is refused.
    refuse: bool,
    /// The store and its failure count when the call began.
    store: Option<(Events, u64)>,
}

#[derive(Default)]
struct CallDecisions {
    /// Distinct decisions passed on, in order, with how often each came.
    counts: Vec<(DecisionKey, u64)>,
    index: std::collections::HashMap<DecisionKey, usize>,
    /// Decisions beyond the distinct limit, only counted.
    unlisted: u64,
    /// The first allowed operation refused because it was not on record,
    /// and why.
    refused: Option<String>,
}

impl CallSink {
    /// A call's sink over `inner`; `store` is the event store whose
    /// failures refuse allowed operations when `refuse` is set.
    pub(crate) fn new(
        inner: std::sync::Arc<dyn Sink>,
        secrets: Unsealed,
        store: Option<&Events>,
        refuse: bool,
    ) -> Self {
        Self {
            inner,
            seen: std::sync::Mutex::default(),
            secrets,
            refuse,
            store: store.map(|e| (e.clone(), e.failures())),
        }
    }

    /// The first operation of the call refused because its decision could
    /// not be put on record (`fs read of /etc/hosts (why)`).
    pub(crate) fn refused(&self) -> Option<String> {
        self.seen.lock().ok().and_then(|s| s.refused.clone())
    }

    /// Whether an allowed decision stands: see the type's description.
    fn on_record(&self, forwarded: Result<(), Unrecorded>) -> Result<(), Unrecorded> {
        if !self.refuse {
            return Ok(());
        }
        forwarded?;
        match &self.store {
            Some((events, failures)) if events.failures() != *failures => {
                Err(Unrecorded(last_failure(events)))
            }
            _ => Ok(()),
        }
    }

    /// Records what was only counted during the call, if anything: one
    /// `policy.decision` event of kind `decisions_counted` with `repeated`
    /// (decisions not recorded one by one), `unlisted` (of those, how many
    /// were beyond the distinct limit) and `counts` (the most repeated
    /// decisions with their `count`).
    pub(crate) fn finish(&self, events: &Events, request: &CallRequest) {
        let Ok(seen) = self.seen.lock() else { return };
        let repeats: u64 = seen.counts.iter().map(|(_, n)| n - 1).sum();
        if repeats == 0 && seen.unlisted == 0 {
            return;
        }
        let mut most: Vec<&(DecisionKey, u64)> =
            seen.counts.iter().filter(|(_, n)| *n > 1).collect();
        most.sort_by_key(|b| std::cmp::Reverse(b.1));
        let counts: Vec<Value> = most
            .iter()
            .take(MAX_LISTED_REPEATS)
            .map(|((subject, operation, target, verdict), n)| {
                json!({"capability": subject, "operation": operation, "target": target, "verdict": verdict, "count": n})
            })
            .collect();
        events.emit(
            DECISIONS_COUNTED,
            names::topic::POLICY_DECISION,
            json!({
                "tool": request.tool,
                "action": request.action,
                "repeated": repeats + seen.unlisted,
                "unlisted": seen.unlisted,
                "counts": counts,
            }),
        );
    }
}

impl Sink for CallSink {
    fn event(&self, topic: &str, kind: &str, data: &Value) {
        self.inner.event(topic, kind, data);
    }

    fn decision(&self, d: &Decision<'_>) -> Result<(), Unrecorded> {
        let scrubbed = self.secrets.scrub(d.target);
        let d = &Decision {
            target: &scrubbed,
            ..d.clone()
        };
        let (Subject::Capability(name) | Subject::Tool(name)) = d.subject;
        let verdict = match d.ruling.verdict() {
            Verdict::Allow => "allow",
            Verdict::Approve => "approve",
            Verdict::Deny => "deny",
        };
        let key = (
            name.to_owned(),
            d.operation.to_owned(),
            d.target.to_owned(),
            verdict,
        );
        let allowed = d.ruling.verdict() == Verdict::Allow;
        let Ok(mut seen) = self.seen.lock() else {
            // A poisoned count must not silence the audit.
            let forwarded = self.inner.decision(d);
            return if allowed {
                self.on_record(forwarded)
            } else {
                Ok(())
            };
        };
        let forwarded = match seen.index.get(&key).copied() {
            Some(i) => {
                seen.counts[i].1 += 1;
                Ok(())
            }
            None if seen.counts.len() >= MAX_DISTINCT_DECISIONS => {
                seen.unlisted += 1;
                Ok(())
            }
            None => {
                // Passed on under the lock, so that a repeat arriving
                // meanwhile is judged after it. An allow that is not on
                // record is not remembered: its repeat is passed on again.
                let forwarded = self.inner.decision(d);
                if forwarded.is_ok() || !allowed {
                    let i = seen.counts.len();
                    seen.counts.push((key.clone(), 1));
                    seen.index.insert(key, i);
                }
                forwarded
            }
        };
        if !allowed {
            return Ok(());
        }
        let on_record = self.on_record(forwarded);
        if let Err(Unrecorded(why)) = &on_record
            && seen.refused.is_none()
        {
            seen.refused = Some(format!("{name} {} of {} ({why})", d.operation, d.target));
        }
        on_record
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
        sanitise(request.recorded_args()),
        outcome.result.is_ok(),
        duration_ms,
    );
    if let Some(obj) = data.as_object_mut() {
        // Secrets unsealed into the call are recorded as their handles (in
        // the arguments above) and nowhere else, whatever the tool echoes.
        let scrub = |text: &str| request.secrets.scrub(text);
        if let Err(f) = &outcome.result {
            obj.insert(
                "error".into(),
                json!({"reason": f.reason, "message": scrub(&f.message), "field": f.field}),
            );
        }
        if !outcome.stdout.is_empty() {
            obj.insert("stdout".into(), Value::String(scrub(&outcome.stdout)));
        }
        if !outcome.stderr.is_empty() {
            obj.insert("stderr".into(), Value::String(scrub(&outcome.stderr)));
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
        let message = request.secrets.scrub(&f.message);
        let data = names::trap_data(&request.tool, &request.action, &f.reason, &message);
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

    /// Counts what reaches it, and keeps the second target.
    #[derive(Default)]
    struct Count(std::sync::atomic::AtomicUsize, std::sync::Mutex<String>);

    impl host_capabilities::Sink for Count {
        fn decision(&self, d: &Decision<'_>) -> Result<(), host_capabilities::Unrecorded> {
            if self.0.fetch_add(1, std::sync::atomic::Ordering::Relaxed) == 1
                && let Ok(mut t) = self.1.lock()
            {
                *t = d.target.to_owned();
            }
            Ok(())
        }
    }

    #[test]
    fn a_call_that_repeats_a_decision_is_recorded_once_and_counted() {
        use host_capabilities::Sink as _;
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let store =
            llmagent_events::EventStore::open(llmagent_events::StoreConfig::new(dir.path()))
                .unwrap_or_else(|e| panic!("{e}"));
        let events = llmagent_events::Events::new(store.clone());
        let inner = std::sync::Arc::new(Count::default());
        let mut secrets = crate::redact::Unsealed::default();
        secrets.push(&json!("SEED"));
        let sink = super::CallSink::new(inner.clone(), secrets, None, true);
        let deny = Ruling::deny("add it");
        for _ in 0..10_000 {
            let d = Decision::capability("fs", "read", "/etc/shadow", &deny);
            assert_eq!(sink.decision(&d), Ok(()));
        }
        let d = Decision::capability("fs", "read", "/k/SEED", &deny);
        assert_eq!(sink.decision(&d), Ok(()));
        for i in 0..299 {
            let target = format!("/etc/f{i}");
            let d = Decision::capability("fs", "read", &target, &deny);
            assert_eq!(sink.decision(&d), Ok(()));
        }
        assert_eq!(inner.0.load(std::sync::atomic::Ordering::Relaxed), 256);
        let request = crate::outcome::CallRequest::new("r", "t", "probe", "{}");
        sink.finish(&events, &request);
        let recorded = store.for_topic("policy.decision").unwrap_or_default();
        assert_eq!(recorded.len(), 1);
        assert_eq!(recorded[0].kind, "decisions_counted");
        assert_eq!(
            inner.1.lock().map(|t| t.clone()).unwrap_or_default(),
            "/k/[redacted]"
        );
        assert_eq!(
            recorded[0].data,
            json!({"tool": "t", "action": "probe", "repeated": 9_999 + 45, "unlisted": 45,
                   "counts": [{"capability": "fs", "operation": "read", "target": "/etc/shadow",
                               "verdict": "deny", "count": 10_000}]})
        );
    }

    /// A sink that takes nothing: every decision is unrecorded.
    #[derive(Default)]
    struct Broken(std::sync::atomic::AtomicUsize);

    impl host_capabilities::Sink for Broken {
        fn decision(&self, _d: &Decision<'_>) -> Result<(), host_capabilities::Unrecorded> {
            self.0.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            Err(host_capabilities::Unrecorded("disk full".into()))
        }
    }

    #[test]
    fn an_allowed_operation_that_is_not_on_record_is_refused_and_so_is_its_repeat() {
        use host_capabilities::{Sink as _, Unrecorded};
        let inner = std::sync::Arc::new(Broken::default());
        let sink = super::CallSink::new(inner.clone(), Default::default(), None, true);
        let allow = Ruling::allow("[roles.ops.fs].read \"/etc/**\"");
        let deny = Ruling::deny("add it");
        let read = Decision::capability("fs", "read", "/etc/hosts", &allow);
        let unrecorded = Err(Unrecorded("disk full".into()));
        assert_eq!(sink.decision(&read), unrecorded);
        // Not remembered as on record: the repeat is passed on again.
        assert_eq!(sink.decision(&read), unrecorded);
        // A refusal stands either way.
        let shadow = Decision::capability("fs", "read", "/etc/shadow", &deny);
        assert_eq!(sink.decision(&shadow), Ok(()));
        assert_eq!(inner.0.load(std::sync::atomic::Ordering::Relaxed), 3);
        let list = Decision::capability("fs", "list", "/etc", &allow);
        assert_eq!(sink.decision(&list), unrecorded);
        // The first refusal is what the call answers.
        assert_eq!(
            sink.refused().as_deref(),
            Some("fs read of /etc/hosts (disk full)")
        );
    }

    #[test]
    fn under_on_failure_continue_an_unrecorded_operation_runs() {
        use host_capabilities::Sink as _;
        let inner = std::sync::Arc::new(Broken::default());
        let sink = super::CallSink::new(inner.clone(), Default::default(), None, false);
        let allow = Ruling::allow("[roles.ops.fs].read \"/etc/**\"");
        let read = Decision::capability("fs", "read", "/etc/hosts", &allow);
        assert_eq!(sink.decision(&read), Ok(()));
        assert_eq!(sink.decision(&read), Ok(()));
        assert_eq!(inner.0.load(std::sync::atomic::Ordering::Relaxed), 2);
        assert_eq!(sink.refused(), None);
    }

    #[test]
    fn arguments_that_are_not_json_are_kept_as_text() {
        assert_eq!(sanitise("{oops"), json!("{oops"));
    }
}
