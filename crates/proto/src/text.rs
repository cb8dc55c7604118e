//! Text people read: device names and the like. A name is shown in device lists, OS
//! notifications and terminals, where invisible or direction-changing characters could
//! make it say something it does not ("Work laptop" with a zero-width space is another
//! device that looks the same; a right-to-left override reverses what follows). The
//! server refuses such names; every client shows stored text through
//! [`for_display`], so even a name stored before that rule cannot mislead.

use std::borrow::Cow;

use unicode_properties::{GeneralCategory, UnicodeGeneralCategory as _};

/// Whether `c` must not appear in a name people read: control and format characters
/// (bidi controls U+202A–U+202E and U+2066–U+2069, zero-width U+200B–U+200F, U+2060,
/// U+FEFF, soft hyphen, …), line and paragraph separators, private-use, unassigned and
/// surrogate code points, and letters and marks that render as nothing (Hangul fillers,
/// the combining grapheme joiner, Khmer inherent vowels, the blank Braille pattern).
pub fn is_deceptive(c: char) -> bool {
    use GeneralCategory::*;
    matches!(
        c.general_category(),
        Control | Format | Surrogate | PrivateUse | Unassigned | LineSeparator | ParagraphSeparator
    ) || matches!(
        c,
        '\u{034F}'
            | '\u{115F}'
            | '\u{1160}'
            | '\u{17B4}'
            | '\u{17B5}'
            | '\u{2800}'
            | '\u{3164}'
            | '\u{FFA0}'
    )
}

/// The first character of `s` that [`is_deceptive`], if any.
pub fn first_deceptive(s: &str) -> Option<char> {
    s.chars().find(|&c| is_deceptive(c))
}

/// Every kind of space (no-break, ideographic, thin, …) written as a plain space, runs of
/// spaces as one, and no space at either end: two names that look the same are the same.
pub fn normalize_spaces(s: &str) -> Cow<'_, str> {
    let plain = s
        .chars()
        .all(|c| c.general_category() != GeneralCategory::SpaceSeparator || c == ' ')
        && !s.contains("  ")
        && s.trim() == s;
    if plain {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        let c = if c.general_category() == GeneralCategory::SpaceSeparator {
            ' '
        } else {
            c
        };
        if c == ' ' && (out.is_empty() || out.ends_with(' ')) {
            continue;
        }
        out.push(c);
    }
    while out.ends_with(' ') {
        out.pop();
    }
    Cow::Owned(out)
}

/// `s` safe to print: every deceptive character replaced by U+FFFD (a visible "�"), so a
/// terminal or a notification shows that something is there instead of obeying it.
pub fn for_display(s: &str) -> Cow<'_, str> {
    if first_deceptive(s).is_none() {
        return Cow::Borrowed(s);
    }
    Cow::Owned(
        s.chars()
            .map(|c| if is_deceptive(c) { '\u{FFFD}' } else { c })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invisible_and_direction_changing_characters_are_deceptive() {
        for c in [
            '\u{202A}',
            '\u{202B}',
            '\u{202C}',
            '\u{202D}',
            '\u{202E}',
            '\u{2066}',
            '\u{2067}',
            '\u{2068}',
            '\u{2069}',
            '\u{200B}',
            '\u{200C}',
            '\u{200D}',
            '\u{200E}',
            '\u{200F}',
            '\u{2060}',
            '\u{FEFF}',
            '\u{2028}',
            '\u{2029}',
            '\u{00AD}',
            '\u{0007}',
            '\n',
            '\u{E000}',
            '\u{3164}',
            '\u{115F}',
            '\u{034F}',
            '\u{E0041}',
        ] {
            assert!(is_deceptive(c), "U+{:04X}", c as u32);
        }
        for ok in [
            "Work laptop",
            "Łukasz's 📱",
            "ноутбук",
            "笔记本电脑",
            "café ❤️",
            "מחשב נייד",
        ] {
            assert_eq!(first_deceptive(ok), None, "{ok}");
        }
    }

    #[test]
    fn display_shows_that_something_is_there() {
        assert_eq!(for_display("Work laptop"), "Work laptop");
        assert_eq!(for_display("\u{202E}gnp.exe"), "\u{FFFD}gnp.exe");
        assert_eq!(for_display("a\u{200B}b\nc"), "a\u{FFFD}b\u{FFFD}c");
    }

    #[test]
    fn every_space_is_one_plain_space() {
        assert_eq!(normalize_spaces("Work laptop"), "Work laptop");
        assert_eq!(
            normalize_spaces("\u{3000}Work\u{00A0}\u{2009} laptop "),
            "Work laptop"
        );
    }
}
