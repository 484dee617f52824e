//! `llmagent policy check|explain`.

use llmagent_policy::{Role, Verdict};
use serde_json::{Value, json};

use crate::load::{self, print_json};
use crate::{PolicyCommand, exit};

pub(crate) fn run(cmd: PolicyCommand) -> u8 {
    match cmd {
        PolicyCommand::Check { policy, json } => {
            let path = policy.display().to_string();
            let loaded = match load::policy(Some(&policy)) {
                Ok(p) => p,
                Err(code) => return code,
            };
            // Building the runtime loads every tool, so a grant of an action
            // a tool does not have, or a tool file that is missing or
            // mispinned, is caught here too.
            let rt = match load::runtime(loaded) {
                Ok(rt) => rt,
                Err(code) => return code,
            };
            let roles: Vec<&Role> = rt.policy().roles.values().collect();
            if json {
                print_json(&json!({
                    "valid": true,
                    "path": path,
                    "roles": roles.iter().map(|r| role_json(r)).collect::<Vec<_>>(),
                }));
            } else {
                println!("{path}: valid");
                for role in roles {
                    print_role(role);
                }
            }
            0
        }
        PolicyCommand::Explain {
            policy,
            role,
            tool,
            action,
            json,
        } => {
            let loaded = match load::policy(Some(&policy)) {
                Ok(p) => p,
                Err(code) => return code,
            };
            match loaded.role(&role) {
                Ok(r) => {
                    let d = r.decide(&tool, &action);
                    if json {
                        print_json(&json!({"verdict": verdict_word(d.verdict), "rule": d.rule}));
                    } else {
                        println!("{}: {}", verdict_word(d.verdict), d.rule);
                    }
                    0
                }
                Err(e) => {
                    eprintln!("error: {e}");
                    exit::POLICY
                }
            }
        }
    }
}

fn verdict_word(v: Verdict) -> &'static str {
    match v {
        Verdict::Allow => "allow",
        Verdict::Approve => "approve",
        Verdict::Deny => "deny",
    }
}

fn role_json(role: &Role) -> Value {
    json!({
        "name": role.name,
        "prompt": role.prompt.is_some(),
        "tools": role.tools.iter().map(ToString::to_string).collect::<Vec<_>>(),
        "approve": role.approve.iter().map(ToString::to_string).collect::<Vec<_>>(),
        "limits": {
            "timeout_ms": role.limits.timeout_ms,
            "memory_mib": role.limits.memory_mib,
            "max_output_bytes": role.limits.max_output_bytes,
            "max_steps": role.limits.max_steps,
        },
        "fs": role.grants.fs.summary(),
        "exec": role.grants.exec.summary(),
        "proc": role.grants.proc.summary(),
        "systemd": role.grants.systemd.summary(),
    })
}

fn print_role(role: &Role) {
    let list = |v: &[llmagent_policy::ToolRef]| {
        if v.is_empty() {
            "(none)".to_owned()
        } else {
            v.iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        }
    };
    println!();
    println!("role {}", role.name);
    println!("  tools:   {}", list(&role.tools));
    println!("  approve: {}", list(&role.approve));
    let l = role.limits;
    println!(
        "  limits:  timeout {} ms, memory {} MiB, output {} bytes, {} steps",
        l.timeout_ms, l.memory_mib, l.max_output_bytes, l.max_steps
    );
    print_capability("fs:", &role.grants.fs.summary());
    print_capability("exec:", &role.grants.exec.summary());
    print_capability("proc:", &role.grants.proc.summary());
    print_capability("systemd:", &role.grants.systemd.summary());
    println!("  other capabilities: none (net, dbus, udev, inotify, http are denied)");
}

fn print_capability(label: &str, lines: &[String]) {
    if lines.is_empty() {
        println!("  {label:<8} (nothing)");
    }
    for (i, line) in lines.iter().enumerate() {
        println!("  {:<8} {line}", if i == 0 { label } else { "" });
    }
}
