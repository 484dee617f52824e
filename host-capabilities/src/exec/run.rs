//! Running one allowed program: the child's set-up between `fork` and
//! `exec` (cgroup, new session, resource limits, user, Landlock), then a
//! poll loop that feeds stdin, reads both streams up to their caps and
//! stops at the deadline, killing the call's whole tree.

use std::io::Write;
use std::os::fd::{AsFd, BorrowedFd, RawFd};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use landlock::{RulesetCreated, RulesetStatus};
use rustix::event::{PollFd, PollFlags, Timespec, poll};
use rustix::fs::{OFlags, fcntl_getfl, fcntl_setfl};
use rustix::io::Errno;
use rustix::process::{
    Pid, Resource, Rlimit, Signal, WaitId, WaitIdOptions, getpid, getppid, kill_process_group,
    set_parent_process_death_signal, setrlimit, setsid, waitid,
};

use super::cgroup;
use super::harden::{self, Filters};
use super::identity::Identity;
use super::limits::ExecLimits;
use super::tree::Tree;

/// One run, fully decided.
pub(crate) struct Job {
    pub program: PathBuf,
    pub args: Vec<String>,
    pub env: Vec<(String, String)>,
    pub cwd: PathBuf,
    pub stdin: Option<Vec<u8>>,
    pub timeout: Duration,
    pub limits: ExecLimits,
    /// Cap on each of stdout and stderr.
    pub max_stream_bytes: usize,
    pub ruleset: Option<RulesetCreated>,
    /// The syscall filter, installed last.
    pub filters: &'static Filters,
    /// The uid and gid the child runs as.
    pub identity: Identity,
    /// The call's process tree: its cgroup, or the subreaper's record.
    pub tree: Tree,
}

/// What came back.
#[derive(Debug, Default)]
pub(crate) struct Finished {
    pub exit_code: Option<i32>,
    pub signal: Option<i32>,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
    pub stdout_truncated: bool,
    pub stderr_truncated: bool,
    pub timed_out: bool,
    pub duration: Duration,
}

/// A stream read up to a cap; the rest is read and dropped so the child
/// never blocks on a full pipe.
struct Capped {
    buf: Vec<u8>,
    cap: usize,
    truncated: bool,
    open: bool,
}

impl Capped {
    fn new(cap: usize) -> Self {
        Self {
            buf: Vec::new(),
            cap,
            truncated: false,
            open: true,
        }
    }

    /// Reads what is available; clears `open` at the stream's end.
    fn pump(&mut self, fd: BorrowedFd<'_>) {
        let mut chunk = [0u8; 16 * 1024];
        loop {
            match rustix::io::read(fd, &mut chunk) {
                Ok(0) => {
                    self.open = false;
                    return;
                }
                Ok(n) => {
                    let room = self.cap.saturating_sub(self.buf.len());
                    let data = chunk.get(..n).unwrap_or_default();
                    self.buf
                        .extend_from_slice(data.get(..room.min(n)).unwrap_or_default());
                    self.truncated |= n > room;
                }
                Err(Errno::INTR) => {}
                Err(Errno::AGAIN) => return,
                Err(_) => {
                    self.open = false;
                    return;
                }
            }
        }
    }
}

/// Once the program itself has exited, how long background processes may
/// keep its pipes open before the group is killed: enough to flush what
/// they already wrote, short enough that `cmd &` cannot stall a call.
const LINGER: Duration = Duration::from_millis(50);

/// Poll at least this often to notice the program's exit while a
/// background process holds the pipes.
const TICK: Duration = Duration::from_millis(20);

/// How often to look for the exit once both streams have ended.
const EXIT_SPIN: Duration = Duration::from_micros(200);

/// Runs `job` to completion or its deadline. Errors are the spawn's.
pub(crate) fn run(mut job: Job) -> std::io::Result<Finished> {
    let start = Instant::now();
    let deadline = start + job.timeout;
    let mut cmd = Command::new(&job.program);
    cmd.arg0(&job.program)
        .args(&job.args)
        .env_clear()
        .envs(job.env.iter().map(|(k, v)| (k, v)))
        .current_dir(&job.cwd)
        .stdin(if job.stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let limits = job.limits;
    let mut ruleset = job.ruleset.take();
    let filters = job.filters;
    let setup = Setup {
        cgroups: job.tree.join_fds(),
        identity: job.identity,
        parent: getpid(),
    };
    confine(&mut cmd, move || {
        child_setup(&setup, &limits, ruleset.take(), filters)
    });
    let mut child = job.tree.spawn(&mut cmd)?;
    let pgid = Pid::from_child(&child);
    let result = collect(&mut child, &mut job, deadline);
    // Whatever happened, nothing of the call outlives it: the program is
    // still unreaped here, so its pid (= the group id) cannot have been
    // reused. The tree's kill reaches what left the group; the group kill
    // stays as a second line.
    job.tree.kill();
    let _ = kill_process_group(pgid, Signal::KILL);
    let status = child.wait()?;
    job.tree.reaped();
    let (stdout, stderr, timed_out) = result;
    Ok(Finished {
        exit_code: status.code(),
        signal: status.signal(),
        stdout_truncated: stdout.truncated,
        stderr_truncated: stderr.truncated,
        stdout: stdout.buf,
        stderr: stderr.buf,
        timed_out,
        duration: start.elapsed(),
    })
}

/// Installs the child's set-up, run after `fork` and before `exec`.
#[allow(unsafe_code)]
pub(super) fn confine<F>(cmd: &mut Command, setup: F)
where
    F: FnMut() -> std::io::Result<()> + Send + Sync + 'static,
{
    // SAFETY: `pre_exec` runs `setup` in the forked child of a possibly
    // multi-threaded parent, where only async-signal-safe work is sound.
    // `child_setup` makes raw syscalls (setsid, setrlimit, prctl, capset,
    // landlock_restrict_self, seccomp) through rustix, the landlock crate
    // and seccompiler, on a ruleset and filters built before the fork; it
    // takes no locks and its error paths build `io::Error`s from errno
    // values without allocating.
    unsafe {
        cmd.pre_exec(setup);
    }
}

/// What the child's set-up needs besides the limits, prepared before
/// `fork`.
pub(super) struct Setup {
    /// `cgroup.procs` of the call's cgroups, open for writing.
    pub(super) cgroups: Vec<RawFd>,
    pub(super) identity: Identity,
    /// llmagent's pid, to notice that it died before the death signal
    /// was armed.
    pub(super) parent: Pid,
}

/// The child's set-up: into the call's cgroups (while it may still write
/// there), its own session (no controlling terminal, one process group to
/// kill), the resource limits, the user and group with no capabilities
/// and `no_new_privs`, death with llmagent, then Landlock, then the
/// syscall filter.
pub(super) fn child_setup(
    setup: &Setup,
    limits: &ExecLimits,
    ruleset: Option<RulesetCreated>,
    filters: &Filters,
) -> std::io::Result<()> {
    cgroup::join(&setup.cgroups)?;
    setsid()?;
    let mib = |v: u64| v.saturating_mul(1 << 20);
    for (resource, value) in [
        (Resource::Cpu, limits.cpu_seconds),
        (Resource::As, mib(limits.memory_mib)),
        (Resource::Fsize, mib(limits.file_size_mib)),
        (Resource::Nproc, limits.processes),
        // No core dumps: they would land in the working directory, outside
        // the file-size accounting the role expects.
        (Resource::Core, 0),
    ] {
        // CPU: SIGXCPU at the soft limit (catchable, reported as such),
        // SIGKILL one second later at the hard one.
        let maximum = if resource == Resource::Cpu {
            value.saturating_add(1)
        } else {
            value
        };
        setrlimit(
            resource,
            Rlimit {
                current: Some(value),
                maximum: Some(maximum),
            },
        )?;
    }
    harden::inherit_only_stdio()?;
    harden::drop_capabilities(setup.identity)?;
    // After the uid change, which would clear it. The signal follows the
    // thread that forked this child: the one blocked in `run` until the
    // child is reaped, so it cannot end first.
    set_parent_process_death_signal(Some(Signal::KILL))?;
    if getppid() != Some(setup.parent) {
        // llmagent died before the signal was armed.
        return Err(std::io::Error::from_raw_os_error(
            Errno::SRCH.raw_os_error(),
        ));
    }
    if let Some(ruleset) = ruleset {
        match ruleset.restrict_self() {
            Ok(status) if status.ruleset == RulesetStatus::FullyEnforced => {}
            _ => {
                return Err(std::io::Error::from_raw_os_error(
                    Errno::PERM.raw_os_error(),
                ));
            }
        }
    }
    harden::install(filters)
}

/// The poll loop. Returns both streams and whether the deadline hit.
fn collect(child: &mut Child, job: &mut Job, deadline: Instant) -> (Capped, Capped, bool) {
    let mut out = Capped::new(job.max_stream_bytes);
    let mut err = Capped::new(job.max_stream_bytes);
    let stdout = child.stdout.take();
    let stderr = child.stderr.take();
    let mut stdin = child.stdin.take();
    let input = job.stdin.take().unwrap_or_default();
    let mut written = 0usize;
    for fd in [
        stdout.as_ref().map(AsFd::as_fd),
        stderr.as_ref().map(AsFd::as_fd),
        stdin.as_ref().map(AsFd::as_fd),
    ]
    .into_iter()
    .flatten()
    {
        let _ = fcntl_getfl(fd).and_then(|f| fcntl_setfl(fd, f | OFlags::NONBLOCK));
    }
    out.open = stdout.is_some();
    err.open = stderr.is_some();
    if input.is_empty() {
        stdin = None;
    }
    let mut exited_at: Option<Instant> = None;
    loop {
        let now = Instant::now();
        if now >= deadline {
            return (out, err, true);
        }
        if exited_at.is_none() && has_exited(child) {
            exited_at = Some(now);
        }
        if !out.open && !err.open && exited_at.is_some() {
            return (out, err, false);
        }
        if exited_at.is_some_and(|t| now >= t + LINGER) {
            return (out, err, false);
        }
        let wait = (deadline - now).min(TICK);
        let mut fds = Vec::with_capacity(3);
        let mut which = Vec::with_capacity(3);
        if let (Some(s), true) = (&stdout, out.open) {
            fds.push(PollFd::new(s, PollFlags::IN));
            which.push(0);
        }
        if let (Some(s), true) = (&stderr, err.open) {
            fds.push(PollFd::new(s, PollFlags::IN));
            which.push(1);
        }
        if let Some(s) = &stdin {
            fds.push(PollFd::new(s, PollFlags::OUT));
            which.push(2);
        }
        let timeout = Timespec {
            tv_sec: 0,
            tv_nsec: i64::from(wait.subsec_nanos()),
        };
        if fds.is_empty() {
            // Both streams ended: the exit follows within microseconds.
            std::thread::sleep(wait.min(EXIT_SPIN));
            continue;
        }
        match poll(&mut fds, Some(&timeout)) {
            Ok(_) | Err(Errno::INTR) => {}
            Err(_) => return (out, err, false),
        }
        let ready: Vec<(usize, bool)> = fds
            .iter()
            .zip(&which)
            .map(|(f, w)| (*w, !f.revents().is_empty()))
            .collect();
        drop(fds);
        for (w, is_ready) in ready {
            if !is_ready {
                continue;
            }
            match w {
                0 => {
                    if let Some(s) = &stdout {
                        out.pump(s.as_fd());
                    }
                }
                1 => {
                    if let Some(s) = &stderr {
                        err.pump(s.as_fd());
                    }
                }
                _ => {
                    if let Some(s) = stdin.as_mut() {
                        let rest = input.get(written..).unwrap_or_default();
                        match s.write(rest) {
                            Ok(n) => written += n,
                            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                            Err(_) => written = input.len(),
                        }
                    }
                    if written >= input.len() {
                        stdin = None;
                    }
                }
            }
        }
    }
}

/// Whether the program has exited, without reaping it (so its pid, which
/// is also the process group's id, stays reserved until we kill the group).
fn has_exited(child: &Child) -> bool {
    let pid = Pid::from_child(child);
    matches!(
        waitid(
            WaitId::Pid(pid),
            WaitIdOptions::EXITED | WaitIdOptions::NOHANG | WaitIdOptions::NOWAIT
        ),
        Ok(Some(_))
    )
}
