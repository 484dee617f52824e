//! What this machine gives the capabilities: the facts `llmagent doctor`
//! reports, read from the real kernel (`/proc`, `/sys`, syscalls). Nothing
//! here decides anything; the capabilities' [`crate::Capability::unmet`]
//! say which of their requirements the facts do not meet.

use std::path::{Path, PathBuf};

use serde::Serialize;

/// The facts, as probed once.
#[derive(Debug, Clone, Serialize)]
pub struct Machine {
    /// `uname -sr`: kernel name and release.
    pub kernel: String,
    /// The Landlock ABI version (0: none), and what each step adds that
    /// this kernel has.
    pub landlock_abi: u32,
    /// What the Landlock ABI covers, one entry per ABI step present.
    pub landlock_covers: Vec<&'static str>,
    /// Whether seccomp filters are available (`Seccomp:` in
    /// `/proc/self/status`; the exec hardening installs one per child).
    pub seccomp: bool,
    /// cgroup v2, if mounted.
    pub cgroup: Option<Cgroup>,
    /// This process's real and effective uid.
    pub uid: (u32, u32),
    /// This process's effective capability set (hex, as the kernel shows it).
    pub cap_eff: String,
    /// The D-Bus buses this process could reach.
    pub buses: Vec<Bus>,
    /// How an exec call's process tree is contained here (see
    /// [`crate::exec::containment`]).
    pub containment: String,
}

/// The cgroup v2 hierarchy as this process sees it.
#[derive(Debug, Clone, Serialize)]
pub struct Cgroup {
    /// Where it is mounted.
    pub mount: PathBuf,
    /// This process's cgroup, relative to the mount (`/user.slice/…`).
    pub own: String,
    /// Controllers enabled there (`cpu memory pids …`).
    pub controllers: Vec<String>,
    /// Whether this process may create a cgroup below its own (what
    /// per-call containment needs).
    pub can_create_children: bool,
}

/// One D-Bus bus.
#[derive(Debug, Clone, Serialize)]
pub struct Bus {
    /// `system` or `session`.
    pub name: &'static str,
    /// Its address or socket path.
    pub address: String,
    /// Whether a connection to its socket succeeded.
    pub reachable: bool,
}

impl Machine {
    /// Reads the facts.
    pub fn probe() -> Machine {
        let abi = crate::exec::kernel_abi().map_or(0, |abi| abi as u32);
        let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
        let field = |name: &str| {
            status
                .lines()
                .find_map(|l| l.strip_prefix(name))
                .map(str::trim)
                .unwrap_or("")
                .to_owned()
        };
        let uids: Vec<u32> = field("Uid:")
            .split_whitespace()
            .filter_map(|u| u.parse().ok())
            .collect();
        Machine {
            kernel: kernel(),
            landlock_abi: abi,
            landlock_covers: crate::exec::LANDLOCK_STEPS
                .iter()
                .take(usize::try_from(abi).unwrap_or(0))
                .copied()
                .collect(),
            seccomp: !field("Seccomp:").is_empty(),
            cgroup: cgroup(),
            uid: (
                uids.first().copied().unwrap_or(u32::MAX),
                uids.get(1).copied().unwrap_or(u32::MAX),
            ),
            cap_eff: field("CapEff:"),
            buses: buses(),
            containment: crate::exec::containment(),
        }
    }
}

fn kernel() -> String {
    let read = |p: &str| {
        std::fs::read_to_string(p)
            .map(|s| s.trim().to_owned())
            .unwrap_or_default()
    };
    format!(
        "{} {}",
        read("/proc/sys/kernel/ostype"),
        read("/proc/sys/kernel/osrelease")
    )
}

fn cgroup() -> Option<Cgroup> {
    // Found as exec's containment finds it (pure v2, or the v2 part of a
    // hybrid layout, wherever mounted).
    let crate::exec::CgroupLocation {
        v2_mount: mount,
        v2_own: own,
        v2_parent: dir,
        ..
    } = crate::exec::cgroup_location().ok()?;
    let controllers = std::fs::read_to_string(dir.join("cgroup.controllers"))
        .unwrap_or_default()
        .split_whitespace()
        .map(str::to_owned)
        .collect();
    Some(Cgroup {
        can_create_children: can_create_child(&dir),
        mount,
        own,
        controllers,
    })
}

/// Tries: a directory made and removed again below `dir`.
fn can_create_child(dir: &Path) -> bool {
    let probe = dir.join(format!("llmagent-doctor-{}", std::process::id()));
    match std::fs::create_dir(&probe) {
        Ok(()) => std::fs::remove_dir(&probe).is_ok(),
        Err(_) => false,
    }
}

fn buses() -> Vec<Bus> {
    let mut found = Vec::new();
    let system = std::env::var("DBUS_SYSTEM_BUS_ADDRESS")
        .unwrap_or_else(|_| "unix:path=/run/dbus/system_bus_socket".to_owned());
    found.push(bus("system", system));
    if let Ok(session) = std::env::var("DBUS_SESSION_BUS_ADDRESS") {
        found.push(bus("session", session));
    }
    found
}

fn bus(name: &'static str, address: String) -> Bus {
    let reachable = address
        .split(';')
        .filter_map(|a| a.strip_prefix("unix:"))
        .flat_map(|a| a.split(','))
        .filter_map(|kv| kv.strip_prefix("path="))
        .any(|path| std::os::unix::net::UnixStream::connect(path).is_ok());
    Bus {
        name,
        address,
        reachable,
    }
}
