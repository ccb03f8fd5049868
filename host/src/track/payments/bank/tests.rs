use time::{Date, Month};

use super::card::{expiry_end_ms, is_expired, is_well_formed_cvv, is_well_formed_number, luhn};
use super::*;

const VISA: &str = "4111111111111111";
const VISA_500: &str = "4242424242424242";
const MC_ZERO: &str = "5555555555554444";
const MC_EXPIRED: &str = "5105105105105100";
/// Passes Luhn and the length check, but no test card has it.
const UNKNOWN: &str = "4000056655665556";

/// Milliseconds since the epoch at midnight UTC of a date.
fn ms(year: i32, month: u8, day: u8) -> u64 {
    let date = Date::from_calendar_date(year, Month::try_from(month).unwrap(), day).unwrap();
    u64::try_from(date.midnight().as_utc().unix_timestamp()).unwrap() * 1000
}

/// 2026-01-01T00:00:00Z: every test card but the expired one is valid.
fn t0() -> u64 {
    ms(2026, 1, 1)
}

fn req(number: &str) -> CardRequest {
    let card = test_cards()
        .into_iter()
        .find(|c| c.number == number)
        .unwrap();
    CardRequest::for_card(&card)
}

fn with_cvv(number: &str, cvv: &str) -> CardRequest {
    CardRequest {
        cvv: cvv.to_string(),
        ..req(number)
    }
}

fn raw(number: &str, cvv: &str) -> CardRequest {
    CardRequest::new(number, cvv, 12, 2030)
}

fn balances(bank: &Bank, number: &str) -> (u64, u64) {
    let c = bank.card(number).unwrap();
    (c.balance, c.available)
}

#[track_caller]
fn assert_sound(bank: &Bank) {
    let problems = bank.reconcile();
    assert!(problems.is_empty(), "{problems:#?}");
}

/// A fresh key each call.
struct Keys(u32);

impl Keys {
    fn next(&mut self) -> String {
        self.0 += 1;
        format!("k{}", self.0)
    }
}

fn keys() -> Keys {
    Keys(0)
}

// ---- test cards and configuration -------------------------------------------

#[test]
fn the_test_cards_are_the_briefs() {
    let cards = test_cards();
    let summary: Vec<_> = cards
        .iter()
        .map(|c| {
            (
                c.number.as_str(),
                c.cvv.as_str(),
                c.expiry_month,
                c.expiry_year,
                c.balance,
                c.available,
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            (VISA, "123", 12, 2030, 1_000_000, 1_000_000),
            (VISA_500, "456", 6, 2030, 50_000, 50_000),
            (MC_ZERO, "789", 9, 2030, 0, 0),
            (MC_EXPIRED, "321", 3, 2020, 500_000, 500_000),
        ]
    );
    for c in &cards {
        assert!(is_well_formed_number(&c.number), "{}", c.number);
    }
    assert!(BankConfig::default().validate().is_ok());
}

#[test]
fn default_config() {
    let config = BankConfig::default();
    assert_eq!(config.cards, test_cards());
    assert_eq!(config.authorization_ttl_ms, 168 * 3_600_000);
    assert_eq!(config.idempotency_ttl_ms, 24 * 3_600_000);
    let bank = Bank::default();
    assert_eq!(bank.authorization_ttl_ms(), 604_800_000);
    assert_eq!(bank.idempotency_ttl_ms(), 86_400_000);
}

#[test]
fn cards_iterate_in_number_order_and_later_duplicates_replace() {
    let mut config = BankConfig::default();
    config.cards.push(CardAccount::new(VISA, "999", 1, 2040, 7));
    config
        .cards
        .push(CardAccount::new("378282246310005", "1234", 1, 2040, 7));
    let bank = Bank::new(config);
    let numbers: Vec<_> = bank.cards().map(|c| c.number.as_str()).collect();
    assert_eq!(
        numbers,
        ["378282246310005", VISA, VISA_500, MC_EXPIRED, MC_ZERO]
    );
    assert_eq!(bank.card(VISA).unwrap().cvv, "999");
    assert_eq!(bank.card(VISA).unwrap().balance, 7);
    assert!(bank.card("4111 1111 1111 1111").is_none());
    assert_eq!(
        bank.initial_cards().collect::<Vec<_>>(),
        bank.cards().collect::<Vec<_>>()
    );
}

#[test]
fn validate_rejects_unsound_cards() {
    let bad = [
        CardAccount::new("4111 1111 1111 1111", "123", 12, 2030, 1),
        CardAccount::new("4111111111111112", "123", 12, 2030, 1),
        CardAccount::new("411111111111", "123", 12, 2030, 1),
        CardAccount::new(VISA, "12", 12, 2030, 1),
        CardAccount::new(VISA, "12a", 12, 2030, 1),
        CardAccount::new(VISA, "123", 0, 2030, 1),
        CardAccount::new(VISA, "123", 13, 2030, 1),
        CardAccount {
            available: 2,
            ..CardAccount::new(VISA, "123", 12, 2030, 1)
        },
    ];
    for card in bad {
        let config = BankConfig {
            cards: vec![card.clone()],
            ..BankConfig::default()
        };
        assert!(config.validate().is_err(), "{card:?}");
    }
    let good = BankConfig {
        cards: vec![
            CardAccount::new("378282246310005", "1234", 1, 2040, 0),
            CardAccount {
                available: 1,
                ..CardAccount::new(VISA, "000", 12, 1999, 5)
            },
        ],
        ..BankConfig::default()
    };
    assert_eq!(good.validate(), Ok(()));
}

// ---- format checks ------------------------------------------------------------

#[test]
fn luhn_and_lengths() {
    assert!(luhn(&[7, 9, 9, 2, 7, 3, 9, 8, 7, 1, 3]));
    assert!(!luhn(&[7, 9, 9, 2, 7, 3, 9, 8, 7, 1, 4]));
    assert!(is_well_formed_number(VISA));
    assert!(is_well_formed_number(UNKNOWN));
    assert!(!is_well_formed_number("4111111111111112"));
    // 13 and 19 digits pass; 12 and 20 do not, Luhn-valid all.
    assert!(is_well_formed_number("4222222222222"));
    assert!(is_well_formed_number("6011000000000000001"));
    assert!(!is_well_formed_number("000000000000"));
    assert!(is_well_formed_number("0000000000000"));
    assert!(is_well_formed_number("0000000000000000000"));
    assert!(!is_well_formed_number("00000000000000000000"));
    assert!(!is_well_formed_number(""));
    assert!(!is_well_formed_number("   "));
    // Every character but an ASCII digit is skipped before the length and
    // Luhn checks (the real validator strips them).
    assert!(is_well_formed_number("4111 1111 1111 1111"));
    assert!(is_well_formed_number(" 4111111111111111 "));
    assert!(is_well_formed_number("4111-1111-1111-1111"));
    assert!(is_well_formed_number("4111\t1111\t1111\t1111"));
    assert!(is_well_formed_number("+4111111111111111"));
    assert!(is_well_formed_number("card 4111111111111111!"));
    // What is left must still be 13 to 19 digits passing Luhn: a letter
    // or a non-ASCII digit is no digit.
    assert!(!is_well_formed_number("411111111111111a"));
    assert!(!is_well_formed_number("４111111111111111"));
    assert!(!is_well_formed_number("4111-1111-1111-1112"));
    assert!(!is_well_formed_number("abcd"));
}

#[test]
fn cvv_format() {
    for ok in ["000", "123", "1234", "0000"] {
        assert!(is_well_formed_cvv(ok), "{ok}");
    }
    for bad in ["", "1", "12", "12345", "12a", " 123", "123 ", "1 3", "١٢٣"] {
        assert!(!is_well_formed_cvv(bad), "{bad}");
    }
}

#[test]
fn stored_expiry_is_valid_through_the_last_millisecond_of_its_month() {
    assert_eq!(expiry_end_ms(3, 2020), Some(ms(2020, 4, 1)));
    assert_eq!(expiry_end_ms(12, 2030), Some(ms(2031, 1, 1)));
    assert_eq!(expiry_end_ms(2, 2028), Some(ms(2028, 3, 1)));
    assert_eq!(expiry_end_ms(12, 1969), Some(0));
    assert_eq!(expiry_end_ms(1, 1900), Some(0));
    assert!(expiry_end_ms(12, u16::MAX).is_some());
    assert_eq!(expiry_end_ms(0, 2030), None);
    assert_eq!(expiry_end_ms(13, 2030), None);

    let end = ms(2020, 4, 1);
    assert!(!is_expired(3, 2020, end - 1));
    assert!(is_expired(3, 2020, end));
    // Leap year: February 29th is still valid.
    assert!(!is_expired(2, 2028, ms(2028, 2, 29) + 86_399_999));
    assert!(is_expired(2, 2028, ms(2028, 3, 1)));
    assert!(is_expired(13, 2030, 0));
    assert!(is_expired(0, 2030, 0));
    assert!(!is_expired(1, u16::MAX, u64::from(u32::MAX) * 1000));
    assert!(is_expired(1, 2030, u64::MAX));
}

// ---- authorize: every check, in order ------------------------------------------

#[test]
fn authorize_checks_in_order_for_every_test_card() {
    let now = t0();
    for card in test_cards() {
        let n = card.number.as_str();
        let mut bank = Bank::default();
        let mut k = keys();
        let mut bad_luhn = n.to_string();
        let last = bad_luhn.pop().unwrap();
        bad_luhn.push(if last == '9' {
            '0'
        } else {
            char::from(last as u8 + 1)
        });
        let too_long = format!("{n}0000");
        let cases: Vec<(CardRequest, u64, BankError)> = vec![
            // 1. format and Luhn, before everything else.
            (raw(&bad_luhn, "x"), 0, BankError::InvalidCard),
            (raw(&n[..12], "x"), 0, BankError::InvalidCard),
            (raw(&too_long, "x"), 0, BankError::InvalidCard),
            (
                raw(&format!("{}-{}", &n[..4], &bad_luhn[4..]), "x"),
                0,
                BankError::InvalidCard,
            ),
            (raw(&format!("{n}1x"), "x"), 0, BankError::InvalidCard),
            // A separator or a letter is skipped: the cvv is next.
            (
                raw(&format!("{}-{}", &n[..4], &n[4..]), "x"),
                0,
                BankError::InvalidCvv,
            ),
            (raw(&format!("{n}x"), "x"), 0, BankError::InvalidCvv),
            // 2. cvv format, before the amount.
            (with_cvv(n, "12"), 0, BankError::InvalidCvv),
            (with_cvv(n, "12345"), 0, BankError::InvalidCvv),
            (with_cvv(n, "1a3"), 0, BankError::InvalidCvv),
            (with_cvv(n, ""), 0, BankError::InvalidCvv),
            // 3. amount, before the lookup.
            (raw(UNKNOWN, "000"), 0, BankError::InvalidAmount),
            (with_cvv(n, "000"), 0, BankError::InvalidAmount),
            // 4. known card, before the cvv match.
            (raw(UNKNOWN, "000"), 1, BankError::InvalidCard),
            // 5. cvv match, before expiry and funds (even a 4-digit one).
            (with_cvv(n, "000"), u64::MAX, BankError::InvalidCvv),
            (
                with_cvv(n, &format!("{}0", card.cvv)),
                1,
                BankError::InvalidCvv,
            ),
        ];
        for (request, amount, expected) in cases {
            let got = bank.authorize(now, &request, amount, &k.next());
            assert_eq!(got, Err(expected), "{request:?} amount {amount}");
        }
        // 6. stored expiry, before funds; 7. funds.
        let good = req(n);
        let expected = match n {
            MC_EXPIRED => Err(BankError::CardExpired),
            _ => Ok(()),
        };
        assert_eq!(
            bank.authorize(now, &good, u64::MAX, &k.next()).map(|_| ()),
            expected.and(Err(BankError::InsufficientFunds))
        );
        let affordable = card.available.max(1);
        let result = bank.authorize(now, &good, affordable, &k.next());
        match n {
            MC_EXPIRED => assert_eq!(result, Err(BankError::CardExpired)),
            MC_ZERO => assert_eq!(result, Err(BankError::InsufficientFunds)),
            _ => {
                let a = result.unwrap();
                assert_eq!(a.amount, affordable);
                assert_eq!(balances(&bank, n), (card.balance, 0));
                assert_eq!(
                    bank.authorize(now, &good, 1, &k.next()),
                    Err(BankError::InsufficientFunds)
                );
            }
        }
        // No failure had an effect or left a record behind.
        let fresh = bank.ledger().iter().filter(|e| e.took_effect()).count();
        assert_eq!(fresh, bank.authorizations().count());
        assert!(fresh <= 1);
        assert_sound(&bank);
    }
}

#[test]
fn a_number_with_separators_passes_the_format_check_and_is_not_a_known_card() {
    let mut bank = Bank::default();
    let now = t0();
    let spaced = "4111 1111 1111 1111";
    assert_eq!(
        bank.authorize(now, &raw(spaced, "12"), 0, "a"),
        Err(BankError::InvalidCvv)
    );
    assert_eq!(
        bank.authorize(now, &raw(spaced, "123"), 0, "b"),
        Err(BankError::InvalidAmount)
    );
    assert_eq!(
        bank.authorize(now, &raw(spaced, "123"), 100, "c"),
        Err(BankError::InvalidCard)
    );
    // So does one with other separators.
    assert_eq!(
        bank.authorize(now, &raw("4111-1111-1111-1111", "12"), 0, "d"),
        Err(BankError::InvalidCvv)
    );
    assert_eq!(
        bank.authorize(now, &raw("4111-1111-1111-1111", "123"), 100, "e"),
        Err(BankError::InvalidCard)
    );
    assert_eq!(bank.authorizations().count(), 0);
    assert_sound(&bank);
}

#[test]
fn the_requests_expiry_is_never_compared() {
    let mut bank = Bank::default();
    let now = t0();
    for (i, (month, year)) in [(1, 1999), (0, 0), (13, 65535), (6, 2030)]
        .into_iter()
        .enumerate()
    {
        let request = CardRequest::new(VISA, "123", month, year);
        assert!(bank.authorize(now, &request, 100, &format!("k{i}")).is_ok());
    }
    // And the expired card stays expired whatever the request claims.
    let request = CardRequest::new(MC_EXPIRED, "321", 12, 2099);
    assert_eq!(
        bank.authorize(now, &request, 100, "x"),
        Err(BankError::CardExpired)
    );
    assert_sound(&bank);
}

#[test]
fn the_stored_expiry_decides_at_the_month_boundary() {
    let mut bank = Bank::default();
    let end = ms(2020, 4, 1);
    let expired = req(MC_EXPIRED);
    let a = bank.authorize(end - 1, &expired, 100, "a").unwrap();
    assert_eq!(a.created_ms, end - 1);
    assert_eq!(
        bank.authorize(end, &expired, 100, "b"),
        Err(BankError::CardExpired)
    );
    // A card expired since its authorization can still be captured.
    assert!(bank.capture(end + 1, &a.id, 100, "c").is_ok());
    assert_eq!(balances(&bank, MC_EXPIRED), (499_900, 499_900));

    // 12/2030 is good through 2030-12-31T23:59:59.999Z.
    let visa = req(VISA);
    assert!(bank.authorize(ms(2031, 1, 1) - 1, &visa, 1, "d").is_ok());
    assert_eq!(
        bank.authorize(ms(2031, 1, 1), &visa, 1, "e"),
        Err(BankError::CardExpired)
    );
    assert_sound(&bank);
}

#[test]
fn amounts_at_the_edges() {
    let mut bank = Bank::default();
    let now = t0();
    let visa = req(VISA);
    assert_eq!(
        bank.authorize(now, &visa, 0, "a"),
        Err(BankError::InvalidAmount)
    );
    assert_eq!(
        bank.authorize(now, &visa, 1_000_001, "b"),
        Err(BankError::InsufficientFunds)
    );
    let all = bank.authorize(now, &visa, 1_000_000, "c").unwrap();
    assert_eq!(balances(&bank, VISA), (1_000_000, 0));
    assert!(bank.capture(now, &all.id, 1_000_000, "d").is_ok());
    assert_eq!(balances(&bank, VISA), (0, 0));
    assert_sound(&bank);
}

// ---- balances ---------------------------------------------------------------------

#[test]
fn balances_through_every_operation() {
    let mut bank = Bank::default();
    let now = t0();
    let visa = req(VISA);

    let a1 = bank.authorize(now, &visa, 10_000, "a1").unwrap();
    assert_eq!(balances(&bank, VISA), (1_000_000, 990_000));
    let a2 = bank.authorize(now, &visa, 2_500, "a2").unwrap();
    assert_eq!(balances(&bank, VISA), (1_000_000, 987_500));
    assert_eq!(bank.held(VISA), 12_500);

    let c1 = bank.capture(now + 1, &a1.id, 10_000, "c1").unwrap();
    assert_eq!(balances(&bank, VISA), (990_000, 987_500));
    assert_eq!(bank.held(VISA), 2_500);

    bank.void(now + 2, &a2.id, "v2").unwrap();
    assert_eq!(balances(&bank, VISA), (990_000, 990_000));
    assert_eq!(bank.held(VISA), 0);

    bank.refund(now + 3, &c1.id, 10_000, "r1").unwrap();
    assert_eq!(balances(&bank, VISA), (1_000_000, 1_000_000));

    // Other cards untouched.
    assert_eq!(balances(&bank, VISA_500), (50_000, 50_000));

    let effects: Vec<_> = bank
        .ledger()
        .iter()
        .filter_map(|e| e.effect.clone())
        .collect();
    let card_number = VISA.to_string();
    assert_eq!(
        effects,
        [
            Effect::Hold {
                card_number: card_number.clone(),
                amount: 10_000
            },
            Effect::Hold {
                card_number: card_number.clone(),
                amount: 2_500
            },
            Effect::Debit {
                card_number: card_number.clone(),
                amount: 10_000
            },
            Effect::Release {
                card_number: card_number.clone(),
                amount: 2_500
            },
            Effect::Credit {
                card_number,
                amount: 10_000
            },
        ]
    );
    assert_sound(&bank);
}

#[test]
fn the_500_dollar_card_holds() {
    let mut bank = Bank::default();
    let now = t0();
    let card = req(VISA_500);
    let first = bank.authorize(now, &card, 30_000, "p1-auth").unwrap();
    assert_eq!(balances(&bank, VISA_500), (50_000, 20_000));
    assert_eq!(
        bank.authorize(now + 1, &card, 30_000, "p2-auth"),
        Err(BankError::InsufficientFunds)
    );
    bank.void(now + 2, &first.id, "p1-void").unwrap();
    assert_eq!(balances(&bank, VISA_500), (50_000, 50_000));
    // The failed key was not remembered: the same key now succeeds.
    let second = bank.authorize(now + 3, &card, 30_000, "p2-auth").unwrap();
    assert_eq!(second.id, "auth-000002");
    assert_eq!(balances(&bank, VISA_500), (50_000, 20_000));
    assert_sound(&bank);
}

// ---- capture and authorization expiry ---------------------------------------------

#[test]
fn capture_at_the_expiry_instant_and_one_millisecond_after() {
    let now = t0();
    let ttl = 168 * 3_600_000;
    let mut bank = Bank::default();
    let visa = req(VISA);
    let a = bank.authorize(now, &visa, 500, "a").unwrap();
    let b = bank.authorize(now, &visa, 700, "b").unwrap();
    assert_eq!(a.expires_ms, now + ttl);

    let c = bank.capture(now + ttl, &a.id, 500, "ca").unwrap();
    assert_eq!(c.created_ms, now + ttl);
    assert_eq!(
        bank.capture(now + ttl + 1, &b.id, 700, "cb"),
        Err(BankError::AuthorizationExpired)
    );
    // Nothing marks it expired or releases its hold.
    assert_eq!(
        bank.authorization_status(&b.id),
        Some(AuthorizationStatus::Active)
    );
    assert_eq!(balances(&bank, VISA), (999_500, 998_800));
    // Still expired later, whatever the amount: expiry comes before the
    // amount check.
    assert_eq!(
        bank.capture(now + 10 * ttl, &b.id, 1, "cb2"),
        Err(BankError::AuthorizationExpired)
    );
    // Voiding an expired authorization works and releases the hold.
    let v = bank.void(now + ttl + 2, &b.id, "vb").unwrap();
    assert_eq!(v.authorization_id, b.id);
    assert_eq!(balances(&bank, VISA), (999_500, 999_500));
    assert_eq!(
        bank.authorization_status(&b.id),
        Some(AuthorizationStatus::Voided)
    );
    // Now used: already-used comes before expiry.
    assert_eq!(
        bank.capture(now + ttl + 3, &b.id, 700, "cb3"),
        Err(BankError::AlreadyUsed)
    );
    assert_sound(&bank);
}

#[test]
fn a_configured_authorization_ttl() {
    let mut bank = Bank::new(BankConfig {
        authorization_ttl_ms: 1000,
        ..BankConfig::default()
    });
    let a = bank.authorize(5, &req(VISA), 10, "a").unwrap();
    assert_eq!(a.expires_ms, 1005);
    assert_eq!(
        bank.capture(1006, &a.id, 10, "c"),
        Err(BankError::AuthorizationExpired)
    );
    assert!(bank.capture(1005, &a.id, 10, "c").is_ok());
    // The expiry instant saturates instead of overflowing.
    let mut bank = Bank::new(BankConfig {
        authorization_ttl_ms: u64::MAX,
        ..BankConfig::default()
    });
    let a = bank.authorize(t0(), &req(VISA), 10, "a").unwrap();
    assert_eq!(a.expires_ms, u64::MAX);
    assert!(bank.capture(u64::MAX, &a.id, 10, "c").is_ok());
    assert_sound(&bank);
}

#[test]
fn capture_checks_in_order() {
    let now = t0();
    let mut bank = Bank::default();
    let visa = req(VISA);
    let a = bank.authorize(now, &visa, 1_000, "a").unwrap();
    // unknown (whatever else is wrong)
    for id in [
        "auth-000002",
        "",
        "AUTH-000001",
        "cap-000001",
        " auth-000001",
    ] {
        assert_eq!(
            bank.capture(now + 10 * DEFAULT_AUTHORIZATION_TTL_MS, id, 0, id),
            Err(BankError::UnknownAuthorization),
            "{id:?}"
        );
    }
    // amount differs (0, less, more); the authorization stays capturable.
    for (i, amount) in [0, 999, 1_001, u64::MAX].into_iter().enumerate() {
        assert_eq!(
            bank.capture(now, &a.id, amount, &format!("m{i}")),
            Err(BankError::AmountMismatch)
        );
    }
    assert_eq!(
        bank.authorization_status(&a.id),
        Some(AuthorizationStatus::Active)
    );
    assert_eq!(balances(&bank, VISA), (1_000_000, 999_000));
    let c = bank.capture(now, &a.id, 1_000, "c").unwrap();
    assert_eq!(c.authorization_id, a.id);
    assert_eq!(c.amount, 1_000);
    // already used comes before expiry and amount
    assert_eq!(
        bank.capture(now + 10 * DEFAULT_AUTHORIZATION_TTL_MS, &a.id, 0, "c2"),
        Err(BankError::AlreadyUsed)
    );
    assert_sound(&bank);
}

#[test]
fn every_already_used_combination() {
    let now = t0();
    let visa = req(VISA);
    // capture twice
    let mut bank = Bank::default();
    let a = bank.authorize(now, &visa, 100, "a").unwrap();
    bank.capture(now, &a.id, 100, "c1").unwrap();
    assert_eq!(
        bank.capture(now, &a.id, 100, "c2"),
        Err(BankError::AlreadyUsed)
    );
    // void after capture
    assert_eq!(bank.void(now, &a.id, "v1"), Err(BankError::AlreadyUsed));
    // ...and after its refund
    let c = bank.capture_of(&a.id).unwrap().clone();
    bank.refund(now, &c.id, 100, "r1").unwrap();
    assert_eq!(bank.void(now, &a.id, "v2"), Err(BankError::AlreadyUsed));
    assert_eq!(
        bank.capture(now, &a.id, 100, "c3"),
        Err(BankError::AlreadyUsed)
    );
    assert_eq!(balances(&bank, VISA), (1_000_000, 1_000_000));
    assert_sound(&bank);

    // void twice, capture after void
    let mut bank = Bank::default();
    let a = bank.authorize(now, &visa, 100, "a").unwrap();
    bank.void(now, &a.id, "v1").unwrap();
    assert_eq!(bank.void(now, &a.id, "v2"), Err(BankError::AlreadyUsed));
    assert_eq!(
        bank.capture(now, &a.id, 100, "c1"),
        Err(BankError::AlreadyUsed)
    );
    // already-used comes before the amount check too
    assert_eq!(
        bank.capture(now, &a.id, 5, "c2"),
        Err(BankError::AlreadyUsed)
    );
    assert_eq!(balances(&bank, VISA), (1_000_000, 1_000_000));
    assert_eq!(bank.captures().count(), 0);
    assert_eq!(bank.voids().count(), 1);
    assert_sound(&bank);
}

#[test]
fn void_checks() {
    let now = t0();
    let mut bank = Bank::default();
    assert_eq!(
        bank.void(now, "auth-000001", "v"),
        Err(BankError::UnknownAuthorization)
    );
    let a = bank.authorize(now, &req(VISA_500), 50_000, "a").unwrap();
    assert_eq!(
        bank.void(now, "cap-000001", "v"),
        Err(BankError::UnknownAuthorization)
    );
    let v = bank.void(now + 7, &a.id, "v").unwrap();
    assert_eq!(
        v,
        VoidReceipt {
            id: "void-000001".into(),
            authorization_id: a.id.clone(),
            created_ms: now + 7
        }
    );
    assert_eq!(bank.get_void(&v.id), Some(v.clone()));
    assert_eq!(bank.void_of(&a.id), Some(&v));
    assert_sound(&bank);
}

// ---- refund ---------------------------------------------------------------------

#[test]
fn refund_checks_in_order() {
    let now = t0();
    let mut bank = Bank::default();
    let a = bank.authorize(now, &req(VISA), 4_200, "a").unwrap();
    for id in ["cap-000001", "", &a.id] {
        assert_eq!(
            bank.refund(now, id, 4_200, id),
            Err(BankError::UnknownCapture),
            "{id:?}"
        );
    }
    let c = bank.capture(now, &a.id, 4_200, "c").unwrap();
    for (i, amount) in [0, 1, 4_199, 4_201, u64::MAX].into_iter().enumerate() {
        assert_eq!(
            bank.refund(now, &c.id, amount, &format!("m{i}")),
            Err(BankError::AmountMismatch)
        );
    }
    assert_eq!(balances(&bank, VISA), (995_800, 995_800));
    let r = bank.refund(now + 1, &c.id, 4_200, "r").unwrap();
    assert_eq!(
        r,
        Refund {
            id: "ref-000001".into(),
            capture_id: c.id.clone(),
            amount: 4_200,
            created_ms: now + 1
        }
    );
    assert_eq!(balances(&bank, VISA), (1_000_000, 1_000_000));
    assert_eq!(
        bank.refund(now + 2, &c.id, 4_200, "r2"),
        Err(BankError::AlreadyRefunded)
    );
    // The amount check comes before already-refunded.
    assert_eq!(
        bank.refund(now + 2, &c.id, 1, "r3"),
        Err(BankError::AmountMismatch)
    );
    // Refunds work long after the authorization's expiry.
    let a2 = bank.authorize(now, &req(VISA), 10, "a2").unwrap();
    let c2 = bank.capture(now, &a2.id, 10, "c2").unwrap();
    assert!(
        bank.refund(now + 100 * DEFAULT_AUTHORIZATION_TTL_MS, &c2.id, 10, "r4")
            .is_ok()
    );
    assert_eq!(balances(&bank, VISA), (1_000_000, 1_000_000));
    let captures: Vec<_> = bank
        .captures()
        .map(|(c, r)| (c.id.as_str(), r.map(|r| r.id.as_str())))
        .collect();
    assert_eq!(
        captures,
        [
            ("cap-000001", Some("ref-000001")),
            ("cap-000002", Some("ref-000002"))
        ]
    );
    assert_sound(&bank);
}

// ---- reading back -----------------------------------------------------------------

#[test]
fn reading_an_authorization_back_always_says_approved() {
    let now = t0();
    let mut bank = Bank::default();
    let visa = req(VISA);
    let a = bank.authorize(now, &visa, 100, "a").unwrap();
    let b = bank.authorize(now, &visa, 200, "b").unwrap();
    let c = bank.authorize(now, &visa, 300, "c").unwrap();
    assert_eq!(
        a,
        Authorization {
            id: "auth-000001".into(),
            card_number: VISA.into(),
            amount: 100,
            created_ms: now,
            expires_ms: now + DEFAULT_AUTHORIZATION_TTL_MS,
        }
    );
    let cap = bank.capture(now, &a.id, 100, "ca").unwrap();
    bank.void(now, &b.id, "vb").unwrap();
    let later = now + 2 * DEFAULT_AUTHORIZATION_TTL_MS;
    assert_eq!(
        bank.capture(later, &c.id, 300, "cc"),
        Err(BankError::AuthorizationExpired)
    );
    assert_eq!(bank.get_authorization(&a.id), Some(a.clone()));
    assert_eq!(bank.get_authorization(&b.id), Some(b.clone()));
    assert_eq!(bank.get_authorization(&c.id), Some(c.clone()));
    assert_eq!(bank.get_authorization("auth-000004"), None);
    assert_eq!(bank.get_capture(&cap.id), Some(cap.clone()));
    assert_eq!(bank.get_capture("cap-000002"), None);
    assert_eq!(bank.get_refund("ref-000001"), None);
    let r = bank.refund(later, &cap.id, 100, "r").unwrap();
    assert_eq!(bank.get_refund(&r.id), Some(r.clone()));
    assert_eq!(bank.refund_of(&cap.id), Some(&r));
    assert_eq!(bank.capture_of(&a.id), Some(&cap));
    assert_eq!(bank.capture_of(&b.id), None);

    // The true states, for the checks.
    let states: Vec<_> = bank
        .authorizations()
        .map(|(a, s)| (a.id.as_str(), s))
        .collect();
    assert_eq!(
        states,
        [
            ("auth-000001", AuthorizationStatus::Captured),
            ("auth-000002", AuthorizationStatus::Voided),
            ("auth-000003", AuthorizationStatus::Active),
        ]
    );
    let record = bank.authorization_record(&b.id).unwrap();
    assert_eq!(record.void_id.as_deref(), Some("void-000001"));
    assert_eq!(record.capture_id, None);
    assert!(!record.holds());
    assert!(bank.authorization_record(&c.id).unwrap().holds());
    assert_eq!(bank.held(VISA), 300);
    assert_eq!(
        bank.capture_record(&cap.id).unwrap().refund_id.as_deref(),
        Some("ref-000001")
    );
    assert_sound(&bank);
}

// ---- idempotency ---------------------------------------------------------------------

#[test]
fn a_reused_key_replays_the_first_answer_whatever_the_body() {
    let now = t0();
    let mut bank = Bank::default();
    let a = bank.authorize(now, &req(VISA), 1_000, "pay-1").unwrap();
    // Different amount, different card, even an invalid one: same answer.
    for (request, amount) in [
        (req(VISA), 1_000),
        (req(VISA), 2_000),
        (req(VISA_500), 5),
        (raw("nonsense", ""), 0),
    ] {
        assert_eq!(
            bank.authorize(now + 5, &request, amount, "pay-1"),
            Ok(a.clone())
        );
    }
    assert_eq!(balances(&bank, VISA), (1_000_000, 999_000));
    assert_eq!(balances(&bank, VISA_500), (50_000, 50_000));
    assert_eq!(bank.authorizations().count(), 1);

    let replays: Vec<_> = bank
        .ledger()
        .iter()
        .map(|e| (e.replay, e.took_effect()))
        .collect();
    assert_eq!(
        replays,
        [
            (false, true),
            (true, false),
            (true, false),
            (true, false),
            (true, false)
        ]
    );
    let last = bank.ledger().last().unwrap();
    assert_eq!(last.outcome, Outcome::Ok(a.id.clone()));
    assert_eq!(
        last.request,
        Request::Authorize {
            card: raw("nonsense", ""),
            amount: 0
        }
    );
    assert_eq!(last.time_ms, now + 5);

    // Capture, void, refund replay too, even after the state moved on.
    let c = bank.capture(now, &a.id, 1_000, "cap-1").unwrap();
    assert_eq!(bank.capture(now, &a.id, 1_000, "cap-1"), Ok(c.clone()));
    assert_eq!(bank.capture(now, "auth-999999", 0, "cap-1"), Ok(c.clone()));
    let r = bank.refund(now, &c.id, 1_000, "ref-1").unwrap();
    assert_eq!(bank.refund(now, &c.id, 1_000, "ref-1"), Ok(r.clone()));
    assert_eq!(bank.refund(now, "cap-000009", 3, "ref-1"), Ok(r.clone()));
    let b = bank.authorize(now, &req(VISA), 10, "pay-2").unwrap();
    let v = bank.void(now, &b.id, "void-1").unwrap();
    assert_eq!(bank.void(now, &b.id, "void-1"), Ok(v.clone()));
    assert_eq!(bank.void(now, "zzz", "void-1"), Ok(v));
    assert_eq!(balances(&bank, VISA), (1_000_000, 1_000_000));
    assert_eq!(bank.captures().count(), 1);
    assert_eq!(bank.refunds().count(), 1);
    assert_eq!(bank.voids().count(), 1);
    assert_sound(&bank);
}

#[test]
fn keys_are_scoped_by_operation() {
    let now = t0();
    let mut bank = Bank::default();
    let a = bank.authorize(now, &req(VISA), 10, "k").unwrap();
    let c = bank.capture(now, &a.id, 10, "k").unwrap();
    let r = bank.refund(now, &c.id, 10, "k").unwrap();
    let b = bank.authorize(now, &req(VISA), 20, "other").unwrap();
    let v = bank.void(now, &b.id, "k").unwrap();
    assert_eq!(
        (a.id.as_str(), c.id.as_str(), r.id.as_str(), v.id.as_str()),
        ("auth-000001", "cap-000001", "ref-000001", "void-000001")
    );
    for op in Operation::ALL {
        assert!(bank.remembers(now, op, "k"), "{op}");
    }
    bank.forget_idempotency_key(Operation::Capture, "k");
    assert!(!bank.remembers(now, Operation::Capture, "k"));
    assert!(bank.remembers(now, Operation::Authorize, "k"));
    assert!(bank.remembers(now, Operation::Void, "k"));
    assert!(bank.remembers(now, Operation::Refund, "k"));
    assert_sound(&bank);
}

#[test]
fn failures_are_not_remembered() {
    let now = t0();
    let mut bank = Bank::default();
    assert_eq!(
        bank.authorize(now, &req(VISA), 0, "k"),
        Err(BankError::InvalidAmount)
    );
    assert!(!bank.remembers(now, Operation::Authorize, "k"));
    let a = bank.authorize(now, &req(VISA), 10, "k").unwrap();
    assert_eq!(
        bank.capture(now, &a.id, 11, "c"),
        Err(BankError::AmountMismatch)
    );
    assert!(bank.capture(now, &a.id, 10, "c").is_ok());
    assert_eq!(
        bank.void(now, "nope", "v"),
        Err(BankError::UnknownAuthorization)
    );
    let b = bank.authorize(now, &req(VISA), 10, "k2").unwrap();
    assert!(bank.void(now, &b.id, "v").is_ok());
    assert_eq!(
        bank.refund(now, "nope", 10, "r"),
        Err(BankError::UnknownCapture)
    );
    assert!(bank.refund(now, "cap-000001", 10, "r").is_ok());
    let replays = bank.ledger().iter().filter(|e| e.replay).count();
    assert_eq!(replays, 0);
    assert_sound(&bank);
}

#[test]
fn the_memory_lasts_24_hours_from_the_success() {
    let now = t0();
    let day = 24 * 3_600_000;
    let mut bank = Bank::default();
    let a = bank.authorize(now, &req(VISA), 100, "k").unwrap();
    assert!(bank.remembers(now + day, Operation::Authorize, "k"));
    assert!(!bank.remembers(now + day + 1, Operation::Authorize, "k"));
    // A replay at the last millisecond does not extend the memory.
    assert_eq!(
        bank.authorize(now + day, &req(VISA), 100, "k"),
        Ok(a.clone())
    );
    assert!(!bank.remembers(now + day + 1, Operation::Authorize, "k"));
    // After it: a second hold.
    let b = bank.authorize(now + day + 1, &req(VISA), 100, "k").unwrap();
    assert_eq!(b.id, "auth-000002");
    assert_eq!(balances(&bank, VISA), (1_000_000, 999_800));
    // The new success is remembered afresh, for 24 hours from now.
    assert_eq!(
        bank.authorize(now + 2 * day + 1, &req(VISA), 1, "k"),
        Ok(b.clone())
    );
    assert_eq!(
        bank.authorize(now + 2 * day + 2, &req(VISA), 1, "k")
            .unwrap()
            .id,
        "auth-000003"
    );
    // The memory of a failure-free capture expires the same way: after it,
    // the retry meets the true state.
    let c = bank.capture(now + 3 * day, &a.id, 100, "c").unwrap();
    assert_eq!(bank.capture(now + 4 * day, &a.id, 100, "c"), Ok(c));
    assert_eq!(
        bank.capture(now + 4 * day + 1, &a.id, 100, "c"),
        Err(BankError::AlreadyUsed)
    );
    assert_sound(&bank);
}

#[test]
fn a_configured_idempotency_ttl() {
    let mut bank = Bank::new(BankConfig {
        idempotency_ttl_ms: 0,
        ..BankConfig::default()
    });
    let now = t0();
    let a = bank.authorize(now, &req(VISA), 1, "k").unwrap();
    assert_eq!(bank.authorize(now, &req(VISA), 1, "k"), Ok(a));
    assert_eq!(
        bank.authorize(now + 1, &req(VISA), 1, "k").unwrap().id,
        "auth-000002"
    );
    assert_sound(&bank);
}

#[test]
fn forgetting_a_key_makes_a_retry_take_effect_again() {
    let now = t0();
    let mut bank = Bank::default();
    let a = bank.authorize(now, &req(VISA), 100, "k").unwrap();
    bank.forget_idempotency_key(Operation::Authorize, "k");
    // The realistic hard case: the retry places a second hold.
    let b = bank.authorize(now, &req(VISA), 100, "k").unwrap();
    assert_ne!(a.id, b.id);
    assert_eq!(balances(&bank, VISA), (1_000_000, 999_800));
    // Forgetting an unknown key or operation is harmless.
    bank.forget_idempotency_key(Operation::Refund, "k");
    bank.forget_idempotency_key(Operation::Authorize, "never");

    let c = bank.capture(now, &a.id, 100, "c").unwrap();
    bank.forget_idempotency_key(Operation::Capture, "c");
    assert_eq!(
        bank.capture(now, &a.id, 100, "c"),
        Err(BankError::AlreadyUsed)
    );
    let v = bank.void(now, &b.id, "v").unwrap();
    let r = bank.refund(now, &c.id, 100, "r").unwrap();
    assert_eq!(bank.void(now, &b.id, "v"), Ok(v));
    assert_eq!(bank.refund(now, &c.id, 100, "r"), Ok(r));

    bank.forget_all_idempotency_keys();
    for op in Operation::ALL {
        for key in ["k", "c", "v", "r"] {
            assert!(!bank.remembers(now, op, key));
        }
    }
    assert_eq!(bank.void(now, &b.id, "v"), Err(BankError::AlreadyUsed));
    assert_eq!(
        bank.refund(now, &c.id, 100, "r"),
        Err(BankError::AlreadyRefunded)
    );
    assert_eq!(balances(&bank, VISA), (1_000_000, 1_000_000));
    assert_sound(&bank);
}

// ---- ids, ledger, determinism ---------------------------------------------------------

#[test]
fn ids_count_per_kind_in_order() {
    let now = t0();
    let mut bank = Bank::default();
    let mut k = keys();
    let visa = req(VISA);
    let mut auths = Vec::new();
    for _ in 0..12 {
        // failures consume no id
        let _ = bank.authorize(now, &visa, 0, &k.next());
        auths.push(bank.authorize(now, &visa, 1, &k.next()).unwrap().id);
    }
    assert_eq!(auths[0], "auth-000001");
    assert_eq!(auths[9], "auth-000010");
    assert_eq!(auths[11], "auth-000012");
    let _ = bank.capture(now, &auths[0], 2, &k.next());
    let c1 = bank.capture(now, &auths[0], 1, &k.next()).unwrap();
    let v1 = bank.void(now, &auths[1], &k.next()).unwrap();
    let c2 = bank.capture(now, &auths[2], 1, &k.next()).unwrap();
    let v2 = bank.void(now, &auths[3], &k.next()).unwrap();
    let r1 = bank.refund(now, &c2.id, 1, &k.next()).unwrap();
    let r2 = bank.refund(now, &c1.id, 1, &k.next()).unwrap();
    assert_eq!(
        [c1.id, c2.id, v1.id, v2.id, r1.id, r2.id],
        [
            "cap-000001",
            "cap-000002",
            "void-000001",
            "void-000002",
            "ref-000001",
            "ref-000002"
        ]
    );
    assert_sound(&bank);
}

#[test]
fn the_ledger_records_every_call() {
    let now = t0();
    let mut bank = Bank::default();
    let a = bank.authorize(now, &req(VISA), 100, "a").unwrap();
    let _ = bank.authorize(now + 1, &req(MC_ZERO), 100, "z");
    let _ = bank.authorize(now + 2, &req(VISA), 5, "a");
    let _ = bank.capture(now + 3, &a.id, 100, "c");
    let ledger = bank.ledger();
    assert_eq!(ledger.len(), 4);
    assert_eq!(
        ledger.iter().map(|e| e.seq).collect::<Vec<_>>(),
        [0, 1, 2, 3]
    );
    assert_eq!(
        ledger[1],
        LedgerEntry {
            seq: 1,
            time_ms: now + 1,
            key: "z".into(),
            request: Request::Authorize {
                card: req(MC_ZERO),
                amount: 100
            },
            replay: false,
            outcome: Outcome::Err(BankError::InsufficientFunds),
            effect: None,
        }
    );
    assert_eq!(ledger[1].operation(), Operation::Authorize);
    assert_eq!(
        ledger[1].outcome.error(),
        Some(BankError::InsufficientFunds)
    );
    assert!(ledger[2].replay);
    assert_eq!(ledger[2].outcome.id(), Some("auth-000001"));
    assert_eq!(ledger[3].operation(), Operation::Capture);
    assert_eq!(
        ledger[3].request,
        Request::Capture {
            authorization_id: a.id.clone(),
            amount: 100
        }
    );
    assert!(ledger[3].outcome.is_ok());
    let json = serde_json::to_value(&ledger[3]).unwrap();
    assert_eq!(
        json,
        serde_json::json!({
            "seq": 3,
            "time-ms": now + 3,
            "key": "c",
            "request": {"operation": "capture", "authorization-id": "auth-000001", "amount": 100},
            "replay": false,
            "outcome": {"ok": "cap-000001"},
            "effect": {"kind": "debit", "card-number": VISA, "amount": 100},
        })
    );
    let json = serde_json::to_value(&ledger[1]).unwrap();
    assert_eq!(
        json["outcome"],
        serde_json::json!({"err": "insufficient-funds"})
    );
    assert_eq!(json["request"]["card"]["expiry-month"], 9);
}

/// A long pseudo-random workload (a fixed LCG, no entropy): the bank stays
/// consistent and two runs are identical.
#[test]
fn a_long_workload_is_deterministic_and_reconciles() {
    fn run() -> (Vec<LedgerEntry>, Vec<CardAccount>) {
        let mut bank = Bank::default();
        let mut state: u64 = 0x5eed;
        let mut next = |n: u64| {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (state >> 33) % n
        };
        let cards = test_cards();
        let mut now = t0();
        for _ in 0..3_000 {
            now += next(2 * HOUR_MS);
            let key = format!("k{}", next(60));
            let auths = bank.authorizations().count() as u64;
            let caps = bank.captures().count() as u64;
            let pick_auth = |i: u64| format!("auth-{:06}", i + 1);
            match next(6) {
                0 | 1 => {
                    let card = &cards[next(4) as usize];
                    let request = if next(10) == 0 {
                        with_cvv(&card.number, "999")
                    } else {
                        CardRequest::for_card(card)
                    };
                    let _ = bank.authorize(now, &request, next(40_000), &key);
                }
                2 => {
                    let id = pick_auth(next(auths + 1));
                    let amount = bank
                        .get_authorization(&id)
                        .map_or(5, |a| if next(8) == 0 { a.amount + 1 } else { a.amount });
                    let _ = bank.capture(now, &id, amount, &key);
                }
                3 => {
                    let _ = bank.void(now, &pick_auth(next(auths + 1)), &key);
                }
                4 => {
                    let id = format!("cap-{:06}", next(caps + 1) + 1);
                    let amount = bank.get_capture(&id).map_or(1, |c| c.amount);
                    let _ = bank.refund(now, &id, amount, &key);
                }
                _ => match next(10) {
                    0 => bank.forget_all_idempotency_keys(),
                    _ => bank.forget_idempotency_key(Operation::ALL[next(4) as usize], &key),
                },
            }
            assert_sound(&bank);
        }
        // At most one capture or void per authorization, one refund per
        // capture.
        for record in bank.authorization_records() {
            let closers = bank
                .ledger()
                .iter()
                .filter(|e| e.took_effect())
                .filter(|e| match &e.request {
                    Request::Capture {
                        authorization_id, ..
                    }
                    | Request::Void { authorization_id } => {
                        *authorization_id == record.authorization.id
                    }
                    _ => false,
                })
                .count();
            assert!(closers <= 1);
            assert_eq!(closers == 0, record.holds());
        }
        let kinds: Vec<_> = bank
            .ledger()
            .iter()
            .map(|e| (e.replay, e.outcome.is_ok()))
            .collect();
        assert!(kinds.contains(&(true, true)));
        assert!(kinds.contains(&(false, true)));
        assert!(kinds.contains(&(false, false)));
        (bank.ledger().to_vec(), bank.cards().cloned().collect())
    }
    assert_eq!(run(), run());
}

#[test]
fn a_clone_is_independent() {
    let now = t0();
    let mut bank = Bank::default();
    bank.authorize(now, &req(VISA), 100, "a").unwrap();
    let snapshot = bank.clone();
    bank.authorize(now, &req(VISA), 100, "b").unwrap();
    assert_eq!(snapshot.authorizations().count(), 1);
    assert_eq!(snapshot.ledger().len(), 1);
    assert_eq!(balances(&snapshot, VISA), (1_000_000, 999_900));
}

#[test]
fn reconcile_sees_tampering() {
    let now = t0();
    let mut bank = Bank::default();
    bank.authorize(now, &req(VISA), 100, "a").unwrap();
    assert_sound(&bank);
    bank.cards.get_mut(VISA).unwrap().available += 1;
    assert_eq!(bank.reconcile().len(), 2);
    let mut bank = Bank::default();
    bank.authorize(now, &req(VISA), 100, "a").unwrap();
    bank.ledger.clear();
    assert!(!bank.reconcile().is_empty());
}

// ---- names -----------------------------------------------------------------------------

#[test]
fn errors_and_operations_are_named_in_kebab_case() {
    let names: Vec<_> = BankError::ALL.iter().map(|e| e.to_string()).collect();
    assert_eq!(
        names,
        [
            "invalid-card",
            "invalid-cvv",
            "invalid-amount",
            "card-expired",
            "insufficient-funds",
            "unknown-authorization",
            "already-used",
            "authorization-expired",
            "amount-mismatch",
            "unknown-capture",
            "already-refunded",
        ]
    );
    for e in BankError::ALL {
        assert_eq!(serde_json::to_value(e).unwrap(), e.as_str());
    }
    for op in Operation::ALL {
        assert_eq!(serde_json::to_value(op).unwrap(), op.to_string());
    }
    assert_eq!(
        Operation::ALL.map(|o| o.as_str()),
        ["authorize", "capture", "void", "refund"]
    );
    assert_eq!(
        serde_json::to_value(AuthorizationStatus::Captured).unwrap(),
        "captured"
    );
}
