// What this machine offers the tests that need more than Rust: included by
// the build scripts of the crates whose tests attack the real kernel or
// start real services. Each facility found becomes a `cfg` the tests put
// in `#[cfg_attr(not(FACILITY), ignore = "needs …")]`, so a test that
// cannot run here shows as *skipped* in the test runner's own count, and
// `.ci/run` lists them. Probed when the crate is built: rebuilt when the
// probed files change.

/// Each facility: its cfg name, whether this machine has it, what it is.
fn facilities() -> Vec<(&'static str, bool, &'static str)> {
    vec![
        (
            "llmagent_landlock",
            landlock_abi() > 0,
            "a kernel with Landlock",
        ),
        ("llmagent_root", is_root(), "running as root"),
        ("llmagent_python3", runs("python3", "--version"), "python3"),
        ("llmagent_dbus", runs("dbus-daemon", "--version"), "dbus-daemon (Debian's dbus)"),
        (
            "llmagent_cgroup",
            cgroup_v2(),
            "a writable cgroup v2 with cgroup.kill and the pids controller (root)",
        ),
        (
            "llmagent_glibc_loader",
            ["/lib64/ld-linux-x86-64.so.2", "/usr/bin/ld.so"]
                .iter()
                .all(|p| std::path::Path::new(p).exists()),
            "the x86-64 glibc loader (/lib64/ld-linux-x86-64.so.2, /usr/bin/ld.so)",
        ),
        (
            "llmagent_udev",
            std::path::Path::new("/sys/class/net/lo").exists() && has_libudev(),
            "libudev (Debian's libudev-dev) and /sys/class/net/lo",
        ),
        (
            "llmagent_icmp",
            icmp_socket(),
            "an ICMP socket (net.ipv4.ping_group_range or CAP_NET_RAW)",
        ),
        (
            "llmagent_chromium",
            std::path::Path::new("/usr/bin/chromium").exists() && venv_has("playwright"),
            "Debian's chromium and Playwright in the tests' venv ($LLMAGENT_VENV, else ~/.cache/llmagent/venv; scripts/setup.sh makes it)",
        ),
        (
            "llmagent_schemathesis",
            venv_has("schemathesis"),
            "schemathesis in the tests' venv ($LLMAGENT_VENV, else ~/.cache/llmagent/venv; scripts/setup.sh makes it)",
        ),
        (
            "llmagent_systemd",
            std::path::Path::new("/run/systemd/system").exists(),
            "systemd as PID 1",
        ),
        (
            "llmagent_mcp_python",
            venv_has("mcp.server.mcpserver"),
            "the MCP Python SDK in the tests' venv ($LLMAGENT_VENV, else ~/.cache/llmagent/venv; scripts/setup.sh makes it)",
        ),
    ]
}

/// Emits the cfg of every facility found, declares all of them, and warns
/// about the missing ones.
pub fn emit_facilities() {
    // Only paths that exist: cargo treats a missing one as always changed,
    // which would rebuild the crate on every build.
    for path in [
        "/run/systemd/system",
        "/usr/bin/python3",
        "/usr/bin/dbus-daemon",
        "/usr/bin/chromium",
    ] {
        if std::path::Path::new(path).exists() {
            println!("cargo:rerun-if-changed={path}");
        }
    }
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=LLMAGENT_VENV");
    // The venv's config once it exists; before, the directory it will be
    // made in (so that making it re-probes).
    if let Some(venv) = venv() {
        let watched = [venv.join("pyvenv.cfg"), venv.join("..")];
        if let Some(p) = watched.iter().find(|p| p.exists()) {
            println!("cargo:rerun-if-changed={}", p.display());
        }
    }
    for (name, found, what) in facilities() {
        println!("cargo:rustc-check-cfg=cfg({name})");
        if found {
            println!("cargo:rustc-cfg={name}");
        } else {
            println!("cargo:warning=this machine lacks {what}: the tests that need it are skipped");
        }
    }
}

/// Where the tests' Python venv (the MCP SDK, schemathesis, Playwright)
/// lives: `$LLMAGENT_VENV`, else `~/.cache/llmagent/venv` (what
/// `scripts/setup.sh` makes).
fn venv() -> Option<std::path::PathBuf> {
    if let Some(v) = std::env::var_os("LLMAGENT_VENV").filter(|v| !v.is_empty()) {
        return Some(v.into());
    }
    std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .map(|h| std::path::PathBuf::from(h).join(".cache/llmagent/venv"))
}

/// Whether that venv can import `module`.
fn venv_has(module: &str) -> bool {
    venv().is_some_and(|v| {
        std::process::Command::new(v.join("bin/python"))
            .args(["-c", &format!("import {module}")])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    })
}

fn runs(program: &str, arg: &str) -> bool {
    std::process::Command::new(program)
        .arg(arg)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Whether per-call cgroups can work here: root, a cgroup v2 hierarchy
/// (unified, or beside v1 on a hybrid host) holding this process, a kernel
/// with `cgroup.kill` (Linux 5.14), and a pids controller (v2, or v1 on a
/// hybrid host). The tests that need it assert the runtime agrees.
fn cgroup_v2() -> bool {
    let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    // Fields: id parent dev root mountpoint options [optional…] - fstype source super-options.
    let mounts: Vec<(String, String, String)> = mountinfo
        .lines()
        .filter_map(|l| {
            let (left, right) = l.split_once(" - ")?;
            let point = left.split(' ').nth(4)?.to_owned();
            let mut r = right.split(' ');
            let fstype = r.next()?.to_owned();
            let options = r.nth(1).unwrap_or_default().to_owned();
            Some((point, fstype, options))
        })
        .collect();
    let Some(v2) = mounts.iter().find(|m| m.1 == "cgroup2").map(|m| m.0.clone()) else {
        return false;
    };
    let own = std::fs::read_to_string("/proc/self/cgroup").unwrap_or_default();
    let Some(path) = own.lines().find_map(|l| l.strip_prefix("0::")) else {
        return false;
    };
    let own_dir = format!("{v2}{}", path.trim_end_matches('/'));
    let v2_pids = std::fs::read_to_string(format!("{v2}/cgroup.controllers"))
        .is_ok_and(|c| c.split_whitespace().any(|x| x == "pids"));
    let v1_pids = mounts
        .iter()
        .any(|m| m.1 == "cgroup" && m.2.split(',').any(|o| o == "pids"));
    // The root cgroup has no `cgroup.kill` file of its own; the kernel
    // version says whether the cgroups created below it will.
    let release = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    let mut version = release
        .split(|c: char| !c.is_ascii_digit())
        .filter_map(|n| n.parse::<u32>().ok());
    let kill = (version.next().unwrap_or(0), version.next().unwrap_or(0)) >= (5, 14);
    is_root() && std::path::Path::new(&own_dir).is_dir() && kill && (v2_pids || v1_pids)
}

/// Whether pkg-config finds libudev (what the `udev` crate links).
fn has_libudev() -> bool {
    std::process::Command::new("pkg-config")
        .args(["--exists", "libudev"])
        .status()
        .is_ok_and(|s| s.success())
}

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status").is_ok_and(|status| {
        status
            .lines()
            .find_map(|l| l.strip_prefix("Uid:"))
            .and_then(|ids| ids.split_whitespace().nth(1))
            == Some("0")
    })
}

/// The Landlock ABI the kernel offers (0: none), asked the way the kernel
/// documents: `landlock_create_ruleset(NULL, 0, LANDLOCK_CREATE_RULESET_VERSION)`.
#[allow(unsafe_code)]
fn landlock_abi() -> i64 {
    const LANDLOCK_CREATE_RULESET_VERSION: u32 = 1;
    // SAFETY: with a null attribute pointer and size 0, this flag only asks
    // for the ABI version; the kernel reads and writes no memory.
    let abi = unsafe {
        libc::syscall(
            libc::SYS_landlock_create_ruleset,
            std::ptr::null::<u8>(),
            0usize,
            LANDLOCK_CREATE_RULESET_VERSION,
        )
    };
    abi.max(0)
}

/// Whether an ICMP echo socket opens: a datagram one (the sysctl
/// `net.ipv4.ping_group_range` covers our group) or a raw one (root).
#[allow(unsafe_code)]
fn icmp_socket() -> bool {
    [libc::SOCK_DGRAM, libc::SOCK_RAW].into_iter().any(|kind| {
        // SAFETY: socket(2) with constant arguments; the descriptor is
        // closed right away and never used otherwise.
        unsafe {
            let fd = libc::socket(libc::AF_INET, kind, libc::IPPROTO_ICMP);
            if fd >= 0 {
                libc::close(fd);
            }
            fd >= 0
        }
    })
}
