//! The `net` capability as a tool sees it: the imported host functions and
//! their types, unchanged. Convert errors with [`crate::ToolError::from_cap`].

pub use crate::bindings::llmagent::tools::net::{
    Address, InterfaceInfo, PingResult, Rtt, list_interfaces, ping, resolve,
};
