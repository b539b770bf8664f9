//! Output helpers shared by the commands.
//!
//! Everything keyturn prints may hold text someone else wrote: audit items
//! (anyone who can write the table or an export), inventory files, vendor
//! answers. A terminal obeys escape sequences in that text: `ESC[2J` clears
//! the screen, `ESC[32mINTACT` paints a green verdict over a failure table,
//! U+202E turns the rest of a line around. So every printer goes through
//! [`safe`] (one line) or [`safe_lines`] (several): control and format
//! characters become visible escapes (`\x1b`, `\u{202e}`), everything else is
//! left as it is. [`table`] and [`json`] do it for every cell and string.

use std::borrow::Cow;
use std::fmt::Write as _;

use comfy_table::{presets::UTF8_FULL_CONDENSED, Table as Comfy};
use serde::Serialize;

/// Whether a terminal could act on `c` or hide it: C0 and C1 controls, DEL,
/// and the Unicode format and separator characters (bidi overrides and
/// isolates, zero-width characters, U+2028/U+2029, the BOM).
fn needs_escape(c: char) -> bool {
    c.is_control()
        || matches!(c,
            '\u{00ad}' | '\u{061c}' | '\u{180e}'
            | '\u{200b}'..='\u{200f}'
            | '\u{2028}'..='\u{202e}'
            | '\u{2060}'..='\u{206f}'
            | '\u{feff}'
            | '\u{fff9}'..='\u{fffb}')
}

fn escape_into(out: &mut String, c: char) {
    match c {
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        c if (c as u32) < 0x80 => {
            let _ = write!(out, "\\x{:02x}", c as u32);
        }
        c => {
            let _ = write!(out, "\\u{{{:x}}}", c as u32);
        }
    }
}

fn escape(s: &str, keep_newlines: bool) -> Cow<'_, str> {
    if !s.chars().any(|c| needs_escape(c) && !(keep_newlines && c == '\n')) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if needs_escape(c) && !(keep_newlines && c == '\n') {
            escape_into(&mut out, c);
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// Untrusted text made safe to print as one line: every control or format
/// character (line breaks included) becomes a visible escape.
pub fn safe(s: &str) -> Cow<'_, str> {
    escape(s, false)
}

/// As [`safe`], but line breaks stay line breaks: for messages of several
/// lines (errors), where a forged line is possible but a repainted screen is not.
pub fn safe_lines(s: &str) -> Cow<'_, str> {
    escape(s, true)
}

/// Pretty JSON on stdout. serde_json already escapes C0 controls; DEL, C1
/// controls and format characters are written as `\uXXXX` too (they can only
/// occur inside strings, so the JSON means exactly the same).
pub fn json<T: Serialize>(value: &T) -> anyhow::Result<()> {
    outln!("{}", json_text(&serde_json::to_string_pretty(value)?));
    Ok(())
}

fn json_text(text: &str) -> Cow<'_, str> {
    if !text.chars().any(needs_escape_in_json) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        if needs_escape_in_json(c) {
            let mut units = [0u16; 2];
            for u in c.encode_utf16(&mut units) {
                let _ = write!(out, "\\u{u:04x}");
            }
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// The layout's own newlines and indentation are the only controls pretty JSON
/// holds outside strings; inside strings serde_json has escaped every C0 one.
fn needs_escape_in_json(c: char) -> bool {
    needs_escape(c) && !matches!(c, '\n' | '\t' | '\r')
}

/// A table whose cells are made safe with [`safe`] as they are added.
pub struct Table(Comfy);

/// A table with the given header.
pub fn table(header: &[&str]) -> Table {
    let mut t = Comfy::new();
    t.load_style(UTF8_FULL_CONDENSED).set_header(header.iter().map(|h| safe(h).into_owned()).collect::<Vec<_>>());
    Table(t)
}

impl Table {
    /// One row; each cell is escaped (a cell of several lines keeps its
    /// line breaks: callers join already-escaped values with `\n`).
    pub fn add_row<T: AsRef<str>>(&mut self, cells: impl IntoIterator<Item = T>) -> &mut Self {
        self.0.add_row(cells.into_iter().map(|c| safe_lines(c.as_ref()).into_owned()).collect::<Vec<_>>());
        self
    }

    /// One row of cells the caller has made safe itself ([`safe`]) or that
    /// hold keyturn's own styling (colours on a terminal).
    pub fn add_row_prepared(&mut self, cells: Vec<String>) -> &mut Self {
        self.0.add_row(cells);
        self
    }
}

impl std::fmt::Display for Table {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOSTILE: &str = "a\u{1b}[2J\u{1b}[32mINTACT\u{1b}[0m\u{9b}31m\u{202e}b\u{200b}\r\n\t\u{7f}";

    #[test]
    fn control_and_format_characters_are_shown_not_obeyed() {
        let s = safe(HOSTILE);
        assert_eq!(s, "a\\x1b[2J\\x1b[32mINTACT\\x1b[0m\\u{9b}31m\\u{202e}b\\u{200b}\\r\\n\\t\\x7f");
        assert!(!s.chars().any(needs_escape));
        assert_eq!(safe_lines("one\ntwo\u{1b}"), "one\ntwo\\x1b");
        assert!(matches!(safe("plain text, ünïcödé, 日本"), Cow::Borrowed(_)));
    }

    #[test]
    fn tables_escape_every_cell_and_json_means_the_same() {
        let mut t = table(&["what"]);
        t.add_row([HOSTILE]);
        let text = t.to_string();
        assert!(!text.contains('\u{1b}') && !text.contains('\u{9b}') && !text.contains('\u{202e}'), "{text}");
        assert!(text.contains("\\x1b[32mINTACT"), "{text}");

        let pretty = serde_json::to_string_pretty(&serde_json::json!({ "detail": HOSTILE })).unwrap();
        let out = json_text(&pretty);
        assert!(!out.chars().any(needs_escape_in_json), "{out}");
        let back: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(back["detail"], HOSTILE, "the same value, only written differently");
    }
}
