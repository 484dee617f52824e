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

/// The width human output is fitted to: `$COLUMNS` when set (at least
/// 20), else the terminal's, else 80 (output to a pipe or file).
pub(crate) fn width() -> usize {
    std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.trim().parse::<usize>().ok())
        .filter(|w| *w >= 20)
        .unwrap_or_else(textwrap::termwidth)
}

/// One line of `text` no wider than `width` columns: line breaks shown as
/// `⏎`, and a cut marked with `…`. For history and events, whose full
/// content `--json` gives.
pub(crate) fn fit(text: &str, width: usize) -> String {
    let one_line = text.trim_end_matches('\n').replace('\n', "⏎");
    if textwrap::core::display_width(&one_line) <= width {
        return one_line;
    }
    let mut out = String::new();
    let mut used = 0;
    for c in one_line.chars() {
        let w = textwrap::core::display_width(c.encode_utf8(&mut [0; 4]));
        if used + w + 1 > width {
            break;
        }
        out.push(c);
        used += w;
    }
    out.push('…');
    out
}

/// `text` wrapped at spaces to `width` columns: the first line after
/// `first`, the others after `rest` (a hanging indent).
pub(crate) fn wrap(text: &str, first: &str, rest: &str, width: usize) -> String {
    let options = textwrap::Options::new(width.max(20))
        .initial_indent(first)
        .subsequent_indent(rest)
        .break_words(true);
    textwrap::fill(text, options)
}

#[cfg(test)]
mod tests {
    use super::{fit, safe, wrap};

    #[test]
    fn fit_cuts_at_the_width_with_a_marker_and_shows_line_breaks() {
        assert_eq!(fit("short", 10), "short");
        assert_eq!(fit("0123456789abc", 10), "012345678…");
        assert_eq!(fit("a\nb\n", 10), "a⏎b");
        // Display width, not bytes or chars: each of these is 2 columns.
        assert_eq!(fit("日本語日本語", 7), "日本語…");
    }

    #[test]
    fn wrap_indents_every_line_after_the_first() {
        assert_eq!(
            wrap("one two three four five six", "  fs: ", "      ", 20),
            "  fs: one two three\n      four five six"
        );
    }

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
