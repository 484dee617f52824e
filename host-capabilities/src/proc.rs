//! The `proc` capability (`wit/proc.wit`). Not implemented in this version:
//! every call answers `unsupported`.

use crate::bindings::CapError;
use crate::bindings::proc::{Host, Process, ProcessInfo};
use crate::ctx::{Capabilities, unsupported};

impl Host for Capabilities {
    fn list_processes(&mut self) -> wasmtime::Result<Result<Vec<Process>, CapError>> {
        unsupported("proc")
    }

    fn info(&mut self, _pid: u32) -> wasmtime::Result<Result<ProcessInfo, CapError>> {
        unsupported("proc")
    }
}
