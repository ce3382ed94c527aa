//! Rules for single values that several parts of the document share: keys (flags, attributes,
//! values), names, string lengths, timestamps, dates and schema integers.

use serde_json::Value;

use super::problems::Problems;
use super::MAX_NAME_CHARS;

/// Flag, attribute and value keys: `^[a-z][a-zA-Z\d_-]{0,63}$` (the schema's `\d` is ASCII).
fn is_valid_key(key: &str) -> bool {
    let mut chars = key.chars();
    let first_ok = chars.next().is_some_and(|c| c.is_ascii_lowercase());
    first_ok
        && key.len() <= MAX_NAME_CHARS
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

const KEY_PATTERN: &str = r"^[a-z][a-zA-Z\d_-]{0,63}$";

pub(super) fn check_key(key: &str, location: &str, what: &str, problems: &mut Problems) -> bool {
    if is_valid_key(key) {
        return true;
    }
    let reason = format!("The {what} key '{key}' does not match the pattern {KEY_PATTERN}.");
    problems.syntax(location, "pattern", reason, Some(&Value::from(key)));
    false
}

/// Checks that `value` is a string of at most `max_chars` characters; true if it is.
pub(super) fn check_string_max(
    value: &Value,
    location: &str,
    max_chars: usize,
    problems: &mut Problems,
) -> bool {
    let Some(text) = problems.string(value, location) else {
        return false;
    };
    if text.chars().count() > max_chars {
        let reason = format!("{location} must be at most {max_chars} characters long.");
        problems.syntax(location, "maxLength", reason, Some(value));
        return false;
    }
    true
}

/// `customerDefinedName`: `^[^\n]{1,64}$`.
pub(super) fn check_name(value: &Value, location: &str, problems: &mut Problems) {
    let Some(name) = problems.string(value, location) else {
        return;
    };
    let length = name.chars().count();
    if length == 0 || length > MAX_NAME_CHARS || name.contains('\n') {
        let reason = format!(
            "{location} must be 1 to {MAX_NAME_CHARS} characters long and contain no line breaks."
        );
        problems.syntax(location, "pattern", reason, Some(value));
    }
}

pub(super) fn check_timestamp(value: &Value, location: &str, problems: &mut Problems) {
    problems.string(value, location);
}

/// JSON-schema `format: date`, i.e. an RFC 3339 full-date such as `2025-01-31`.
pub(super) fn check_date(value: &Value, location: &str, problems: &mut Problems) {
    let Some(text) = problems.string(value, location) else {
        return;
    };
    if !is_full_date(text) {
        let reason = format!("{location} must be a date in the form YYYY-MM-DD.");
        problems.syntax(location, "format", reason, Some(value));
    }
}

fn is_full_date(text: &str) -> bool {
    let parts: Vec<&str> = text.split('-').collect();
    let [year, month, day] = parts.as_slice() else {
        return false;
    };
    let digits =
        |part: &str, len: usize| part.len() == len && part.bytes().all(|b| b.is_ascii_digit());
    if !(digits(year, 4) && digits(month, 2) && digits(day, 2)) {
        return false;
    }
    let (Ok(year), Ok(month), Ok(day)) = (
        year.parse::<u32>(),
        month.parse::<u32>(),
        day.parse::<u32>(),
    ) else {
        return false;
    };
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let days_in_month = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    (1..=days_in_month).contains(&day)
}

/// Schema integers: JSON numbers without a fractional part (so `5.0` counts, as in draft-07).
pub(super) fn as_integer(value: &Value) -> Option<f64> {
    let number = value.as_f64()?;
    (number.fract() == 0.0).then_some(number)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_dates_are_checked() {
        assert!(is_full_date("2024-02-29"));
        assert!(!is_full_date("2023-02-29"));
        assert!(!is_full_date("2024-13-01"));
        assert!(!is_full_date("2024-1-01"));
        assert!(!is_full_date("2024-01-01T00:00:00Z"));
    }
}
