//! What a turn sends to the model: the request for the next step, the
//! system prompt, and which protocol to fall back to when the server
//! refuses one.

use std::sync::Arc;

use llmagent_llm::{ChatRequest, ChatResponse, LlmClient, LlmError, Message, ResponseFormat};

use super::super::prompt::{self, Style};
use super::super::{Agent, Wire, history, protocol};
use super::{Turn, TurnEvent};

impl Turn<'_> {
    /// The request for the next step.
    pub(super) fn request(&self) -> ChatRequest {
        let agent = &*self.agent;
        let mut messages = Vec::with_capacity(agent.history.len() + 1);
        messages.push(Message::system(agent.system_prompt_text().as_ref()));
        match agent.wire {
            Wire::Native => messages.extend(agent.history.iter().cloned()),
            Wire::Json | Wire::Constrained => {
                messages.extend(history::as_json_protocol(&agent.history))
            }
        }
        ChatRequest {
            model: agent.settings.model.clone(),
            messages,
            tools: match agent.wire {
                Wire::Native => Arc::clone(&agent.tool_defs),
                _ => Arc::from([]),
            },
            response_format: (agent.wire == Wire::Constrained).then(|| ResponseFormat {
                name: "tool_call_or_answer".into(),
                schema: protocol::constrained_schema(
                    &agent.offered,
                    self.answer_only,
                    agent.settings.max_tokens,
                ),
            }),
            temperature: agent.settings.temperature,
            max_tokens: agent.settings.max_tokens,
        }
    }

    /// The protocol to fall back to when the server refused this one.
    pub(super) fn fallback(&self, request: &ChatRequest, err: &LlmError) -> Option<Wire> {
        if !self.agent.may_fall_back {
            return None;
        }
        let LlmError::Status { status, body, .. } = err else {
            return None;
        };
        let body = body.to_ascii_lowercase();
        let mentions = |words: &[&str]| words.iter().any(|w| body.contains(w));
        let refused = matches!(status, 400..=501) && *status != 429;
        match self.agent.wire {
            Wire::Native
                if !request.tools.is_empty() && refused && mentions(&["tool", "function"]) =>
            {
                Some(Wire::Json)
            }
            Wire::Constrained
                if refused
                    && mentions(&["response_format", "json_schema", "schema", "grammar"]) =>
            {
                Some(Wire::Json)
            }
            _ => None,
        }
    }
}

impl Agent {
    /// The system prompt for the agent's role and current protocol.
    /// The system prompt for the current wire, built once per wire.
    pub(in crate::agent) fn system_prompt_text(&self) -> Arc<str> {
        let mut cached = self
            .system_prompt
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        match &*cached {
            Some((wire, text)) if *wire == self.wire => Arc::clone(text),
            _ => {
                let text: Arc<str> = self.build_system_prompt().into();
                *cached = Some((self.wire, Arc::clone(&text)));
                text
            }
        }
    }

    fn build_system_prompt(&self) -> String {
        let role = self.runtime.policy().role(&self.settings.role).ok();
        let style = match self.wire {
            Wire::Native => Style::Native,
            Wire::Json => Style::Json,
            Wire::Constrained => Style::Constrained,
        };
        prompt::system_prompt(
            &self.settings.role,
            role.and_then(|r| r.prompt.as_deref()),
            &self.offered,
            style,
        )
    }
}

/// One model request, streamed (each piece of text to `observer`) or
/// whole.
pub(super) async fn ask(
    client: &dyn LlmClient,
    request: &ChatRequest,
    stream: bool,
    observer: &mut (dyn FnMut(TurnEvent) + Send),
) -> Result<ChatResponse, LlmError> {
    if stream {
        let mut on_text = |t: &str| observer(TurnEvent::Text(t.to_owned()));
        client.chat_stream(request, &mut on_text).await
    } else {
        client.chat(request).await
    }
}
