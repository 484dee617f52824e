//! Outgoing HTTP (`wasi:http/outgoing-handler`). This version grants no
//! HTTP to any role: every request is refused with `HTTP-request-denied`
//! before a connection is made. The `[roles.R.http]` allowlist comes with
//! the web tool.

use wasmtime_wasi_http::{RequestOptions, WasiBody, WasiHttpHooks};

/// Hooks for `wasmtime-wasi-http` that deny every outgoing request.
#[derive(Debug, Clone, Copy, Default)]
pub struct DenyAllHttp;

type ResponseFuture = Box<
    dyn Future<
            Output = Result<
                (
                    ::http::Response<WasiBody>,
                    Box<dyn Future<Output = Result<(), wasmtime_wasi_http::Error>> + Send>,
                ),
                wasmtime_wasi_http::Error,
            >,
        > + Send,
>;

impl WasiHttpHooks for DenyAllHttp {
    fn send_request(
        &mut self,
        _request: ::http::Request<WasiBody>,
        _options: Option<RequestOptions>,
        _fut: Box<dyn Future<Output = Result<(), wasmtime_wasi_http::Error>> + Send>,
    ) -> ResponseFuture {
        Box::new(async { Err(wasmtime_wasi_http::Error::HttpRequestDenied) })
    }
}
