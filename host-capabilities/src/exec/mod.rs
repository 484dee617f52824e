//! The `exec` capability (`wit/exec.wit`) and its policy section
//! `[roles.R.exec]`.
//!
//! ```toml
//! [roles.ops.exec]
//! allow = ["bash", "/usr/bin/systemctl"]  # bare names: looked up on SAFE_PATH at load
//! env = ["LANG", "TZ"]                    # variables a tool may set; nothing is inherited
//! cwd = ["/srv/**"]                       # where a tool may start a program (default "/")
//! timeout_ms = 5000                       # default and ceiling: the role's timeout_ms
//! cpu_seconds = 60                        # RLIMIT_CPU
//! memory_mib = 1024                       # RLIMIT_AS
//! file_size_mib = 64                      # RLIMIT_FSIZE
//! processes = 256                         # RLIMIT_NPROC (per user; root is exempt)
//! max_processes = 256                     # pids.max of each call's cgroup (binds root)
//! user = "nobody"                         # run children as this user (name or uid) …
//! group = "nogroup"                       # … and group (default: the user's primary group)
//! require_landlock = true                 # refuse to run where the kernel lacks Landlock
//!
//! [roles.ops.exec.args."/usr/bin/systemctl"]
//! allow_prefix = [["status"], ["show", "--property=ActiveState"]]
//! deny = ["--force", "-H*", "--host*"]
//! ```
//!
//! **Programs.** Each `allow` entry is resolved when the policy is compiled:
//! a bare name on the fixed [`SAFE_PATH`], an absolute path canonicalised;
//! it must be an executable regular file, else the policy does not load. A
//! request is resolved the same way (the host's and the tool's `PATH` never
//! matter), canonicalised, and must name an allowed path whose device and
//! inode are still those seen at load; a symlink named like an allowed
//! program resolves to whatever it points at. The program is executed by
//! its canonical path with `argv[0]` set to that path. The dynamic loader
//! (`ld-linux*`, `ld.so`) runs any file it can read, so an `allow` entry
//! resolving to it must be its absolute path, written exactly (not a bare
//! name, not a symlink named otherwise). A file in a write grant lacks
//! Landlock's execute right, so it cannot be run directly; through the
//! loader (`mmap`, which Landlock does not check) an allowed shell can run
//! a file it can also read, inside the same confinement.
//!
//! **Arguments.** `[roles.R.exec.args."<program>"]` (the key is resolved
//! like an `allow` entry and must be one): `deny` globs are matched against
//! each argument (any match refuses; `*` crosses `/`), then, when
//! `allow_prefix` is not empty, the arguments must start with one of its
//! vectors. Deny wins. A denied long option is also refused abbreviated
//! (`--outp` for `--output*`), with a value (`--force=yes`) and a denied
//! short option inside a cluster (`-hT` for `-T`); see `args.rs`.
//!
//! **Environment.** The child's environment is exactly the variables the
//! tool passes, each of which must be named in `env`, plus
//! `PATH=`[`SAFE_PATH`] unless the tool set `PATH`. Nothing is inherited.
//!
//! **Working directory.** `/` unless the tool asks for one; a requested
//! directory is canonicalised and must match a `cwd` glob (`"/srv/**"` also
//! grants `/srv`).
//!
//! **Process.** A new session (no controlling terminal; its own process
//! group); `setrlimit` as above plus no core dumps; stdin is `/dev/null`
//! unless the tool gives bytes; stdout and stderr are each cut at half the
//! role's `max_output_bytes` (so both fit one answer) with a flag.
//!
//! **Process tree** (see `tree.rs`, `cgroup.rs`): each call's processes
//! live in a cgroup of their own (joined before `exec`), capped by
//! `max_processes` (`pids.max`, root included). At the deadline, and 50 ms
//! after the program exits (so background writers can flush), the whole
//! cgroup is killed (`cgroup.kill`) and removed: a process that left the
//! process group (`setsid`, `set -m`, a double fork) dies with the rest.
//! The program dies with llmagent (`PR_SET_PDEATHSIG`), and a sentinel
//! process kills every call's cgroup when llmagent exits or is killed.
//! Where cgroups cannot be used llmagent falls back to being a child
//! subreaper and killing what it finds in `/proc`, which is weaker (see
//! `tree.rs`); the allow decision's rule and `policy check` say so.
//!
//! **User and group** (see `identity.rs`): with `user` (and `group`) the
//! child drops its supplementary groups and takes that gid and uid before
//! `exec`; they are resolved when the policy is compiled, and an unknown
//! name is a policy error. Without them children keep llmagent's uid: as
//! root, uid 0 for file permissions, kept inside the grants by Landlock
//! alone. Switching needs llmagent to run as root.
//!
//! **Landlock** (see `confine.rs`): before `exec` the child is confined to
//! the role's `fs` grants (`read` → read files and list directories;
//! `write` → create, write, truncate, rename, remove, but not device nodes)
//! plus read and execute on `/usr`, `/bin`, `/sbin`, `/lib`, `/lib64`,
//! `/lib32`, read on `/etc/ld.so.cache` and `/etc/ld.so.preload`, read and
//! write on `/dev/null`, and read and execute on the program itself. A glob
//! narrower than a directory is approximated by its base directory
//! (`/etc/*.conf` → all of `/etc`); a glob without metacharacters names
//! exactly its file or tree. TCP bind and connect are denied (ABI ≥ 4), and
//! from ABI 6 signals and abstract UNIX sockets cannot reach outside the
//! child's domain. `/proc` is not granted (`ps` needs `/proc/**` in
//! `fs.read`). Where the kernel lacks Landlock a call answers
//! `unsupported` unless `require_landlock = false`. The protection in force
//! is part of the allow decision's rule.
//!
//! **No capabilities, no sockets** (see `harden.rs`): before Landlock the
//! child locks its securebits, empties its bounding, ambient, permitted,
//! effective and inheritable capability sets and sets `no_new_privs`, also
//! when llmagent runs as root (it stays uid 0 unless `user` is set); after
//! Landlock a seccomp filter refuses every `socket` (so UDP, raw, packet,
//! netlink and Unix sockets by path — which Landlock does not cover — are
//! closed too), namespaces, mounts, tracing, io_uring, bpf, module loading,
//! reboot, clock setting and setuid/setgid mode bits, with `EPERM`.
//!
//! Every decision, allow or deny, goes to the [`Sink`](crate::Sink) as
//! capability `exec`, operation `run`.

mod args;
mod cgroup;
mod confine;
mod harden;
mod host;
mod identity;
mod limits;
mod policy;
mod run;
mod server;
#[cfg(test)]
mod tests;
mod tree;

pub(crate) use cgroup::{Location as CgroupLocation, location as cgroup_location};
pub use confine::{DEFAULT_MIN_ABI, LANDLOCK_STEPS, kernel_abi, missing_steps};

/// How this process contains each call's process tree: a cgroup per call
/// (and what it enforces), or the weaker subreaper fallback and why. Decided
/// once per process, on first use.
pub fn containment() -> String {
    tree::mode().describe()
}
pub use identity::IdToml;
pub use policy::resolve as resolve_program;
pub use policy::{ArgsToml, ExecPolicy, ExecToml, Located, SAFE_PATH, UNIX_SOCKET_LIMIT};
pub use server::{ServerProcess, spawn_server};
