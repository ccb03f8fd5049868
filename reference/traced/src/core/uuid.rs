//! UUIDs as the collector keeps them: the 128-bit value of the 32 hex
//! digits (a [`Key`]: comparing keys is comparing the lowercase text) and
//! which digits were uppercase letters (a [`Case`]), so that an id is
//! compared case-insensitively and still returned exactly as given, in 20
//! bytes instead of a 36-byte string.

/// The value of a UUID's 32 hex digits, the first digit most significant.
pub type Key = u128;

/// Bit `i` set: hex digit `i` (from 0, dashes not counted) was an
/// uppercase letter.
pub type Case = u32;

/// The positions of the dashes in the canonical 8-4-4-4-12 form.
const DASHES: [usize; 4] = [8, 13, 18, 23];

/// `s` as a canonical UUID (36 characters, 8-4-4-4-12 hex digits of either
/// case, any version), or `None`.
pub fn parse(s: &str) -> Option<(Key, Case)> {
    let bytes = s.as_bytes();
    if bytes.len() != 36 {
        return None;
    }
    let mut key: Key = 0;
    let mut case: Case = 0;
    let mut digit = 0;
    for (i, &b) in bytes.iter().enumerate() {
        if DASHES.contains(&i) {
            if b != b'-' {
                return None;
            }
            continue;
        }
        let value = match b {
            b'0'..=b'9' => b - b'0',
            b'a'..=b'f' => b - b'a' + 10,
            b'A'..=b'F' => {
                case |= 1 << digit;
                b - b'A' + 10
            }
            _ => return None,
        };
        key = key << 4 | Key::from(value);
        digit += 1;
    }
    Some((key, case))
}

/// The text [`parse`] read `(key, case)` from.
pub fn format(key: Key, case: Case) -> String {
    let mut s = String::with_capacity(36);
    for digit in 0..32 {
        if matches!(digit, 8 | 12 | 16 | 20) {
            s.push('-');
        }
        let value = ((key >> (124 - 4 * digit)) & 0xf) as u8;
        let c = match value {
            0..=9 => b'0' + value,
            _ if case & (1 << digit) != 0 => b'A' + value - 10,
            _ => b'a' + value - 10,
        };
        s.push(char::from(c));
    }
    s
}
