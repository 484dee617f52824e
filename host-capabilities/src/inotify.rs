//! The `inotify` capability (`wit/inotify.wit`). Not implemented in this
//! version: every call answers `unsupported`.

use crate::bindings::CapError;
use crate::bindings::inotify::{FsEvent, Host, WatchInfo};
use crate::ctx::{Capabilities, unsupported};

impl Host for Capabilities {
    fn watch(
        &mut self,
        _path: String,
        _events: Vec<String>,
        _recursive: bool,
    ) -> wasmtime::Result<Result<u64, CapError>> {
        unsupported("inotify")
    }

    fn poll(
        &mut self,
        _watch_id: u64,
        _max: u32,
    ) -> wasmtime::Result<Result<(Vec<FsEvent>, bool), CapError>> {
        unsupported("inotify")
    }

    fn stop(&mut self, _watch_id: u64) -> wasmtime::Result<Result<Vec<FsEvent>, CapError>> {
        unsupported("inotify")
    }

    fn list_watches(&mut self) -> wasmtime::Result<Result<Vec<WatchInfo>, CapError>> {
        unsupported("inotify")
    }
}
