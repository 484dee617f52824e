//! The `dbus` capability (`wit/dbus.wit`). Not implemented in this version:
//! every call answers `unsupported`.

use crate::bindings::CapError;
use crate::bindings::dbus::{Bus, BusName, Host};
use crate::ctx::{Capabilities, unsupported};

impl Host for Capabilities {
    fn list_names(&mut self, _which: Bus) -> wasmtime::Result<Result<Vec<BusName>, CapError>> {
        unsupported("dbus")
    }

    fn introspect(
        &mut self,
        _which: Bus,
        _service: String,
        _path: String,
    ) -> wasmtime::Result<Result<String, CapError>> {
        unsupported("dbus")
    }

    #[allow(clippy::too_many_arguments)]
    fn call(
        &mut self,
        _which: Bus,
        _service: String,
        _path: String,
        _interface: String,
        _method: String,
        _signature: String,
        _args_json: String,
    ) -> wasmtime::Result<Result<String, CapError>> {
        unsupported("dbus")
    }
}
