//! From the `exec` capability's outcome to the tool's answer. Pure, so it
//! is tested natively.

use llmagent_guest::bindings::llmagent::tools::types::CapError;
use llmagent_guest::exec::Outcome;
use llmagent_guest::{Output, ToolError};
use serde_json::{Value, json};

/// The parts of an outcome the answer needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ran {
    /// Exit status, or 128 + the signal that killed bash (the shell's
    /// convention for `$?`).
    pub exit_code: i32,
    /// The signal that killed bash, if one did.
    pub signal: Option<i32>,
    /// Standard output, lossily UTF-8.
    pub stdout: String,
    /// Standard error, lossily UTF-8.
    pub stderr: String,
    /// Either stream was cut at the role's cap.
    pub truncated: bool,
    /// The timeout killed the process group.
    pub timed_out: bool,
    /// Wall-clock time.
    pub duration_ms: u64,
}

impl From<Outcome> for Ran {
    fn from(o: Outcome) -> Self {
        Self {
            exit_code: o.exit_code.unwrap_or(128 + o.signal.unwrap_or(0)),
            signal: o.signal,
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
            truncated: o.stdout_truncated || o.stderr_truncated,
            timed_out: o.timed_out,
            duration_ms: o.duration_ms,
        }
    }
}

impl Ran {
    /// `{exit_code, stdout, stderr, truncated}`.
    pub fn json(&self) -> Value {
        json!({
            "exit_code": self.exit_code,
            "stdout": self.stdout,
            "stderr": self.stderr,
            "truncated": self.truncated,
        })
    }
}

/// The answer for a command that ran: ok on status 0, else an error that
/// carries the output.
pub fn answer(ran: &Ran, timeout_ms: Option<u32>) -> Result<Output, ToolError> {
    if ran.timed_out {
        let limit = timeout_ms.map_or("the role's limit".to_owned(), |t| format!("{t} ms"));
        return Err(ToolError::new(
            "timeout",
            format!(
                "Bash did not finish within {limit} and was killed with its process group; output: {}",
                ran.json()
            ),
        )
        .field("command")
        .suggestion("Run something shorter, or raise timeout_ms (the role's exec timeout is the ceiling)."));
    }
    if ran.exit_code != 0 {
        let what = match ran.signal {
            Some(sig) => format!("Bash was killed by signal {sig} (status {})", ran.exit_code),
            None => format!("Bash exited with status {}", ran.exit_code),
        };
        return Err(
            ToolError::new("command_failed", format!("{what}; output: {}", ran.json()))
                .field("command")
                .suggestion(
                    "Check syntax, permissions, or environment; stderr in the output says why.",
                ),
        );
    }
    Ok(Output::new(ran.json())
        .meta("exit_code", 0)
        .meta("duration_ms", ran.duration_ms))
}

/// A capability error as the tool's error, naming the `command` field.
pub fn cap_error(e: CapError) -> ToolError {
    match e {
        CapError::Io(m) => ToolError::new("execution_error", m)
            .field("command")
            .suggestion("Bash could not be started"),
        other => ToolError::from_cap(other, "command", "execution_error"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ran(exit_code: i32, signal: Option<i32>, timed_out: bool) -> Ran {
        Ran {
            exit_code,
            signal,
            stdout: "hi\n".into(),
            stderr: String::new(),
            truncated: false,
            timed_out,
            duration_ms: 7,
        }
    }

    #[test]
    fn status_zero_is_ok_with_the_output_object() {
        let out = answer(&ran(0, None, false), None).unwrap();
        assert_eq!(
            out.output(),
            &json!({"exit_code": 0, "stdout": "hi\n", "stderr": "", "truncated": false})
        );
        assert_eq!(out.metadata().get("duration_ms"), Some(&json!(7)));
    }

    #[test]
    fn a_failure_carries_the_output_in_its_message() {
        let e = answer(&ran(3, None, false), None).unwrap_err();
        assert_eq!(e.reason, "command_failed");
        assert_eq!(e.field.as_deref(), Some("command"));
        assert_eq!(
            e.message,
            "Bash exited with status 3; output: {\"exit_code\":3,\"stderr\":\"\",\"stdout\":\"hi\\n\",\"truncated\":false}"
        );
        let e = answer(&ran(137, Some(9), false), None).unwrap_err();
        assert!(
            e.message
                .starts_with("Bash was killed by signal 9 (status 137); output: ")
        );
    }

    #[test]
    fn a_timeout_is_timeout() {
        let e = answer(&ran(137, Some(9), true), Some(300)).unwrap_err();
        assert_eq!(e.reason, "timeout");
        assert!(
            e.message.starts_with("Bash did not finish within 300 ms"),
            "{}",
            e.message
        );
    }
}
