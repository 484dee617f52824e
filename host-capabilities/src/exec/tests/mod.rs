//! Host-level tests: `exec` called directly on a [`Capabilities`] built
//! from an inline policy, plus the pure policy tests.

mod confine;
mod harden;
mod policy;
mod run;
mod tree;

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use super::{ExecPolicy, ExecToml};
use crate::bindings::CapError;
use crate::bindings::exec::{Command, Host, Outcome};
use crate::ctx::{Capabilities, Grants};
use crate::fs::{FsPolicy, FsToml};
use crate::sink::Sink;
use crate::{Decision, Subject, Verdict};

/// Every decision, as `(target, allowed, rule)`.
#[derive(Default)]
pub(super) struct Recorder(Mutex<Vec<(String, bool, String)>>);

impl Sink for Recorder {
    fn decision(&self, d: &Decision<'_>) -> Result<(), crate::Unrecorded> {
        assert_eq!(
            (d.subject, d.operation),
            (Subject::Capability("exec"), "run")
        );
        self.0.lock().unwrap().push((
            d.target.into(),
            d.ruling.verdict() == Verdict::Allow,
            d.ruling.reason().into(),
        ));
        Ok(())
    }
}

/// A temporary directory and the sink of the capabilities built over it.
pub(super) struct Fx {
    _dir: tempfile::TempDir,
    pub(super) root: PathBuf,
    pub(super) sink: Arc<Recorder>,
}

impl Fx {
    pub(super) fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let root = std::fs::canonicalize(dir.path()).unwrap();
        Self {
            _dir: dir,
            root,
            sink: Arc::default(),
        }
    }

    /// `rel` under the root, as a string.
    pub(super) fn p(&self, rel: &str) -> String {
        format!("{}/{rel}", self.root.display())
    }

    /// Capabilities of role `default` with `exec` and `fs` sections.
    pub(super) fn caps(&self, exec: ExecToml, fs: FsToml, max_output_bytes: u64) -> Capabilities {
        let grants = Grants {
            role: "default".into(),
            fs: FsPolicy::compile("default", &fs).unwrap(),
            exec: ExecPolicy::compile("default", &exec, 10_000).unwrap(),
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

    /// bash allowed; `fs.read` and `fs.write` on the whole temp tree.
    pub(super) fn bash(&self) -> Capabilities {
        let tree = vec![self.p("**")];
        self.caps(
            allow(&["bash"]),
            FsToml {
                read: tree.clone(),
                write: tree,
            },
            1 << 20,
        )
    }

    pub(super) fn decisions(&self) -> Vec<(String, bool, String)> {
        self.sink.0.lock().unwrap().clone()
    }
}

/// An `[exec]` section allowing `programs`.
pub(super) fn allow(programs: &[&str]) -> ExecToml {
    ExecToml {
        allow: programs.iter().map(|p| (*p).to_owned()).collect(),
        ..ExecToml::default()
    }
}

/// A command with no stdin, cwd, env or timeout.
pub(super) fn cmd(program: &str, args: &[&str]) -> Command {
    Command {
        program: program.into(),
        args: args.iter().map(|a| (*a).to_owned()).collect(),
        stdin: None,
        cwd: None,
        env: Vec::new(),
        timeout_ms: None,
    }
}

/// `bash -c script`.
pub(super) fn sh(script: &str) -> Command {
    cmd("bash", &["-c", script])
}

/// Runs and expects an outcome.
pub(super) fn run(caps: &mut Capabilities, c: Command) -> Outcome {
    match caps.run(c).expect("no trap") {
        Ok(o) => o,
        Err(e) => panic!("exec failed: {e:?}"),
    }
}

/// Runs and expects a capability error.
pub(super) fn fail(caps: &mut Capabilities, c: Command) -> CapError {
    match caps.run(c).expect("no trap") {
        Ok(o) => panic!("exec unexpectedly ran: {o:?}"),
        Err(e) => e,
    }
}

/// The canonical path of a program on the safe PATH.
pub(super) fn which(name: &str) -> String {
    super::policy::resolve(name).unwrap().display().to_string()
}
