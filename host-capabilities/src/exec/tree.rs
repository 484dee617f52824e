//! The process tree of one call: how it is contained, and how it is
//! killed at the deadline or when the program exits.
//!
//! **Cgroup** (`cgroup.rs`), where cgroup v2 can be used: every process
//! the call starts is in the call's cgroup, whatever it does with
//! sessions, process groups or double forks, and `cgroup.kill` ends them
//! all; `pids.max` caps how many there are, root included.
//!
//! **Subreaper** (weaker), elsewhere: llmagent makes itself a child
//! subreaper, so a call's orphans are reparented to llmagent instead of
//! `init`, and at the end of a call it kills, walking `/proc`, every
//! descendant of the call's program and every orphan reparented to
//! llmagent since the call started (a child of llmagent in a session other
//! than llmagent's, other than another call's program; programs are not
//! started while a walk runs), then reaps the orphans. Known gaps: a
//! process forked between two walks may be missed (the walk repeats until
//! it finds nothing alive), a call's orphans can be killed by another call
//! ending at the same time, and there is no process cap beyond
//! `RLIMIT_NPROC`, which does not bind root.
//!
//! In both modes the program gets `PR_SET_PDEATHSIG(SIGKILL)`: should
//! llmagent die, the program dies with it. The signal follows the *thread*
//! that forked the program; that thread is the one blocked in `run` until
//! the program is reaped, so it cannot end first. In cgroup mode the
//! sentinel (`cgroup.rs`) kills the rest of the tree; in subreaper mode
//! the program's descendants outlive a killed llmagent.

use std::collections::{BTreeMap, BTreeSet};
use std::os::fd::RawFd;
use std::process::{Child, Command};
use std::sync::{Mutex, OnceLock, RwLock};
use std::time::{Duration, Instant};

use rustix::process::{Pid, Signal, WaitId, WaitIdOptions, kill_process, waitid};

use super::cgroup::{Bases, CallCgroup};

/// How long orphans killed in subreaper mode are waited for, to reap them.
const REAP_WAIT: Duration = Duration::from_secs(1);

/// How calls are contained in this process, decided once.
#[derive(Debug)]
pub(crate) enum Mode {
    /// One cgroup per call.
    Cgroup(Bases),
    /// Subreaper and `/proc` walks; why cgroups could not be used.
    Subreaper(String),
}

impl Mode {
    /// `cgroup …` or `subreaper (weaker: …)`, for the allow rule and logs.
    pub fn describe(&self) -> String {
        match self {
            Mode::Cgroup(b) => b.describe(),
            Mode::Subreaper(why) => format!(
                "process tree by subreaper (weaker than a cgroup: no pids.max, and when llmagent \
                 is killed its programs' descendants live on; no cgroup because {why})"
            ),
        }
    }

    /// Whether this is the weaker mode.
    pub fn is_weak(&self) -> bool {
        !matches!(self, Mode::Cgroup(b) if b.limits_processes())
    }
}

static MODE: OnceLock<Mode> = OnceLock::new();

/// This process's containment mode: cgroups where possible, else the
/// subreaper (which this makes llmagent).
pub(crate) fn mode() -> &'static Mode {
    MODE.get_or_init(|| {
        // A test of the fallback runs in a process of its own with this set.
        #[cfg(test)]
        if std::env::var("LLMAGENT_TEST_SUBREAPER").as_deref() == Ok("1") {
            return subreaper("the test asked for the fallback".into());
        }
        create()
    })
}

fn create() -> Mode {
    match Bases::create() {
        Ok(b) => Mode::Cgroup(b),
        Err(why) => subreaper(why),
    }
}

/// For `policy check`: a line when calls would be contained less well
/// than by a cgroup with `pids.max`, else nothing. Creates nothing.
pub(crate) fn probe() -> String {
    if let Some(mode) = MODE.get() {
        return if mode.is_weak() {
            mode.describe()
        } else {
            String::new()
        };
    }
    match super::cgroup::probe() {
        Ok(true) => String::new(),
        Ok(false) => "max_processes is not enforced here (no pids controller): \
                      RLIMIT_NPROC only, which does not bind root"
            .into(),
        Err(why) => Mode::Subreaper(why).describe(),
    }
}

/// The subreaper mode, set up (also for tests of that mode).
pub(crate) fn subreaper(why: String) -> Mode {
    match rustix::process::set_child_subreaper(Some(rustix::process::getpid())) {
        Ok(()) => Mode::Subreaper(why),
        Err(e) => Mode::Subreaper(format!("{why}; and cannot become a subreaper: {e}")),
    }
}

/// The programs of calls in progress (subreaper mode), so that one call's
/// clean-up does not take another's program for an orphan.
static PROGRAMS: Mutex<BTreeSet<i32>> = Mutex::new(BTreeSet::new());

/// Held for reading from a program's `fork` until it is in [`PROGRAMS`],
/// and for writing while a clean-up walks `/proc`, so that a program
/// being started is never taken for an orphan.
static SPAWNING: RwLock<()> = RwLock::new(());

/// One call's containment.
#[derive(Debug)]
pub(crate) enum Tree {
    /// The call's cgroups (killed and removed on drop).
    Cgroup(CallCgroup),
    /// Subreaper mode; the program's pid and start, once spawned.
    Subreaper(Option<(Pid, u64)>),
}

impl Tree {
    /// A tree for one call under `mode`.
    pub fn new(mode: &Mode, max_processes: u64) -> std::io::Result<Self> {
        match mode {
            Mode::Cgroup(b) => b.call(max_processes).map(Tree::Cgroup),
            Mode::Subreaper(_) => Ok(Tree::Subreaper(None)),
        }
    }

    /// The descriptors the child writes `0` to (cgroup mode).
    pub fn join_fds(&self) -> Vec<RawFd> {
        match self {
            Tree::Cgroup(c) => c.join_fds(),
            Tree::Subreaper(_) => Vec::new(),
        }
    }

    /// Spawns the program and records it.
    pub fn spawn(&mut self, cmd: &mut Command) -> std::io::Result<Child> {
        let Tree::Subreaper(p) = self else {
            return cmd.spawn();
        };
        let _spawning = SPAWNING.read();
        let child = cmd.spawn()?;
        let program = Pid::from_child(&child);
        let start = stat(program.as_raw_nonzero().get()).map_or(0, |s| s.start);
        *p = Some((program, start));
        if let Ok(mut live) = PROGRAMS.lock() {
            live.insert(program.as_raw_nonzero().get());
        }
        Ok(child)
    }

    /// Kills every process of the call; the program itself is still
    /// unreaped (so its pid is not reused).
    pub fn kill(&mut self) {
        match self {
            Tree::Cgroup(c) => c.kill(),
            Tree::Subreaper(Some((program, start))) => kill_descendants(*program, *start),
            Tree::Subreaper(None) => {}
        }
    }

    /// Forgets the program once reaped.
    pub fn reaped(&mut self) {
        if let Tree::Subreaper(Some((program, _))) = self
            && let Ok(mut live) = PROGRAMS.lock()
        {
            live.remove(&program.as_raw_nonzero().get());
        }
    }
}

/// What the walk needs of `/proc/<pid>/stat`.
struct Stat {
    ppid: i32,
    session: i32,
    /// Clock ticks after boot.
    start: u64,
    zombie: bool,
}

fn stat(pid: i32) -> Option<Stat> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let (_, after) = s.rsplit_once(") ")?;
    let f: Vec<&str> = after.split(' ').collect();
    Some(Stat {
        ppid: f.get(1)?.parse().ok()?,
        session: f.get(3)?.parse().ok()?,
        start: f.get(19)?.parse().ok()?,
        zombie: f.first() == Some(&"Z"),
    })
}

/// Every process now, by pid.
fn processes() -> BTreeMap<i32, Stat> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return BTreeMap::new();
    };
    dir.flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter_map(|pid| Some((pid, stat(pid)?)))
        .collect()
}

/// Subreaper mode: SIGKILL to the program's descendants and to the
/// orphans reparented to llmagent since `start`, repeated until a walk
/// finds nothing alive; then the orphans are reaped.
fn kill_descendants(program: Pid, start: u64) {
    let me = rustix::process::getpid().as_raw_nonzero().get();
    let root = program.as_raw_nonzero().get();
    // No program is being started meanwhile (it would look like an orphan).
    let spawning = SPAWNING.write();
    // From /proc like every other process here: a session id may be 0 (a
    // process under an init that never called setsid), which
    // rustix::process::getsid cannot represent and panics on.
    let my_session = stat(me).map_or(0, |s| s.session);
    let others: BTreeSet<i32> = PROGRAMS
        .lock()
        .map(|l| l.iter().copied().filter(|&p| p != root).collect())
        .unwrap_or_default();
    let mut killed = BTreeSet::new();
    let deadline = Instant::now() + REAP_WAIT;
    loop {
        let all = processes();
        let mut tree: BTreeSet<i32> = BTreeSet::from([root]);
        for (&pid, s) in &all {
            // An orphan: now llmagent's child, in a session of a call (a
            // process llmagent started itself is in llmagent's session),
            // started after this call's program, and not another call's.
            let orphan = s.ppid == me
                && s.session != my_session
                && pid != root
                && !others.contains(&pid)
                && s.start >= start;
            if orphan {
                tree.insert(pid);
            }
        }
        // Descendants, to a fixed point.
        let mut grew = true;
        while grew {
            grew = false;
            for (&pid, s) in &all {
                if tree.contains(&s.ppid) && tree.insert(pid) {
                    grew = true;
                }
            }
        }
        let alive: Vec<i32> = tree
            .iter()
            .copied()
            .filter(|p| *p != root && all.get(p).is_some_and(|s| !s.zombie))
            .collect();
        let _ = kill_process(program, Signal::KILL);
        for pid in &alive {
            if let Some(p) = Pid::from_raw(*pid) {
                let _ = kill_process(p, Signal::KILL);
            }
        }
        killed.extend(alive.iter().copied());
        if alive.is_empty() || Instant::now() >= deadline {
            break;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    drop(spawning);
    // The killed processes end as llmagent's children (orphans are
    // reparented to it): reap them, never blocking.
    while !killed.is_empty() && Instant::now() < deadline {
        killed.retain(|&pid| match stat(pid) {
            None => false,
            Some(s) if s.zombie && s.ppid == me => {
                if let Some(p) = Pid::from_raw(pid) {
                    let _ = waitid(
                        WaitId::Pid(p),
                        WaitIdOptions::EXITED | WaitIdOptions::NOHANG,
                    );
                }
                false
            }
            Some(_) => true,
        });
        std::thread::sleep(Duration::from_millis(2));
    }
}
