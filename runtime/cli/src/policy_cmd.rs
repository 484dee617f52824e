//! `llmagent policy check|explain`.

use llmagent_policy::{CAPABILITIES, Grants, PLANNED, Role, Ruling};
use serde_json::{Value, json};

use crate::load::{self, print_json};
use crate::{PolicyCommand, exit};

pub(crate) fn run(cmd: PolicyCommand) -> u8 {
    match cmd {
        PolicyCommand::Check { policy, json } => check(&policy, json),
        PolicyCommand::Explain {
            policy,
            role,
            mut request,
            mut json,
        } => {
            // The request takes hyphenated words (`exec run df -h`), so a
            // `--json` after it arrives among them.
            if let Some(i) = request.iter().position(|a| a == "--json") {
                request.remove(i);
                json = true;
            }
            explain(&policy, &role, &request, json)
        }
    }
}

/// Loads the policy and every tool it names, prints what each role may
/// do, and runs the policy's `[[tests]]`; fails naming each test that
/// does not hold.
fn check(policy: &std::path::Path, json: bool) -> u8 {
    let path = policy.display().to_string();
    let loaded = match load::policy(Some(policy)) {
        Ok(p) => p,
        Err(code) => return code,
    };
    // Building the runtime loads every tool, so a grant of an action a tool
    // does not have, or a tool file that is missing or mispinned, is caught
    // here too.
    let rt = match load::runtime(loaded) {
        Ok(rt) => rt,
        Err(code) => return code,
    };
    // A component that does not load is skipped by `run` and `tools list`
    // (with a warning); a policy that names one is not valid.
    if rt.unavailable().next().is_some() {
        eprintln!("error: {path}: a tool the policy names cannot be loaded (see above)");
        return exit::POLICY;
    }
    let policy = rt.policy();
    let failures = policy.run_tests();
    let roles: Vec<&Role> = policy.roles.values().collect();
    if json {
        print_json(&json!({
            "valid": failures.is_empty(),
            "path": path,
            "roles": roles.iter().map(|r| role_json(r)).collect::<Vec<_>>(),
            "tests": {
                "run": policy.tests.len(),
                "failed": failures.iter().map(|f| json!({
                    "name": f.name,
                    "line": f.at.line,
                    "expected": f.expected.as_str(),
                    "verdict": f.got.as_ref().ok().map(|r| r.verdict().as_str()),
                    "reason": match &f.got { Ok(r) => r.reason(), Err(m) => m },
                })).collect::<Vec<_>>(),
            },
        }));
    } else {
        let n = policy.tests.len();
        match failures.len() {
            0 => println!("{path}: valid"),
            failed => println!("{path}: {failed} of {n} tests do not hold"),
        }
        for role in &roles {
            print_role(role);
        }
        if n > 0 {
            println!();
            println!("tests: {} of {n} hold", n - failures.len());
        }
        for f in &failures {
            eprintln!("error: {f}");
        }
    }
    if failures.is_empty() { 0 } else { exit::POLICY }
}

/// What the policy decides for a tool action or a capability request.
fn explain(policy: &std::path::Path, role: &str, request: &[String], json: bool) -> u8 {
    let loaded = match load::policy(Some(policy)) {
        Ok(p) => p,
        Err(code) => return code,
    };
    let role = match loaded.role(role) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            return exit::POLICY;
        }
    };
    let usage = |message: String| {
        eprintln!("error: {message}");
        exit::USAGE
    };
    let ruling = match request {
        [capability, operation, args @ ..] if CAPABILITIES.contains(&capability.as_str()) => {
            match role.grants.explain(capability, operation, args) {
                Some(Ok(ruling)) => ruling,
                Some(Err(message)) => return usage(message),
                None => return usage(format!("no capability \"{capability}\"")),
            }
        }
        [capability] if CAPABILITIES.contains(&capability.as_str()) => {
            let requests = Grants::requests(capability).unwrap_or_default();
            return usage(format!(
                "say what to ask the {capability} capability: one of {}",
                requests.join(", ")
            ));
        }
        [capability, ..] if PLANNED.contains(&capability.as_str()) => {
            return usage(format!(
                "the {capability} capability is not available in this version of llmagent; \
                 every request to it answers unsupported"
            ));
        }
        [tool] => role.decide(tool, ""),
        [tool, action] => role.decide(tool, action),
        _ => {
            return usage(format!(
                "write a tool and an action (file read), or a capability request: {}",
                CAPABILITIES
                    .iter()
                    .map(|c| format!(
                        "{c} {}",
                        Grants::requests(c).unwrap_or_default().join(" | ")
                    ))
                    .collect::<Vec<_>>()
                    .join("; ")
            ));
        }
    };
    print_ruling(&ruling, json);
    0
}

fn print_ruling(ruling: &Ruling, json: bool) {
    if json {
        print_json(&json!({
            "verdict": ruling.verdict().as_str(),
            "rule": ruling.rule(),
            "hint": ruling.hint(),
        }));
    } else {
        println!("{}: {}", ruling.verdict().as_str(), ruling.reason());
    }
}

fn role_json(role: &Role) -> Value {
    let mut value = json!({
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
    });
    if let Some(map) = value.as_object_mut() {
        for (capability, lines) in role.grants.summaries() {
            map.insert(capability.to_owned(), json!(lines));
        }
    }
    value
}

fn print_role(role: &Role) {
    let width = crate::term::width();
    let hang = " ".repeat(11);
    println!();
    println!("role {}", role.name);
    let mut nothing = Vec::new();
    for (label, lines) in role.summary() {
        if lines.is_empty() {
            nothing.push(label);
            continue;
        }
        let label = format!("{label}:");
        for (i, line) in lines.iter().enumerate() {
            let first = format!("  {:<8} ", if i == 0 { label.as_str() } else { "" });
            println!("{}", crate::term::wrap(line, &first, &hang, width));
        }
    }
    if !nothing.is_empty() {
        let list = nothing.join(", ");
        println!("{}", crate::term::wrap(&list, "  nothing: ", &hang, width));
    }
    if !PLANNED.is_empty() {
        println!(
            "{}",
            crate::term::wrap(
                &format!("none ({} are not built yet)", PLANNED.join(", ")),
                "  other capabilities: ",
                &hang,
                width
            )
        );
    }
}
