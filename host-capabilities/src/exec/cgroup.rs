//! Control groups for exec calls: where llmagent may create them, one
//! cgroup per call, and the sentinel that kills them all when llmagent
//! dies.
//!
//! **Where.** The cgroup v2 hierarchy is found in `/proc/self/mountinfo`
//! (pure v2 at `/sys/fs/cgroup`, or the `unified` mount of a hybrid
//! layout) and llmagent's own cgroup in `/proc/self/cgroup`. Calls live
//! under `<own cgroup>/llmagent-<pid>/call-<n>`; `cgroup.kill` (Linux ≥
//! 5.14) ends a call's whole tree at once, whatever sessions or process
//! groups its processes made. As root llmagent can create these even in a
//! cgroup systemd manages; where it cannot (an unprivileged runtime
//! without a delegated cgroup, no cgroup v2, a kernel without
//! `cgroup.kill`) the caller falls back to a subreaper (`tree.rs`).
//!
//! **pids.max.** Where the v2 `pids` controller can be enabled for
//! llmagent's cgroups (llmagent's own cgroup is the hierarchy's root, or
//! already delegates `pids`), each call cgroup gets `pids.max`; on a
//! hybrid host the v1 `pids` hierarchy gives the same in a parallel
//! `llmagent-<pid>/call-<n>`. Either binds root. Without either, only
//! `RLIMIT_NPROC` limits processes (not binding root), and the mode says
//! so. llmagent does not move itself out of its own cgroup to enable
//! controllers there: other processes may share it.
//!
//! **Joining.** The child writes `0` to its call's `cgroup.procs` files
//! (opened by the parent before `fork`) as its first act, before `exec`
//! and before it gives up the privileges that writing needs.
//!
//! **When llmagent dies.** A sentinel process, forked once, waits on a
//! pipe only llmagent holds; when llmagent exits or is killed the pipe
//! closes and the sentinel writes `1` to `llmagent-<pid>/cgroup.kill`,
//! killing every call's tree, then removes the directory if it can.
//! Directories left by a runtime that died mid-call are removed by the
//! next runtime that starts in the same cgroup.

use std::ffi::CString;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// How long a killed call's processes may take to leave its cgroup before
/// the directory is given up on (it is then removed with the base at exit
/// or by the next runtime).
const EMPTY_WAIT: Duration = Duration::from_secs(2);

/// Where llmagent creates call cgroups, found once.
#[derive(Debug)]
pub(crate) struct Bases {
    /// `<v2 own>/llmagent-<pid>`.
    v2: PathBuf,
    /// Whether call cgroups under `v2` have the `pids` controller.
    v2_pids: bool,
    /// `<v1 pids own>/llmagent-<pid>`, on hybrid hosts.
    v1_pids: Option<PathBuf>,
    next: AtomicU64,
}

/// Where this process sits in the cgroup v2 hierarchy.
pub(crate) struct Location {
    /// `/proc/self/mountinfo`, for finding other hierarchies.
    mountinfo: String,
    /// `/proc/self/cgroup`, for this process's place in them.
    own: String,
    /// Where the v2 hierarchy is mounted.
    pub(crate) v2_mount: PathBuf,
    /// This process's cgroup, relative to the v2 mount.
    pub(crate) v2_own: String,
    /// That cgroup's directory.
    pub(crate) v2_parent: PathBuf,
}

/// Reads [`Location`], or says why there is none.
pub(crate) fn location() -> Result<Location, String> {
    let mountinfo = std::fs::read_to_string("/proc/self/mountinfo")
        .map_err(|e| format!("cannot read /proc/self/mountinfo: {e}"))?;
    let own = std::fs::read_to_string("/proc/self/cgroup")
        .map_err(|e| format!("cannot read /proc/self/cgroup: {e}"))?;
    let v2_mount = mount_of(&mountinfo, |fstype, _| fstype == "cgroup2")
        .ok_or("no cgroup v2 hierarchy is mounted")?;
    let v2_own = own
        .lines()
        .find_map(|l| l.strip_prefix("0::"))
        .ok_or("this process is in no cgroup v2 (/proc/self/cgroup has no 0:: line)")?
        .to_owned();
    let v2_parent = under(&v2_mount, &v2_own);
    Ok(Location {
        mountinfo,
        own,
        v2_mount,
        v2_own,
        v2_parent,
    })
}

/// What [`Bases::create`] would find, without creating anything: `Ok`
/// with whether calls would get `pids.max`, or why cgroups cannot be used.
pub(crate) fn probe() -> Result<bool, String> {
    let Location {
        mountinfo,
        v2_own,
        v2_parent: parent,
        ..
    } = location()?;
    let v2_own = v2_own.as_str();
    rustix::fs::access(&parent, rustix::fs::Access::WRITE_OK).map_err(|e| {
        format!(
            "cannot create a cgroup under {} ({e}); run llmagent as root or in a delegated cgroup",
            parent.display()
        )
    })?;
    // As `enable_pids` decides: `pids` already enabled for the children of
    // llmagent's cgroup, or available in it when it is the root.
    let lists_pids = |file: &str| {
        std::fs::read_to_string(parent.join(file))
            .is_ok_and(|c| c.split_whitespace().any(|x| x == "pids"))
    };
    let v2_pids =
        lists_pids("cgroup.subtree_control") || (v2_own == "/" && lists_pids("cgroup.controllers"));
    let v1_pids = mount_of(&mountinfo, |fstype, options| {
        fstype == "cgroup" && options.split(',').any(|o| o == "pids")
    })
    .is_some();
    Ok(v2_pids || v1_pids)
}

impl Bases {
    /// Sets up the bases and the sentinel, or says why cgroups cannot be
    /// used here.
    pub fn create() -> Result<Self, String> {
        let Location {
            mountinfo,
            own,
            v2_own,
            v2_parent,
            ..
        } = location()?;
        let v2_own = v2_own.as_str();
        let pid = std::process::id();
        let v2 = v2_parent.join(format!("llmagent-{pid}"));
        remove_stale(&v2_parent, true);
        std::fs::create_dir(&v2).map_err(|e| {
            format!(
                "cannot create a cgroup under {} ({e}); run llmagent as root or in a delegated cgroup",
                v2_parent.display()
            )
        })?;
        if !v2.join("cgroup.kill").exists() {
            let _ = std::fs::remove_dir(&v2);
            return Err("the kernel has no cgroup.kill (Linux 5.14 or later)".into());
        }
        let v2_pids = enable_pids(&v2_parent, v2_own == "/", &v2);
        let v1_pids = if v2_pids {
            None
        } else {
            v1_pids_base(&mountinfo, &own, pid)
        };
        let bases = Self {
            v2,
            v2_pids,
            v1_pids,
            next: AtomicU64::new(0),
        };
        let ready = bases
            .trial()
            .and_then(|()| sentinel(&bases.v2, bases.v1_pids.as_deref()));
        if let Err(e) = ready {
            let _ = std::fs::remove_dir(&bases.v2);
            if let Some(p) = &bases.v1_pids {
                let _ = std::fs::remove_dir(p);
            }
            return Err(e);
        }
        Ok(bases)
    }

    /// Checks that a process can join a call cgroup (a cgroup with
    /// controllers enabled above it, as in some containers, may refuse),
    /// with a child that only joins one and exits.
    #[allow(unsafe_code)]
    fn trial(&self) -> Result<(), String> {
        let call = self.call(1).map_err(|e| {
            format!(
                "cannot create a call cgroup under {}: {e}",
                self.v2.display()
            )
        })?;
        let fds = call.join_fds();
        // SAFETY: the child makes raw `write`s to descriptors the parent
        // holds open, then leaves with `_exit`: async-signal-safe only.
        let pid = unsafe { libc::fork() };
        if pid == 0 {
            let code = i32::from(join(&fds).is_err());
            // SAFETY: see above.
            unsafe { libc::_exit(code) }
        }
        let pid = rustix::process::Pid::from_raw(pid)
            .ok_or_else(|| format!("cannot fork: {}", std::io::Error::last_os_error()))?;
        let status = rustix::process::waitpid(Some(pid), rustix::process::WaitOptions::empty())
            .map_err(|e| format!("cannot wait for the trial process: {e}"))?;
        drop(call);
        match status.and_then(|(_, s)| s.exit_status()) {
            Some(0) => Ok(()),
            _ => Err(format!(
                "a process cannot join a cgroup under {} (controllers enabled above it?)",
                self.v2.display()
            )),
        }
    }

    /// The base directories (v2, then v1 `pids` if used).
    #[cfg(test)]
    pub fn dirs(&self) -> Vec<PathBuf> {
        std::iter::once(self.v2.clone())
            .chain(self.v1_pids.clone())
            .collect()
    }

    /// Whether calls have a `pids.max`.
    pub fn limits_processes(&self) -> bool {
        self.v2_pids || self.v1_pids.is_some()
    }

    /// `cgroup v2 …/llmagent-1234, pids.max (v1)`.
    pub fn describe(&self) -> String {
        let pids = if self.v2_pids {
            "pids.max"
        } else if self.v1_pids.is_some() {
            "pids.max (v1 hierarchy)"
        } else {
            "no pids controller: RLIMIT_NPROC only, which does not bind root"
        };
        format!("cgroup {} per call, {pids}", self.v2.display())
    }

    /// A fresh cgroup (one per hierarchy) for one call, limited to
    /// `max_processes`.
    pub fn call(&self, max_processes: u64) -> std::io::Result<CallCgroup> {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        let name = format!("call-{n}");
        let mut call = CallCgroup {
            dirs: Vec::new(),
            procs: Vec::new(),
        };
        let v2 = self.v2.join(&name);
        std::fs::create_dir(&v2)?;
        call.dirs.push(v2.clone());
        if self.v2_pids {
            write(&v2.join("pids.max"), &max_processes.to_string())?;
        }
        if let Some(base) = &self.v1_pids {
            let v1 = base.join(&name);
            std::fs::create_dir(&v1)?;
            call.dirs.push(v1.clone());
            write(&v1.join("pids.max"), &max_processes.to_string())?;
        }
        for dir in call.dirs.clone() {
            let f = OpenOptions::new()
                .write(true)
                .open(dir.join("cgroup.procs"))?;
            call.procs.push(OwnedFd::from(f));
        }
        Ok(call)
    }
}

/// One call's cgroups; dropping it kills whatever is left in them and
/// removes them.
#[derive(Debug)]
pub(crate) struct CallCgroup {
    /// The v2 directory first.
    dirs: Vec<PathBuf>,
    /// Their `cgroup.procs`, open for the child to join.
    procs: Vec<OwnedFd>,
}

impl CallCgroup {
    /// The descriptors the child writes `0` to.
    pub fn join_fds(&self) -> Vec<RawFd> {
        self.procs.iter().map(AsRawFd::as_raw_fd).collect()
    }

    /// Kills every process in the call's cgroup (asynchronously: they
    /// are gone shortly after; dropping waits for that).
    pub fn kill(&self) {
        if let Some(v2) = self.dirs.first() {
            let _ = write(&v2.join("cgroup.kill"), "1");
        }
    }
}

impl Drop for CallCgroup {
    /// Kills what is left, waits (bounded) until the cgroup is empty, and
    /// removes it.
    fn drop(&mut self) {
        self.kill();
        if let Some(v2) = self.dirs.first() {
            let deadline = Instant::now() + EMPTY_WAIT;
            while populated(v2) && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(1));
            }
        }
        self.procs.clear();
        for dir in self.dirs.iter().rev() {
            let _ = std::fs::remove_dir(dir);
        }
    }
}

/// The child's first act: join the call's cgroups. Raw `write`s only.
pub(crate) fn join(fds: &[RawFd]) -> std::io::Result<()> {
    for &fd in fds {
        // SAFETY: the descriptors are owned by the `CallCgroup` the parent
        // keeps alive until `spawn` returns, so they are open in the child.
        #[allow(unsafe_code)]
        let fd = unsafe { std::os::fd::BorrowedFd::borrow_raw(fd) };
        rustix::io::write(fd, b"0")?;
    }
    Ok(())
}

/// `inner` (a cgroup path, absolute within its hierarchy) under `mount`.
fn under(mount: &Path, inner: &str) -> PathBuf {
    match inner.trim_start_matches('/') {
        "" => mount.to_path_buf(),
        inner => mount.join(inner),
    }
}

/// Whether a v2 cgroup still has processes (in it or below).
fn populated(dir: &Path) -> bool {
    std::fs::read_to_string(dir.join("cgroup.events"))
        .map(|s| s.lines().any(|l| l == "populated 1"))
        .unwrap_or(false)
}

fn write(path: &Path, value: &str) -> std::io::Result<()> {
    OpenOptions::new()
        .write(true)
        .open(path)?
        .write_all(value.as_bytes())
}

/// The mount point of the first mount whose filesystem type and super
/// options satisfy `wanted`.
fn mount_of(mountinfo: &str, wanted: impl Fn(&str, &str) -> bool) -> Option<PathBuf> {
    mountinfo.lines().find_map(|line| {
        let (left, right) = line.split_once(" - ")?;
        let point = left.split(' ').nth(4)?;
        let mut r = right.split(' ');
        let fstype = r.next()?;
        let options = r.nth(1).unwrap_or_default();
        wanted(fstype, options).then(|| PathBuf::from(unescape(point)))
    })
}

/// Mount points escape space, tab, newline and backslash as octal.
fn unescape(s: &str) -> String {
    s.replace("\\040", " ")
        .replace("\\011", "\t")
        .replace("\\012", "\n")
        .replace("\\134", "\\")
}

/// Enables `pids` for the children of `base` where that is possible
/// without moving any process: from llmagent's own cgroup when it is the
/// hierarchy's root (which may hold processes) or already delegates it.
fn enable_pids(parent: &Path, parent_is_root: bool, base: &Path) -> bool {
    let has = |dir: &Path| {
        std::fs::read_to_string(dir.join("cgroup.controllers"))
            .is_ok_and(|c| c.split_whitespace().any(|x| x == "pids"))
    };
    if !has(base) && parent_is_root && has(parent) {
        let _ = write(&parent.join("cgroup.subtree_control"), "+pids");
    }
    has(base) && write(&base.join("cgroup.subtree_control"), "+pids").is_ok()
}

/// `<v1 pids mount>/<own>/llmagent-<pid>`, created, on hosts whose `pids`
/// controller lives in a v1 hierarchy.
fn v1_pids_base(mountinfo: &str, own: &str, pid: u32) -> Option<PathBuf> {
    let mount = mount_of(mountinfo, |fstype, options| {
        fstype == "cgroup" && options.split(',').any(|o| o == "pids")
    })?;
    let path = own.lines().find_map(|l| {
        let mut parts = l.splitn(3, ':');
        let _id = parts.next()?;
        let controllers = parts.next()?;
        let path = parts.next()?;
        controllers.split(',').any(|c| c == "pids").then_some(path)
    })?;
    let parent = under(&mount, path);
    remove_stale(&parent, false);
    let base = parent.join(format!("llmagent-{pid}"));
    std::fs::create_dir(&base).ok()?;
    Some(base)
}

/// Removes `llmagent-<pid>` cgroups under `parent` left by runtimes that
/// are gone: kills what is still in them (v2), then removes them.
fn remove_stale(parent: &Path, v2: bool) {
    let Ok(entries) = std::fs::read_dir(parent) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name
            .to_str()
            .and_then(|n| n.strip_prefix("llmagent-"))
            .and_then(|p| p.parse::<u32>().ok())
        else {
            continue;
        };
        if Path::new(&format!("/proc/{pid}")).exists() {
            continue;
        }
        let base = entry.path();
        if v2 {
            let _ = write(&base.join("cgroup.kill"), "1");
            let deadline = Instant::now() + EMPTY_WAIT;
            while populated(&base) && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(5));
            }
        }
        if let Ok(calls) = std::fs::read_dir(&base) {
            for call in calls.flatten() {
                if call.path().is_dir() {
                    let _ = std::fs::remove_dir(call.path());
                }
            }
        }
        let _ = std::fs::remove_dir(&base);
    }
}

/// Forks the sentinel: a process that waits until llmagent's end of a
/// pipe closes (llmagent exited or was killed), then kills every call
/// cgroup through `v2/cgroup.kill` and removes the bases.
#[allow(unsafe_code)]
fn sentinel(v2: &Path, v1: Option<&Path>) -> Result<(), String> {
    let fail =
        |what: &str, e: std::io::Error| format!("cannot start the cgroup sentinel: {what}: {e}");
    let kill = File::options()
        .write(true)
        .open(v2.join("cgroup.kill"))
        .map_err(|e| fail("open cgroup.kill", e))?;
    let c = |p: &Path| CString::new(p.as_os_str().as_bytes()).ok();
    let v2_c = c(v2).ok_or("a cgroup path contains a NUL byte")?;
    let v1_c = v1.and_then(c);
    let (read, write_end) = rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC)
        .map_err(|e| fail("pipe", e.into()))?;
    // SAFETY: the child runs only raw syscalls on values prepared above
    // (no allocation, no locks) and leaves with `_exit`, as a forked child
    // of a multi-threaded process must.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        return Err(fail("fork", std::io::Error::last_os_error()));
    }
    if pid == 0 {
        // SAFETY: see above.
        unsafe { watch(read.as_raw_fd(), kill.as_raw_fd(), &v2_c, v1_c.as_deref()) }
    }
    drop(read);
    drop(kill);
    // The write end stays open, close-on-exec, for the life of the
    // process: its closing is the signal.
    std::mem::forget(write_end);
    Ok(())
}

/// Removes the `call-*` directories of `base` (empty cgroups), with raw
/// syscalls only: `getdents64` into a buffer on the stack.
#[allow(unsafe_code)]
unsafe fn remove_calls(base: &std::ffi::CStr) {
    // SAFETY: raw syscalls on a C string and a stack buffer; each record
    // is read within the length the kernel returned.
    unsafe {
        let dir = libc::open(
            base.as_ptr(),
            libc::O_RDONLY | libc::O_DIRECTORY | libc::O_CLOEXEC,
        );
        if dir < 0 {
            return;
        }
        let mut buf = [0u8; 4096];
        loop {
            let n = libc::syscall(libc::SYS_getdents64, dir, buf.as_mut_ptr(), buf.len());
            if n <= 0 {
                break;
            }
            let mut at = 0usize;
            while at + 19 < n as usize {
                // struct linux_dirent64: ino (8), off (8), reclen (2),
                // type (1), name (NUL-terminated).
                let reclen = u16::from_ne_bytes([buf[at + 16], buf[at + 17]]) as usize;
                if reclen == 0 {
                    break;
                }
                let name = buf.as_ptr().add(at + 19).cast::<libc::c_char>();
                if buf[at + 19..].starts_with(b"call-") {
                    libc::unlinkat(dir, name, libc::AT_REMOVEDIR);
                }
                at += reclen;
            }
        }
        libc::close(dir);
    }
}

/// The sentinel's body (in the forked child; never returns).
#[allow(unsafe_code)]
unsafe fn watch(read: RawFd, kill: RawFd, v2: &CString, v1: Option<&std::ffi::CStr>) -> ! {
    let v2 = v2.as_c_str();
    // SAFETY (whole body): raw syscalls on integers and on C strings
    // allocated before the fork.
    unsafe {
        // Out of llmagent's session and process group, so a terminal's
        // Ctrl-C or a group kill aimed at llmagent leaves it to clean up.
        libc::setsid();
        let (lo, hi) = (i64::from(read.min(kill)), i64::from(read.max(kill)));
        for (first, last) in [(0, lo - 1), (lo + 1, hi - 1), (hi + 1, i64::from(u32::MAX))] {
            if first <= last {
                libc::syscall(libc::SYS_close_range, first as u32, last as u32, 0u32);
            }
        }
        let mut buf = [0u8; 8];
        loop {
            let n = libc::read(read, buf.as_mut_ptr().cast(), buf.len());
            if n < 0 && *libc::__errno_location() == libc::EINTR {
                continue;
            }
            break;
        }
        libc::write(kill, b"1".as_ptr().cast(), 1);
        // The call cgroups empty within milliseconds; then they and the
        // bases can be removed.
        for _ in 0..100 {
            remove_calls(v2);
            if let Some(v1) = v1 {
                remove_calls(v1);
                libc::rmdir(v1.as_ptr());
            }
            if libc::rmdir(v2.as_ptr()) == 0 {
                break;
            }
            let pause = libc::timespec {
                tv_sec: 0,
                tv_nsec: 10_000_000,
            };
            libc::nanosleep(&pause, std::ptr::null_mut());
        }
        libc::_exit(0)
    }
}
