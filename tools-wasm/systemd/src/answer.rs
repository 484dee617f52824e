//! From the `systemd` capability's records to the tool's answers. Pure, so
//! it is tested natively.

use llmagent_guest::systemd::{JobResult, Unit};
use llmagent_guest::{Output, ToolError};
use serde_json::{Map, Value, json};

/// The listing, metadata `{action: "list", count}`.
pub fn list(units: &[Unit]) -> Output {
    let lines: Vec<Value> = units
        .iter()
        .map(|u| {
            json!({"unit": u.unit, "load": u.load, "active": u.active, "sub": u.sub,
                   "description": u.description})
        })
        .collect();
    let count = lines.len();
    Output::new(Value::Array(lines))
        .meta("action", "list")
        .meta("count", count)
}

/// Lower-cased property → value; metadata `{unit, active}`.
pub fn status(unit: &str, props: &[(String, String)]) -> Output {
    let map: Map<String, Value> = props
        .iter()
        .map(|(k, v)| (k.to_lowercase(), Value::String(v.clone())))
        .collect();
    let active = matches!(
        map.get("activestate").and_then(Value::as_str),
        Some("active" | "activating")
    );
    Output::new(Value::Object(map))
        .meta("unit", unit)
        .meta("active", active)
}

/// A finished job: `done` is the answer, anything else `command_failed`.
pub fn job(action: &str, j: &JobResult) -> Result<Output, ToolError> {
    if j.job_result == "done" {
        Ok(Output::new(j.job_result.clone())
            .meta("unit", j.unit.clone())
            .meta("action", action)
            .meta("result", j.job_result.clone()))
    } else {
        Err(ToolError::new(
            "command_failed",
            format!("the {action} job of {} ended with {}", j.unit, j.job_result),
        )
        .field("unit")
        .suggestion("look at `status` of the unit for why"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_lowercases_keys_and_derives_active() {
        let out = status(
            "a.service",
            &[
                ("ActiveState".into(), "activating".into()),
                ("Id".into(), "a.service".into()),
            ],
        );
        assert_eq!(
            out.output(),
            &json!({"activestate": "activating", "id": "a.service"})
        );
        assert_eq!(
            Value::Object(out.metadata().clone()),
            json!({"unit": "a.service", "active": true})
        );
    }

    #[test]
    fn a_failed_job_is_command_failed_and_done_is_the_answer() {
        let done = JobResult {
            unit: "a.service".into(),
            job_result: "done".into(),
        };
        let out = job("start", &done).unwrap();
        assert_eq!(out.output(), &json!("done"));
        assert_eq!(
            Value::Object(out.metadata().clone()),
            json!({"unit": "a.service", "action": "start", "result": "done"})
        );
        let failed = JobResult {
            unit: "a.service".into(),
            job_result: "failed".into(),
        };
        let e = job("restart", &failed).unwrap_err();
        assert_eq!(
            (e.reason.as_str(), e.message.as_str()),
            (
                "command_failed",
                "the restart job of a.service ended with failed"
            )
        );
    }
}
