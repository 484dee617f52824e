//! What a model or a tool wrote, made safe to show on a terminal.
//!
//! Model text, tool output, history and event fields can hold escape
//! sequences (`ESC [ 2 J` clears the screen, `ESC ] 8` hides a link, `CR`
//! overwrites a line, a bidi override reverses what follows) that could
//! hide or fake an approval prompt. Everything the CLI shows of them goes
//! through [`safe`], which keeps newlines and tabs and shows every other
//! control character visibly instead of obeying it.

use std::borrow::Cow;
use std::fmt::Write as _;

/// `text` with every C0 control but newline and tab shown in caret
/// notation (`ESC` → `^[`, `CR` → `^M`, `DEL` → `^?`), and C1 controls and
/// Unicode bidirectional overrides shown as `<U+XXXX>`.
pub(crate) fn safe(text: &str) -> Cow<'_, str> {
    if !text.chars().any(needs_escape) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            c if !needs_escape(c) => out.push(c),
            '\u{7f}' => out.push_str("^?"),
            c if (c as u32) < 0x20 => {
                out.push('^');
                out.push(char::from(b'@' + c as u8));
            }
            c => {
                let _ = write!(out, "<U+{:04X}>", c as u32);
            }
        }
    }
    Cow::Owned(out)
}

fn needs_escape(c: char) -> bool {
    match c {
        '\n' | '\t' => false,
        '\u{0}'..='\u{1f}' | '\u{7f}'..='\u{9f}' => true,
        // Bidirectional embeddings, overrides and isolates, and the marks.
        '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' => true,
        _ => false,
    }
}

/// Like [`safe`], for JSON printed for a human: only when stdout is a
/// terminal (JSON escapes C0 controls itself; C1 and bidi pass raw). Piped
/// JSON is left exact for the programs that read it.
pub(crate) fn safe_json(json: &str) -> Cow<'_, str> {
    use std::io::IsTerminal;
    if std::io::stdout().is_terminal() {
        safe(json)
    } else {
        Cow::Borrowed(json)
    }
}

#[cfg(test)]
mod tests {
    use super::safe;

    #[test]
    fn escapes_are_shown_not_obeyed() {
        assert_eq!(
            safe("ok\x1b[2J\x1b]8;;http://x\x07link\rApprove? [y/N]\x7f"),
            "ok^[[2J^[]8;;http://x^Glink^MApprove? [y/N]^?"
        );
        assert_eq!(
            safe("a\u{9b}31m b\u{202e}txt.exe"),
            "a<U+009B>31m b<U+202E>txt.exe"
        );
    }

    #[test]
    fn text_newlines_tabs_and_other_scripts_are_kept_as_they_are() {
        let text = "line one\n\tindented — ünïcödé 日本語 🙂";
        assert!(matches!(safe(text), std::borrow::Cow::Borrowed(t) if t == text));
    }
}
