//! The output's rows, escaped as RFC 4180 says.

/// The line every output starts with.
pub const HEADER: &str = "tweet_url,deleted";

/// A CSV field: quoted when it holds a comma, a double quote or a line
/// break, its quotes doubled.
pub fn field(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    push_field(&mut out, value);
    out
}

/// Appends `value` to `out` as a CSV field (see [`field`]).
fn push_field(out: &mut String, value: &str) {
    if value.contains([',', '"', '\n', '\r']) {
        out.push('"');
        out.push_str(&value.replace('"', "\"\""));
        out.push('"');
    } else {
        out.push_str(value);
    }
}

/// The row of a tweet decided DELETE.
pub fn row(username: &str, id: &str) -> String {
    const URL: &str = "https://x.com/";
    const STATUS: &str = "/status/";
    const DELETED: &str = ",false";
    let mut url = String::with_capacity(URL.len() + username.len() + STATUS.len() + id.len());
    url.push_str(URL);
    url.push_str(username);
    url.push_str(STATUS);
    url.push_str(id);
    let mut row = String::with_capacity(url.len() + DELETED.len() + 2);
    push_field(&mut row, &url);
    row.push_str(DELETED);
    row
}
