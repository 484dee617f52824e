//! The system prompt of a turn: the role's own (`prompt` / `prompt_file`),
//! or a built-in one — `sysadmin` for a role of that name, `default`
//! ("You are a helpful assistant.") for any other — and, for the json and
//! constrained protocols, the tools and the call format, without which the
//! model could not call anything.

use std::collections::BTreeMap;
use std::fmt::Write;

use serde_json::{Value, json};

use super::protocol::Offered;

/// The predecessor's default prompt, word for word.
pub const DEFAULT_PROMPT: &str = "You are a helpful assistant.";

/// The opening of the built-in `sysadmin` prompt.
const SYSADMIN_INTRO: &str = "You are a Linux system administration assistant. You help an operator \
inspect and maintain this machine using the system tools below. Use a tool whenever the answer \
depends on the machine's actual state; never invent command output. Tools can only do what the \
operator's policy allows: if a call is refused, say so and suggest what the operator could allow. \
Keep answers short and factual.";

/// How the prompt should describe tool calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Style {
    /// Tools travel in the request's `tools`; the prompt only lists them
    /// (sysadmin) or says nothing (other roles).
    Native,
    /// Calls are JSON in the reply; the final answer is plain text.
    Json,
    /// Calls are JSON; so is the final answer, `{"tool": "none", "answer": …}`.
    Constrained,
}

/// The system prompt for a role.
pub(crate) fn system_prompt(
    role_name: &str,
    role_prompt: Option<&str>,
    offered: &[Offered],
    style: Style,
) -> String {
    let builtin_sysadmin = role_prompt.is_none() && role_name == "sysadmin";
    let mut text = match role_prompt {
        Some(p) => p.trim_end().to_owned(),
        None if builtin_sysadmin => SYSADMIN_INTRO.to_owned(),
        None => DEFAULT_PROMPT.to_owned(),
    };
    let list_tools = builtin_sysadmin || style != Style::Native;
    if list_tools && !offered.is_empty() {
        text.push_str("\n\n=== Available Tools ===\n");
        text.push_str(&tool_list(offered, style != Style::Native));
    }
    if style != Style::Native && !offered.is_empty() {
        text.push_str("\n=== Format ===\n");
        text.push_str(&format_section(offered, style));
    }
    text
}

/// One line per tool (`- name: description`), and with `actions` one line
/// per action with its arguments.
fn tool_list(offered: &[Offered], actions: bool) -> String {
    let mut by_tool: BTreeMap<&str, Vec<&Offered>> = BTreeMap::new();
    for o in offered {
        by_tool.entry(&o.tool).or_default().push(o);
    }
    let mut out = String::new();
    for (tool, acts) in by_tool {
        let _ = writeln!(out, "- {tool}: {}", acts[0].tool_description);
        if !actions {
            continue;
        }
        for a in acts {
            let _ = writeln!(
                out,
                "  - action \"{}\" args {}: {}",
                a.action,
                args_summary(&a.schema),
                a.description
            );
        }
    }
    out
}

/// `{path: string, max_bytes?: integer}`.
fn args_summary(schema: &Value) -> String {
    let required: Vec<&str> = schema
        .get("required")
        .and_then(Value::as_array)
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let Some(props) = schema.get("properties").and_then(Value::as_object) else {
        return "{}".into();
    };
    let parts: Vec<String> = props
        .iter()
        .map(|(k, v)| {
            let ty = match v.get("enum").and_then(Value::as_array) {
                Some(e) => e.iter().map(Value::to_string).collect::<Vec<_>>().join("|"),
                None => v
                    .get("type")
                    .and_then(Value::as_str)
                    .unwrap_or("any")
                    .to_owned(),
            };
            let opt = if required.contains(&k.as_str()) {
                ""
            } else {
                "?"
            };
            format!("{k}{opt}: {ty}")
        })
        .collect();
    format!("{{{}}}", parts.join(", "))
}

fn format_section(offered: &[Offered], style: Style) -> String {
    let example = example_call(offered);
    let mut s = String::from(
        "To use a tool, reply with only one JSON object and nothing else:\n\
         {\"tool\": \"<tool>\", \"action\": \"<action>\", \"args\": {<arguments>}}\n\
         Example:\n",
    );
    let _ = writeln!(s, "{example}");
    s.push_str(
        "The result comes back as JSON: {\"status\": \"ok\", \"output\": …, \"metadata\": …} \
         or {\"status\": \"error\", \"error\": {\"reason\": …, \"message\": …}}. \
         Call one tool at a time.\n",
    );
    match style {
        Style::Constrained => s.push_str(
            "When you have the final answer, reply with only {\"tool\": \"none\", \"answer\": \"<your answer>\"}.\n",
        ),
        _ => s.push_str(
            "When you have the final answer, reply in plain text, not JSON. \
             Do not wrap tool calls in explanations.\n",
        ),
    }
    s
}

/// A call that is valid for one of the offered actions: `crypto sha256`
/// when offered (the clearest example), else the first action, with every
/// required argument filled with a value of its type.
fn example_call(offered: &[Offered]) -> String {
    let pick = offered
        .iter()
        .find(|o| o.tool == "crypto" && o.action == "sha256")
        .or_else(|| offered.first());
    let Some(o) = pick else {
        return String::new();
    };
    let mut args = serde_json::Map::new();
    if o.tool == "crypto" && o.action == "sha256" {
        args.insert("data".into(), json!("hello"));
    } else {
        let required: Vec<&str> = o
            .schema
            .get("required")
            .and_then(Value::as_array)
            .map(|r| r.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        for key in required {
            let prop = &o.schema["properties"][key];
            args.insert(key.to_owned(), sample(prop));
        }
    }
    // Written by hand so the keys come in the order the format line shows.
    format!(
        "{{\"tool\": {}, \"action\": {}, \"args\": {}}}",
        Value::from(o.tool.as_str()),
        Value::from(o.action.as_str()),
        Value::Object(args)
    )
}

/// A value valid for a property schema.
fn sample(prop: &Value) -> Value {
    if let Some(first) = prop
        .get("enum")
        .and_then(Value::as_array)
        .and_then(|e| e.first())
    {
        return first.clone();
    }
    match prop.get("type").and_then(Value::as_str) {
        Some("integer") | Some("number") => json!(1),
        Some("boolean") => json!(true),
        Some("array") => json!([]),
        Some("object") => json!({}),
        _ => json!("example"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sha() -> Offered {
        Offered {
            tool: "crypto".into(),
            tool_description: "Hashes, keys and signatures.".into(),
            action: "sha256".into(),
            description: "SHA-256 of data.".into(),
            schema: json!({"type": "object", "properties": {"data": {"type": "string"}}, "required": ["data"]}),
        }
    }

    #[test]
    fn default_role_in_native_mode_is_the_seed_sentence() {
        assert_eq!(
            system_prompt("default", None, &[sha()], Style::Native),
            DEFAULT_PROMPT
        );
    }

    #[test]
    fn sysadmin_lists_tools_and_json_mode_adds_a_correct_example() {
        let native = system_prompt("sysadmin", None, &[sha()], Style::Native);
        assert_eq!(
            native,
            format!(
                "{SYSADMIN_INTRO}\n\n=== Available Tools ===\n- crypto: Hashes, keys and signatures.\n"
            )
        );
        let json_mode = system_prompt("sysadmin", None, &[sha()], Style::Json);
        assert!(
            json_mode.contains("  - action \"sha256\" args {data: string}: SHA-256 of data.\n")
        );
        assert!(json_mode.contains(
            "Example:\n{\"tool\": \"crypto\", \"action\": \"sha256\", \"args\": {\"data\":\"hello\"}}\n"
        ));
    }

    #[test]
    fn an_example_fills_required_arguments_by_type() {
        let o = Offered {
            tool: "file".into(),
            tool_description: "Files.".into(),
            action: "read".into(),
            description: "Read.".into(),
            schema: json!({"type": "object", "properties": {"path": {"type": "string"}, "max": {"type": "integer"}}, "required": ["path"]}),
        };
        assert_eq!(
            example_call(&[o]),
            r#"{"tool": "file", "action": "read", "args": {"path":"example"}}"#
        );
    }
}
