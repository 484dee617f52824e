//! Typed access to an action's JSON arguments. Every error is
//! `invalid_args` naming the field, so a model can correct its call.

use serde_json::{Map, Value};

use crate::error::ToolError;
use crate::spec::Action;

/// The arguments object of one call.
#[derive(Debug, Clone, Default)]
pub struct Args {
    map: Map<String, Value>,
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

impl Args {
    /// Parses the arguments JSON. An empty string or `null` is an empty
    /// object; anything but an object is `invalid_args`.
    pub fn parse(json: &str) -> Result<Self, ToolError> {
        if json.trim().is_empty() {
            return Ok(Self::default());
        }
        match serde_json::from_str::<Value>(json) {
            Ok(Value::Object(map)) => Ok(Self { map }),
            Ok(Value::Null) => Ok(Self::default()),
            Ok(other) => Err(ToolError::new(
                "invalid_args",
                format!("arguments must be a JSON object, got {}", type_name(&other)),
            )),
            Err(e) => Err(ToolError::new(
                "invalid_args",
                format!("arguments are not valid JSON: {e}"),
            )),
        }
    }

    /// Builds arguments from an object (for tests and tools calling tools).
    pub fn from_map(map: Map<String, Value>) -> Self {
        Self { map }
    }

    /// Refuses keys the action does not declare.
    pub fn check_keys(&self, action: &Action) -> Result<(), ToolError> {
        for key in self.map.keys() {
            if !action.param_names().any(|p| p == key) {
                let known: Vec<&str> = action.param_names().collect();
                let expected = if known.is_empty() {
                    "it takes no arguments".to_owned()
                } else {
                    format!("expected: {}", known.join(", "))
                };
                return Err(ToolError::invalid_args(
                    key,
                    format!(
                        "unknown argument `{key}` for action `{}`; {expected}",
                        action.name()
                    ),
                ));
            }
        }
        Ok(())
    }

    /// The raw value of `key`, if present and not null.
    pub fn value(&self, key: &str) -> Option<&Value> {
        self.map.get(key).filter(|v| !v.is_null())
    }

    fn missing(key: &str) -> ToolError {
        ToolError::invalid_args(key, format!("missing required argument `{key}`"))
    }

    fn wrong(key: &str, want: &str, got: &Value) -> ToolError {
        ToolError::invalid_args(
            key,
            format!("argument `{key}` must be {want}, got {}", type_name(got)),
        )
    }

    /// A required string.
    pub fn str(&self, key: &str) -> Result<&str, ToolError> {
        self.opt_str(key)?.ok_or_else(|| Self::missing(key))
    }

    /// An optional string.
    pub fn opt_str(&self, key: &str) -> Result<Option<&str>, ToolError> {
        match self.value(key) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(v) => Err(Self::wrong(key, "a string", v)),
        }
    }

    /// A required non-negative integer.
    pub fn u64(&self, key: &str) -> Result<u64, ToolError> {
        self.opt_u64(key)?.ok_or_else(|| Self::missing(key))
    }

    /// An optional non-negative integer.
    pub fn opt_u64(&self, key: &str) -> Result<Option<u64>, ToolError> {
        match self.value(key) {
            None => Ok(None),
            Some(v) => v
                .as_u64()
                .map(Some)
                .ok_or_else(|| Self::wrong(key, "a non-negative integer", v)),
        }
    }

    /// A required non-negative integer, also accepted as a string of digits
    /// (models often quote numbers).
    pub fn u64_lenient(&self, key: &str) -> Result<u64, ToolError> {
        match self.value(key) {
            None => Err(Self::missing(key)),
            Some(Value::String(s)) => s.trim().parse::<u64>().map_err(|_| {
                ToolError::invalid_args(
                    key,
                    format!("argument `{key}` must be a non-negative integer, got \"{s}\""),
                )
            }),
            Some(v) => v
                .as_u64()
                .ok_or_else(|| Self::wrong(key, "a non-negative integer", v)),
        }
    }

    /// An optional boolean.
    pub fn opt_bool(&self, key: &str) -> Result<Option<bool>, ToolError> {
        match self.value(key) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(v) => Err(Self::wrong(key, "a boolean", v)),
        }
    }

    /// An optional string that must be one of `allowed`.
    pub fn opt_choice(&self, key: &str, allowed: &[&str]) -> Result<Option<&str>, ToolError> {
        match self.opt_str(key)? {
            None => Ok(None),
            Some(s) if allowed.contains(&s) => Ok(Some(s)),
            Some(s) => Err(ToolError::invalid_args(
                key,
                format!(
                    "argument `{key}` must be one of {}, got \"{s}\"",
                    allowed.join(", ")
                ),
            )),
        }
    }
}
