//! The one host-side `bindgen!` of `wit/`. WASI and `wasi:http` types come
//! from wasmtime's own crates, which also link them.

#![allow(missing_docs)]

wasmtime::component::bindgen!({
    world: "tool-world",
    path: "../wit",
    imports: { default: trappable },
    require_store_data_send: true,
    with: {
        "wasi:io": wasmtime_wasi::p2::bindings::io,
        "wasi:clocks": wasmtime_wasi::p2::bindings::clocks,
        "wasi:http": wasmtime_wasi_http::p2::bindings::http,
    },
});

pub use exports::llmagent::tools::tool::{ActionSpec, ToolError, ToolOutput, ToolSpec};
pub use llmagent::tools::types::{CapError, Denial};

pub(crate) use llmagent::tools::{dbus, exec, fs, http, inotify, net, proc, systemd, types, udev};
