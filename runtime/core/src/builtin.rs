//! The built-in tools, embedded in the binary at build time. `build.rs`
//! builds them from `tools-wasm/` for `wasm32-wasip2`.

/// A tool shipped inside the binary.
#[derive(Debug, Clone, Copy)]
pub struct Builtin {
    /// The tool's name (as the model and the policy write it).
    pub name: &'static str,
    /// The component's bytes.
    pub bytes: &'static [u8],
}

/// Every built-in tool.
pub const BUILTINS: &[Builtin] = &[
    Builtin {
        name: "bash",
        bytes: include_bytes!(concat!(env!("OUT_DIR"), "/bash.wasm")),
    },
    Builtin {
        name: "crypto",
        bytes: include_bytes!(concat!(env!("OUT_DIR"), "/crypto.wasm")),
    },
    Builtin {
        name: "file",
        bytes: include_bytes!(concat!(env!("OUT_DIR"), "/file.wasm")),
    },
    Builtin {
        name: "proc",
        bytes: include_bytes!(concat!(env!("OUT_DIR"), "/proc.wasm")),
    },
    Builtin {
        name: "systemd",
        bytes: include_bytes!(concat!(env!("OUT_DIR"), "/systemd.wasm")),
    },
    Builtin {
        name: "dbus",
        bytes: include_bytes!(concat!(env!("OUT_DIR"), "/dbus.wasm")),
    },
    Builtin {
        name: "inotify",
        bytes: include_bytes!(concat!(env!("OUT_DIR"), "/inotify.wasm")),
    },
    Builtin {
        name: "udev",
        bytes: include_bytes!(concat!(env!("OUT_DIR"), "/udev.wasm")),
    },
    Builtin {
        name: "web",
        bytes: include_bytes!(concat!(env!("OUT_DIR"), "/web.wasm")),
    },
    Builtin {
        name: "net",
        bytes: include_bytes!(concat!(env!("OUT_DIR"), "/net.wasm")),
    },
];

/// Names of the built-in tools, for the policy's checks.
pub fn builtin_names() -> Vec<&'static str> {
    BUILTINS.iter().map(|b| b.name).collect()
}
