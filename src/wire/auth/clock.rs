//! The signing time against the server's clock: a header signature must be within 15 minutes
//! of it, a presigned URL within its `X-Amz-Expires` lifetime, and neither in the future.

use std::time::{Duration, SystemTime};

use time::OffsetDateTime;

use super::{AuthError, Presented};

/// How far a request's X-Amz-Date may be from the server's clock (AWS: 15 minutes).
const MAX_SKEW: Duration = Duration::from_secs(15 * 60);

const AMZ_DATE: &[time::format_description::FormatItem<'static>] =
    time::macros::format_description!("[year][month][day]T[hour][minute][second]Z");

/// Parses X-Amz-Date and checks it against `now`; returns the signing time.
pub(super) fn check_time(p: &Presented, now: SystemTime) -> Result<SystemTime, AuthError> {
    let at = parse_amz_date(&p.timestamp).ok_or_else(|| {
        AuthError::Incomplete(format!(
            "X-Amz-Date must be in the ISO8601 basic format (yyyyMMddTHHmmssZ): {}",
            p.timestamp
        ))
    })?;
    let at_sys = SystemTime::from(at);
    let fmt = |t: SystemTime| OffsetDateTime::from(t).format(AMZ_DATE).unwrap_or_default();
    // A date in the future is refused alike for both forms.
    if at_sys > now + MAX_SKEW {
        return Err(AuthError::Expired(format!(
            "Signature not yet current: {} is still later than {} ({} + 15 min.)",
            p.timestamp,
            fmt(now + MAX_SKEW),
            fmt(now)
        )));
    }
    match p.expires {
        // Presigned: valid from its date for X-Amz-Expires seconds.
        Some(expires) if at_sys + Duration::from_secs(expires) < now => {
            Err(AuthError::Expired(format!(
                "Signature expired: {} is now earlier than {} ({} - {expires} sec.)",
                fmt(at_sys + Duration::from_secs(expires)),
                fmt(now),
                p.timestamp
            )))
        }
        // Header: within 15 minutes of the server's clock.
        None if at_sys + MAX_SKEW < now => Err(AuthError::Expired(format!(
            "Signature expired: {} is now earlier than {} ({} - 15 min.)",
            p.timestamp,
            fmt(now - MAX_SKEW),
            fmt(now)
        ))),
        _ => Ok(at_sys),
    }
}

/// `yyyyMMddTHHmmssZ`, read by position (every signed request carries one; the general
/// format-description parser cost more than the rest of the check).
fn parse_amz_date(s: &str) -> Option<OffsetDateTime> {
    let b = s.as_bytes();
    if b.len() != 16 || b[8] != b'T' || b[15] != b'Z' {
        return None;
    }
    let number = |range: std::ops::Range<usize>| -> Option<u16> {
        b.get(range)?.iter().try_fold(0u16, |n, c| {
            c.is_ascii_digit().then(|| n * 10 + u16::from(c - b'0'))
        })
    };
    let small = |range| number(range).and_then(|n| u8::try_from(n).ok());
    let month = time::Month::try_from(small(4..6)?).ok()?;
    let date =
        time::Date::from_calendar_date(i32::from(number(0..4)?), month, small(6..8)?).ok()?;
    let at = date
        .with_hms(small(9..11)?, small(11..13)?, small(13..15)?)
        .ok()?;
    Some(at.assume_utc())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amz_dates_parse_as_the_format_description_does() {
        for s in [
            "20260101T000000Z",
            "20261231T235959Z",
            "20240229T120000Z",
            "20230229T120000Z",
            "20261301T000000Z",
            "20260100T000000Z",
            "20260101T240000Z",
            "20260101T000060Z",
            "2026010T1000000Z",
            "20260101 000000Z",
            "20260101T000000",
            "20260101T00000aZ",
            "+0260101T000000Z",
            "20260101T000000Z ",
            "",
        ] {
            let general = time::PrimitiveDateTime::parse(s, AMZ_DATE)
                .ok()
                .map(|d| d.assume_utc());
            assert_eq!(parse_amz_date(s), general, "{s}");
        }
    }
}
