//! Host-level tests: the `fs` functions called directly on a
//! [`Capabilities`] built from an inline policy over a temporary tree, plus
//! the pure policy tests.

mod escapes;
mod ops;
mod policy;

use std::os::fd::AsRawFd;
use std::path::PathBuf;
use std::sync::Arc;

use super::{FsPolicy, FsToml};
use crate::bindings::{CapError, Denial};
use crate::ctx::{Capabilities, Grants};
pub(super) use crate::sink::Recorder;

/// A temporary tree: `allowed/` (granted), `outside/secret` (not).
pub(super) struct Fx {
    _dir: tempfile::TempDir,
    pub(super) root: PathBuf,
    pub(super) sink: Arc<Recorder>,
}

impl Fx {
    pub(super) fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let root = std::fs::canonicalize(dir.path()).unwrap();
        std::fs::create_dir(root.join("allowed")).unwrap();
        std::fs::create_dir(root.join("outside")).unwrap();
        std::fs::write(root.join("outside/secret"), "secret").unwrap();
        std::fs::write(root.join("allowed/a.txt"), "hello").unwrap();
        Self {
            _dir: dir,
            root,
            sink: Arc::new(Recorder::new("fs")),
        }
    }

    /// `rel` under the root, as a string.
    pub(super) fn p(&self, rel: &str) -> String {
        format!("{}/{rel}", self.root.display())
    }

    pub(super) fn caps(
        &self,
        read: &[String],
        write: &[String],
        max_output_bytes: u64,
    ) -> Capabilities {
        let raw = FsToml {
            read: read.to_vec(),
            write: write.to_vec(),
        };
        let grants = Grants {
            role: "default".into(),
            fs: FsPolicy::compile("default", &raw).unwrap(),
            exec: crate::exec::ExecPolicy::deny_all("default"),
            proc: crate::proc::ProcPolicy::deny_all("default"),
            systemd: crate::systemd::SystemdPolicy::deny_all("default"),
            dbus: crate::dbus::DbusPolicy::deny_all("default"),
            inotify: crate::inotify::InotifyPolicy::deny_all("default"),
            udev: crate::udev::UdevPolicy::deny_all("default"),
            max_output_bytes,
            ..Grants::none("default")
        };
        Capabilities::new(Arc::new(grants), self.sink.clone())
    }

    /// Read and write on `allowed/**`.
    pub(super) fn standard(&self) -> Capabilities {
        let g = self.p("allowed/**");
        self.caps(std::slice::from_ref(&g), std::slice::from_ref(&g), 1 << 20)
    }

    pub(super) fn decisions(&self) -> Vec<(String, String, bool, String)> {
        self.sink.seen()
    }
}

/// Compares whole results through `Debug` (the generated types have no
/// `PartialEq`).
pub(super) fn same<T: std::fmt::Debug>(
    got: wasmtime::Result<Result<T, CapError>>,
    want: Result<T, CapError>,
) {
    let got = got.expect("no trap");
    assert_eq!(format!("{got:?}"), format!("{want:?}"));
}

pub(super) fn denied(target: &str, hint: String) -> CapError {
    CapError::Denied(Denial {
        capability: "fs".into(),
        target: target.into(),
        hint,
    })
}

pub(super) fn add_hint(path: &str, key: &str) -> String {
    format!("add \"{path}\" (or a glob matching it) to [roles.default.fs].{key}")
}

pub(super) fn outside_hint(raw: &str, resolved: &str, key: &str) -> String {
    format!(
        "\"{raw}\" resolves to \"{resolved}\", outside the granted trees; {}",
        add_hint(resolved, key)
    )
}

pub(super) fn magic_hint(base: &str, raw: &str) -> String {
    format!(
        "\"{raw}\" cannot be resolved inside the granted tree \"{base}\": it goes through a magic link \
         (such as /proc/self/root or /proc/self/fd/N) or a symlink loop; \
         use the real path, and if it is not granted add it (or a glob matching it) to [roles.default.fs].read"
    )
}
