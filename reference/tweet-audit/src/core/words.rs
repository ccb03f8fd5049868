//! The forbidden-word rule of `gauntlet:tweet-audit/model.criteria`.

/// The two chars whose lowercase holds an ASCII char although they are not
/// ASCII: 'İ' (U+0130, lowercase "i̇", two chars) and the Kelvin sign
/// (U+212A, lowercase 'k'). A test checks there are no others.
pub const NON_ASCII_TO_ASCII: [char; 2] = ['\u{130}', '\u{212A}'];

/// The criteria's forbidden words, lowercased once.
#[derive(Clone, Debug)]
pub struct ForbiddenWords {
    lowercase: Vec<String>,
    /// Whether every word is ASCII: then [`Self::matches_in_place`]
    /// decides most texts without lowercasing them.
    ascii: bool,
    /// For each byte: whether its ASCII lowercase starts a word, or it
    /// starts the UTF-8 of a char of [`NON_ASCII_TO_ASCII`].
    stops: [bool; 256],
}

impl ForbiddenWords {
    pub fn new(words: &[String]) -> Self {
        let lowercase: Vec<String> = words
            .iter()
            .filter(|w| !w.is_empty())
            .map(|w| w.to_lowercase())
            .filter(|w| !w.is_empty())
            .collect();
        let mut stops = [false; 256];
        for byte in 0..=u8::MAX {
            stops[usize::from(byte)] = lowercase
                .iter()
                .any(|w| w.as_bytes()[0] == byte.to_ascii_lowercase());
        }
        for c in NON_ASCII_TO_ASCII {
            let mut utf8 = [0; 4];
            stops[usize::from(c.encode_utf8(&mut utf8).as_bytes()[0])] = true;
        }
        ForbiddenWords {
            ascii: lowercase.iter().all(|w| w.is_ascii()),
            lowercase,
            stops,
        }
    }

    /// Whether `text` breaks one of the words: after lowercasing both
    /// (`str::to_lowercase`), the word occurs in the text with no
    /// alphanumeric char (`char::is_alphanumeric`) right before or after
    /// that occurrence. Every occurrence counts, overlapping ones included.
    pub fn matches(&self, text: &str) -> bool {
        if self.lowercase.is_empty() {
            return false;
        }
        if let Some(found) = self.matches_in_place(text) {
            return found;
        }
        let text = text.to_lowercase();
        self.lowercase.iter().any(|word| occurs_whole(&text, word))
    }

    /// [`Self::matches`] without lowercasing `text`, when every word is
    /// ASCII and the text holds no char of [`NON_ASCII_TO_ASCII`] (else
    /// `None`). Then every ASCII char of the lowercase text is the ASCII
    /// lowercase of an ASCII char of the text, at the same place among the
    /// text's ASCII chars, and every other char is the lowercase of a
    /// non-ASCII char, alphanumeric exactly when that char is (a test
    /// checks it for every char): so a word occurs as a whole word in the
    /// lowercase text exactly where it does in the text, ignoring ASCII
    /// case. One pass over the bytes; only those a word starts with (in
    /// either case) are looked at further.
    fn matches_in_place(&self, text: &str) -> Option<bool> {
        if !self.ascii {
            return None;
        }
        let bytes = text.as_bytes();
        let mut found = false;
        for (start, &byte) in bytes.iter().enumerate() {
            if !self.stops[usize::from(byte)] {
                continue;
            }
            if !byte.is_ascii() {
                let rest = &text[start..];
                if NON_ASCII_TO_ASCII.iter().any(|&c| rest.starts_with(c)) {
                    return None;
                }
                continue;
            }
            // `start` is a char boundary (an ASCII byte), and so is the
            // end of an ASCII candidate.
            found = found
                || self.lowercase.iter().any(|word| {
                    let end = start + word.len();
                    bytes
                        .get(start..end)
                        .is_some_and(|candidate| candidate.eq_ignore_ascii_case(word.as_bytes()))
                        && is_whole(text, start, end)
                });
        }
        Some(found)
    }
}

/// Whether `word` (not empty) occurs in `text` as a whole word.
pub fn occurs_whole(text: &str, word: &str) -> bool {
    let mut from = 0;
    while let Some(at) = text[from..].find(word) {
        let start = from + at;
        let end = start + word.len();
        if is_whole(text, start, end) {
            return true;
        }
        // The next occurrence may overlap this one: go on from the next
        // char boundary after its start.
        let step = text[start..].chars().next().map_or(1, char::len_utf8);
        from = start + step;
    }
    false
}

/// Whether `text[start..end]` has no alphanumeric char right before or
/// after it.
fn is_whole(text: &str, start: usize, end: usize) -> bool {
    let before = text[..start].chars().next_back();
    let after = text[end..].chars().next();
    !before.is_some_and(char::is_alphanumeric) && !after.is_some_and(char::is_alphanumeric)
}
