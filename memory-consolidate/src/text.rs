//! Text helpers shared by the extractors and the planner: normalization for comparing
//! contents, word splitting, calendar dates, and the resolution of relative dates and times
//! ("tomorrow", "next Friday", "at 6pm") against the moment a statement was made.
//!
//! Everything here is allocation-light and regex-free: extraction must keep up with thousands of
//! episodes a second.
//!
//! Date conventions (UTC calendar of the statement's timestamp `D`):
//! - `today`, `tonight`, `this morning` are `D`; `tomorrow` is `D+1`; `yesterday` is `D-1`.
//! - A weekday (`Friday`, `on Friday`, `next Friday`) is the first such day strictly after `D`;
//!   `this Friday` may be `D` itself; `last Friday` is the latest such day strictly before `D`.
//! - `next week` is the week (Monday first) after `D`'s, written `the week of <its Monday>`;
//!   `this weekend` is the Saturday of `D`'s week, `next weekend` the one after.
//! - `next month` / `next year` are written `YYYY-MM` / `YYYY`.
//! - `in 3 days`, `in two weeks` count from `D`; `in 2 months` gives `YYYY-MM`.
//! - A clock time (`at 6pm`, `at 9:30`) is written `at 18:00`; when its clause names no day,
//!   `D` is added (`on 2026-12-11 at 18:00`).

use std::fmt;

use memory_core::Timestamp;

/// Lowercase, punctuation stripped (apostrophes dropped, other marks become spaces), whitespace
/// collapsed to single spaces, trimmed: the form in which two contents are compared.
///
/// `normalize("User's favourite drink: TEA!")` is `"users favourite drink tea"`.
pub fn normalize(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut gap = false;
    for c in s.chars() {
        if c.is_alphanumeric() {
            if gap && !out.is_empty() {
                out.push(' ');
            }
            gap = false;
            out.extend(c.to_lowercase());
        } else if !is_apostrophe(c) {
            gap = true;
        }
    }
    out
}

/// The words of a text, normalized (see [`normalize`]); empty for a text without letters or
/// digits.
pub fn words(s: &str) -> Vec<String> {
    normalize(s).split(' ').filter(|w| !w.is_empty()).map(str::to_owned).collect()
}

/// Whether `c` is an apostrophe (straight or typographic).
pub(crate) fn is_apostrophe(c: char) -> bool {
    matches!(c, '\'' | '\u{2019}' | '\u{2018}' | '`')
}

/// A day of the proleptic Gregorian calendar (UTC).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date {
    /// The year (may be zero or negative far outside the domain's range; never panics).
    pub year: i64,
    /// The month, `1..=12`.
    pub month: u32,
    /// The day of the month, `1..=31`.
    pub day: u32,
}

const MICROS_PER_DAY: i64 = 86_400 * 1_000_000;

impl Date {
    /// The UTC calendar day of an instant.
    pub fn of(at: Timestamp) -> Date {
        Date::from_days(at.as_micros().div_euclid(MICROS_PER_DAY))
    }

    /// The day `days` after 1970-01-01 (negative goes back).
    pub fn from_days(days: i64) -> Date {
        let (year, month, day) = civil_from_days(days);
        Date { year, month, day }
    }

    /// Days since 1970-01-01.
    pub fn days(self) -> i64 {
        days_from_civil(self.year, self.month, self.day)
    }

    /// This day plus `n` days (negative goes back), saturating.
    pub fn plus_days(self, n: i64) -> Date {
        Date::from_days(self.days().saturating_add(n))
    }

    /// The day of the week, `0` = Monday ..= `6` = Sunday.
    pub fn weekday(self) -> u32 {
        // 1970-01-01 was a Thursday.
        (self.days().saturating_add(3)).rem_euclid(7) as u32
    }

    /// The year and month `n` months after this day's month.
    pub fn plus_months(self, n: i64) -> (i64, u32) {
        let index = self.year.saturating_mul(12).saturating_add(i64::from(self.month) - 1).saturating_add(n);
        (index.div_euclid(12), (index.rem_euclid(12) + 1) as u32)
    }

    /// The first day with weekday `weekday` (0 = Monday) strictly after this one.
    pub fn next_weekday(self, weekday: u32) -> Date {
        let ahead = (i64::from(weekday) - i64::from(self.weekday())).rem_euclid(7);
        self.plus_days(if ahead == 0 { 7 } else { ahead })
    }

    /// The latest day with weekday `weekday` strictly before this one.
    pub fn previous_weekday(self, weekday: u32) -> Date {
        let back = (i64::from(self.weekday()) - i64::from(weekday)).rem_euclid(7);
        self.plus_days(-(if back == 0 { 7 } else { back }))
    }

    /// The Monday of this day's week.
    pub fn monday(self) -> Date {
        self.plus_days(-i64::from(self.weekday()))
    }
}

impl fmt::Display for Date {
    /// ISO 8601: `2026-12-11`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

/// `(year, month, day)` of the day `days` after 1970-01-01 (Howard Hinnant's `civil_from_days`).
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    // Clamped far outside any timestamp so the arithmetic below cannot overflow.
    let z = days.clamp(-(1 << 40), 1 << 40) + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// Days after 1970-01-01 of a `(year, month, day)` (Howard Hinnant's `days_from_civil`).
/// Out-of-range months and days are clamped into range.
pub fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let month = i64::from(month.clamp(1, 12));
    let day = i64::from(day.clamp(1, 31));
    let year = year.clamp(-(1 << 32), 1 << 32) - i64::from(month <= 2);
    let era = year.div_euclid(400);
    let yoe = year.rem_euclid(400);
    let mp = if month > 2 { month - 3 } else { month + 9 };
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// `text` with its relative dates and times resolved against `at` (see the module doc).
///
/// `resolve_relative_dates("dinner with Sam next Friday at 7pm", <Monday 2026-12-07>)` is
/// `"dinner with Sam on 2026-12-11 at 19:00"`.
pub fn resolve_relative_dates(text: &str, at: Timestamp) -> String {
    let chunks: Vec<&str> = text.split_whitespace().collect();
    let cores: Vec<String> = chunks.iter().map(|c| core_lower(c)).collect();
    let cores: Vec<&str> = cores.iter().map(String::as_str).collect();
    let resolved = resolve(&cores, Date::of(at), |i| chunks[i].to_owned(), |i| trailing_punctuation(chunks[i]));
    resolved.words.join(" ")
}

/// A chunk of text lowercased without its leading and trailing punctuation.
fn core_lower(chunk: &str) -> String {
    chunk.trim_matches(|c: char| !c.is_alphanumeric()).to_lowercase().replace('\u{2019}', "'")
}

fn trailing_punctuation(chunk: &str) -> String {
    let core_end = chunk.trim_end_matches(|c: char| !c.is_alphanumeric()).len();
    chunk[core_end..].to_owned()
}

/// Words with their date expressions replaced (see [`resolve`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Resolved {
    /// The output words.
    pub words: Vec<String>,
    /// The first day phrase written (`on 2026-12-11`), for a correction to replace.
    pub day: Option<String>,
    /// The first clock time written (`at 18:00`), for a correction to replace.
    pub time: Option<String>,
    /// Whether any date or time expression was found.
    pub found: bool,
}

/// Resolves the date expressions in `words` (lowercase cores). Words outside expressions are
/// written by `raw(i)`; a replaced expression keeps `trail(last)`, the punctuation that followed
/// its last word.
pub(crate) fn resolve(
    words: &[&str],
    today: Date,
    mut raw: impl FnMut(usize) -> String,
    mut trail: impl FnMut(usize) -> String,
) -> Resolved {
    let mut out = Resolved::default();
    let mut time_at: Option<usize> = None;
    let mut i = 0;
    while i < words.len() {
        if let Some(m) = match_date(words, i, today) {
            let mut phrase = m.phrase.clone();
            phrase.push_str(&trail(i + m.len - 1));
            if m.is_time {
                time_at.get_or_insert(out.words.len());
                if out.time.is_none() {
                    out.time = Some(m.phrase.clone());
                }
            } else if out.day.is_none() {
                out.day = Some(m.day_phrase);
            }
            out.words.push(phrase);
            out.found = true;
            i += m.len;
        } else {
            out.words.push(raw(i));
            i += 1;
        }
    }
    if let (Some(at), None) = (time_at, &out.day) {
        let day = format!("on {today}");
        out.words.insert(at, day.clone());
        out.day = Some(day);
    }
    out
}

/// One date or time expression found at a position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DateMatch {
    /// How many words it spans.
    pub len: usize,
    /// Its absolute form (`on 2026-12-11 in the evening`, `at 18:00`).
    pub phrase: String,
    /// The day part of the phrase (`on 2026-12-11`), empty for a time.
    pub day_phrase: String,
    /// Whether it is a clock time only.
    pub is_time: bool,
}

pub(crate) const WEEKDAYS: [&str; 7] = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"];
const WEEKDAY_NAMES: [&str; 7] = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"];

/// Month names (full and short), for telling whether a clause refers to a time.
pub(crate) const MONTHS: [&str; 12] = [
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
];

fn weekday_of(word: &str) -> Option<u32> {
    let w = word.strip_suffix('.').unwrap_or(word);
    if let Some(i) = WEEKDAYS.iter().position(|d| *d == w) {
        return Some(i as u32);
    }
    let short = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
    let alt = ["", "tues", "weds", "thur", "", "", ""];
    let alt2 = ["", "", "", "thurs", "", "", ""];
    (0..7)
        .find(|&i| short[i] == w || (!alt[i].is_empty() && alt[i] == w) || (!alt2[i].is_empty() && alt2[i] == w))
        .map(|i| i as u32)
}

/// A small count: digits or a number word (`a`, `one` .. `twelve`, `a couple of`).
pub(crate) fn count_at(words: &[&str], i: usize) -> Option<(i64, usize)> {
    let w = *words.get(i)?;
    if let Ok(n) = w.parse::<i64>() {
        return (0..=1000).contains(&n).then_some((n, 1));
    }
    const NUMBERS: [&str; 13] =
        ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve"];
    if let Some(n) = NUMBERS.iter().position(|x| *x == w) {
        return Some((n as i64, 1));
    }
    match (w, words.get(i + 1).copied()) {
        ("a" | "an", Some("couple")) => Some((2, 2)),
        ("a" | "an", _) => Some((1, 1)),
        _ => None,
    }
}

fn part_of_day(word: Option<&&str>) -> Option<&'static str> {
    match *word? {
        "morning" => Some(" in the morning"),
        "afternoon" => Some(" in the afternoon"),
        "evening" => Some(" in the evening"),
        "night" | "tonight" => Some(" at night"),
        _ => None,
    }
}

/// Prepositions a date expression keeps in front of its absolute form.
const DATE_PREPOSITIONS: [&str; 11] =
    ["on", "by", "until", "till", "before", "after", "since", "from", "for", "over", "to"];

/// The date or time expression starting at `words[i]`, if any.
pub(crate) fn match_date(words: &[&str], i: usize, today: Date) -> Option<DateMatch> {
    let first = *words.get(i)?;
    if first == "at" {
        return match_time(words, i + 1).map(|(len, phrase)| DateMatch {
            len: len + 1,
            phrase,
            day_phrase: String::new(),
            is_time: true,
        });
    }
    if let Some(prep) = DATE_PREPOSITIONS.iter().find(|p| **p == first) {
        let mut m = match_day(words, i + 1, today, false)?;
        m.len += 1;
        // "on" is the default; any other keeps its word: "by 2026-12-11".
        if *prep != "on" {
            let rest = m.phrase.strip_prefix("on ").or_else(|| m.phrase.strip_prefix("in ")).unwrap_or(&m.phrase);
            m.phrase = format!("{prep} {rest}");
            let day_rest =
                m.day_phrase.strip_prefix("on ").or_else(|| m.day_phrase.strip_prefix("in ")).unwrap_or(&m.day_phrase);
            m.day_phrase = format!("{prep} {day_rest}");
        }
        return Some(m);
    }
    match_day(words, i, today, true)
}

fn day_match(len: usize, date: Date, suffix: &str) -> DateMatch {
    DateMatch { len, phrase: format!("on {date}{suffix}"), day_phrase: format!("on {date}"), is_time: false }
}

fn span_match(len: usize, phrase: String) -> DateMatch {
    DateMatch { len, day_phrase: phrase.clone(), phrase, is_time: false }
}

/// The day expression at `words[i]`; `bare` when no preposition precedes it (a bare weekday is
/// then written with its name: "take Friday 2026-09-18 off").
fn match_day(words: &[&str], i: usize, today: Date, bare: bool) -> Option<DateMatch> {
    let w = *words.get(i)?;
    let next = words.get(i + 1).copied();
    let with_part = |len: usize, date: Date| match part_of_day(words.get(i + len)) {
        Some(suffix) => day_match(len + 1, date, suffix),
        None => day_match(len, date, ""),
    };
    match w {
        "today" => return Some(with_part(1, today)),
        "tonight" => return Some(day_match(1, today, " in the evening")),
        "tomorrow" | "tmrw" | "tmr" | "tomorow" => return Some(with_part(1, today.plus_days(1))),
        "yesterday" => return Some(with_part(1, today.plus_days(-1))),
        "the" | "day" => {
            let at = if w == "the" { i + 1 } else { i };
            if words.get(at) == Some(&"day")
                && words.get(at + 1) == Some(&"after")
                && words.get(at + 2) == Some(&"tomorrow")
            {
                return Some(with_part(at + 3 - i, today.plus_days(2)));
            }
            if words.get(at) == Some(&"day")
                && words.get(at + 1) == Some(&"before")
                && words.get(at + 2) == Some(&"yesterday")
            {
                return Some(with_part(at + 3 - i, today.plus_days(-2)));
            }
            if w == "the" && matches!(next, Some("weekend")) {
                return Some(weekend(2, today, 0));
            }
            if w == "the" {
                // "the 14th of February", "(on) the 5th".
                if let Some((date, len)) = absolute_date(words, i + 1, today) {
                    return Some(with_part(len + 1, date));
                }
                if !bare
                    && let Some(day) = next.and_then(ordinal)
                    && let Some(date) = next_day_of_month(today, day)
                {
                    return Some(with_part(2, date));
                }
            }
            return None;
        }
        "this" | "next" | "last" | "coming" => {
            let offset = match w {
                "next" => 1,
                "last" => -1,
                _ => 0,
            };
            let n = next?;
            if let Some(day) = weekday_of(n) {
                let date = match w {
                    "next" | "coming" => today.next_weekday(day),
                    "last" => today.previous_weekday(day),
                    _ if day == today.weekday() => today,
                    _ => today.next_weekday(day),
                };
                return Some(with_part(2, date));
            }
            if w == "coming" {
                return None;
            }
            return match n {
                "week" => Some(span_match(2, format!("in the week of {}", today.monday().plus_days(7 * offset)))),
                "weekend" => Some(weekend(2, today, offset)),
                "month" => {
                    let (y, m) = today.plus_months(offset);
                    Some(span_match(2, format!("in {y:04}-{m:02}")))
                }
                "year" => Some(span_match(2, format!("in {:04}", today.year + offset))),
                "morning" | "afternoon" | "evening" if w == "this" => Some(with_part(1, today)),
                "night" if w == "last" => Some(day_match(2, today.plus_days(-1), " at night")),
                _ => None,
            };
        }
        "in" => {
            let (n, used) = count_at(words, i + 1)?;
            let mut at = i + 1 + used;
            if words.get(at) == Some(&"of") {
                at += 1;
            }
            let unit = *words.get(at)?;
            let len = at + 1 - i;
            // "in two weeks' time"
            let len = if words.get(at + 1) == Some(&"time") { len + 1 } else { len };
            return match unit.trim_end_matches('\'') {
                "day" | "days" => Some(day_match(len, today.plus_days(n), "")),
                "week" | "weeks" => Some(day_match(len, today.plus_days(7 * n), "")),
                "month" | "months" => {
                    let (y, m) = today.plus_months(n);
                    Some(span_match(len, format!("in {y:04}-{m:02}")))
                }
                "year" | "years" => Some(span_match(len, format!("in {:04}", today.year.saturating_add(n)))),
                _ => None,
            };
        }
        _ => {}
    }
    if let Some((date, len)) = absolute_date(words, i, today) {
        return Some(with_part(len, date));
    }
    if let Some(day) = weekday_of(w) {
        // "Saturday 15 May", "Sat the 15th of May": the calendar date decides.
        let after = if words.get(i + 1) == Some(&"the") { i + 2 } else { i + 1 };
        if let Some((date, len)) = absolute_date(words, after, today) {
            return Some(with_part(after - i + len, date));
        }
        // Plurals ("on Fridays") are habits, not dates; short forms need a preposition context
        // the caller does not give, so only full names count when bare.
        if !WEEKDAYS.contains(&w) {
            return None;
        }
        let date = today.next_weekday(day);
        return Some(match part_of_day(words.get(i + 1)) {
            Some(suffix) => day_match(2, date, suffix),
            None if !bare => day_match(1, date, ""),
            None => DateMatch {
                len: 1,
                phrase: format!("{} {date}", WEEKDAY_NAMES[day as usize]),
                day_phrase: format!("{} {date}", WEEKDAY_NAMES[day as usize]),
                is_time: false,
            },
        });
    }
    None
}

/// The month named by `word` (full or short name), `1..=12`.
fn month_of(word: &str) -> Option<u32> {
    let w = word.strip_suffix('.').unwrap_or(word);
    if let Some(m) = MONTHS.iter().position(|x| *x == w) {
        return Some(m as u32 + 1);
    }
    const SHORT: [&str; 12] = ["jan", "feb", "mar", "apr", "", "jun", "jul", "aug", "sep", "oct", "nov", "dec"];
    if w == "sept" {
        return Some(9);
    }
    SHORT.iter().position(|x| !x.is_empty() && *x == w).map(|m| m as u32 + 1)
}

/// A day of the month written `14`, `14th`, `1st`, `2nd`, `3rd`.
fn day_number(word: &str) -> Option<u32> {
    let digits = word.trim_end_matches(|c: char| c.is_ascii_alphabetic());
    let suffix = &word[digits.len()..];
    if digits.is_empty() || digits.len() > 2 || !matches!(suffix, "" | "st" | "nd" | "rd" | "th") {
        return None;
    }
    digits.parse::<u32>().ok().filter(|d| (1..=31).contains(d))
}

/// A day of the month with an ordinal suffix (`14th`), as in "on the 14th".
fn ordinal(word: &str) -> Option<u32> {
    if word.ends_with(|c: char| c.is_ascii_digit()) {
        return None;
    }
    day_number(word)
}

/// A year written in full (`2027`).
fn year_at(words: &[&str], i: usize) -> Option<i64> {
    let w = *words.get(i)?;
    (w.len() == 4).then(|| w.parse::<i64>().ok()).flatten().filter(|y| (1900..=2200).contains(y))
}

/// The date `year-month-day` when it exists.
fn valid_date(year: i64, month: u32, day: u32) -> Option<Date> {
    let date = Date::from_days(days_from_civil(year, month, day));
    (date.month == month && date.day == day).then_some(date)
}

/// `month-day` in the year of `today`, or the next year when that day has passed: the next
/// occurrence.
fn next_occurrence(today: Date, month: u32, day: u32) -> Option<Date> {
    match valid_date(today.year, month, day) {
        Some(date) if date >= today => Some(date),
        _ => valid_date(today.year.saturating_add(1), month, day)
            .or_else(|| valid_date(today.year.saturating_add(4), month, day)),
    }
}

/// The next day `day` of a month, from `today` on ("on the 5th").
fn next_day_of_month(today: Date, day: u32) -> Option<Date> {
    (0..3).find_map(|n| {
        let (y, m) = today.plus_months(n);
        valid_date(y, m, day).filter(|d| *d >= today)
    })
}

/// A calendar date at `words[i]`: `March 10th`, `Mar 10 2027`, `10 March`, `14th of February`.
/// Without a year it is the next occurrence from `today`. Returns the date and the words used.
fn absolute_date(words: &[&str], i: usize, today: Date) -> Option<(Date, usize)> {
    let w = *words.get(i)?;
    let (month, day, mut len) = if let Some(month) = month_of(w) {
        let day = day_number(words.get(i + 1)?)?;
        (month, day, 2)
    } else {
        let day = day_number(w)?;
        let at = if words.get(i + 1) == Some(&"of") { i + 2 } else { i + 1 };
        let month = month_of(words.get(at)?)?;
        // "5 may" is too often "may" the verb.
        if *words.get(at)? == "may" && at == i + 1 && ordinal(w).is_none() {
            return None;
        }
        (month, day, at + 1 - i)
    };
    let date = match year_at(words, i + len) {
        Some(year) => {
            len += 1;
            valid_date(year, month, day)?
        }
        None => next_occurrence(today, month, day)?,
    };
    Some((date, len))
}

fn weekend(len: usize, today: Date, offset: i64) -> DateMatch {
    // The Saturday of today's (Monday-first) week; on a Sunday that is yesterday.
    let saturday = today.monday().plus_days(5 + 7 * offset);
    span_match(len, format!("on the weekend of {saturday}"))
}

/// A clock time at `words[i]`: `6pm`, `6 pm`, `6:30`, `18:00`, `noon`, `midnight`, `6 o'clock`.
/// Returns the words used and `at HH:MM`.
fn match_time(words: &[&str], i: usize) -> Option<(usize, String)> {
    let w = *words.get(i)?;
    match w {
        "noon" | "midday" => return Some((1, "at 12:00".to_owned())),
        "midnight" => return Some((1, "at 00:00".to_owned())),
        _ => {}
    }
    let (clock, suffix) = match w.find(|c: char| c.is_ascii_alphabetic()) {
        Some(k) => (&w[..k], &w[k..]),
        None => (w, ""),
    };
    let (hour, minute, had_minutes) = match clock.split_once([':', '.']) {
        Some((h, m)) => (h.parse::<u32>().ok()?, m.parse::<u32>().ok()?, true),
        None => (clock.parse::<u32>().ok()?, 0, false),
    };
    if minute > 59 {
        return None;
    }
    let (meridiem, used) = match suffix {
        "am" | "a.m" | "pm" | "p.m" => (Some(suffix.starts_with('p')), 1),
        "" => match words.get(i + 1).copied() {
            Some("am" | "a.m") => (Some(false), 2),
            Some("pm" | "p.m") => (Some(true), 2),
            Some("o'clock" | "oclock") => (None, 2),
            _ if had_minutes => (None, 1),
            _ => return None,
        },
        "h" if had_minutes || hour <= 24 => (None, 1),
        _ => return None,
    };
    let hour = match meridiem {
        Some(pm) if (1..=12).contains(&hour) => (hour % 12) + if pm { 12 } else { 0 },
        Some(_) => return None,
        None if hour <= 24 => hour % 24,
        None => return None,
    };
    Some((used, format!("at {hour:02}:{minute:02}")))
}

/// Whether `word` (lowercase) names a time by itself: a month, a season, a weekday.
/// ("may" is left out: it is far more often the verb.)
pub(crate) fn is_time_word(word: &str) -> bool {
    (word != "may" && MONTHS.contains(&word))
        || weekday_of(word).is_some()
        || matches!(
            word,
            "spring" | "summer" | "autumn" | "fall" | "winter" | "weekend" | "soon" | "tonight" | "today" | "tomorrow"
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_round_trips() {
        for days in [-719_468, -1, 0, 1, 10_957, 20_000, 2_932_896] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
        assert_eq!(Date::from_days(0).to_string(), "1970-01-01");
        assert_eq!(Date::from_days(0).weekday(), 3);
    }
}
