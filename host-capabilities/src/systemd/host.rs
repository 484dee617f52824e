//! The `systemd` host functions: check the unit name, decide, report the
//! decision, then ask systemd over D-Bus.

use std::time::Duration;

use super::bus::{self, Verb};
use super::name;
use super::policy::Action;
use crate::bindings::CapError;
use crate::bindings::systemd::{Host, JobResult, Unit};
use crate::ctx::{Capabilities, Grants};
use crate::decision::{Decision, Ruling};
use crate::sink::{Sink, enforce};

impl Host for Capabilities {
    fn list_units(
        &mut self,
        unit_type: String,
        state: String,
    ) -> wasmtime::Result<Result<Vec<Unit>, CapError>> {
        Ok(list(&self.grants, self.sink.as_ref(), &unit_type, &state))
    }

    fn status(
        &mut self,
        unit: String,
    ) -> wasmtime::Result<Result<Vec<(String, String)>, CapError>> {
        Ok(status(&self.grants, self.sink.as_ref(), &unit))
    }

    fn start(
        &mut self,
        unit: String,
        timeout_ms: u32,
    ) -> wasmtime::Result<Result<JobResult, CapError>> {
        Ok(job(
            &self.grants,
            self.sink.as_ref(),
            Verb::Start,
            &unit,
            timeout_ms,
        ))
    }

    fn stop(
        &mut self,
        unit: String,
        timeout_ms: u32,
    ) -> wasmtime::Result<Result<JobResult, CapError>> {
        Ok(job(
            &self.grants,
            self.sink.as_ref(),
            Verb::Stop,
            &unit,
            timeout_ms,
        ))
    }

    fn restart(
        &mut self,
        unit: String,
        timeout_ms: u32,
    ) -> wasmtime::Result<Result<JobResult, CapError>> {
        Ok(job(
            &self.grants,
            self.sink.as_ref(),
            Verb::Restart,
            &unit,
            timeout_ms,
        ))
    }
}

/// Decides and lists the role's units of `kind` in `state`.
pub(crate) fn list(
    grants: &Grants,
    sink: &dyn Sink,
    kind: &str,
    state: &str,
) -> Result<Vec<Unit>, CapError> {
    name::check_type(kind).map_err(CapError::InvalidArgument)?;
    if !state.chars().all(|c| c.is_ascii_lowercase() || c == '-') {
        return Err(CapError::InvalidArgument(format!(
            "\"{state}\" is not a unit state such as running or active"
        )));
    }
    let policy = &grants.systemd;
    decide(sink, Action::List, "", &policy.decide(Action::List, ""))?;
    let mut units = bus::list(&policy.bus, kind, state)?;
    units.retain(|u| policy.covers(&u.unit));
    Ok(units)
}

/// Decides and reads the properties of `unit`.
pub(crate) fn status(
    grants: &Grants,
    sink: &dyn Sink,
    unit: &str,
) -> Result<Vec<(String, String)>, CapError> {
    allow(grants, sink, Action::Status, unit)?;
    bus::status(&grants.systemd.bus, unit)
}

/// Decides and runs one job on `unit`, waiting up to `timeout_ms`.
pub(crate) fn job(
    grants: &Grants,
    sink: &dyn Sink,
    verb: Verb,
    unit: &str,
    timeout_ms: u32,
) -> Result<JobResult, CapError> {
    let action = match verb {
        Verb::Start => Action::Start,
        Verb::Stop => Action::Stop,
        Verb::Restart => Action::Restart,
    };
    allow(grants, sink, action, unit)?;
    // The tool's wait is capped by the role's timeout: a tool cannot hold
    // its host thread past the call's own limit.
    let wait_ms = u64::from(timeout_ms.max(1)).min(grants.systemd.max_wait_ms);
    let timeout = Duration::from_millis(wait_ms);
    bus::job(&grants.systemd.bus, verb, unit, timeout)
}

/// Checks the name, then decides and reports.
fn allow(grants: &Grants, sink: &dyn Sink, action: Action, unit: &str) -> Result<(), CapError> {
    name::check(unit).map_err(CapError::InvalidArgument)?;
    decide(sink, action, unit, &grants.systemd.decide(action, unit))
}

/// Reports the ruling; a denial names the action and unit for the tool.
fn decide(sink: &dyn Sink, action: Action, unit: &str, ruling: &Ruling) -> Result<(), CapError> {
    let decision = Decision::capability("systemd", action.as_str(), unit, ruling);
    enforce(sink, &decision).map_err(|e| match e {
        CapError::Denied(mut d) => {
            d.target = if unit.is_empty() {
                format!("{} of units", action.as_str())
            } else {
                format!("{} of {unit}", action.as_str())
            };
            CapError::Denied(d)
        }
        other => other,
    })
}
