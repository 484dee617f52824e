//! The `net` capability (`wit/net.wit`). Not implemented in this version:
//! every call answers `unsupported`.

use crate::bindings::CapError;
use crate::bindings::net::{Host, InterfaceInfo, PingResult};
use crate::ctx::{Capabilities, unsupported};

impl Host for Capabilities {
    fn list_interfaces(&mut self) -> wasmtime::Result<Result<Vec<InterfaceInfo>, CapError>> {
        unsupported("net")
    }

    fn resolve(&mut self, _host: String) -> wasmtime::Result<Result<Vec<String>, CapError>> {
        unsupported("net")
    }

    fn ping(
        &mut self,
        _host: String,
        _timeout_ms: u32,
    ) -> wasmtime::Result<Result<PingResult, CapError>> {
        unsupported("net")
    }
}
