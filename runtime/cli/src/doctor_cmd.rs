//! `llmagent doctor`: what this machine gives the sandbox, and whether each
//! role of a policy gets what it requires here.

use std::path::{Path, PathBuf};

use host_capabilities::machine::Machine;
use serde_json::{Value, json};

use crate::exit;
use crate::load::{self, print_json};

/// Arguments of `llmagent doctor`.
#[derive(Debug, clap::Args)]
pub(crate) struct DoctorArgs {
    /// Also check each role of this policy against the machine.
    #[arg(long)]
    policy: Option<PathBuf>,
    /// Machine-readable output.
    #[arg(long)]
    json: bool,
}

/// One role as the doctor sees it: its name, each capability's summary
/// lines, and the requirements this machine does not meet.
struct RoleReport<'p> {
    name: &'p str,
    grants: Vec<(&'static str, Vec<String>)>,
    unmet: Vec<(&'static str, String)>,
}

/// The component cache: where, how many entries, how large, writable.
struct Cache {
    dir: Option<PathBuf>,
    entries: usize,
    bytes: u64,
    writable: bool,
}

fn cache() -> Cache {
    let dir = llmagent_core::default_cache_dir();
    let (mut entries, mut bytes) = (0, 0);
    if let Some(read) = dir.as_deref().and_then(|d| std::fs::read_dir(d).ok()) {
        for entry in read.flatten() {
            if let Ok(meta) = entry.metadata() {
                entries += 1;
                bytes += meta.len();
            }
        }
    }
    let writable = dir.as_deref().is_some_and(writable);
    Cache {
        dir,
        entries,
        bytes,
        writable,
    }
}

/// Whether a file can be made in `dir` (created if missing).
fn writable(dir: &Path) -> bool {
    let probe = dir.join(format!(".doctor-{}", std::process::id()));
    std::fs::create_dir_all(dir).is_ok()
        && std::fs::write(&probe, b"").is_ok()
        && std::fs::remove_file(&probe).is_ok()
}

/// What an exec child gets here, whatever its role allows.
fn child_protections(m: &Machine) -> Vec<String> {
    let mut p = vec![
        "no capabilities (bounding, ambient, permitted, effective emptied; securebits locked), no_new_privs".to_owned(),
    ];
    p.push(if m.landlock_abi > 0 {
        format!(
            "Landlock ABI {}: confined to the role's fs grants",
            m.landlock_abi
        )
    } else {
        "NO Landlock: a role without require_landlock runs children unconfined by the kernel"
            .to_owned()
    });
    p.push(if m.seccomp {
        "seccomp filter: no sockets (Unix ones only where a role grants unix_sockets), namespaces, mounts, tracing, module loading, setuid bits"
            .to_owned()
    } else {
        "NO seccomp: the syscall filter cannot be installed".to_owned()
    });
    p.push(format!("process tree: {}", m.containment));
    if m.uid.1 == 0 {
        p.push(
            "uid 0 for file permissions unless the role sets a user (Landlock keeps it in its grants)"
                .to_owned(),
        );
    }
    p
}

pub(crate) fn doctor(args: &DoctorArgs) -> u8 {
    let machine = Machine::probe();
    let cache = cache();
    let policy = match &args.policy {
        Some(p) => match load::policy(Some(p)) {
            Ok(p) => Some(p),
            Err(code) => return code,
        },
        None => None,
    };
    let roles: Vec<RoleReport<'_>> = policy
        .iter()
        .flat_map(|p| p.roles.values())
        .map(|r| RoleReport {
            name: &r.name,
            grants: r.grants.summaries(),
            unmet: r.grants.unmet(),
        })
        .collect();
    let unmet = roles.iter().any(|r| !r.unmet.is_empty());
    let children = child_protections(&machine);
    if args.json {
        print_json(&json!({
            "machine": machine,
            "exec_children": children,
            "component_cache": {
                "dir": cache.dir,
                "entries": cache.entries,
                "bytes": cache.bytes,
                "writable": cache.writable,
            },
            "roles": roles.iter().map(|r| json!({
                "role": r.name,
                "grants": r.grants.iter().map(|(c, lines)| json!({"capability": c, "lines": lines})).collect::<Vec<_>>(),
                "unmet": r.unmet.iter().map(|(c, why)| json!({"capability": c, "why": why})).collect::<Vec<_>>(),
            })).collect::<Vec<Value>>(),
            "ok": !unmet,
        }));
    } else {
        print_machine(&machine, &cache, &children);
        if let Some(p) = &policy {
            println!();
            println!("policy {}", p.origin.display());
            for role in &roles {
                let verdict = if role.unmet.is_empty() {
                    "requirements met"
                } else {
                    "REQUIREMENTS NOT MET"
                };
                println!("  role {}: {verdict}", role.name);
                let width = crate::term::width();
                let hang = " ".repeat(6);
                for (capability, lines) in &role.grants {
                    for line in lines {
                        let first = format!("    {capability}: ");
                        println!("{}", crate::term::wrap(line, &first, &hang, width));
                    }
                }
                for (capability, why) in &role.unmet {
                    let first = format!("    unmet {capability}: ");
                    println!("{}", crate::term::wrap(why, &first, &hang, width));
                }
            }
        }
    }
    if unmet { exit::UNMET } else { 0 }
}

fn print_machine(m: &Machine, cache: &Cache, children: &[String]) {
    let width = crate::term::width();
    let row = |k: &str, v: String| {
        println!(
            "{}",
            crate::term::wrap(&v, &format!("{k:<12}"), &" ".repeat(12), width)
        );
    };
    row("kernel", m.kernel.clone());
    row(
        "landlock",
        if m.landlock_abi == 0 {
            "none".to_owned()
        } else {
            format!("ABI {}: {}", m.landlock_abi, m.landlock_covers.join(", "))
        },
    );
    row(
        "seccomp",
        if m.seccomp { "available" } else { "none" }.to_owned(),
    );
    row(
        "cgroup v2",
        match &m.cgroup {
            None => "not mounted".to_owned(),
            Some(c) => format!(
                "{}, own cgroup {} (controllers: {}); sub-cgroups {}",
                c.mount.display(),
                c.own,
                if c.controllers.is_empty() {
                    "none".to_owned()
                } else {
                    c.controllers.join(" ")
                },
                if c.can_create_children {
                    "can be created"
                } else {
                    "cannot be created (no delegation)"
                }
            ),
        },
    );
    row(
        "identity",
        format!(
            "uid {} (effective {}); effective capabilities {}",
            m.uid.0, m.uid.1, m.cap_eff
        ),
    );
    for bus in &m.buses {
        row(
            "d-bus",
            format!(
                "{} bus at {}: {}",
                bus.name,
                bus.address,
                if bus.reachable {
                    "reachable"
                } else {
                    "not reachable"
                }
            ),
        );
    }
    row(
        "components",
        match &cache.dir {
            None => "no cache directory (no HOME or XDG_CACHE_HOME)".to_owned(),
            Some(d) => format!(
                "{}: {} entries, {:.1} MiB, {}",
                d.display(),
                cache.entries,
                cache.bytes as f64 / f64::from(1 << 20),
                if cache.writable {
                    "writable"
                } else {
                    "NOT writable"
                }
            ),
        },
    );
    for (i, line) in children.iter().enumerate() {
        row(if i == 0 { "exec child" } else { "" }, line.clone());
    }
}
