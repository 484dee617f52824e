//! What an exec child loses before `exec`, besides its Landlock domain:
//! every capability, and the syscalls that reach past the role's grants.
//!
//! **Capabilities.** When llmagent runs as root (the usual case for a
//! sysadmin agent) its children would inherit a full capability set: raw
//! sockets, module loading, `chown` of anything, reboot. The child locks
//! its securebits (so uid 0 gains no capabilities at `exec` and cannot get
//! them back), drops every capability from its bounding set, clears its
//! ambient set, sets `no_new_privs` (setuid and file-capability binaries
//! give nothing) and empties its permitted, effective and inheritable sets.
//! A child of a non-root runtime has no capability to drop; `no_new_privs`
//! and the empty sets still apply. Unless the role names a `user`, a root
//! child stays uid 0 for file permissions: Landlock, not the uid, keeps it
//! inside its grants.
//!
//! **Descriptors.** Every descriptor above stderr is marked close-on-exec
//! (`close_range`), so the program inherits stdin, stdout and stderr only.
//!
//! **Syscalls** (seccomp, built once with `seccompiler` and installed last,
//! after Landlock): a denied syscall fails with `EPERM`, which the program
//! reports; nothing kills the runtime. Denied:
//!
//! - `socket` of every family: no TCP, UDP, raw, packet, netlink or Unix
//!   socket can be opened, so neither the network nor a Unix socket by
//!   path (the D-Bus system bus, systemd's and docker's sockets) is
//!   reachable. `socketpair` (an unnamed pair, no address) stays. A role
//!   with `unix_sockets` gets a filter that allows `socket(AF_UNIX, …)`
//!   and still refuses every other family (see `UNIX_SOCKET_LIMIT` for
//!   what the kernel cannot check then).
//! - the kernel's escape hatches: `io_uring_*`, `ptrace`,
//!   `process_vm_readv/writev`, `bpf`, `perf_event_open`, `userfaultfd`,
//!   `keyctl`/`add_key`/`request_key`, `unshare`, `setns` and `clone` with
//!   namespace flags, `mount`/`umount2`/`pivot_root`/`chroot` and the new
//!   mount API, module loading, `kexec_*`, `reboot`, clock setting,
//!   `open_by_handle_at`, `swapon`/`swapoff`, `acct`, `iopl`/`ioperm`,
//!   `quotactl`;
//! - setuid and setgid bits: `chmod`/`fchmod`/`fchmodat` with `S_ISUID` or
//!   `S_ISGID` in the mode, and `open`/`openat`/`creat` creating a file
//!   with them.
//!
//! `clone3` and `openat2` answer `ENOSYS`: their flags and mode live in a
//! struct seccomp cannot read, and C libraries fall back to `clone` and
//! `openat`, which are checked. The filter checks the architecture first
//! (another ABI's syscalls kill the child). Known limit: on a kernel booted
//! with the x32 ABI enabled (`syscall.x32=y`; off by default in Debian),
//! x32 syscall numbers are not matched by this filter.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use super::identity::Identity;
use rustix::thread::{
    CapabilitiesSecureBits, CapabilitySet, CapabilitySets, clear_ambient_capability_set,
    remove_capability_from_bounding_set, set_capabilities, set_capabilities_secure_bits,
    set_no_new_privs,
};
use seccompiler::{
    BpfProgram, SeccompAction, SeccompCmpArgLen, SeccompCmpOp, SeccompCondition, SeccompFilter,
    SeccompRule, TargetArch,
};

/// The two filters, compiled once: syscalls answered `EPERM`, and
/// syscalls answered `ENOSYS` (so the C library falls back).
pub(crate) struct Filters {
    deny: BpfProgram,
    nosys: BpfProgram,
}

/// Which sockets a child may create.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Sockets {
    /// None: every `socket()` is refused.
    None,
    /// `AF_UNIX` only (a role with `unix_sockets`).
    Unix,
}

/// Syscalls denied whatever their arguments (`socket` is added per
/// [`Sockets`]).
const DENIED: &[libc::c_long] = &[
    libc::SYS_io_uring_setup,
    libc::SYS_io_uring_enter,
    libc::SYS_io_uring_register,
    libc::SYS_ptrace,
    libc::SYS_process_vm_readv,
    libc::SYS_process_vm_writev,
    libc::SYS_bpf,
    libc::SYS_perf_event_open,
    libc::SYS_userfaultfd,
    libc::SYS_keyctl,
    libc::SYS_add_key,
    libc::SYS_request_key,
    libc::SYS_unshare,
    libc::SYS_setns,
    libc::SYS_mount,
    libc::SYS_umount2,
    libc::SYS_pivot_root,
    libc::SYS_chroot,
    libc::SYS_fsopen,
    libc::SYS_fsconfig,
    libc::SYS_fsmount,
    libc::SYS_fspick,
    libc::SYS_move_mount,
    libc::SYS_open_tree,
    libc::SYS_mount_setattr,
    libc::SYS_init_module,
    libc::SYS_finit_module,
    libc::SYS_delete_module,
    libc::SYS_kexec_load,
    libc::SYS_kexec_file_load,
    libc::SYS_reboot,
    libc::SYS_settimeofday,
    libc::SYS_clock_settime,
    libc::SYS_clock_adjtime,
    libc::SYS_adjtimex,
    libc::SYS_open_by_handle_at,
    libc::SYS_swapon,
    libc::SYS_swapoff,
    libc::SYS_acct,
    libc::SYS_quotactl,
    #[cfg(target_arch = "x86_64")]
    libc::SYS_iopl,
    #[cfg(target_arch = "x86_64")]
    libc::SYS_ioperm,
];

/// Syscalls answered `ENOSYS`.
const NOSYS: &[libc::c_long] = &[libc::SYS_clone3, libc::SYS_openat2];

/// `clone` flags that create namespaces (CLONE_NEWTIME shares its bit
/// with the exit signal in `clone`'s flags and is covered by `unshare`).
const NAMESPACE_FLAGS: &[u64] = &[
    libc::CLONE_NEWNS as u64,
    libc::CLONE_NEWUSER as u64,
    libc::CLONE_NEWPID as u64,
    libc::CLONE_NEWNET as u64,
    libc::CLONE_NEWUTS as u64,
    libc::CLONE_NEWIPC as u64,
    libc::CLONE_NEWCGROUP as u64,
];

/// The mode bits no child may set.
const SET_ID_BITS: &[u64] = &[libc::S_ISUID as u64, libc::S_ISGID as u64];

/// The compiled filters for `sockets`, or why they cannot be built here
/// (an architecture seccompiler does not know).
pub(crate) fn filters(sockets: Sockets) -> Result<&'static Filters, String> {
    static NO_SOCKETS: OnceLock<Result<Filters, String>> = OnceLock::new();
    static UNIX: OnceLock<Result<Filters, String>> = OnceLock::new();
    let cell = match sockets {
        Sockets::None => &NO_SOCKETS,
        Sockets::Unix => &UNIX,
    };
    cell.get_or_init(|| build(sockets))
        .as_ref()
        .map_err(|e| format!("cannot build the exec syscall filter: {e}"))
}

fn build(sockets: Sockets) -> Result<Filters, String> {
    let arch = TargetArch::try_from(std::env::consts::ARCH).map_err(|e| e.to_string())?;
    let mut deny: BTreeMap<i64, Vec<SeccompRule>> =
        DENIED.iter().map(|&nr| (nr, Vec::new())).collect();
    let socket_rules = match sockets {
        // No condition: always denied.
        Sockets::None => Vec::new(),
        Sockets::Unix => vec![
            SeccompRule::new(vec![
                SeccompCondition::new(
                    0,
                    SeccompCmpArgLen::Dword,
                    SeccompCmpOp::Ne,
                    libc::AF_UNIX.unsigned_abs().into(),
                )
                .map_err(|e| e.to_string())?,
            ])
            .map_err(|e| e.to_string())?,
        ],
    };
    deny.insert(libc::SYS_socket, socket_rules);
    let rules = |arg: u8, values: &[u64]| -> Result<Vec<SeccompRule>, String> {
        values
            .iter()
            .map(|&bit| masked(arg, bit, None))
            .collect::<Result<Vec<_>, _>>()
    };
    deny.insert(libc::SYS_clone, rules(0, NAMESPACE_FLAGS)?);
    #[cfg(target_arch = "x86_64")]
    deny.insert(libc::SYS_chmod, rules(1, SET_ID_BITS)?);
    deny.insert(libc::SYS_fchmod, rules(1, SET_ID_BITS)?);
    deny.insert(libc::SYS_fchmodat, rules(2, SET_ID_BITS)?);
    let creating = |flags_arg: u8, mode_arg: u8| -> Result<Vec<SeccompRule>, String> {
        SET_ID_BITS
            .iter()
            .map(|&bit| masked(mode_arg, bit, Some((flags_arg, libc::O_CREAT as u64))))
            .collect()
    };
    #[cfg(target_arch = "x86_64")]
    deny.insert(libc::SYS_open, creating(1, 2)?);
    deny.insert(libc::SYS_openat, creating(2, 3)?);
    #[cfg(target_arch = "x86_64")]
    deny.insert(
        libc::SYS_creat,
        SET_ID_BITS
            .iter()
            .map(|&bit| masked(1, bit, None))
            .collect::<Result<Vec<_>, _>>()?,
    );
    let nosys = NOSYS.iter().map(|&nr| (nr, Vec::new())).collect();
    let compile = |rules, errno: i32| -> Result<BpfProgram, String> {
        let filter = SeccompFilter::new(
            rules,
            SeccompAction::Allow,
            SeccompAction::Errno(errno.unsigned_abs()),
            arch,
        )
        .map_err(|e| e.to_string())?;
        BpfProgram::try_from(filter).map_err(|e| e.to_string())
    };
    Ok(Filters {
        deny: compile(deny, libc::EPERM)?,
        nosys: compile(nosys, libc::ENOSYS)?,
    })
}

/// A rule matching when `arg & bit == bit`, and (with `also`) when
/// `arg2 & bit2 == bit2` too.
fn masked(arg: u8, bit: u64, also: Option<(u8, u64)>) -> Result<SeccompRule, String> {
    let condition = |arg: u8, bit: u64| {
        SeccompCondition::new(
            arg,
            SeccompCmpArgLen::Qword,
            SeccompCmpOp::MaskedEq(bit),
            bit,
        )
        .map_err(|e| e.to_string())
    };
    let mut conditions = vec![condition(arg, bit)?];
    if let Some((arg2, bit2)) = also {
        conditions.push(condition(arg2, bit2)?);
    }
    SeccompRule::new(conditions).map_err(|e| e.to_string())
}

/// Drops every capability and sets `no_new_privs`, switching to
/// `identity` on the way (see `identity.rs` for the order); runs in the
/// forked child before `exec` (raw syscalls only). Securebits and the
/// bounding set need `CAP_SETPCAP`, which only a privileged runtime has:
/// without it there is nothing in them to give away.
pub(crate) fn drop_capabilities(identity: Identity) -> std::io::Result<()> {
    let privileged = rustix::thread::capabilities(None)
        .map(|sets| sets.effective.contains(CapabilitySet::SETPCAP))
        .unwrap_or(false);
    if privileged {
        set_capabilities_secure_bits(
            CapabilitiesSecureBits::NO_ROOT
                | CapabilitiesSecureBits::NO_ROOT_LOCKED
                | CapabilitiesSecureBits::NO_SETUID_FIXUP
                | CapabilitiesSecureBits::NO_SETUID_FIXUP_LOCKED
                | CapabilitiesSecureBits::KEEP_CAPS_LOCKED
                | CapabilitiesSecureBits::NO_CAP_AMBIENT_RAISE
                | CapabilitiesSecureBits::NO_CAP_AMBIENT_RAISE_LOCKED,
        )?;
        for bit in 0..64u32 {
            let Some(cap) = CapabilitySet::from_bits(1u64 << bit) else {
                continue;
            };
            match remove_capability_from_bounding_set(cap) {
                // Past the kernel's last capability.
                Ok(()) | Err(rustix::io::Errno::INVAL) => {}
                Err(e) => return Err(e.into()),
            }
        }
    }
    // Still holding CAP_SETUID and CAP_SETGID (a privileged runtime);
    // the locked NO_SETUID_FIXUP bit keeps the uid change from touching
    // the capability sets, which are emptied next.
    super::identity::switch(identity)?;
    clear_ambient_capability_set()?;
    set_no_new_privs(true)?;
    set_capabilities(
        None,
        CapabilitySets {
            effective: CapabilitySet::empty(),
            permitted: CapabilitySet::empty(),
            inheritable: CapabilitySet::empty(),
        },
    )?;
    Ok(())
}

/// Marks every descriptor above stderr close-on-exec, so only stdin,
/// stdout and stderr reach the program, whatever the runtime (or a library
/// in it) opened without `O_CLOEXEC`. Marking rather than closing keeps
/// the standard library's own exec-error pipe working until `exec`.
#[allow(unsafe_code)]
pub(crate) fn inherit_only_stdio() -> std::io::Result<()> {
    // SAFETY: close_range(2) with CLOSE_RANGE_CLOEXEC takes plain integers
    // and only changes descriptor flags; no memory is passed.
    let r = unsafe {
        libc::syscall(
            libc::SYS_close_range,
            3u32,
            u32::MAX,
            libc::CLOSE_RANGE_CLOEXEC,
        )
    };
    if r == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// Installs the syscall filters; runs in the forked child, last before
/// `exec`.
pub(crate) fn install(filters: &Filters) -> std::io::Result<()> {
    for program in [&filters.nosys, &filters.deny] {
        seccompiler::apply_filter(program).map_err(|e| {
            std::io::Error::from_raw_os_error(match e {
                seccompiler::Error::Prctl(e) | seccompiler::Error::Seccomp(e) => {
                    e.raw_os_error().unwrap_or(libc::EPERM)
                }
                _ => libc::EINVAL,
            })
        })?;
    }
    Ok(())
}
