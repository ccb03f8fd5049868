//! The forbidden-word rule of `gauntlet:tweet-audit/model.criteria`.

/// The criteria's forbidden words, lowercased once.
#[derive(Clone, Debug, Default)]
pub struct ForbiddenWords {
    lowercase: Vec<String>,
}

impl ForbiddenWords {
    pub fn new(words: &[String]) -> Self {
        ForbiddenWords {
            lowercase: words
                .iter()
                .filter(|w| !w.is_empty())
                .map(|w| w.to_lowercase())
                .filter(|w| !w.is_empty())
                .collect(),
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
        let text = text.to_lowercase();
        self.lowercase.iter().any(|word| occurs_whole(&text, word))
    }
}

/// Whether `word` (not empty) occurs in `text` as a whole word.
pub fn occurs_whole(text: &str, word: &str) -> bool {
    let mut from = 0;
    while let Some(at) = text[from..].find(word) {
        let start = from + at;
        let end = start + word.len();
        let before = text[..start].chars().next_back();
        let after = text[end..].chars().next();
        if !before.is_some_and(char::is_alphanumeric) && !after.is_some_and(char::is_alphanumeric) {
            return true;
        }
        // The next occurrence may overlap this one: go on from the next
        // char boundary after its start.
        let step = text[start..].chars().next().map_or(1, char::len_utf8);
        from = start + step;
    }
    false
}
