//! The `exec` host function: decide (program, arguments, environment,
//! working directory, Landlock), report the decision, run, answer.

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::confine::{self, Protection};
use super::policy::SAFE_PATH;
use super::run::{Job, run};
use super::tree::{self, Tree};
use crate::bindings::CapError;
use crate::bindings::exec::{Command, Host, Outcome};
use crate::ctx::{Capabilities, Grants};
use crate::decision::{Decision, Ruling, Verdict};
use crate::sink::{Sink, enforce, refuse, report_refusal};

/// A decision's target shows the program and at most this much of its
/// arguments: enough to recognise a command in the event log without
/// copying a whole script into it.
const TARGET_ARGS_CHARS: usize = 200;

impl Host for Capabilities {
    fn run(&mut self, cmd: Command) -> wasmtime::Result<Result<Outcome, CapError>> {
        Ok(crate::blocking(|| {
            execute(&self.grants, self.sink.as_ref(), cmd)
        }))
    }
}

/// Decides and runs one command; every decision goes to `sink`.
pub(crate) fn execute(grants: &Grants, sink: &dyn Sink, cmd: Command) -> Result<Outcome, CapError> {
    let policy = &grants.exec;
    if cmd.args.iter().any(|a| a.contains('\0')) {
        return Err(CapError::InvalidArgument(
            "an argument contains a NUL byte".into(),
        ));
    }
    let decide = |target: &str, ruling: &Ruling| {
        enforce(sink, &Decision::capability("exec", "run", target, ruling))
    };
    // Locating the program is the I/O before the (pure) decisions: the
    // program alone (a denial names it), then its arguments (a denial
    // names the command).
    let located = policy.locate(&cmd.program).or_else(|refusal| {
        decide(&cmd.program, &refusal)?;
        Err(CapError::Io(
            "internal error: a program that was not found was allowed".into(),
        ))
    })?;
    let program = located.path.clone();
    let ruling = policy.decide_program(&located);
    if ruling.verdict() != Verdict::Allow {
        decide(&program.display().to_string(), &ruling)?;
    }
    let summary = target(&program.display().to_string(), &cmd.args);
    let ruling = policy.decide_args(&located, &cmd.args);
    if ruling.verdict() != Verdict::Allow {
        decide(&summary, &ruling)?;
    }
    let mut env = Vec::with_capacity(cmd.env.len() + 1);
    for (name, value) in cmd.env {
        if name.is_empty() || name.contains(['=', '\0']) || value.contains('\0') {
            return Err(CapError::InvalidArgument(format!(
                "environment variable \"{}\" has an empty name or contains \"=\" or a NUL byte",
                name.escape_debug()
            )));
        }
        let env_ruling = policy.decide_env(&name);
        if env_ruling.verdict() != Verdict::Allow {
            decide(&format!("environment variable {name}"), &env_ruling)?;
        }
        env.push((name, value));
    }
    if !env.iter().any(|(k, _)| k == "PATH") {
        env.push(("PATH".into(), SAFE_PATH.into()));
    }
    let cwd = match cmd.cwd.as_deref() {
        None => PathBuf::from("/"),
        Some(c) => working_dir(policy, c).map_err(|e| match e {
            Err((target, ruling)) => decide(&target, &ruling).err().unwrap_or_else(|| {
                CapError::Io("internal error: a refused working directory was allowed".into())
            }),
            Ok(e) => e,
        })?,
    };
    let timeout_ms = match cmd.timeout_ms {
        Some(0) => {
            return Err(CapError::InvalidArgument(
                "timeout-ms must be at least 1".into(),
            ));
        }
        Some(t) => u64::from(t).min(policy.limits.timeout_ms),
        None => policy.limits.timeout_ms,
    };
    if policy.require_landlock
        && let Some(why) = policy.landlock_shortfall()
    {
        let refusal = Ruling::deny(why.clone());
        report_refusal(
            sink,
            &Decision::capability("exec", "run", &summary, &refusal),
        );
        return Err(CapError::Unsupported(why));
    }
    let (protection, ruleset) = match confine::kernel_abi() {
        Some(abi) => {
            let r = match confine::ruleset(abi, &grants.fs, &program) {
                Ok(r) => r,
                Err(confine::RulesetError::Kernel(why)) => return Err(CapError::Io(why)),
                Err(confine::RulesetError::Swapped(why)) => {
                    return Err(refuse(sink, "exec", "run", &summary, why));
                }
            };
            (Protection::Landlock(abi), Some(r))
        }
        None if policy.require_landlock => {
            let hint = format!(
                "this kernel has no Landlock, so programs cannot be confined to the role's fs grants; \
                 enable Landlock (lsm=landlock), or set {} = false to run them without it",
                policy.key("require_landlock")
            );
            let refusal = Ruling::deny(hint.clone());
            report_refusal(
                sink,
                &Decision::capability("exec", "run", &summary, &refusal),
            );
            return Err(CapError::Unsupported(hint));
        }
        None => (Protection::None, None),
    };
    let mode = tree::mode();
    // The weaker containment is part of the rule, so the event log says so.
    let weak = if mode.is_weak() {
        format!("; {}", mode.describe())
    } else {
        String::new()
    };
    let allowed = Ruling::allow(format!(
        "{} ({}{weak})",
        ruling.reason(),
        protection.describe()
    ));
    decide(&summary, &allowed)?;
    if policy.identity.is_set() && !rustix::process::geteuid().is_root() {
        return Err(CapError::Unsupported(format!(
            "{} and {} need llmagent to run as root (it switches the child's user before exec)",
            policy.key("user"),
            policy.key("group")
        )));
    }
    let sockets = if policy.unix_sockets.is_empty() {
        super::harden::Sockets::None
    } else {
        super::harden::Sockets::Unix
    };
    let filters = super::harden::filters(sockets).map_err(CapError::Unsupported)?;
    let job = Job {
        program: program.clone(),
        args: cmd.args,
        env,
        cwd,
        stdin: cmd.stdin,
        timeout: Duration::from_millis(timeout_ms),
        limits: policy.limits,
        // Both streams together fit in one answer of the role.
        max_stream_bytes: usize::try_from(grants.max_output_bytes / 2).unwrap_or(usize::MAX),
        ruleset,
        filters,
        identity: policy.identity,
        tree: Tree::new(mode, policy.limits.max_processes)
            .map_err(|e| CapError::Io(format!("cannot create the call's cgroup: {e}")))?,
    };
    let done =
        run(job).map_err(|e| CapError::Io(format!("cannot start {}: {e}", program.display())))?;
    Ok(Outcome {
        exit_code: done.exit_code,
        signal: done.signal,
        stdout: done.stdout,
        stderr: done.stderr,
        stdout_truncated: done.stdout_truncated,
        stderr_truncated: done.stderr_truncated,
        timed_out: done.timed_out,
        duration_ms: u64::try_from(done.duration.as_millis()).unwrap_or(u64::MAX),
    })
}

/// The canonical working directory, if allowed. `Err(Err((target,
/// ruling)))` is a refusal, `Err(Ok(_))` any other error.
fn working_dir(
    policy: &super::ExecPolicy,
    raw: &str,
) -> Result<PathBuf, Result<CapError, (String, Ruling)>> {
    if !raw.starts_with('/') {
        return Err(Ok(CapError::InvalidArgument(format!(
            "cwd \"{raw}\" is not an absolute path"
        ))));
    }
    match std::fs::canonicalize(raw) {
        Ok(real) => {
            refuse_cwd(policy, &real)?;
            if real.is_dir() {
                Ok(real)
            } else {
                Err(Ok(CapError::InvalidArgument(format!(
                    "cwd \"{raw}\" is not a directory"
                ))))
            }
        }
        // A missing directory is `not-found` only where it would be
        // allowed, so a tool cannot probe outside its grants.
        Err(e) => {
            refuse_cwd(policy, Path::new(raw))?;
            Err(Ok(CapError::NotFound(format!("cwd \"{raw}\": {e}"))))
        }
    }
}

/// `Err` with the refusal when `real` is not an allowed working directory.
fn refuse_cwd(
    policy: &super::ExecPolicy,
    real: &Path,
) -> Result<(), Result<CapError, (String, Ruling)>> {
    match policy.decide_cwd(real) {
        Ruling::Allow { .. } => Ok(()),
        refusal => Err(Err((real.display().to_string(), refusal))),
    }
}

/// `program "arg 1" arg2 …`, cut at [`TARGET_ARGS_CHARS`].
fn target(program: &str, args: &[String]) -> String {
    let mut s = program.to_owned();
    for a in args {
        s.push(' ');
        if a.is_empty() || a.contains(|c: char| c.is_whitespace() || c == '"') {
            s.push_str(&format!("{a:?}"));
        } else {
            s.push_str(a);
        }
        if s.chars().count() > program.chars().count() + TARGET_ARGS_CHARS {
            s = s
                .chars()
                .take(program.chars().count() + TARGET_ARGS_CHARS)
                .collect();
            s.push('…');
            break;
        }
    }
    s
}
