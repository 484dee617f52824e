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
            "llmagent_icmp",
            icmp_socket(),
            "an ICMP socket (net.ipv4.ping_group_range or CAP_NET_RAW)",
        ),
        (
            "llmagent_systemd",
            std::path::Path::new("/run/systemd/system").exists(),
            "systemd as PID 1",
        ),
    ]
}

/// Emits the cfg of every facility found, declares all of them, and warns
/// about the missing ones.
pub fn emit_facilities() {
    // Only paths that exist: cargo treats a missing one as always changed,
    // which would rebuild the crate on every build.
    for path in ["/run/systemd/system", "/usr/bin/python3", "/usr/bin/dbus-daemon"] {
        if std::path::Path::new(path).exists() {
            println!("cargo:rerun-if-changed={path}");
        }
    }
    println!("cargo:rerun-if-changed=build.rs");
    for (name, found, what) in facilities() {
        println!("cargo:rustc-check-cfg=cfg({name})");
        if found {
            println!("cargo:rustc-cfg={name}");
        } else {
            println!("cargo:warning=this machine lacks {what}: the tests that need it are skipped");
        }
    }
}

fn runs(program: &str, arg: &str) -> bool {
    std::process::Command::new(program)
        .arg(arg)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
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
