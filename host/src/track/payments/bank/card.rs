//! Card-level rules of the mock bank: the format checks of a request (card
//! number, cvv) and the validity window of a card's stored expiry.

use time::{Date, Month};

/// The shortest and longest card numbers, in digits.
pub const NUMBER_DIGITS: std::ops::RangeInclusive<usize> = 13..=19;

/// The shortest and longest cvv, in digits.
pub const CVV_DIGITS: std::ops::RangeInclusive<usize> = 3..=4;

/// The first check of an authorization: the number's ASCII digits, every
/// other character skipped (as the real mock bank's validator strips
/// them), are 13 to 19 and pass the Luhn checksum.
///
/// So `"4111 1111 1111 1111"` and `"4111-1111-1111-1111"` pass this check,
/// and then fail as `invalid-card` at the lookup (4th: it compares the
/// number exactly; the brief: "a card number with spaces is not a known
/// card") unless a cvv or amount check fails first.
pub fn is_well_formed_number(number: &str) -> bool {
    let digits: Vec<u8> = number
        .bytes()
        .filter(u8::is_ascii_digit)
        .map(|b| b - b'0')
        .collect();
    NUMBER_DIGITS.contains(&digits.len()) && luhn(&digits)
}

/// The Luhn checksum over decimal digit values (0..=9), most significant
/// first: from the rightmost digit, every second digit is doubled (minus 9
/// if that exceeds 9); the sum must be a multiple of 10.
pub fn luhn(digits: &[u8]) -> bool {
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &d)| {
            let d = u32::from(d);
            if i % 2 == 1 {
                let doubled = d * 2;
                if doubled > 9 { doubled - 9 } else { doubled }
            } else {
                d
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

/// The second check of an authorization: 3 or 4 ASCII digits, nothing else
/// (no spaces).
pub fn is_well_formed_cvv(cvv: &str) -> bool {
    CVV_DIGITS.contains(&cvv.len()) && cvv.bytes().all(|b| b.is_ascii_digit())
}

/// The first millisecond (since the Unix epoch, UTC) at which a card
/// expiring `month`/`year` is expired: the start of the following month. A
/// card expiring MM/YYYY is valid through the last millisecond of that
/// month. Months before 1970 clamp to 0 (always expired). `None` if `month`
/// is not 1..=12.
pub fn expiry_end_ms(month: u8, year: u16) -> Option<u64> {
    let month = Month::try_from(month).ok()?;
    let (year, month) = match month {
        Month::December => (i32::from(year) + 1, Month::January),
        m => (i32::from(year), m.next()),
    };
    // With `large-dates`, every year up to 65536 is representable.
    let start = Date::from_calendar_date(year, month, 1).ok()?;
    let seconds = start.midnight().as_utc().unix_timestamp();
    Some(u64::try_from(seconds).map_or(0, |s| s.saturating_mul(1000)))
}

/// Whether a card expiring `month`/`year` is expired at `now_ms`. A card
/// whose stored month is not 1..=12 is always expired (a configuration
/// error that [`super::BankConfig::validate`] reports).
pub fn is_expired(month: u8, year: u16, now_ms: u64) -> bool {
    expiry_end_ms(month, year).is_none_or(|end| now_ms >= end)
}
