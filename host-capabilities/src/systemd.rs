//! The `systemd` capability (`wit/systemd.wit`). Not implemented in this
//! version: every call answers `unsupported`.

use crate::bindings::CapError;
use crate::bindings::systemd::{Host, JobResult, Unit};
use crate::ctx::{Capabilities, unsupported};

impl Host for Capabilities {
    fn list_units(
        &mut self,
        _unit_type: String,
        _state: String,
    ) -> wasmtime::Result<Result<Vec<Unit>, CapError>> {
        unsupported("systemd")
    }

    fn status(
        &mut self,
        _unit: String,
    ) -> wasmtime::Result<Result<Vec<(String, String)>, CapError>> {
        unsupported("systemd")
    }

    fn start(
        &mut self,
        _unit: String,
        _timeout_ms: u32,
    ) -> wasmtime::Result<Result<JobResult, CapError>> {
        unsupported("systemd")
    }

    fn stop(
        &mut self,
        _unit: String,
        _timeout_ms: u32,
    ) -> wasmtime::Result<Result<JobResult, CapError>> {
        unsupported("systemd")
    }

    fn restart(
        &mut self,
        _unit: String,
        _timeout_ms: u32,
    ) -> wasmtime::Result<Result<JobResult, CapError>> {
        unsupported("systemd")
    }
}
