//! Normalization and date helpers.

use memory_consolidate::text::{Date, normalize, resolve_relative_dates, words};
use memory_core::Timestamp;

fn ts(s: &str) -> Timestamp {
    Timestamp::parse_rfc3339(s).unwrap()
}

#[test]
fn normalize_lowercases_strips_punctuation_and_collapses_space() {
    assert_eq!(normalize("  User's favourite   drink: TEA!  "), "users favourite drink tea");
    assert_eq!(normalize("Rule — always answer in French."), "rule always answer in french");
    assert_eq!(normalize("Café au lait, s’il vous plaît"), "café au lait sil vous plaît");
    assert_eq!(normalize(""), "");
    assert_eq!(normalize("?!..."), "");
    assert_eq!(words("Tea, coffee & juice"), vec!["tea", "coffee", "juice"]);
    assert!(words("   ").is_empty());
}

#[test]
fn dates_follow_the_calendar() {
    let d = Date::of(ts("2026-12-07T23:59:59Z"));
    assert_eq!(d.to_string(), "2026-12-07");
    assert_eq!(d.weekday(), 0, "a Monday");
    assert_eq!(d.plus_days(25).to_string(), "2027-01-01");
    assert_eq!(Date::of(ts("2024-02-28T00:00:00Z")).plus_days(1).to_string(), "2024-02-29");
    assert_eq!(Date::of(ts("1969-12-31T12:00:00Z")).to_string(), "1969-12-31");
    assert_eq!(d.next_weekday(4).to_string(), "2026-12-11");
    assert_eq!(d.next_weekday(0).to_string(), "2026-12-14", "strictly after");
    assert_eq!(d.previous_weekday(4).to_string(), "2026-12-04");
    assert_eq!(d.plus_months(1), (2027, 1));
    assert_eq!(Date::of(Timestamp::MIN).to_string(), "0001-01-01");
    assert_eq!(Date::of(Timestamp::MAX).to_string(), "9999-12-31");
    // Any instant has a date, even outside the domain's range.
    let _ = Date::of(Timestamp::from_micros(i64::MIN)).plus_days(i64::MAX);
    let _ = Date::of(Timestamp::from_micros(i64::MAX)).plus_months(i64::MIN);
}

#[test]
fn relative_dates_resolve_against_the_statement_time() {
    // Monday 2026-12-07, 10:00 UTC.
    let at = ts("2026-12-07T10:00:00Z");
    let check = |input: &str, expected: &str| assert_eq!(resolve_relative_dates(input, at), expected, "{input}");
    check("dinner with Sam next Friday at 7pm", "dinner with Sam on 2026-12-11 at 19:00");
    check("flying out tomorrow", "flying out on 2026-12-08");
    check("the day after tomorrow", "on 2026-12-09");
    check("party tonight!", "party on 2026-12-07 in the evening!");
    check("call at 6pm", "call on 2026-12-07 at 18:00");
    check("call at 6:30 pm", "call on 2026-12-07 at 18:30");
    check("on Monday", "on 2026-12-14");
    check("this Monday", "on 2026-12-07");
    check("by Wednesday", "by 2026-12-09");
    check("last Friday", "on 2026-12-04");
    check("in 3 days", "on 2026-12-10");
    check("in two weeks", "on 2026-12-21");
    check("in a couple of days", "on 2026-12-09");
    check("next week", "in the week of 2026-12-14");
    check("this weekend", "on the weekend of 2026-12-12");
    check("next month", "in 2027-01");
    check("next year", "in 2027");
    check("tomorrow morning at 9:15", "on 2026-12-08 in the morning at 09:15");
    check("yesterday", "on 2026-12-06");
    check("I may go in April", "I may go in April");
    check("at noon", "on 2026-12-07 at 12:00");
    check("see you at 10", "see you at 10");
    check("", "");
}
