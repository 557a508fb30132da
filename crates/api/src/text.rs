//! Text that reaches a terminal: which characters a terminal would obey rather than show
//! (an ESC sequence can retitle the window, move the cursor, rewrite what was printed, or on
//! some terminals answer back with keystrokes), and how to show them harmlessly instead.
//!
//! The server refuses these characters at apply in the fields it prints (admission's
//! `terminal-safe-text` rule); the CLI escapes them in everything it prints that came from the
//! server, since objects stored before the rule, or written by another client, may still hold
//! them. Both use [`is_control`].

use std::borrow::Cow;

/// Whether `c` is a character a terminal interprets instead of printing: C0 controls
/// (U+0000..U+001F, tab, newline and ESC among them), DEL, C1 controls (U+0080..U+009F, which
/// some terminals read as ESC sequences), and the invisible characters that reorder or break
/// the text shown around them (bidirectional overrides and isolates, line and paragraph
/// separators).
pub fn is_control(c: char) -> bool {
    matches!(c,
        '\u{0}'..='\u{1f}'
        | '\u{7f}'..='\u{9f}'
        | '\u{61c}'
        | '\u{200e}' | '\u{200f}'
        | '\u{2028}'..='\u{202e}'
        | '\u{2066}'..='\u{2069}')
}

/// The first control character of `s` and its byte offset.
pub fn first_control(s: &str) -> Option<(usize, char)> {
    s.char_indices().find(|(_, c)| is_control(*c))
}

/// `s` with every control character written as an escape (`\n`, `\t`, `\r`, `\u{1b}`), so
/// that it shows as text and stays on one line; `s` itself when it has none.
pub fn escape(s: &str) -> Cow<'_, str> {
    escape_where(s, is_control)
}

/// As [`escape`], but newlines and tabs stay: for whole blocks of output (describe pages,
/// YAML) whose lines are ours.
pub fn escape_keep_lines(s: &str) -> Cow<'_, str> {
    escape_where(s, |c| c != '\n' && c != '\t' && is_control(c))
}

fn escape_where(s: &str, unsafe_char: impl Fn(char) -> bool) -> Cow<'_, str> {
    if !s.chars().any(&unsafe_char) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if !unsafe_char(c) {
            out.push(c);
            continue;
        }
        match c {
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c => out.push_str(&format!("\\u{{{:x}}}", u32::from(c))),
        }
    }
    Cow::Owned(out)
}

/// A character's name for messages: `U+001B (ESC)`, `U+0085`.
pub fn describe_char(c: char) -> String {
    let name = match c {
        '\u{0}' => Some("NUL"),
        '\u{7}' => Some("BEL"),
        '\u{8}' => Some("BS"),
        '\t' => Some("TAB"),
        '\n' => Some("LF, a newline"),
        '\r' => Some("CR"),
        '\u{1b}' => Some("ESC"),
        '\u{7f}' => Some("DEL"),
        '\u{9b}' => Some("CSI"),
        '\u{202e}' => Some("RIGHT-TO-LEFT OVERRIDE"),
        _ => None,
    };
    match name {
        Some(n) => format!("U+{:04X} ({n})", u32::from(c)),
        None => format!("U+{:04X}", u32::from(c)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn which_characters_are_controls() {
        for c in [
            '\u{0}', '\t', '\n', '\r', '\u{1b}', '\u{7f}', '\u{80}', '\u{9b}', '\u{9f}',
        ] {
            assert!(is_control(c), "{c:?}");
        }
        for c in ['\u{202e}', '\u{2066}', '\u{200f}', '\u{2028}', '\u{61c}'] {
            assert!(is_control(c), "{c:?}");
        }
        for c in [' ', 'a', '~', '\u{a0}', 'é', '日', '\u{2030}', '😀'] {
            assert!(!is_control(c), "{c:?}");
        }
    }

    #[test]
    fn escaping() {
        assert!(matches!(escape("web-1 ok"), Cow::Borrowed(_)));
        assert_eq!(escape("a\u{1b}]0;pwned\u{7}b"), "a\\u{1b}]0;pwned\\u{7}b");
        assert_eq!(escape("two\nlines\tx\r"), "two\\nlines\\tx\\r");
        assert_eq!(escape("\u{9b}31m"), "\\u{9b}31m");
        assert_eq!(escape("abc\u{202e}fed"), "abc\\u{202e}fed");
        assert_eq!(escape_keep_lines("a\n\tb\u{1b}[2J"), "a\n\tb\\u{1b}[2J");
        assert_eq!(first_control("ok\u{1b}"), Some((2, '\u{1b}')));
        assert_eq!(first_control("ok"), None);
        assert_eq!(describe_char('\u{1b}'), "U+001B (ESC)");
        assert_eq!(describe_char('\u{85}'), "U+0085");
    }

    #[test]
    fn escaped_text_has_no_controls() {
        let all: String = (0u32..0x2100).filter_map(char::from_u32).collect();
        assert_eq!(first_control(&escape(&all)), None);
        let kept = escape_keep_lines(&all);
        assert!(
            kept.chars()
                .all(|c| c == '\n' || c == '\t' || !is_control(c))
        );
    }
}
