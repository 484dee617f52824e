//! The store's redaction of event data: secret-named fields at any depth,
//! and the credentials of URLs in every other string (a `user:password@`'s
//! password, secret-named query and fragment parameters). Input: a JSON
//! value, or any other UTF-8 text as one string (prose with URLs in it).
//!
//! Oracles: redaction never panics; afterwards every secret-named field
//! holds `"[redacted]"` (or a number, boolean or null, which are kept);
//! redacting again changes nothing; and a URL with a known password and
//! token, put between two copies of the input as prose, loses both
//! whatever the text around it is.

use llmagent_events::{REDACTED, Redaction};
use serde_json::Value;

/// Runs the target on one input.
pub fn run(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut value =
        serde_json::from_str::<Value>(text).unwrap_or_else(|_| Value::String(text.to_owned()));
    let redaction = Redaction::default();
    redaction.redact(&mut value);
    no_secret_field_left(&redaction, &value);
    let once = value.clone();
    redaction.redact(&mut value);
    assert_eq!(value, once, "a second redaction changed the value");
    credentials_go_whatever_surrounds_them(&redaction, text);
}

/// Written into the URL below; an input that already holds them is
/// skipped (they would stay, rightly).
const PASSWORD: &str = "pw7Qx9";
const TOKEN: &str = "tk3Zr8";

fn credentials_go_whatever_surrounds_them(redaction: &Redaction, text: &str) {
    if text.contains(PASSWORD) || text.contains(TOKEN) {
        return;
    }
    let mut prose = Value::String(format!(
        "{text} https://u:{PASSWORD}@h.test/p?a=1&access_token={TOKEN}#f {text}"
    ));
    redaction.redact(&mut prose);
    let out = prose.as_str().expect("still a string");
    assert!(
        !out.contains(PASSWORD) && !out.contains(TOKEN),
        "a credential survived: {out}"
    );
}

fn no_secret_field_left(redaction: &Redaction, value: &Value) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                if redaction.is_secret(k) {
                    assert!(
                        matches!(v, Value::Null | Value::Bool(_) | Value::Number(_))
                            || v.as_str() == Some(REDACTED),
                        "secret field {k:?} kept {v}"
                    );
                } else {
                    no_secret_field_left(redaction, v);
                }
            }
        }
        Value::Array(items) => items
            .iter()
            .for_each(|v| no_secret_field_left(redaction, v)),
        _ => {}
    }
}
