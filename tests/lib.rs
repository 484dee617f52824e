//! Shared test support of llmagent. The end-to-end tests themselves live
//! in `e2e/`; this library holds what other crates' tests and benchmarks
//! use too.

pub mod components;
pub mod dns_server;
pub mod model_server;
pub mod python_mcp;
pub mod web_server;
