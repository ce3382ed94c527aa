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
    let at = time::PrimitiveDateTime::parse(&p.timestamp, AMZ_DATE)
        .map_err(|_| {
            AuthError::Incomplete(format!(
                "X-Amz-Date must be in the ISO8601 basic format (yyyyMMddTHHmmssZ): {}",
                p.timestamp
            ))
        })?
        .assume_utc();
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
