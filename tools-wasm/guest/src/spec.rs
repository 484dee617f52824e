//! A tool's self-description: actions and the JSON Schema of their arguments.

use std::borrow::Cow;

use serde_json::{Map, Value, json};

use crate::bindings::exports::llmagent::tools::tool as wit;

/// Text in a spec: a literal, borrowed for free, or a string built at run
/// time (`format!`).
pub type Text = Cow<'static, str>;

/// The JSON Schema of one argument: built when the spec is described (the
/// `describe` export, once per tool and version on the host, which caches
/// it), never when the tool is called. A tool's `spec()` also runs on every
/// call, to check the action and the argument names; building every schema
/// there (a JSON map each) was most of a small call's guest time.
pub struct Schema(SchemaSource);

enum SchemaSource {
    Built(Value),
    Deferred(Box<dyn Fn() -> Value>),
}

impl Schema {
    fn build(&self) -> Value {
        match &self.0 {
            SchemaSource::Built(v) => v.clone(),
            SchemaSource::Deferred(f) => f(),
        }
    }
}

/// A schema already built (a value computed elsewhere, shared by several
/// arguments).
impl From<Value> for Schema {
    fn from(v: Value) -> Self {
        Self(SchemaSource::Built(v))
    }
}

/// A schema built only when the spec is described: `|| json!({...})`, or
/// a function such as `string`.
impl<F: Fn() -> Value + 'static> From<F> for Schema {
    fn from(f: F) -> Self {
        Self(SchemaSource::Deferred(Box::new(f)))
    }
}

impl std::fmt::Debug for Schema {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.build().fmt(f)
    }
}

/// One argument of an action.
#[derive(Debug)]
struct Param {
    name: Text,
    schema: Schema,
    description: Text,
    required: bool,
}

/// One action: its name, description and arguments.
#[derive(Debug)]
pub struct Action {
    name: Text,
    description: Text,
    params: Vec<Param>,
}

impl Action {
    /// An action without arguments (add them with [`Action::required`] and
    /// [`Action::optional`]).
    pub fn new(name: impl Into<Text>, description: impl Into<Text>) -> Self {
        Self {
            name: name.into(),
            description: description.into(),
            params: Vec::new(),
        }
    }

    /// Adds a required argument; `schema` is its JSON Schema (best given
    /// as a closure, `|| json!({...})`, so that it is built only when the
    /// spec is described), to which the description is added.
    pub fn required(
        self,
        name: impl Into<Text>,
        schema: impl Into<Schema>,
        description: impl Into<Text>,
    ) -> Self {
        self.param(name.into(), schema.into(), description.into(), true)
    }

    /// Adds an optional argument.
    pub fn optional(
        self,
        name: impl Into<Text>,
        schema: impl Into<Schema>,
        description: impl Into<Text>,
    ) -> Self {
        self.param(name.into(), schema.into(), description.into(), false)
    }

    fn param(mut self, name: Text, schema: Schema, description: Text, required: bool) -> Self {
        self.params.push(Param {
            name,
            schema,
            description,
            required,
        });
        self
    }

    /// The action's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Names of the arguments the action declares, in declaration order.
    pub fn param_names(&self) -> impl Iterator<Item = &str> {
        self.params.iter().map(|p| &*p.name)
    }

    /// The JSON Schema of the arguments object.
    pub fn schema(&self) -> Value {
        let properties: Map<String, Value> = self
            .params
            .iter()
            .map(|p| {
                let mut schema = p.schema.build();
                if let Value::Object(map) = &mut schema {
                    map.insert(
                        "description".into(),
                        Value::String(p.description.to_string()),
                    );
                }
                (p.name.to_string(), schema)
            })
            .collect();
        let required: Vec<&str> = self
            .params
            .iter()
            .filter(|p| p.required)
            .map(|p| &*p.name)
            .collect();
        json!({
            "type": "object",
            "properties": properties,
            "required": required,
            "additionalProperties": false,
        })
    }
}

/// A tool's name, description, version and actions.
#[derive(Debug)]
pub struct Spec {
    name: Text,
    description: Text,
    version: Text,
    actions: Vec<Action>,
}

impl Spec {
    /// A tool with no actions yet.
    pub fn new(
        name: impl Into<Text>,
        description: impl Into<Text>,
        version: impl Into<Text>,
    ) -> Self {
        Self {
            name: name.into(),
            description: description.into(),
            version: version.into(),
            actions: Vec::new(),
        }
    }

    /// Adds an action.
    pub fn action(mut self, action: Action) -> Self {
        self.actions.push(action);
        self
    }

    /// The tool's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The declared action called `name`.
    pub fn find(&self, name: &str) -> Option<&Action> {
        self.actions.iter().find(|a| a.name == name)
    }

    /// Names of all actions, in declaration order.
    pub fn action_names(&self) -> Vec<&str> {
        self.actions.iter().map(|a| &*a.name).collect()
    }

    /// The WIT record.
    pub fn into_wit(self) -> wit::ToolSpec {
        wit::ToolSpec {
            actions: self
                .actions
                .iter()
                .map(|a| wit::ActionSpec {
                    name: a.name.to_string(),
                    description: a.description.to_string(),
                    args_schema: a.schema().to_string(),
                })
                .collect(),
            name: self.name.into_owned(),
            description: self.description.into_owned(),
            version: self.version.into_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    static BUILT: AtomicUsize = AtomicUsize::new(0);

    fn counted() -> Value {
        BUILT.fetch_add(1, Ordering::SeqCst);
        json!({"type": "string"})
    }

    /// What a call does with the spec (find the action, check the argument
    /// names) builds no schema; describing it builds each once, with the
    /// description added, the same as a schema given already built.
    #[test]
    fn a_call_builds_no_schema_and_describing_builds_each_once() {
        let spec = || {
            Spec::new("t", "A tool.", "1.0.0").action(
                Action::new("a", "Does a.")
                    .required("lazy", counted, "Built when described")
                    .optional("built", json!({"type": "integer"}), "Given built"),
            )
        };
        let s = spec();
        let action = s.find("a").expect("declared");
        assert_eq!(action.param_names().collect::<Vec<_>>(), ["lazy", "built"]);
        assert_eq!(BUILT.load(Ordering::SeqCst), 0);
        let wit = spec().into_wit();
        assert_eq!(BUILT.load(Ordering::SeqCst), 1);
        let schema: Value = serde_json::from_str(&wit.actions[0].args_schema).expect("JSON");
        assert_eq!(
            schema,
            json!({
                "type": "object",
                "properties": {
                    "lazy": {"type": "string", "description": "Built when described"},
                    "built": {"type": "integer", "description": "Given built"},
                },
                "required": ["lazy"],
                "additionalProperties": false,
            })
        );
    }
}
