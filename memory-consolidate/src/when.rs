//! When a question is about: the time words of a query ("last week", "yesterday", "in May",
//! "last Monday", "three days ago") resolved against the moment it is asked, as a window of
//! time that recall favours memories from. No LLM, no regex: a handful of word patterns on the
//! normalized text, with the calendar of [`crate::text`] (UTC days, weeks start on Monday).

use memory_core::Timestamp;

use crate::text::{Date, MONTHS, WEEKDAYS, count_at, days_from_civil, normalize};

/// A half-open span of time `[from, before)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    /// The first instant inside.
    pub from: Timestamp,
    /// The first instant after.
    pub before: Timestamp,
}

impl Window {
    fn days(first: Date, count: i64) -> Window {
        Window { from: start_of(first.days()), before: start_of(first.days().saturating_add(count)) }
    }

    /// Whether `at` falls inside.
    pub fn contains(&self, at: Timestamp) -> bool {
        self.from <= at && at < self.before
    }
}

const MICROS_PER_DAY: i64 = 86_400 * 1_000_000;

fn start_of(days: i64) -> Timestamp {
    Timestamp::from_micros(days.saturating_mul(MICROS_PER_DAY))
}

/// The window the first time expression of `query` names, asked at `now`; `None` when it names
/// none. Past expressions only ("last", "ago", "yesterday", a month already begun): questions
/// to a memory are about what was said.
///
/// - `today`, `this morning`, `tonight` → today; `yesterday`, `last night` → yesterday (last
///   night also takes today until noon, when late conversations end);
/// - `last week` → the Monday-first week before this one; `this week` → this week so far;
///   `last weekend` → the Saturday and Sunday before this week;
/// - `last month` → the calendar month before this one; `this month` → this one;
/// - `last <weekday>` or `on <weekday>` → the latest such day before today;
/// - `N days|weeks|months ago` (N a digit or a number word) → that day, week or month, with a
///   day either side for days;
/// - a month name (`in May`, `back in September`, `early March`) → the latest such month that
///   has begun, this one included.
pub fn query_window(query: &str, now: Timestamp) -> Option<Window> {
    let text = normalize(query);
    let words: Vec<&str> = text.split(' ').filter(|w| !w.is_empty()).collect();
    let today = Date::of(now);
    for (i, &word) in words.iter().enumerate() {
        let next = words.get(i + 1).copied().unwrap_or("");
        let prev = if i > 0 { words[i - 1] } else { "" };
        match (word, next) {
            // Possessives lose their apostrophe in `normalize`: "today's" is "todays".
            ("today" | "todays" | "tonight" | "tonights", _)
            | ("this", "morning" | "mornings" | "afternoon" | "afternoons" | "evening" | "evenings") => {
                return Some(Window::days(today, 1));
            }
            ("yesterday" | "yesterdays", _) => return Some(Window::days(today.plus_days(-1), 1)),
            ("last", "night" | "nights") => {
                let from = start_of(today.plus_days(-1).days());
                return Some(Window {
                    from,
                    before: Timestamp::from_micros(start_of(today.days()).as_micros() + MICROS_PER_DAY / 2),
                });
            }
            ("last", "week" | "weeks") => return Some(Window::days(today.monday().plus_days(-7), 7)),
            ("this", "week") => return Some(Window::days(today.monday(), 7)),
            ("last", "weekend" | "weekends") => return Some(Window::days(today.monday().plus_days(-2), 2)),
            ("last", "month" | "months") => return Some(month_window(today.plus_months(-1))),
            ("this", "month") => return Some(month_window((today.year, today.month))),
            ("last" | "on", day) if weekday(day).is_some() => {
                let target = today.previous_weekday(weekday(day)?);
                return Some(Window::days(target, 1));
            }
            ("ago", _) if i >= 2 => {
                let Some((n, _)) = count_at(&words, i - 2) else { continue };
                return match prev {
                    "day" | "days" => Some(Window::days(today.plus_days(-n - 1), 3)),
                    "week" | "weeks" => Some(Window::days(today.monday().plus_days(-7 * n), 7)),
                    "month" | "months" => Some(month_window(today.plus_months(-n))),
                    _ => continue,
                };
            }
            (name, _) if month(name).is_some() => {
                // "May" is also a verb: only a month after a preposition or a time word.
                if name == "may" && !matches!(prev, "in" | "early" | "late" | "mid" | "since" | "during" | "until") {
                    continue;
                }
                let m = month(name)?;
                let year = if m <= today.month { today.year } else { today.year - 1 };
                return Some(month_window((year, m)));
            }
            _ => {}
        }
    }
    None
}

fn month_window((year, month): (i64, u32)) -> Window {
    let first = days_from_civil(year, month, 1);
    let (next_year, next_month) = if month == 12 { (year + 1, 1) } else { (year, month + 1) };
    Window { from: start_of(first), before: start_of(days_from_civil(next_year, next_month, 1)) }
}

fn weekday(word: &str) -> Option<u32> {
    let word = word.strip_suffix('s').filter(|w| WEEKDAYS.contains(w)).unwrap_or(word);
    WEEKDAYS.iter().position(|d| *d == word).map(|i| i as u32)
}

fn month(word: &str) -> Option<u32> {
    MONTHS.iter().position(|m| *m == word).map(|i| i as u32 + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Wednesday 2026-03-18, 10:00 UTC.
    fn now() -> Timestamp {
        Timestamp::parse_rfc3339("2026-03-18T10:00:00Z").unwrap()
    }

    fn window(q: &str) -> Option<(String, String)> {
        query_window(q, now()).map(|w| (w.from.to_string()[..10].to_owned(), w.before.to_string()[..10].to_owned()))
    }

    fn span(from: &str, before: &str) -> Option<(String, String)> {
        Some((from.to_owned(), before.to_owned()))
    }

    #[test]
    fn relative_days_weeks_and_months() {
        assert_eq!(window("What did we decide last week?"), span("2026-03-09", "2026-03-16"));
        assert_eq!(window("what did the vet say yesterday"), span("2026-03-17", "2026-03-18"));
        assert_eq!(window("What changed at this morning's physio?"), span("2026-03-18", "2026-03-19"));
        assert_eq!(window("the tasting last weekend"), span("2026-03-14", "2026-03-16"));
        assert_eq!(window("What was eating my seedlings last month?"), span("2026-02-01", "2026-03-01"));
        assert_eq!(window("in last Monday's chat"), span("2026-03-16", "2026-03-17"));
        assert_eq!(window("who drove to last Sunday's game"), span("2026-03-15", "2026-03-16"));
        assert_eq!(window("three days ago"), span("2026-03-14", "2026-03-17"));
        assert_eq!(window("two weeks ago"), span("2026-03-02", "2026-03-09"));
    }

    #[test]
    fn month_names_are_the_latest_such_month() {
        assert_eq!(window("What did we talk about in the middle of March?"), span("2026-03-01", "2026-04-01"));
        assert_eq!(window("Back in September, how many guests?"), span("2025-09-01", "2025-10-01"));
        assert_eq!(window("Which cars did I look at in late October?"), span("2025-10-01", "2025-11-01"));
        assert_eq!(window("What happened in May?"), span("2025-05-01", "2025-06-01"));
    }

    #[test]
    fn no_time_words_no_window() {
        assert_eq!(window("Where is the spare key?"), None);
        assert_eq!(window("May I ask what Ana drinks?"), None);
        assert_eq!(window("When is the dentist?"), None);
    }
}
