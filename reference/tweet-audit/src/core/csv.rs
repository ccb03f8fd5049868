//! The output's rows, escaped as RFC 4180 says.

/// The line every output starts with.
pub const HEADER: &str = "tweet_url,deleted";

/// A CSV field: quoted when it holds a comma, a double quote or a line
/// break, its quotes doubled.
pub fn field(value: &str) -> String {
    if value.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value.to_string()
    }
}

/// The row of a tweet decided DELETE.
pub fn row(username: &str, id: &str) -> String {
    format!(
        "{},false",
        field(&format!("https://x.com/{username}/status/{id}"))
    )
}
