//! The output file's lines: the header and one row per tweet to delete,
//! fields escaped as RFC 4180 says.

/// The first line of the file.
pub const HEADER: &str = "tweet_url,deleted";

/// A field as RFC 4180 writes it: quoted when it holds a comma, a double
/// quote or a line break, its quotes doubled.
pub fn field(value: &str) -> String {
    if value.contains([',', '"', '\r', '\n']) {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value.to_string()
    }
}

/// The row of a tweet decided DELETE.
pub fn row(username: &str, id: &str) -> String {
    let url = format!("https://x.com/{username}/status/{id}");
    format!("{},false", field(&url))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_fields_are_left_alone() {
        assert_eq!(
            field("https://x.com/a/status/1"),
            "https://x.com/a/status/1"
        );
        assert_eq!(field(""), "");
        assert_eq!(field("émoji 😀 'single'"), "émoji 😀 'single'");
    }

    #[test]
    fn commas_and_quotes_are_quoted_and_quotes_doubled() {
        assert_eq!(field("a,b"), "\"a,b\"");
        assert_eq!(field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(field("\""), "\"\"\"\"");
        assert_eq!(field("a\nb"), "\"a\nb\"");
    }

    #[test]
    fn rows_name_the_tweet_and_say_false() {
        assert_eq!(row("jack", "20"), "https://x.com/jack/status/20,false");
        assert_eq!(
            row("we,ird\"name", "20"),
            "\"https://x.com/we,ird\"\"name/status/20\",false"
        );
    }
}
