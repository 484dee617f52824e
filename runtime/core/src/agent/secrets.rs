//! Sealed secrets and where the model may pass them.
//!
//! A secret a tool returns is kept in the agent's [`Vault`] and the model
//! sees a handle `[secret:sec_…]` in its place (see [`crate::redact`]). A
//! handle is unsealed only into an argument that the tool's schema
//! declares a secret input, with the standard JSON Schema annotation
//! `"writeOnly": true` on the property (the value is written to the tool
//! and never read back, as OpenAPI marks passwords). Anywhere else a
//! handle — a string holding `[secret:sec_` — is `invalid_args` naming
//! the field and the fields that accept handles, so that no tool can turn
//! a secret into something the model reads (`crypto encode` of a private
//! key, `bash` with the key on stdin).

use std::collections::HashMap;

use serde_json::Value;

use super::protocol::Offered;
use crate::outcome::ToolFailure;
use crate::reason::Reason;
use crate::redact::Unsealed;

/// What every handle starts with.
const HANDLE_PREFIX: &str = "[secret:sec_";

/// The schema keyword that declares a property a secret input.
pub(crate) const SECRET_KEYWORD: &str = "writeOnly";

/// Secrets sealed out of tool results, by handle; in memory only.
#[derive(Default)]
pub(crate) struct Vault {
    secrets: HashMap<String, Value>,
}

impl std::fmt::Debug for Vault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Vault({} secrets)", self.secrets.len())
    }
}

impl Vault {
    /// Keeps `value` under `handle`.
    pub(crate) fn insert(&mut self, handle: String, value: Value) {
        self.secrets.insert(handle, value);
    }

    /// Replaces each handle in `args` by its secret, where the action's
    /// `schema` declares the property a secret input; `allowed` lists the
    /// fields that accept handles (for the message). Returns the secrets
    /// unsealed, or `invalid_args` for a handle anywhere else or one that
    /// this conversation never sealed.
    pub(crate) fn unseal(
        &self,
        args: &mut Value,
        schema: &Value,
        allowed: &str,
    ) -> Result<Unsealed, ToolFailure> {
        let mut out = Unsealed::default();
        self.walk(args, schema, "", false, allowed, &mut out)?;
        Ok(out)
    }

    fn walk(
        &self,
        value: &mut Value,
        schema: &Value,
        path: &str,
        secret: bool,
        allowed: &str,
        out: &mut Unsealed,
    ) -> Result<(), ToolFailure> {
        match value {
            Value::String(s) if s.contains(HANDLE_PREFIX) => {
                if !secret {
                    return Err(ToolFailure::new(
                        Reason::InvalidArgs,
                        format!(
                            "`{path}` does not take a secret handle: a handle is unsealed only into an argument its tool declares secret; here: {allowed}"
                        ),
                    )
                    .field(path)
                    .suggestion("pass the handle only where it is accepted; a secret cannot be shown, encoded or sent anywhere else"));
                }
                let Some(secret) = self.secrets.get(s.as_str()) else {
                    return Err(ToolFailure::new(
                        Reason::InvalidArgs,
                        format!("`{path}` holds a handle that this conversation never sealed"),
                    )
                    .field(path)
                    .suggestion("pass a handle exactly as a tool result showed it"));
                };
                out.push(secret);
                *value = secret.clone();
                Ok(())
            }
            Value::Object(map) => {
                for (k, v) in map.iter_mut() {
                    let sub = schema.get("properties").and_then(|p| p.get(k.as_str()));
                    let sub = sub.unwrap_or(&Value::Null);
                    let child = if path.is_empty() {
                        k.clone()
                    } else {
                        format!("{path}.{k}")
                    };
                    self.walk(v, sub, &child, is_secret(sub), allowed, out)?;
                }
                Ok(())
            }
            Value::Array(items) => {
                let sub = schema.get("items").unwrap_or(&Value::Null);
                for (i, v) in items.iter_mut().enumerate() {
                    let child = format!("{path}[{i}]");
                    self.walk(v, sub, &child, secret || is_secret(sub), allowed, out)?;
                }
                Ok(())
            }
            _ => Ok(()),
        }
    }
}

/// Whether a property's schema declares it a secret input.
fn is_secret(schema: &Value) -> bool {
    schema.get(SECRET_KEYWORD).and_then(Value::as_bool) == Some(true)
}

/// The fields of the offered actions that accept handles, for messages:
/// `crypto.hmac key, crypto.sign private_key`, or a sentence saying there
/// are none.
pub(crate) fn secret_inputs(offered: &[Offered]) -> String {
    let mut fields = Vec::new();
    for o in offered {
        if let Some(props) = o.schema.get("properties").and_then(Value::as_object) {
            for (name, s) in props {
                if is_secret(s) {
                    fields.push(format!("{}.{} {name}", o.tool, o.action));
                }
            }
        }
    }
    if fields.is_empty() {
        "no tool offered to you takes one".to_owned()
    } else {
        format!("only {}", fields.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn schema() -> Value {
        json!({"type": "object", "properties": {
            "data": {"type": "string"},
            "private_key": {"type": "string", "writeOnly": true},
            "keys": {"type": "array", "items": {"type": "string", "writeOnly": true}},
        }})
    }

    fn vault() -> Vault {
        let mut v = Vault::default();
        v.insert("[secret:sec_1]".into(), json!("SEED"));
        v
    }

    #[test]
    fn handles_unseal_into_declared_secret_inputs_only() {
        let v = vault();
        let mut args = json!({"data": "x", "private_key": "[secret:sec_1]", "keys": ["[secret:sec_1]", "plain"]});
        let got = v.unseal(&mut args, &schema(), "only t.a private_key");
        assert_eq!(got.map(|u| u.scrub("SEED")), Ok("[redacted]".to_owned()));
        assert_eq!(
            args,
            json!({"data": "x", "private_key": "SEED", "keys": ["SEED", "plain"]})
        );
        let mut args = json!({"data": "[secret:sec_1]"});
        let e = v.unseal(&mut args, &schema(), "only t.a private_key").err();
        assert_eq!(
            e.map(|f| (f.reason, f.field, f.message)),
            Some((
                "invalid_args".into(),
                Some("data".into()),
                "`data` does not take a secret handle: a handle is unsealed only into an argument its tool declares secret; here: only t.a private_key".into()
            ))
        );
        assert_eq!(args, json!({"data": "[secret:sec_1]"}), "left as it was");
        let mut nested = json!({"x": {"y": ["echo [secret:sec_1]"]}});
        let e = v.unseal(&mut nested, &schema(), "-").err();
        assert_eq!(e.and_then(|f| f.field), Some("x.y[0]".into()));
        let mut unknown = json!({"private_key": "[secret:sec_2]"});
        let e = v.unseal(&mut unknown, &schema(), "-").err();
        assert_eq!(e.map(|f| f.reason), Some("invalid_args".into()));
        assert_eq!(format!("{v:?}"), "Vault(1 secrets)");
    }
}
