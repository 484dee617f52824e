//! The `proc` host functions: decide, report the decision, read, answer.

use super::read;
use crate::bindings::proc::{Host, Process, ProcessInfo};
use crate::bindings::{CapError, Denial};
use crate::ctx::{Capabilities, Grants};
use crate::exec::Refusal;
use crate::sink::{Decision, Sink};

impl Host for Capabilities {
    fn list_processes(&mut self) -> wasmtime::Result<Result<Vec<Process>, CapError>> {
        Ok(list(&self.grants, self.sink.as_ref()))
    }

    fn info(&mut self, pid: u32) -> wasmtime::Result<Result<ProcessInfo, CapError>> {
        Ok(info(&self.grants, self.sink.as_ref(), pid, runtime_uid()))
    }
}

/// The uid the runtime runs as: `info = "own"` means this uid's processes.
pub(crate) fn runtime_uid() -> u32 {
    rustix::process::getuid().as_raw()
}

/// Decides and lists; the decision goes to `sink`.
pub(crate) fn list(grants: &Grants, sink: &dyn Sink) -> Result<Vec<Process>, CapError> {
    let rule = grants
        .proc
        .decide_list()
        .map_err(|r| deny(sink, "list", r))?;
    report(sink, "list", "", true, &rule);
    read::list()
}

/// Decides and reads the details of `pid` for a runtime running as `me`.
pub(crate) fn info(
    grants: &Grants,
    sink: &dyn Sink,
    pid: u32,
    me: u32,
) -> Result<ProcessInfo, CapError> {
    let policy = &grants.proc;
    // A role without any info grant learns nothing, not even whether the
    // process exists.
    policy
        .decide_info_scope(pid)
        .map_err(|r| deny(sink, "info", r))?;
    let (p, owner) = read::open(pid)?;
    let rule = policy
        .decide_info(pid, owner, me)
        .map_err(|r| deny(sink, "info", r))?;
    report(sink, "info", &pid.to_string(), true, &rule);
    read::info(pid, &p)
}

fn report(sink: &dyn Sink, operation: &str, target: &str, allowed: bool, rule: &str) {
    sink.decision(&Decision {
        capability: "proc",
        operation,
        target,
        allowed,
        rule,
    });
}

/// Reports a refusal and turns it into the guest's `denied`.
fn deny(sink: &dyn Sink, operation: &str, r: Refusal) -> CapError {
    report(sink, operation, &r.target, false, &r.hint);
    let target = if r.target.is_empty() {
        "the process list".to_owned()
    } else {
        format!("process {}", r.target)
    };
    CapError::Denied(Denial {
        capability: "proc".into(),
        target,
        hint: r.hint,
    })
}
