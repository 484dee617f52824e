//! The built-in tools, embedded in the binary at build time. `build.rs`
//! builds them from `tools-wasm/` for `wasm32-wasip2`.

/// A tool shipped inside the binary.
#[derive(Debug, Clone, Copy)]
pub struct Builtin {
    /// The tool's name (as the model and the policy write it).
    pub name: &'static str,
    /// The component, LZ4-compressed (block format, its size prepended):
    /// a little over half its size in the binary, decompressed only when it
    /// is compiled (see [`Builtin::wasm`]).
    pub lz4: &'static [u8],
}

impl Builtin {
    /// The component's bytes, decompressed.
    pub fn wasm(&self) -> Result<Vec<u8>, String> {
        crate::cache::Source::Lz4(self.lz4)
            .wasm()
            .map(std::borrow::Cow::into_owned)
            .map_err(|e| format!("the built-in `{}`: {e}", self.name))
    }

    pub(crate) fn source(&self) -> crate::cache::Source<'static> {
        crate::cache::Source::Lz4(self.lz4)
    }
}

/// Every built-in tool.
pub const BUILTINS: &[Builtin] = &[
    Builtin {
        name: "bash",
        lz4: include_bytes!(concat!(env!("OUT_DIR"), "/bash.wasm.lz4")),
    },
    Builtin {
        name: "crypto",
        lz4: include_bytes!(concat!(env!("OUT_DIR"), "/crypto.wasm.lz4")),
    },
    Builtin {
        name: "file",
        lz4: include_bytes!(concat!(env!("OUT_DIR"), "/file.wasm.lz4")),
    },
    Builtin {
        name: "proc",
        lz4: include_bytes!(concat!(env!("OUT_DIR"), "/proc.wasm.lz4")),
    },
    Builtin {
        name: "systemd",
        lz4: include_bytes!(concat!(env!("OUT_DIR"), "/systemd.wasm.lz4")),
    },
    Builtin {
        name: "dbus",
        lz4: include_bytes!(concat!(env!("OUT_DIR"), "/dbus.wasm.lz4")),
    },
    Builtin {
        name: "inotify",
        lz4: include_bytes!(concat!(env!("OUT_DIR"), "/inotify.wasm.lz4")),
    },
    Builtin {
        name: "udev",
        lz4: include_bytes!(concat!(env!("OUT_DIR"), "/udev.wasm.lz4")),
    },
    Builtin {
        name: "web",
        lz4: include_bytes!(concat!(env!("OUT_DIR"), "/web.wasm.lz4")),
    },
    Builtin {
        name: "net",
        lz4: include_bytes!(concat!(env!("OUT_DIR"), "/net.wasm.lz4")),
    },
];

/// Names of the built-in tools, for the policy's checks.
pub fn builtin_names() -> Vec<&'static str> {
    BUILTINS.iter().map(|b| b.name).collect()
}
