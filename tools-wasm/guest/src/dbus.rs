//! The `dbus` capability as a tool sees it: the imported host functions
//! and their types, unchanged. Convert errors with [`crate::ToolError::from_cap`].

pub use crate::bindings::llmagent::tools::dbus::{
    BusName, DbusArg, DbusInterface, DbusMethod, DbusProperty, DbusSignal, Introspection, Reply,
    call, get_property, introspect, list_names, set_property,
};
