//! The wire types of OpenAI-compatible chat completions, as far as
//! llmagent uses them.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Who wrote a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MessageRole {
    /// The system prompt.
    System,
    /// The user (or, in the json protocol, a tool result fed back).
    User,
    /// The model.
    Assistant,
    /// A tool result in the native protocol (carries `tool_call_id`).
    Tool,
}

impl MessageRole {
    /// `system`, `user`, `assistant` or `tool`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::System => "system",
            Self::User => "user",
            Self::Assistant => "assistant",
            Self::Tool => "tool",
        }
    }
}

/// One message of the conversation, as sent to the API.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Message {
    /// Who wrote it.
    pub role: MessageRole,
    /// The text. `None` only for an assistant message that carries tool
    /// calls and no text (serialised as `null`).
    pub content: Option<String>,
    /// Tool calls the assistant made (native protocol); omitted when none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tool_calls: Vec<ToolCall>,
    /// For a `tool` message: the id of the call it answers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_call_id: Option<String>,
}

impl Message {
    /// A message with text only.
    pub fn text(role: MessageRole, content: impl Into<String>) -> Self {
        Self {
            role,
            content: Some(content.into()),
            tool_calls: Vec::new(),
            tool_call_id: None,
        }
    }

    /// A `system` message.
    pub fn system(content: impl Into<String>) -> Self {
        Self::text(MessageRole::System, content)
    }

    /// A `user` message.
    pub fn user(content: impl Into<String>) -> Self {
        Self::text(MessageRole::User, content)
    }

    /// An `assistant` message with text only.
    pub fn assistant(content: impl Into<String>) -> Self {
        Self::text(MessageRole::Assistant, content)
    }

    /// A `tool` message answering call `id`.
    pub fn tool(id: impl Into<String>, content: impl Into<String>) -> Self {
        Self {
            role: MessageRole::Tool,
            content: Some(content.into()),
            tool_calls: Vec::new(),
            tool_call_id: Some(id.into()),
        }
    }
}

/// One tool call in an assistant message (`tool_calls[i]`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ToolCall {
    /// The call's id, echoed by the `tool` message that answers it.
    pub id: String,
    /// Always `"function"`.
    #[serde(rename = "type", default = "function_type")]
    pub kind: String,
    /// The function called.
    pub function: FunctionCall,
}

fn function_type() -> String {
    "function".to_owned()
}

/// The function part of a tool call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FunctionCall {
    /// The function's name, as declared in the request's `tools`.
    pub name: String,
    /// Its arguments: JSON text as the model wrote it (may be invalid).
    pub arguments: String,
}

/// One function offered to the model (`tools[i]` in the request).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolDef {
    /// Name, `^[a-zA-Z0-9_-]{1,64}$`.
    pub name: String,
    /// What it does, for the model.
    pub description: String,
    /// JSON Schema of its arguments (an object schema).
    pub parameters: Value,
}

/// `response_format` of the request: constrains the reply to a JSON schema.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResponseFormat {
    /// The schema's name (`^[a-zA-Z0-9_-]{1,64}$`).
    pub name: String,
    /// The JSON Schema the reply's content must match.
    pub schema: Value,
}

/// One chat-completion request.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ChatRequest {
    /// The model name sent to the API.
    pub model: String,
    /// The conversation so far.
    pub messages: Vec<Message>,
    /// Functions offered (native protocol); the `tools` field is omitted
    /// when empty. Shared: an agent offers the same list on every request.
    pub tools: std::sync::Arc<[ToolDef]>,
    /// A schema the reply must match (constrained json protocol).
    pub response_format: Option<ResponseFormat>,
    /// Sampling temperature.
    pub temperature: Option<f64>,
    /// Cap on the reply's tokens.
    pub max_tokens: Option<u32>,
}

/// Token counts of one completion, as the server reported them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    /// Tokens of the request.
    pub prompt_tokens: u64,
    /// Tokens of the reply.
    pub completion_tokens: u64,
    /// Both.
    pub total_tokens: u64,
}

/// The model's reply (`choices[0]`), whole or assembled from a stream.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ChatResponse {
    /// The text, if any (`null` content is `None`).
    pub content: Option<String>,
    /// Tool calls, in order (native protocol).
    pub tool_calls: Vec<ToolCall>,
    /// `stop`, `length`, `tool_calls` … as the server said.
    pub finish_reason: Option<String>,
    /// Token usage, when the server reported it.
    pub usage: Option<Usage>,
    /// The model that answered, when the server said.
    pub model: Option<String>,
    /// How many attempts it took (1 = no retry).
    pub attempts: u32,
}
