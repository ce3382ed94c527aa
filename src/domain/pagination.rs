//! Opaque pagination tokens. A token carries the sequence number of the last item returned, so
//! the next page is a keyset query (O(page)) that neither skips nor repeats items when other
//! items are inserted meanwhile.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;

use super::error::{Error, Result};

pub const DEFAULT_PAGE: i64 = 50;
const PREFIX: &str = "acd1:";

pub struct Page {
    pub limit: i64,
    pub after_seq: i64,
}

/// `max_results` is range-checked by the model (1–50) before it gets here.
pub fn page(max_results: Option<i64>, next_token: Option<&str>) -> Result<Page> {
    let after_seq = match next_token {
        None => 0,
        Some(t) => decode(t).ok_or_else(|| {
            Error::bad_request(format!("The NextToken '{t}' is invalid or has expired."))
        })?,
    };
    Ok(Page {
        limit: max_results.unwrap_or(DEFAULT_PAGE),
        after_seq,
    })
}

pub fn token(seq: i64) -> String {
    URL_SAFE_NO_PAD.encode(format!("{PREFIX}{seq}"))
}

fn decode(token: &str) -> Option<i64> {
    let raw = URL_SAFE_NO_PAD.decode(token).ok()?;
    let text = String::from_utf8(raw).ok()?;
    text.strip_prefix(PREFIX)?.parse().ok()
}

/// Splits a fetched `limit + 1` rows into the page and the token for the next one.
pub fn finish<T>(
    mut rows: Vec<T>,
    limit: i64,
    seq_of: impl Fn(&T) -> i64,
) -> (Vec<T>, Option<String>) {
    if rows.len() as i64 > limit {
        rows.truncate(limit as usize);
        let next = rows.last().map(|r| token(seq_of(r)));
        (rows, next)
    } else {
        (rows, None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_round_trip_and_garbage() {
        assert_eq!(decode(&token(42)), Some(42));
        assert!(page(None, Some("garbage!")).is_err());
        assert!(page(None, Some(&URL_SAFE_NO_PAD.encode("x:1"))).is_err());
        assert_eq!(
            page(Some(5), None).map(|p| (p.limit, p.after_seq)).ok(),
            Some((5, 0))
        );
    }

    #[test]
    fn finish_sets_token_only_when_more() {
        let (rows, next) = finish(vec![1, 2, 3], 2, |r| *r);
        assert_eq!(rows, vec![1, 2]);
        assert_eq!(next.as_deref().and_then(decode), Some(2));
        let (_, next) = finish(vec![1, 2], 2, |r| *r);
        assert!(next.is_none());
    }
}
