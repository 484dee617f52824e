//! Redaction of secrets in event data, and sealing of secrets kept from the model.
//!
//! **Redaction** (always on, in the store): in every object inside an
//! event's `data`, at any depth, a field whose name contains one of the
//! patterns (case-insensitive; default `key`, `token`, `secret`, `password`,
//! `private_key`) and is not exempt (default `public_key`) has its value
//! replaced by `"[redacted]"` when that value is a string, array or object.
//! Numbers, booleans and nulls stay (token counts, key sizes carry no
//! secret). Redaction happens before the event is stored, published or
//! returned, so neither the disk nor a subscriber ever sees the secret.
//!
//! **Sealing** (the runtime's job, with [`Redaction::seal`]): redaction
//! only covers field names inside event data. A secret a tool *returns*
//! (the crypto tool's `private_key`, or the whole output of
//! `generate_key`) would still reach the model, and through the
//! `agent.message` content the event log. So before a tool result is shown
//! to the model or appended to history, the runtime seals it: each secret
//! value is replaced by a handle `"[secret:sec_<16 hex>]"` and the value is
//! kept in the agent's [`crate::Memory`] under the key `secret:<handle>`.
//! The model sees and repeats handles; when it passes one back as an
//! argument (`crypto sign` with `private_key: "[secret:sec_…]"`), the
//! runtime [`unseal`]s the arguments just before the tool call, and the
//! event records the handle (redacted anyway). A role whose policy allows
//! revealing secrets skips sealing; then only the event store redacts.

use serde_json::Value;

/// The replacement text of a redacted value.
pub const REDACTED: &str = "[redacted]";

/// Which data fields are secret. Part of [`crate::StoreConfig`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Redaction {
    /// Substrings of field names that mark a secret, lower-case.
    pub patterns: Vec<String>,
    /// Whole field names (lower-case) never redacted.
    pub exempt: Vec<String>,
}

impl Default for Redaction {
    fn default() -> Self {
        Self {
            patterns: ["key", "token", "secret", "password", "private_key"]
                .map(String::from)
                .to_vec(),
            exempt: vec!["public_key".to_owned()],
        }
    }
}

/// A secret taken out of a value by [`Redaction::seal`].
#[derive(Debug, Clone, PartialEq)]
pub struct Sealed {
    /// The handle left in its place: `[secret:sec_<16 hex>]`.
    pub handle: String,
    /// The secret itself.
    pub value: Value,
}

impl Redaction {
    /// No redaction at all.
    pub fn none() -> Self {
        Self {
            patterns: Vec::new(),
            exempt: Vec::new(),
        }
    }

    /// Whether a field of this name is secret.
    pub fn is_secret(&self, field: &str) -> bool {
        // Called for every field of every event: no allocation, and a
        // pattern is compared only where its first letter occurs.
        let field = field.as_bytes();
        !self
            .exempt
            .iter()
            .any(|e| field.eq_ignore_ascii_case(e.as_bytes()))
            && self
                .patterns
                .iter()
                .any(|p| contains_ignore_case(field, p.as_bytes()))
    }

    /// Replaces secret fields by `"[redacted]"`, recursively. Returns how
    /// many values were replaced.
    pub fn redact(&self, value: &mut Value) -> usize {
        self.walk(value, &mut |v| {
            *v = Value::String(REDACTED.to_owned());
        })
    }

    /// Replaces secret fields by fresh handles and returns the secrets.
    pub fn seal(&self, value: &mut Value) -> Vec<Sealed> {
        let mut out = Vec::new();
        self.walk(value, &mut |v| out.push(seal_value(v)));
        out
    }

    fn walk(&self, value: &mut Value, on_secret: &mut dyn FnMut(&mut Value)) -> usize {
        let mut n = 0;
        match value {
            Value::Object(map) => {
                for (k, v) in map.iter_mut() {
                    if matches!(v, Value::String(_) | Value::Array(_) | Value::Object(_))
                        && self.is_secret(k)
                    {
                        on_secret(v);
                        n += 1;
                    } else {
                        n += self.walk(v, on_secret);
                    }
                }
            }
            Value::Array(items) => {
                for v in items {
                    n += self.walk(v, on_secret);
                }
            }
            _ => {}
        }
        n
    }
}

/// Whether `needle` occurs in `haystack`, ASCII case ignored.
fn contains_ignore_case(haystack: &[u8], needle: &[u8]) -> bool {
    let Some((&first, rest)) = needle.split_first() else {
        return true;
    };
    let Some(last_start) = haystack.len().checked_sub(needle.len()) else {
        return false;
    };
    let first = first.to_ascii_lowercase();
    haystack[..=last_start].iter().enumerate().any(|(i, b)| {
        b.to_ascii_lowercase() == first
            && haystack[i + 1..i + needle.len()].eq_ignore_ascii_case(rest)
    })
}

/// Seals a whole value (e.g. the output of `crypto generate_key`): it is
/// replaced by a handle and returned.
pub fn seal_value(value: &mut Value) -> Sealed {
    let handle = format!("[secret:{}]", crate::ids::new_id("sec_"));
    let secret = std::mem::replace(value, Value::String(handle.clone()));
    Sealed {
        handle,
        value: secret,
    }
}

/// Replaces every string that is exactly a handle known to `lookup` by its
/// secret, recursively. Returns how many were replaced; unknown handles
/// stay as they are (the tool then fails on a malformed key, which is the
/// right outcome for a made-up handle).
pub fn unseal(value: &mut Value, lookup: &dyn Fn(&str) -> Option<Value>) -> usize {
    match value {
        Value::String(s) if s.starts_with("[secret:sec_") && s.ends_with(']') => match lookup(s) {
            Some(secret) => {
                *value = secret;
                1
            }
            None => 0,
        },
        Value::Object(map) => map.values_mut().map(|v| unseal(v, lookup)).sum(),
        Value::Array(items) => items.iter_mut().map(|v| unseal(v, lookup)).sum(),
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn redacts_nested_secret_fields_and_keeps_counts_and_public_keys() {
        let mut v = json!({
            "action": "sign",
            "args": {"Private_Key": "c2VlZA==", "data": "x", "API_TOKEN": ["a"], "nested": [{"password": {"p": 1}}]},
            "usage": {"prompt_tokens": 12},
            "output": {"type": "ed25519", "public_key": "cHVi", "private_key": "c2VlZA=="}
        });
        assert_eq!(Redaction::default().redact(&mut v), 4);
        assert_eq!(
            v,
            json!({
                "action": "sign",
                "args": {"Private_Key": "[redacted]", "data": "x", "API_TOKEN": "[redacted]", "nested": [{"password": "[redacted]"}]},
                "usage": {"prompt_tokens": 12},
                "output": {"type": "ed25519", "public_key": "cHVi", "private_key": "[redacted]"}
            })
        );
    }

    /// The matcher agrees with the plain definition (lower-case both, look
    /// for the substring) on every pairing of awkward names and patterns.
    #[test]
    fn field_matching_is_a_case_blind_substring_test() {
        let names = [
            "",
            "k",
            "key",
            "KEY",
            "apikey",
            "ApiKeY",
            "keys",
            "ke",
            "monkey_business",
            "tok",
            "TOKEN_count",
            "x_token",
            "pass_word",
            "PassWord",
            "private_key",
            "public_key",
            "Public_Key",
            "secretive",
            "duration_ms",
            "é_key",
            "ключ",
            "kkey",
            "kekey",
        ];
        let patterns = [
            "", "key", "KEY", "token", "Secret", "password", "k", "kkey", "ключ", "é",
        ];
        for pattern in patterns {
            let r = Redaction {
                patterns: vec![pattern.to_owned()],
                exempt: vec!["public_key".to_owned()],
            };
            for name in names {
                let plain = name
                    .to_ascii_lowercase()
                    .contains(&pattern.to_ascii_lowercase())
                    && !name.eq_ignore_ascii_case("public_key");
                assert_eq!(r.is_secret(name), plain, "{name:?} against {pattern:?}");
            }
        }
    }

    #[test]
    fn seal_and_unseal_round_trip() {
        let mut out = json!({"type": "ed25519", "private_key": "c2VlZA==", "public_key": "cHVi"});
        let sealed = Redaction::default().seal(&mut out);
        assert_eq!(sealed.len(), 1);
        assert_eq!(sealed[0].value, json!("c2VlZA=="));
        assert_eq!(
            out,
            json!({"type": "ed25519", "private_key": sealed[0].handle, "public_key": "cHVi"})
        );
        let mut args = json!({"type": "ed25519", "data": "x", "private_key": sealed[0].handle, "other": "[secret:sec_0000000000000000]"});
        let vault = sealed.clone();
        let n = unseal(&mut args, &|h| {
            vault
                .iter()
                .find(|s| s.handle == h)
                .map(|s| s.value.clone())
        });
        assert_eq!(n, 1);
        assert_eq!(
            args,
            json!({"type": "ed25519", "data": "x", "private_key": "c2VlZA==", "other": "[secret:sec_0000000000000000]"})
        );
    }
}
