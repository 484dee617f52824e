//! [`ToolSource`]: a third-party tool component declared in `[tools.NAME]`.

use std::path::PathBuf;

use toml::Spanned;

use crate::compile::{Cx, is_name, name_rule};
use crate::error::PolicyError;
use crate::raw::ToolToml;

/// A third-party tool component (`[tools.NAME]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToolSource {
    /// The tool's name.
    pub name: String,
    /// The component file, absolute (resolved against the policy file's
    /// directory). Not checked for existence here: the runtime loads it.
    pub path: PathBuf,
    /// The SHA-256 the file must have, if pinned.
    pub sha256: Option<[u8; 32]>,
}

impl ToolSource {
    /// Checks `[tools.NAME]` and resolves its path.
    pub(crate) fn compile(
        cx: &Cx<'_>,
        name: &Spanned<String>,
        tool: &ToolToml,
        builtins: &[&str],
    ) -> Result<ToolSource, PolicyError> {
        let section = format!("tools.{}", name.get_ref());
        if !is_name(name.get_ref(), false) {
            return Err(cx.invalid(
                name.span(),
                Some(&section),
                None,
                format!(
                    "\"{}\" is not a valid tool name; {}",
                    name.get_ref(),
                    name_rule(false)
                ),
            ));
        }
        if builtins.contains(&name.get_ref().as_str()) {
            return Err(cx.invalid(
                name.span(),
                Some(&section),
                None,
                format!(
                    "\"{}\" is a built-in tool and needs no [tools] entry; remove this section, or give your tool another name",
                    name.get_ref()
                ),
            ));
        }
        if tool.path.get_ref().trim().is_empty() {
            return Err(cx.invalid(
                tool.path.span(),
                Some(&section),
                Some("path"),
                "empty; give the tool's .wasm file, relative to the policy file's directory",
            ));
        }
        let sha256 = match &tool.sha256 {
            None => None,
            Some(hex) => Some(parse_sha256(hex.get_ref()).ok_or_else(|| {
                cx.invalid(
                    hex.span(),
                    Some(&section),
                    Some("sha256"),
                    format!(
                        "\"{}\" is not a SHA-256 digest; write 64 hexadecimal characters, as printed by `sha256sum {}`",
                        hex.get_ref(),
                        tool.path.get_ref()
                    ),
                )
            })?),
        };
        Ok(ToolSource {
            name: name.get_ref().clone(),
            path: cx.dir.join(tool.path.get_ref()),
            sha256,
        })
    }
}

/// 64 hex characters → 32 bytes.
fn parse_sha256(hex: &str) -> Option<[u8; 32]> {
    let bytes = hex.as_bytes();
    if bytes.len() != 64 || !bytes.iter().all(u8::is_ascii_hexdigit) {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, pair) in bytes.chunks_exact(2).enumerate() {
        let text = std::str::from_utf8(pair).ok()?;
        out[i] = u8::from_str_radix(text, 16).ok()?;
    }
    Some(out)
}
