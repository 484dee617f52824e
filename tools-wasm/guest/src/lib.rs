//! Helper crate for writing llmagent tools as WebAssembly components.
//!
//! It holds the only `wit_bindgen::generate!` of `wit/`, so every tool shares
//! one set of bindings. A tool implements [`Tool`] and calls [`export_tool!`]:
//!
//! ```ignore
//! use llmagent_guest::{Action, Args, Output, Spec, Tool, ToolError};
//!
//! struct Hello;
//!
//! impl Tool for Hello {
//!     fn spec() -> Spec {
//!         Spec::new("hello", "Greets someone.", env!("CARGO_PKG_VERSION")).action(
//!             Action::new("greet", "Say hello to `name`.")
//!                 .required("name", || serde_json::json!({"type": "string"}), "Who to greet"),
//!         )
//!     }
//!     fn invoke(action: &str, args: Args) -> Result<Output, ToolError> {
//!         match action {
//!             "greet" => Ok(Output::new(format!("hello {}", args.str("name")?))),
//!             other => Err(ToolError::unknown_action(other)),
//!         }
//!     }
//! }
//!
//! llmagent_guest::export_tool!(Hello);
//! ```
//!
//! Arguments arrive as a JSON object; [`Args`] gives typed access whose
//! errors are `invalid_args` naming the field, and refuses keys the action's
//! schema does not declare. Capability modules ([`fs`]) wrap the imported
//! host functions and turn their errors into tool errors.

pub mod args;
pub mod dbus;
pub mod error;
pub mod exec;
pub mod fs;
pub mod http;
pub mod inotify;
pub mod net;
pub mod output;
pub mod proc;
pub mod spec;
pub mod systemd;
pub mod udev;

pub use args::Args;
pub use error::ToolError;
pub use output::Output;
pub use spec::{Action, Spec};

/// Bindings of the `tool` world, generated once for every tool.
// `missing_docs`: wit-bindgen documents what `wit/` documents, but also emits
// undocumented plumbing (export macros, `_rt`, some record fields); the WIT
// files are where those docs belong. Clippy needs no exemption: the
// generated code passes the workspace's lints.
#[allow(missing_docs)]
pub mod bindings {
    wit_bindgen::generate!({
        world: "tool-world",
        path: "../../wit",
        pub_export_macro: true,
        export_macro_name: "export_world",
        default_bindings_module: "llmagent_guest::bindings",
        generate_all,
    });
}

/// What a tool implements. [`export_tool!`] turns it into the component's
/// `tool` export.
pub trait Tool {
    /// The tool's name, description, version and actions.
    fn spec() -> Spec;

    /// Run one action. `args` has already been checked against the action's
    /// declared keys; unknown actions never reach this function.
    fn invoke(action: &str, args: Args) -> Result<Output, ToolError>;
}

/// Entry point used by [`export_tool!`]: parses the arguments, checks the
/// action and its keys against the spec, then calls the tool.
#[doc(hidden)]
pub fn dispatch<T: Tool>(
    action: &str,
    args_json: &str,
) -> Result<
    bindings::exports::llmagent::tools::tool::ToolOutput,
    bindings::exports::llmagent::tools::tool::ToolError,
> {
    let spec = T::spec();
    let result = match spec.find(action) {
        None => Err(ToolError::unknown_action_of(&spec, action)),
        Some(declared) => Args::parse(args_json)
            .and_then(|args| args.check_keys(declared).map(|()| args))
            .and_then(|args| T::invoke(action, args)),
    };
    result.map(Output::into_wit).map_err(ToolError::into_wit)
}

/// Exports a [`Tool`] implementation as the component's `tool` interface.
#[macro_export]
macro_rules! export_tool {
    ($tool:ty) => {
        #[doc(hidden)]
        pub struct __LlmagentExport;

        impl $crate::bindings::exports::llmagent::tools::tool::Guest for __LlmagentExport {
            fn describe() -> $crate::bindings::exports::llmagent::tools::tool::ToolSpec {
                <$tool as $crate::Tool>::spec().into_wit()
            }

            fn invoke(
                action: ::std::string::String,
                args_json: ::std::string::String,
            ) -> ::std::result::Result<
                $crate::bindings::exports::llmagent::tools::tool::ToolOutput,
                $crate::bindings::exports::llmagent::tools::tool::ToolError,
            > {
                $crate::dispatch::<$tool>(&action, &args_json)
            }
        }

        // Only a wasm build exports the interface: on the host (unit tests
        // of an `rlib` + `cdylib` tool) the component export names are not
        // valid linker symbols.
        #[cfg(target_arch = "wasm32")]
        $crate::bindings::export_world!(__LlmagentExport with_types_in $crate::bindings);
    };
}
