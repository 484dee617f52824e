//! The `udev` capability (`wit/udev.wit`). Not implemented in this version:
//! every call answers `unsupported`.

use crate::bindings::CapError;
use crate::bindings::udev::{Device, Host};
use crate::ctx::{Capabilities, unsupported};

impl Host for Capabilities {
    fn list_devices(
        &mut self,
        _subsystem: Option<String>,
    ) -> wasmtime::Result<Result<Vec<Device>, CapError>> {
        unsupported("udev")
    }

    fn info(&mut self, _path: String) -> wasmtime::Result<Result<Device, CapError>> {
        unsupported("udev")
    }
}
