//! The `exec` host function: decide (program, arguments, environment,
//! working directory, Landlock), report the decision, run, answer.

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::confine::{self, Protection};
use super::policy::{Refusal, SAFE_PATH};
use super::run::{Job, run};
use crate::bindings::exec::{Command, Host, Outcome};
use crate::bindings::{CapError, Denial};
use crate::ctx::{Capabilities, Grants};
use crate::sink::{Decision, Sink};

/// A decision's target shows the program and at most this much of its
/// arguments: enough to recognise a command in the event log without
/// copying a whole script into it.
const TARGET_ARGS_CHARS: usize = 200;

impl Host for Capabilities {
    fn run(&mut self, cmd: Command) -> wasmtime::Result<Result<Outcome, CapError>> {
        Ok(execute(&self.grants, self.sink.as_ref(), cmd))
    }
}

/// Decides and runs one command; every decision goes to `sink`.
pub(crate) fn execute(grants: &Grants, sink: &dyn Sink, cmd: Command) -> Result<Outcome, CapError> {
    let policy = &grants.exec;
    let deny = |r: Refusal| {
        sink.decision(&Decision {
            capability: "exec",
            operation: "run",
            target: &r.target,
            allowed: false,
            rule: &r.hint,
        });
        CapError::Denied(Denial {
            capability: "exec".into(),
            target: r.target,
            hint: r.hint,
        })
    };
    if cmd.args.iter().any(|a| a.contains('\0')) {
        return Err(CapError::InvalidArgument(
            "an argument contains a NUL byte".into(),
        ));
    }
    let allowed = policy.decide(&cmd.program, &cmd.args).map_err(deny)?;
    let program = allowed.program.path.clone();
    let summary = target(&program.display().to_string(), &cmd.args);
    let mut env = Vec::with_capacity(cmd.env.len() + 1);
    for (name, value) in cmd.env {
        if name.is_empty() || name.contains(['=', '\0']) || value.contains('\0') {
            return Err(CapError::InvalidArgument(format!(
                "environment variable \"{}\" has an empty name or contains \"=\" or a NUL byte",
                name.escape_debug()
            )));
        }
        policy.decide_env(&name).map_err(deny)?;
        env.push((name, value));
    }
    if !env.iter().any(|(k, _)| k == "PATH") {
        env.push(("PATH".into(), SAFE_PATH.into()));
    }
    let cwd = match cmd.cwd.as_deref() {
        None => PathBuf::from("/"),
        Some(c) => working_dir(policy, c).map_err(|e| match e {
            Err(r) => deny(r),
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
    let (protection, ruleset) = match confine::kernel_abi() {
        Some(abi) => {
            let r = confine::ruleset(abi, &grants.fs, &program).map_err(CapError::Io)?;
            (Protection::Landlock(abi), Some(r))
        }
        None if policy.require_landlock => {
            let hint = format!(
                "this kernel has no Landlock, so programs cannot be confined to the role's fs grants; \
                 enable Landlock (lsm=landlock), or set {} = false to run them without it",
                policy.key("require_landlock")
            );
            sink.decision(&Decision {
                capability: "exec",
                operation: "run",
                target: &summary,
                allowed: false,
                rule: &hint,
            });
            return Err(CapError::Unsupported(hint));
        }
        None => (Protection::None, None),
    };
    sink.decision(&Decision {
        capability: "exec",
        operation: "run",
        target: &summary,
        allowed: true,
        rule: &format!("{} ({})", allowed.rule, protection.describe()),
    });
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

/// The canonical working directory, if allowed. `Err(Err(_))` is a
/// refusal, `Err(Ok(_))` any other error.
fn working_dir(
    policy: &super::ExecPolicy,
    raw: &str,
) -> Result<PathBuf, Result<CapError, Refusal>> {
    if !raw.starts_with('/') {
        return Err(Ok(CapError::InvalidArgument(format!(
            "cwd \"{raw}\" is not an absolute path"
        ))));
    }
    match std::fs::canonicalize(raw) {
        Ok(real) => {
            policy.decide_cwd(&real).map_err(Err)?;
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
            policy.decide_cwd(Path::new(raw)).map_err(Err)?;
            Err(Ok(CapError::NotFound(format!("cwd \"{raw}\": {e}"))))
        }
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
