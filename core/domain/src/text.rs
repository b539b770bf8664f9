//! What text an inventory may hold, and how a bad value is shown in an error.

/// Longest part of a value an error repeats.
const EXCERPT_CHARS: usize = 64;

/// A value as an error repeats it: quoted and escaped (`{:?}`), and cut to
/// its first 64 characters, so a megabyte cell does not become a megabyte
/// message.
///
/// ```
/// use keyturn_domain::excerpt;
/// assert_eq!(excerpt("a\"b"), r#""a\"b""#);
/// assert_eq!(excerpt(&"x".repeat(100)), format!("\"{}\"… (100 characters)", "x".repeat(64)));
/// ```
pub fn excerpt(raw: &str) -> String {
    match raw.char_indices().nth(EXCERPT_CHARS) {
        None => format!("{raw:?}"),
        Some((cut, _)) => format!("{:?}… ({} characters)", &raw[..cut], raw.chars().count()),
    }
}

/// Unicode general category Cf (format characters), Unicode 15.1: invisible,
/// yet they reorder (U+202E), join or hide (U+200B, U+2060, U+FEFF) text, so
/// an id or an email can read differently from what it is. Few enough to
/// list here rather than take a dependency for.
const FORMAT_CHARS: [(u32, u32); 21] = [
    (0x00AD, 0x00AD),
    (0x0600, 0x0605),
    (0x061C, 0x061C),
    (0x06DD, 0x06DD),
    (0x070F, 0x070F),
    (0x0890, 0x0891),
    (0x08E2, 0x08E2),
    (0x180E, 0x180E),
    (0x200B, 0x200F),
    (0x202A, 0x202E),
    (0x2060, 0x2064),
    (0x2066, 0x206F),
    (0xFEFF, 0xFEFF),
    (0xFFF9, 0xFFFB),
    (0x110BD, 0x110BD),
    (0x110CD, 0x110CD),
    (0x13430, 0x1343F),
    (0x1BCA0, 0x1BCA3),
    (0x1D173, 0x1D17A),
    (0xE0001, 0xE0001),
    (0xE0020, 0xE007F),
];

/// Whether `c` is a Unicode format character (category Cf).
pub fn is_format_char(c: char) -> bool {
    let c = u32::from(c);
    // Nothing below U+00AD is one: the common case stops at the first test.
    c >= 0xAD && FORMAT_CHARS.iter().any(|&(lo, hi)| (lo..=hi).contains(&c))
}

/// The first character no inventory field may hold, and why: controls (Cc),
/// format characters (Cf) and the line and paragraph separators (U+2028,
/// U+2029). Shown by code point, never as itself.
pub fn forbidden_char(s: &str) -> Option<String> {
    let (i, c) = s
        .chars()
        .enumerate()
        .find(|(_, c)| c.is_control() || is_format_char(*c) || matches!(c, '\u{2028}' | '\u{2029}'))?;
    let at = format!("U+{:04X} at character {}", u32::from(c), i + 1);
    Some(if c.is_control() {
        format!("contains control characters (line breaks, tabs, …): {at}")
    } else if is_format_char(c) {
        format!(
            "contains an invisible format character: {at} (bidirectional overrides, zero-width spaces and the like \
             make text read differently from what it is)"
        )
    } else {
        format!("contains a line or paragraph separator: {at}")
    })
}

/// Text for Slack's mrkdwn: `&`, `<` and `>` escaped as Slack requires, so a
/// value from the inventory cannot become a mention (`<!channel>`) or a
/// disguised link (`<http://evil|click>`).
///
/// ```
/// use keyturn_domain::slack_escape;
/// assert_eq!(slack_escape("<!channel> & <http://evil|click>"), "&lt;!channel&gt; &amp; &lt;http://evil|click&gt;");
/// ```
pub fn slack_escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_characters_are_known() {
        for c in ['\u{AD}', '\u{200B}', '\u{200E}', '\u{202E}', '\u{2066}', '\u{FEFF}', '\u{E0041}', '\u{13439}'] {
            assert!(is_format_char(c), "{c:?}");
        }
        for c in ['a', ' ', 'é', '\u{2028}', '\u{3000}', '\u{1F600}'] {
            assert!(!is_format_char(c), "{c:?}");
        }
        // Sorted and disjoint, so a range is never shadowed by a typo.
        assert!(FORMAT_CHARS.windows(2).all(|w| w[0].1 < w[1].0 && w[0].0 <= w[0].1));
    }

    #[test]
    fn forbidden_characters_are_named_by_code_point() {
        assert_eq!(forbidden_char("plain-text é"), None);
        let m = forbidden_char("ab\u{202E}c").unwrap();
        assert!(m.contains("invisible format character: U+202E at character 3"), "{m}");
        assert!(!m.contains('\u{202E}'));
        assert!(forbidden_char("a\u{2028}b").unwrap().contains("line or paragraph separator: U+2028"));
        assert!(forbidden_char("a\u{2029}b").unwrap().contains("U+2029"));
        assert!(forbidden_char("a\u{1b}[2J").unwrap().starts_with("contains control characters"));
        assert!(forbidden_char("a\u{85}b").unwrap().contains("U+0085"));
    }

    #[test]
    fn excerpts_are_short_and_escaped() {
        assert_eq!(excerpt("\u{1b}[2J"), r#""\u{1b}[2J""#);
        let long = "é".repeat(1000);
        let shown = excerpt(&long);
        assert!(shown.starts_with(&format!("\"{}\"…", "é".repeat(64))), "{shown}");
        assert!(shown.ends_with("(1000 characters)"));
    }
}
