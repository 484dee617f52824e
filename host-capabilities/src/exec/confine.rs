//! The Landlock confinement of a child: which ABI the kernel offers, and
//! the ruleset derived from the role's `fs` grants plus the minimum a
//! program needs to start. The ruleset is built in the parent, before
//! `fork`, so the child only calls `restrict_self` (two syscalls).

use std::os::fd::OwnedFd;
use std::path::Path;
use std::sync::OnceLock;

use landlock::{
    ABI, Access, AccessFs, AccessNet, BitFlags, CompatLevel, Compatible, PathBeneath, Ruleset,
    RulesetAttr, RulesetCreated, RulesetCreatedAttr, Scope,
};

use rustix::fs::{CWD, Mode, OFlags, openat};

use crate::fs::{Access as FsAccess, FsPolicy};

/// The newest ABI this code asks for. ABI 7 (Linux 6.15) adds only audit
/// flags to ABI 6; newer ABIs would add rights (UDP in ABI 10) that have
/// not been tested here, so they are not requested until they are.
const NEWEST: ABI = ABI::V7;

/// Trees every child may read and execute: programs, shared libraries and
/// their data (locale, terminfo, zoneinfo). On merged-/usr systems the
/// top-level names are symlinks into `/usr` and resolve to the same rule;
/// missing ones are skipped.
const SYSTEM_TREES: &[&str] = &["/usr", "/bin", "/sbin", "/lib", "/lib64", "/lib32"];

/// Files every child may read: the dynamic loader's cache of library paths
/// and its preload list (read by `ld.so` at every start when present).
/// `/etc/ld.so.conf*` is only read by `ldconfig`, so it is not granted.
const LOADER_FILES: &[&str] = &["/etc/ld.so.cache", "/etc/ld.so.preload"];

/// Read and write (with truncation, as `> /dev/null` opens it) but no
/// ioctl: the usual sink for unwanted output.
const DEV_NULL: &str = "/dev/null";

/// What each Landlock ABI adds, in order (index 0 is ABI 1).
pub const LANDLOCK_STEPS: &[&str] = &[
    "files and directories (ABI 1)",
    "renaming and linking across directories (ABI 2)",
    "truncation (ABI 3)",
    "TCP bind and connect (ABI 4)",
    "device ioctl (ABI 5)",
    "abstract Unix sockets and signals scoping (ABI 6)",
    "audit logging (ABI 7)",
];

/// The lowest Landlock ABI a role accepts unless it says otherwise: the
/// first that confines TCP and scopes signals and abstract sockets.
pub const DEFAULT_MIN_ABI: u32 = 6;

/// What a kernel at `have` lacks of the ABI steps up to `want`.
pub fn missing_steps(have: u32, want: u32) -> Vec<&'static str> {
    LANDLOCK_STEPS
        .iter()
        .enumerate()
        .filter(|(i, _)| {
            let abi = u32::try_from(*i).unwrap_or(u32::MAX).saturating_add(1);
            abi > have && abi <= want
        })
        .map(|(_, s)| *s)
        .collect()
}

/// What protected a run, for the decision sink.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protection {
    /// Landlock at this ABI: files always, TCP from ABI 4, signal and
    /// abstract-socket scoping from ABI 6.
    Landlock(ABI),
    /// The kernel has no Landlock and the policy allowed running without.
    None,
}

impl Protection {
    /// `landlock ABI 7: fs, tcp, scope`.
    pub fn describe(self) -> String {
        match self {
            Protection::Landlock(abi) => {
                let n = abi as i32;
                let mut parts = vec!["fs"];
                if n >= 4 {
                    parts.push("tcp");
                }
                if n >= 6 {
                    parts.push("scope");
                }
                format!("landlock ABI {n}: {}", parts.join(", "))
            }
            Protection::None => "no landlock on this kernel (require_landlock = false)".into(),
        }
    }
}

/// The newest ABI the kernel enforces fully, probed once: a ruleset with
/// every right of an ABI is created as a hard requirement, newest first.
pub fn kernel_abi() -> Option<ABI> {
    static ABI_FOUND: OnceLock<Option<ABI>> = OnceLock::new();
    *ABI_FOUND.get_or_init(|| {
        [
            ABI::V7,
            ABI::V6,
            ABI::V5,
            ABI::V4,
            ABI::V3,
            ABI::V2,
            ABI::V1,
        ]
        .into_iter()
        .filter(|abi| *abi <= NEWEST)
        .find(|abi| base(*abi).and_then(Ruleset::create).is_ok())
    })
}

/// A ruleset handling every right of `abi` (so all are denied unless a
/// rule grants them), as a hard requirement.
fn base(abi: ABI) -> Result<Ruleset, landlock::RulesetError> {
    let mut r = Ruleset::default()
        .set_compatibility(CompatLevel::HardRequirement)
        .handle_access(AccessFs::from_all(abi))?;
    if !AccessNet::from_all(abi).is_empty() {
        r = r.handle_access(AccessNet::from_all(abi))?;
    }
    if !Scope::from_all(abi).is_empty() {
        r = r.scope(Scope::from_all(abi))?;
    }
    Ok(r)
}

impl super::ExecPolicy {
    /// Warnings for `policy check`: a program's Landlock rules cover a write
    /// grant whole, so files the `fs` capability protects inside it (trusted
    /// by privileged processes, or llmagent's own) are writable to programs.
    pub fn landlock_warnings(&self, fs: &FsPolicy) -> Vec<String> {
        if self.programs.is_empty() {
            return Vec::new();
        }
        fs.grants(FsAccess::Write)
            .iter()
            .filter_map(|g| {
                let covered = fs.protected_under(g);
                (!covered.is_empty()).then(|| {
                    format!(
                        "warning: programs may write all of {} (Landlock cannot exclude files inside a granted tree), \
                         including {}; the fs capability refuses those writes, programs are not stopped",
                        g.pattern(),
                        covered.join(", ")
                    )
                })
            })
            .collect()
    }
}

/// Why a ruleset could not be built.
#[derive(Debug)]
pub enum RulesetError {
    /// A grant's path is no longer what the policy was loaded with (a
    /// symlink stands where a directory was): refused, never followed.
    Swapped(String),
    /// The kernel refused the ruleset.
    Kernel(String),
}

/// The ruleset for one child running `program` under `fs`. No network
/// rule is added: TCP bind and connect are denied (no role grants network
/// to programs yet). Grant paths are opened without following any symlink
/// (see [`crate::fs::open_rule_root`]), so a symlink a tool planted since
/// the policy was loaded widens nothing.
pub fn ruleset(abi: ABI, fs: &FsPolicy, program: &Path) -> Result<RulesetCreated, RulesetError> {
    let read = AccessFs::ReadFile | AccessFs::ReadDir;
    // Everything that writes, except creating device nodes (root could
    // mknod a disk and read it raw) and device ioctls.
    let write = AccessFs::from_write(abi)
        & !(AccessFs::MakeChar | AccessFs::MakeBlock | AccessFs::IoctlDev);
    let mut fixed: Vec<(&Path, BitFlags<AccessFs>)> = Vec::new();
    for tree in SYSTEM_TREES {
        fixed.push((Path::new(tree), read | AccessFs::Execute));
    }
    for file in LOADER_FILES {
        fixed.push((Path::new(file), AccessFs::ReadFile.into()));
    }
    fixed.push((
        Path::new(DEV_NULL),
        AccessFs::ReadFile | AccessFs::WriteFile | AccessFs::Truncate,
    ));
    fixed.push((program, AccessFs::ReadFile | AccessFs::Execute));
    // Fixed paths are the system's (and the program was resolved just
    // now); they are opened following symlinks (`/bin` → `/usr/bin`). A
    // path that does not exist (now) grants nothing.
    let mut rules: Vec<(OwnedFd, BitFlags<AccessFs>)> = fixed
        .into_iter()
        .filter_map(|(path, rights)| {
            let fd = openat(CWD, path, OFlags::PATH | OFlags::CLOEXEC, Mode::empty()).ok()?;
            Some((fd, rights))
        })
        .collect();
    for (access, rights) in [(FsAccess::Read, read), (FsAccess::Write, write)] {
        for grant in fs.grants(access) {
            if let Some(fd) = crate::fs::open_rule_root(grant).map_err(RulesetError::Swapped)? {
                rules.push((fd, rights));
            }
        }
    }
    let fail = |e: landlock::RulesetError| {
        RulesetError::Kernel(format!("cannot build the Landlock ruleset: {e}"))
    };
    let mut created = base(abi).and_then(Ruleset::create).map_err(fail)?;
    for (fd, rights) in rules {
        let is_file = rustix::fs::fstat(&fd).is_ok_and(|st| {
            rustix::fs::FileType::from_raw_mode(st.st_mode) != rustix::fs::FileType::Directory
        });
        let rights = if is_file {
            rights & AccessFs::from_file(abi)
        } else {
            rights
        };
        let rights = rights & AccessFs::from_all(abi);
        if rights.is_empty() {
            continue;
        }
        created = created
            .add_rule(PathBeneath::new(fd, rights))
            .map_err(fail)?;
    }
    Ok(created)
}
