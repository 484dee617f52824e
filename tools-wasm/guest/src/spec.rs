//! A tool's self-description: actions and the JSON Schema of their arguments.

use serde_json::{Map, Value, json};

use crate::bindings::exports::llmagent::tools::tool as wit;

/// One argument of an action.
#[derive(Debug, Clone)]
struct Param {
    name: String,
    schema: Value,
    required: bool,
}

/// One action: its name, description and arguments.
#[derive(Debug, Clone)]
pub struct Action {
    name: String,
    description: String,
    params: Vec<Param>,
}

impl Action {
    /// An action without arguments (add them with [`Action::required`] and
    /// [`Action::optional`]).
    pub fn new(name: &str, description: &str) -> Self {
        Self {
            name: name.to_owned(),
            description: description.to_owned(),
            params: Vec::new(),
        }
    }

    /// Adds a required argument; `schema` is its JSON Schema, to which the
    /// description is added.
    pub fn required(self, name: &str, schema: Value, description: &str) -> Self {
        self.param(name, schema, description, true)
    }

    /// Adds an optional argument.
    pub fn optional(self, name: &str, schema: Value, description: &str) -> Self {
        self.param(name, schema, description, false)
    }

    fn param(mut self, name: &str, mut schema: Value, description: &str, required: bool) -> Self {
        if let Value::Object(map) = &mut schema {
            map.insert("description".into(), Value::String(description.to_owned()));
        }
        self.params.push(Param {
            name: name.to_owned(),
            schema,
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
        self.params.iter().map(|p| p.name.as_str())
    }

    /// The JSON Schema of the arguments object.
    pub fn schema(&self) -> Value {
        let properties: Map<String, Value> = self
            .params
            .iter()
            .map(|p| (p.name.clone(), p.schema.clone()))
            .collect();
        let required: Vec<&str> = self
            .params
            .iter()
            .filter(|p| p.required)
            .map(|p| p.name.as_str())
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
#[derive(Debug, Clone)]
pub struct Spec {
    name: String,
    description: String,
    version: String,
    actions: Vec<Action>,
}

impl Spec {
    /// A tool with no actions yet.
    pub fn new(name: &str, description: &str, version: &str) -> Self {
        Self {
            name: name.to_owned(),
            description: description.to_owned(),
            version: version.to_owned(),
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
        self.actions.iter().map(|a| a.name.as_str()).collect()
    }

    /// The WIT record.
    pub fn into_wit(self) -> wit::ToolSpec {
        wit::ToolSpec {
            actions: self
                .actions
                .iter()
                .map(|a| wit::ActionSpec {
                    name: a.name.clone(),
                    description: a.description.clone(),
                    args_schema: a.schema().to_string(),
                })
                .collect(),
            name: self.name,
            description: self.description,
            version: self.version,
        }
    }
}
