//! The `proc` host functions: decide, report the decision, read, answer.

use super::read;
use crate::bindings::CapError;
use crate::bindings::proc::{Host, Process, ProcessInfo};
use crate::ctx::{Capabilities, Grants};
use crate::decision::{Decision, Ruling, Verdict};
use crate::sink::{Sink, enforce};

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
    decide(sink, "list", "", &grants.proc.decide_list())?;
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
    let target = pid.to_string();
    // A role without any info grant learns nothing, not even whether the
    // process exists: this is decided before /proc is read.
    let scope = policy.decide_info_scope();
    if scope.verdict() != Verdict::Allow {
        decide(sink, "info", &target, &scope)?;
    }
    let (p, owner) = read::open(pid)?;
    decide(sink, "info", &target, &policy.decide_info(pid, owner, me))?;
    read::info(pid, &p)
}

/// Reports the ruling; a denial names the process (or the list) for the
/// tool.
fn decide(sink: &dyn Sink, operation: &str, target: &str, ruling: &Ruling) -> Result<(), CapError> {
    enforce(
        sink,
        &Decision::capability("proc", operation, target, ruling),
    )
    .map_err(|e| match e {
        CapError::Denied(mut d) => {
            d.target = if target.is_empty() {
                "the process list".to_owned()
            } else {
                format!("process {target}")
            };
            CapError::Denied(d)
        }
        other => other,
    })
}
