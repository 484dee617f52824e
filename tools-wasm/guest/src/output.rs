//! Successful answers: an output value and a metadata object.

use serde_json::{Map, Value};

use crate::bindings::exports::llmagent::tools::tool as wit;

/// A successful answer.
#[derive(Debug, Clone, PartialEq)]
pub struct Output {
    output: Value,
    metadata: Map<String, Value>,
}

impl Output {
    /// An answer with empty metadata.
    pub fn new(output: impl Into<Value>) -> Self {
        Self {
            output: output.into(),
            metadata: Map::new(),
        }
    }

    /// Adds one metadata entry.
    pub fn meta(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.metadata.insert(key.to_owned(), value.into());
        self
    }

    /// The output value.
    pub fn output(&self) -> &Value {
        &self.output
    }

    /// The metadata object.
    pub fn metadata(&self) -> &Map<String, Value> {
        &self.metadata
    }

    /// The WIT record.
    pub fn into_wit(self) -> wit::ToolOutput {
        wit::ToolOutput {
            output_json: self.output.to_string(),
            metadata_json: Value::Object(self.metadata).to_string(),
        }
    }
}
