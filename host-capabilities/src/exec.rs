//! The `exec` capability (`wit/exec.wit`). Not implemented in this version:
//! every call answers `unsupported`, so a tool importing it links and gets a
//! clear answer instead of a trap.

use crate::bindings::CapError;
use crate::bindings::exec::{Command, Host, Outcome};
use crate::ctx::{Capabilities, unsupported};

impl Host for Capabilities {
    fn run(&mut self, _cmd: Command) -> wasmtime::Result<Result<Outcome, CapError>> {
        unsupported("exec")
    }
}
