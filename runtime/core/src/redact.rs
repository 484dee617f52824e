//! Secrets in what tools return: the default rules, in one place, and the
//! policy's `[redact]` additions.
//!
//! Before a tool's answer reaches the model (and so the conversation and
//! the event log), [`Redactor::result`] applies, in order:
//!
//! 1. **Sealing.** The whole output of an action that returns only a
//!    secret (`crypto generate_key`), and every field whose name marks a
//!    secret ([`Redactor::is_secret_field`]: a name containing `secret`,
//!    `password`, `passwd`, `passphrase`, `credential` or `token`, or with
//!    the word `key`/`keys` — `private_key`, `apiKey`, `SSH-KEY`, not
//!    `keyringmode` — unless it has the word `public`; plus the policy's
//!    `[redact].fields`), at any depth, is replaced by a handle
//!    `[secret:sec_…]`. The model may pass a handle back, but only into an
//!    argument its tool declares secret (see `agent::secrets`).
//! 2. **Shapes.** Other users' command lines and environments in `proc`
//!    results (`cmd`, `cmdline`, `environ` of a process not running as
//!    llmagent's own user), and a unit's `environment` in `systemd status`,
//!    become `"[redacted]"`.
//! 3. **Patterns.** Every match of the policy's `[redact].patterns`
//!    (regular expressions) in any string of the answer, errors included,
//!    becomes `"[redacted]"` — and in the call's arguments as recorded.
//!
//! [`Unsealed`] holds the secrets unsealed into one call, so that no record
//! of the call carries them ([`Unsealed::scrub`]).

use std::sync::OnceLock;

use llmagent_events::{REDACTED, Sealed, seal_value};
use llmagent_policy::RedactRules;
use serde_json::Value;

use crate::outcome::{ToolFailure, ToolSuccess};

/// Tool actions whose whole output is a secret (sealed as one handle).
const SECRET_OUTPUTS: &[(&str, &str)] = &[("crypto", "generate_key")];

/// Substrings of a lower-cased field name that mark a secret.
const SECRET_SUBSTRINGS: &[&str] = &[
    "secret",
    "password",
    "passwd",
    "passphrase",
    "credential",
    "token",
];

/// Words of a field name that mark a secret. `key` is matched as a word,
/// not a substring, so that facts such as a unit's `keyringmode` stay
/// readable.
const SECRET_WORDS: &[&str] = &["key", "keys", "apikey", "privatekey"];

/// A word that makes a field public whatever else it says (`public_key`).
const PUBLIC_WORD: &str = "public";

/// Fields of a process (in `proc` results) that show what another user
/// runs or holds.
const PROCESS_PRIVATE_FIELDS: &[&str] = &["cmd", "cmdline", "environ"];

/// The secrets of tool results: the defaults above plus the policy's.
#[derive(Debug, Clone, Default)]
pub(crate) struct Redactor {
    rules: RedactRules,
}

impl Redactor {
    /// The default rules extended by the policy's `[redact]` section.
    pub(crate) fn new(rules: &RedactRules) -> Self {
        Self {
            rules: rules.clone(),
        }
    }

    /// Whether a result field of this name holds a secret.
    pub(crate) fn is_secret_field(&self, name: &str) -> bool {
        let lower = name.to_ascii_lowercase();
        let words = words(name);
        if words.iter().any(|w| w == PUBLIC_WORD) {
            return false;
        }
        SECRET_SUBSTRINGS.iter().any(|s| lower.contains(s))
            || words.iter().any(|w| SECRET_WORDS.contains(&w.as_str()))
            || self.rules.fields.iter().any(|f| lower.contains(f.as_str()))
    }

    /// Keeps the secrets of `tool.action`'s answer from the model (see the
    /// module docs); returns the sealed secrets, to be kept by handle.
    pub(crate) fn result(
        &self,
        tool: &str,
        action: &str,
        result: &mut Result<ToolSuccess, ToolFailure>,
    ) -> Vec<Sealed> {
        let mut sealed = Vec::new();
        match result {
            Ok(ok) => {
                if SECRET_OUTPUTS.contains(&(tool, action)) {
                    sealed.push(seal_value(&mut ok.output));
                } else {
                    self.seal(&mut ok.output, &mut sealed);
                }
                self.seal(&mut ok.metadata, &mut sealed);
                redact_shapes(tool, action, &mut ok.output);
                self.redact_patterns(&mut ok.output);
                self.redact_patterns(&mut ok.metadata);
            }
            Err(f) => {
                f.message = self.redact_text(&f.message);
                f.suggestion = f.suggestion.as_deref().map(|s| self.redact_text(s));
            }
        }
        sealed
    }

    /// Replaces secret fields by handles, recursively.
    fn seal(&self, value: &mut Value, out: &mut Vec<Sealed>) {
        match value {
            Value::Object(map) => {
                for (k, v) in map.iter_mut() {
                    if self.is_secret_field(k)
                        && matches!(v, Value::String(_) | Value::Array(_) | Value::Object(_))
                    {
                        out.push(seal_value(v));
                    } else {
                        self.seal(v, out);
                    }
                }
            }
            Value::Array(items) => items.iter_mut().for_each(|v| self.seal(v, out)),
            _ => {}
        }
    }

    /// Applies the policy's patterns to every string, recursively (tool
    /// results, and the arguments as they are recorded).
    pub(crate) fn redact_patterns(&self, value: &mut Value) {
        if self.rules.patterns.is_empty() {
            return;
        }
        match value {
            Value::String(s) => *s = self.redact_text(s),
            Value::Object(map) => map.values_mut().for_each(|v| self.redact_patterns(v)),
            Value::Array(items) => items.iter_mut().for_each(|v| self.redact_patterns(v)),
            _ => {}
        }
    }

    /// `text` with every match of the policy's patterns redacted.
    fn redact_text(&self, text: &str) -> String {
        let mut text = text.to_owned();
        for p in &self.rules.patterns {
            if p.is_match(&text) {
                text = p.replace_all(&text, REDACTED);
            }
        }
        text
    }
}

/// The words of a field name: split at `_`, `-`, `.`, spaces and where a
/// lower-case letter or digit meets an upper-case one; lower-cased.
fn words(name: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut word = String::new();
    let mut prev_lower = false;
    for c in name.chars() {
        if matches!(c, '_' | '-' | '.' | ' ' | '/' | ':') {
            if !word.is_empty() {
                out.push(std::mem::take(&mut word));
            }
            prev_lower = false;
            continue;
        }
        if c.is_uppercase() && prev_lower && !word.is_empty() {
            out.push(std::mem::take(&mut word));
        }
        prev_lower = c.is_lowercase() || c.is_ascii_digit();
        word.extend(c.to_lowercase());
    }
    if !word.is_empty() {
        out.push(word);
    }
    out
}

/// Redacts the shapes built-in tools return secrets in (see the module
/// docs). Built-in tool names cannot be taken by a third-party tool.
fn redact_shapes(tool: &str, action: &str, output: &mut Value) {
    match (tool, action) {
        ("proc", "list") => {
            if let Value::Array(items) = output {
                for p in items.iter_mut() {
                    let own = p
                        .get("user")
                        .and_then(Value::as_str)
                        .is_some_and(is_own_user);
                    if !own {
                        redact_fields(p, PROCESS_PRIVATE_FIELDS);
                    }
                }
            }
        }
        ("proc", "info") => {
            let own = output
                .get("uid")
                .and_then(Value::as_str)
                .and_then(|u| u.split_whitespace().next())
                .and_then(|u| u.parse::<u32>().ok())
                .is_some_and(|uid| Some(uid) == own_uid());
            if !own {
                redact_fields(output, PROCESS_PRIVATE_FIELDS);
            }
        }
        ("systemd", "status") => redact_fields(output, &["environment"]),
        _ => {}
    }
}

/// Sets the `fields` of an object that are present and not null to
/// `"[redacted]"`.
fn redact_fields(value: &mut Value, fields: &[&str]) {
    let Value::Object(map) = value else { return };
    for f in fields {
        if let Some(v) = map.get_mut(*f)
            && !v.is_null()
        {
            *v = Value::String(REDACTED.to_owned());
        }
    }
}

/// llmagent's own uid (the owner of `/proc/self`).
fn own_uid() -> Option<u32> {
    use std::os::unix::fs::MetadataExt;
    static UID: OnceLock<Option<u32>> = OnceLock::new();
    *UID.get_or_init(|| std::fs::metadata("/proc/self").ok().map(|m| m.uid()))
}

/// Whether `user` (a name from `/etc/passwd`, or a uid without one, as the
/// proc capability writes it) is llmagent's own user.
fn is_own_user(user: &str) -> bool {
    static NAME: OnceLock<Option<String>> = OnceLock::new();
    let Some(uid) = own_uid() else { return false };
    if user.parse::<u32>().ok() == Some(uid) {
        return true;
    }
    let name = NAME.get_or_init(|| {
        let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
        passwd.lines().find_map(|l| {
            let mut f = l.split(':');
            let (name, _, id) = (f.next()?, f.next()?, f.next()?);
            (id.parse::<u32>().ok() == Some(uid)).then(|| name.to_owned())
        })
    });
    name.as_deref() == Some(user)
}

/// The secrets unsealed into one call. Its `Debug` shows how many, never
/// what.
#[derive(Clone, Default, PartialEq, Eq)]
pub(crate) struct Unsealed(Vec<String>);

impl std::fmt::Debug for Unsealed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Unsealed({} secrets)", self.0.len())
    }
}

impl Unsealed {
    /// Keeps `secret` (a string as it is; any other value as its JSON).
    pub(crate) fn push(&mut self, secret: &Value) {
        let text = match secret {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        if !text.is_empty() {
            self.0.push(text);
        }
    }

    /// `text` with every unsealed secret in it replaced by `"[redacted]"`.
    pub(crate) fn scrub(&self, text: &str) -> String {
        let mut text = text.to_owned();
        for s in &self.0 {
            if text.contains(s.as_str()) {
                text = text.replace(s.as_str(), REDACTED);
            }
        }
        text
    }

    /// Scrubs every string of `value`, recursively.
    pub(crate) fn scrub_value(&self, value: &mut Value) {
        if self.0.is_empty() {
            return;
        }
        match value {
            Value::String(s) => *s = self.scrub(s),
            Value::Object(map) => map.values_mut().for_each(|v| self.scrub_value(v)),
            Value::Array(items) => items.iter_mut().for_each(|v| self.scrub_value(v)),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn secret_fields_by_name() {
        let r = Redactor::default();
        for secret in [
            "private_key",
            "Private_Key",
            "apiKey",
            "api_key",
            "SSH-KEY",
            "key",
            "keys",
            "password",
            "db_passwd",
            "PASSWORD_HASH",
            "client_secret",
            "access_token",
            "LoadCredential",
            "setcredential",
            "passphrase",
        ] {
            assert!(r.is_secret_field(secret), "{secret}");
        }
        for plain in [
            "public_key",
            "publicKey",
            "keyringmode",
            "monkey",
            "user",
            "cmd",
            "data",
            "type",
        ] {
            assert!(!r.is_secret_field(plain), "{plain}");
        }
    }

    #[test]
    fn results_are_sealed_redacted_and_matched() {
        let rules = RedactRules {
            fields: vec!["pin".into()],
            patterns: vec![regex_lite("AKIA[0-9A-Z]{4}")],
        };
        let r = Redactor::new(&rules);
        let mut result = Ok(ToolSuccess {
            output: json!({"user": "a", "password": "hunter2", "PIN": "1234",
                           "note": "id AKIA1234 here", "n": {"token": ["t"]}, "count_tokens": 3}),
            metadata: json!({"api_key": "k"}),
        });
        let sealed = r.result("testbed", "echo", &mut result);
        let values: Vec<&Value> = sealed.iter().map(|s| &s.value).collect();
        assert_eq!(
            values,
            [
                &json!("1234"),
                &json!(["t"]),
                &json!("hunter2"),
                &json!("k")
            ]
        );
        let ok = result.as_ref().ok();
        assert_eq!(
            ok.map(|o| o.output["note"].clone()),
            Some(json!("id [redacted] here"))
        );
        assert_eq!(ok.map(|o| o.output["count_tokens"].clone()), Some(json!(3)));
        let mut failed = Err(ToolFailure {
            reason: "x".into(),
            message: "bad AKIA9999".into(),
            field: None,
            suggestion: None,
        });
        assert!(r.result("t", "a", &mut failed).is_empty());
        assert_eq!(
            failed.err().map(|f| f.message),
            Some("bad [redacted]".into())
        );
    }

    fn regex_lite(p: &str) -> llmagent_policy::Pattern {
        llmagent_policy::Pattern::new(p).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn other_users_command_lines_and_unit_environments_are_redacted() {
        let me = own_uid().unwrap_or(0);
        let other = me + 4242;
        let mut list = json!([
            {"pid": 1, "user": other.to_string(), "cmd": "secretd --password x"},
            {"pid": 2, "user": me.to_string(), "cmd": "mine"},
        ]);
        redact_shapes("proc", "list", &mut list);
        assert_eq!(list[0]["cmd"], "[redacted]");
        assert_eq!(list[1]["cmd"], "mine");
        let mut info = json!({"uid": format!("{other}\t{other}\t{other}\t{other}"), "cmdline": ["x", "--key=y"]});
        redact_shapes("proc", "info", &mut info);
        assert_eq!(info["cmdline"], "[redacted]");
        let mut mine = json!({"uid": format!("{me}\t{me}\t{me}\t{me}"), "cmdline": ["x"]});
        redact_shapes("proc", "info", &mut mine);
        assert_eq!(mine["cmdline"], json!(["x"]));
        let mut unit = json!({"environment": ["DB_URL=postgres://u:p@h"], "activestate": "active"});
        redact_shapes("systemd", "status", &mut unit);
        assert_eq!(
            unit,
            json!({"environment": "[redacted]", "activestate": "active"})
        );
    }

    #[test]
    fn unsealed_secrets_are_scrubbed_and_never_debug_printed() {
        let mut u = Unsealed::default();
        u.push(&json!("c2VlZA=="));
        assert_eq!(format!("{u:?}"), "Unsealed(1 secrets)");
        assert_eq!(
            u.scrub("bad key c2VlZA== given"),
            "bad key [redacted] given"
        );
    }
}
