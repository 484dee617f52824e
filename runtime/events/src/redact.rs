//! Redaction of secrets in event data, and sealing of secrets kept from the model.
//!
//! **Redaction** (always on, in the store): in every object inside an
//! event's `data`, at any depth, a field whose name contains one of the
//! patterns (case-insensitive; default `key`, `token`, `secret`, `password`,
//! `private_key`) and is not exempt (default `public_key`) has its value
//! replaced by `"[redacted]"` when that value is a string, array or object.
//! Numbers, booleans and nulls stay (token counts, key sizes carry no
//! secret). In every other string, the secrets of the URLs in it are
//! replaced the same way: a `user:password@`'s password and the values of
//! secret-named query and fragment parameters (`?token=…`,
//! `#access_token=…`), so that a URL a model or tool wrote (a `web get`
//! argument, an http decision's target, a message) keeps no credential.
//! Redaction happens before the event is stored, published or
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

    /// Replaces secret fields by `"[redacted]"`, recursively, and in every
    /// other string the secrets of the URLs in it (see
    /// [`Redaction::redact_urls`]). Returns how many values were replaced.
    pub fn redact(&self, value: &mut Value) -> usize {
        self.walk(value, &mut |v| {
            *v = Value::String(REDACTED.to_owned());
        }) + self.redact_strings(value)
    }

    fn redact_strings(&self, value: &mut Value) -> usize {
        match value {
            Value::String(s) => match self.redact_urls(s) {
                Some((clean, n)) => {
                    *s = clean;
                    n
                }
                None => 0,
            },
            Value::Array(items) => items.iter_mut().map(|v| self.redact_strings(v)).sum(),
            Value::Object(map) => map.values_mut().map(|v| self.redact_strings(v)).sum(),
            _ => 0,
        }
    }

    /// The secrets of the URLs in `text` (a whole URL or prose with URLs
    /// in it), replaced by `[redacted]`: the password of a `user:password@`
    /// and the value of every query or fragment parameter whose name is
    /// secret (`?token=…`, `&api_key=…`, `#access_token=…`). A URL runs from
    /// its `://` to the next space, quote or angle bracket. `None` when
    /// there was nothing to replace.
    pub fn redact_urls(&self, text: &str) -> Option<(String, usize)> {
        static SCHEME_END: std::sync::LazyLock<memchr::memmem::Finder<'static>> =
            std::sync::LazyLock::new(|| memchr::memmem::Finder::new("://"));
        let mut secrets: Vec<(usize, usize)> = Vec::new();
        let mut from = 0;
        while let Some(found) = SCHEME_END.find(&text.as_bytes()[from..]) {
            let authority = from + found + 3;
            let end = text[authority..]
                .find(|c: char| c.is_whitespace() || matches!(c, '"' | '\'' | '<' | '>' | '`'))
                .map_or(text.len(), |e| authority + e);
            let authority_end = text[authority..end]
                .find(['/', '?', '#'])
                .map_or(end, |e| authority + e);
            if let Some(at) = text[authority..authority_end].rfind('@')
                && let Some(colon) = text[authority..authority + at].find(':')
                && colon + 1 < at
            {
                secrets.push((authority + colon + 1, authority + at));
            }
            if let Some(params) = text[authority_end..end].find(['?', '#']) {
                let mut at = authority_end + params + 1;
                for param in text[at..end].split(['&', ';', '?', '#']) {
                    if let Some((name, value)) = param.split_once('=')
                        && !value.is_empty()
                        && self.is_secret(name)
                    {
                        let start = at + name.len() + 1;
                        secrets.push((start, start + value.len()));
                    }
                    at += param.len() + 1;
                }
            }
            from = end;
        }
        if secrets.is_empty() {
            return None;
        }
        let mut clean = String::with_capacity(text.len());
        let mut copied = 0;
        for &(start, end) in &secrets {
            clean.push_str(&text[copied..start]);
            clean.push_str(REDACTED);
            copied = end;
        }
        clean.push_str(&text[copied..]);
        Some((clean, secrets.len()))
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

    #[test]
    fn secrets_in_urls_are_redacted_wherever_the_url_is() {
        let r = Redaction::default();
        let cases = [
            (
                "https://api.example.com/v1/items?token=abc123&page=2",
                "https://api.example.com/v1/items?token=[redacted]&page=2",
            ),
            (
                "postgres://app:hunter2@db.internal:5432/prod",
                "postgres://app:[redacted]@db.internal:5432/prod",
            ),
            (
                "fetched https://h/?api_key=XYZ&q=1 and http://h2/path?q=2, then 'https://u:p@h3/#access_token=T&state=s'",
                "fetched https://h/?api_key=[redacted]&q=1 and http://h2/path?q=2, then 'https://u:[redacted]@h3/#access_token=[redacted]&state=s'",
            ),
            (
                "https://h/a;b?Password=x;public_key=P&secret=&KEY=k",
                "https://h/a;b?Password=[redacted];public_key=P&secret=&KEY=[redacted]",
            ),
            ("://?token=x", "://?token=[redacted]"),
        ];
        for (dirty, clean) in cases {
            let mut v = json!({"url": dirty, "nested": [dirty]});
            let n = r.redact(&mut v);
            assert_eq!(v, json!({"url": clean, "nested": [clean]}), "{dirty}");
            // Each secret counted once per string it was found in.
            assert_eq!(n, 2 * clean.matches("[redacted]").count());
        }
        // Nothing that is not a URL's secret changes, and nothing is counted.
        for text in [
            "no url here: token=abc",
            "https://example.com/path/with/key/in/it",
            "https://user@host/?page=2#top",
            "ftp://h/?tokenish",
            "a://",
        ] {
            let mut v = json!({"text": text});
            let same = v.clone();
            let n = r.redact(&mut v);
            assert_eq!((v, n), (same, 0), "{text}");
        }
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
