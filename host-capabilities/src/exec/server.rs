//! A long-lived program confined exactly like an exec child: an MCP
//! server llmagent starts for a role (`[roles.R.mcp.NAME].command`).
//!
//! The child gets the same set-up as a `run` (`run::child_setup`): its
//! own cgroup (or the subreaper fallback), a new session, the role's
//! `[roles.R.exec]` resource limits and user, no capabilities,
//! `no_new_privs`, death with llmagent, Landlock limited to the role's
//! `fs` grants, and the seccomp filter that refuses every socket. Only
//! its lifetime differs: it lives until it exits or [`ServerProcess`] is
//! dropped (which kills its whole tree), and it speaks on stdin and
//! stdout. Its stderr is kept (the last [`STDERR_TAIL`] bytes) to say why
//! it died.
//!
//! The child is forked by a thread of its own that then waits for it:
//! `PR_SET_PDEATHSIG` follows the forking *thread*, so a pool thread that
//! ends would take the server with it.

use std::io::Read;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::Path;
use std::process::{ChildStdin, ChildStdout, Command, Stdio};
use std::sync::{Arc, Mutex};

use rustix::process::{Pid, Signal, getpid, kill_process_group};

use super::confine::{self, Protection};
use super::harden::{self, Sockets};
use super::policy::SAFE_PATH;
use super::run::{Setup, child_setup, confine as install_setup};
use super::tree::{self, Tree};
use crate::ctx::Grants;

/// How much of a server's stderr is kept to explain its exit.
pub const STDERR_TAIL: usize = 4096;

/// A running confined server. Dropping it kills its process tree.
pub struct ServerProcess {
    /// Its stdin (the client writes requests here); taken by the client.
    pub stdin: Option<ChildStdin>,
    /// Its stdout (responses); taken by the client.
    pub stdout: Option<ChildStdout>,
    /// Its process id.
    pub pid: u32,
    /// What confined it, for the record (`landlock ABI 7: fs, tcp, scope`).
    pub protection: String,
    state: Arc<Shared>,
}

#[derive(Default)]
struct Shared {
    tree: Mutex<Option<Tree>>,
    exit: Mutex<Option<String>>,
    stderr: Mutex<Vec<u8>>,
}

impl ServerProcess {
    /// How it ended (`exited with status 1`, `killed by signal 9`) and
    /// the end of its stderr, once it has; `None` while it runs.
    pub fn exited(&self) -> Option<String> {
        let exit = self.state.exit.lock().ok()?.clone()?;
        let tail = self
            .state
            .stderr
            .lock()
            .map(|s| String::from_utf8_lossy(&s).trim().to_owned())
            .unwrap_or_default();
        Some(if tail.is_empty() {
            exit
        } else {
            format!("{exit}; its stderr ended with: {tail}")
        })
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        if let Ok(mut tree) = self.state.tree.lock()
            && let Some(tree) = tree.as_mut()
        {
            tree.kill();
        }
        // Only while unreaped: after that the pid may be someone else's.
        let running = self.state.exit.lock().is_ok_and(|e| e.is_none());
        if running
            && let Ok(raw) = i32::try_from(self.pid)
            && let Some(pid) = Pid::from_raw(raw)
        {
            let _ = kill_process_group(pid, Signal::KILL);
        }
    }
}

/// Starts `program` with `args` and exactly `env` (plus `PATH` =
/// [`SAFE_PATH`] unless given), confined by `grants` as an exec child of
/// the role would be. `real` is the program's canonical path, which
/// Landlock lets it execute. Errors say why it could not start.
pub fn spawn_server(
    grants: &Grants,
    program: &Path,
    args: &[String],
    mut env: Vec<(String, String)>,
) -> Result<ServerProcess, String> {
    let policy = &grants.exec;
    let real = std::fs::canonicalize(program)
        .map_err(|e| format!("cannot resolve {}: {e}", program.display()))?;
    if policy.require_landlock
        && let Some(why) = policy.landlock_shortfall()
    {
        return Err(why);
    }
    let (protection, ruleset) = match confine::kernel_abi() {
        Some(abi) => match confine::ruleset(abi, &grants.fs, &real) {
            Ok(r) => (Protection::Landlock(abi), Some(r)),
            Err(confine::RulesetError::Kernel(why) | confine::RulesetError::Swapped(why)) => {
                return Err(why);
            }
        },
        None => (Protection::None, None),
    };
    if policy.identity.is_set() && !rustix::process::geteuid().is_root() {
        return Err(format!(
            "{} needs llmagent to run as root",
            policy.key("user")
        ));
    }
    let filters = harden::filters(Sockets::None)?;
    if !env.iter().any(|(k, _)| k == "PATH") {
        env.push(("PATH".into(), SAFE_PATH.into()));
    }
    let mode = tree::mode();
    let tree = Tree::new(mode, policy.limits.max_processes)
        .map_err(|e| format!("cannot create the server's cgroup: {e}"))?;
    let limits = policy.limits;
    let identity = policy.identity;
    let state = Arc::new(Shared::default());
    let (tx, rx) = std::sync::mpsc::sync_channel(1);
    let program = program.to_path_buf();
    let args = args.to_vec();
    let shared = Arc::clone(&state);
    std::thread::Builder::new()
        .name("mcp server".into())
        .spawn(move || {
            let mut tree = tree;
            let mut cmd = Command::new(&program);
            cmd.arg0(&program)
                .args(&args)
                .env_clear()
                .envs(env)
                .current_dir("/")
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped());
            let setup = Setup {
                cgroups: tree.join_fds(),
                identity,
                parent: getpid(),
            };
            let mut ruleset = ruleset;
            install_setup(&mut cmd, move || {
                child_setup(&setup, &limits, ruleset.take(), filters)
            });
            let mut child = match tree.spawn(&mut cmd) {
                Ok(c) => c,
                Err(e) => {
                    let _ = tx.send(Err(format!("cannot start {}: {e}", program.display())));
                    return;
                }
            };
            let stderr = child.stderr.take();
            let _ = tx.send(Ok((child.stdin.take(), child.stdout.take(), child.id())));
            if let Ok(mut slot) = shared.tree.lock() {
                *slot = Some(tree);
            }
            if let Some(mut stderr) = stderr {
                let keep = Arc::clone(&shared);
                let _ = std::thread::Builder::new()
                    .name("mcp server stderr".into())
                    .spawn(move || {
                        let mut chunk = [0u8; 4096];
                        while let Ok(n) = stderr.read(&mut chunk) {
                            if n == 0 {
                                break;
                            }
                            if let Ok(mut tail) = keep.stderr.lock() {
                                tail.extend_from_slice(chunk.get(..n).unwrap_or_default());
                                let excess = tail.len().saturating_sub(STDERR_TAIL);
                                tail.drain(..excess);
                            }
                        }
                    });
            }
            let how = match child.wait() {
                Ok(s) => match (s.code(), s.signal()) {
                    (Some(code), _) => format!("exited with status {code}"),
                    (None, Some(sig)) => format!("killed by signal {sig}"),
                    _ => "ended".to_owned(),
                },
                Err(e) => format!("could not be waited for: {e}"),
            };
            if let Ok(mut tree) = shared.tree.lock()
                && let Some(tree) = tree.as_mut()
            {
                tree.kill();
                tree.reaped();
            }
            if let Ok(mut exit) = shared.exit.lock() {
                *exit = Some(how);
            }
        })
        .map_err(|e| format!("cannot start a thread for the server: {e}"))?;
    let (stdin, stdout, pid) = rx
        .recv()
        .map_err(|_| "the server's thread ended before starting it".to_owned())??;
    Ok(ServerProcess {
        stdin,
        stdout,
        pid,
        protection: protection.describe(),
        state,
    })
}
