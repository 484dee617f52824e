//! The `systemd` tool: `list {}`, `status {unit}` and
//! `start | stop | restart {unit}` through the `systemd` host capability,
//! which talks to `org.freedesktop.systemd1` over D-Bus (no `systemctl`)
//! as the role's `[roles.R.systemd]` section allows.
//!
//! Kept from the predecessor (reference §1.6): the actions and the `unit`
//! argument, `list` lines `{unit, load, active, sub, description}` of
//! running services with metadata `{action:"list", count}`, `status` as a
//! map of lower-cased property → value with metadata `{unit, active}`
//! (active: ActiveState is `active` or `activating`), and jobs with
//! metadata `{unit, action}`.
//!
//! Improved: a job waits for its result (output the result text, metadata
//! adds `result`); a result other than `done` is `command_failed`; unit
//! names are checked against systemd's grammar (`invalid_args`, field
//! `unit`); a unit or action the role lacks is `denied` naming the key; no
//! systemd on the bus is `unavailable` with the reason.

#![deny(missing_docs)]

mod answer;
mod spec;

use llmagent_guest::systemd;
use llmagent_guest::{Args, Output, Spec, Tool, ToolError};

/// How long a job may take: long enough for a service's start-up, short
/// enough to come back inside the tool's own deadline.
const JOB_TIMEOUT_MS: u32 = 20_000;

/// The systemd tool.
pub struct SystemdTool;

impl Tool for SystemdTool {
    fn spec() -> Spec {
        spec::spec()
    }

    fn invoke(action: &str, args: Args) -> Result<Output, ToolError> {
        match action {
            "list" => systemd::list_units("service", "running")
                .map(|l| answer::list(&l))
                .map_err(|e| ToolError::from_service_cap(e, None)),
            "status" => {
                let unit = args.str("unit")?;
                systemd::status(unit)
                    .map(|p| answer::status(unit, &p))
                    .map_err(|e| ToolError::from_service_cap(e, Some("unit")))
            }
            "start" | "stop" | "restart" => {
                let unit = args.str("unit")?;
                let job = match action {
                    "start" => systemd::start(unit, JOB_TIMEOUT_MS),
                    "stop" => systemd::stop(unit, JOB_TIMEOUT_MS),
                    _ => systemd::restart(unit, JOB_TIMEOUT_MS),
                };
                job.map_err(|e| ToolError::from_service_cap(e, Some("unit")))
                    .and_then(|j| answer::job(action, &j))
            }
            other => Err(ToolError::unknown_action_of(&spec::spec(), other)),
        }
    }
}

llmagent_guest::export_tool!(SystemdTool);
