//! URL query strings as AWS clients send them: percent-encoded keys and values, repeated keys.
//! Shared by the wire layer and the data plane (which reads one parameter per request).

use std::borrow::Cow;
use std::collections::HashMap;

use percent_encoding::percent_decode_str;

/// `s` split at every `sep`, an ASCII byte (`&`, `=`, `/`: every split is at a char boundary),
/// found with memchr's vector search. The read paths split each request's query and path, and
/// `str::split` searched for a `char` costs several times more (issue 17's callgrind counts).
pub fn split_at(s: &str, sep: u8) -> impl Iterator<Item = &str> {
    debug_assert!(sep.is_ascii());
    let mut rest = Some(s);
    std::iter::from_fn(move || {
        let r = rest?;
        match memchr::memchr(sep, r.as_bytes()) {
            Some(i) => {
                rest = r.get(i + 1..);
                r.get(..i)
            }
            None => {
                rest = None;
                Some(r)
            }
        }
    })
}

/// `s` split at its first `sep` (an ASCII byte), as `str::split_once` does.
fn split_once_at(s: &str, sep: u8) -> Option<(&str, &str)> {
    let i = memchr::memchr(sep, s.as_bytes())?;
    Some((s.get(..i)?, s.get(i + 1..)?))
}

/// A query's `name=value` pairs as sent (still percent-encoded): empty pairs (`a=1&&b=2`) are
/// skipped, and a pair without `=` has an empty value. The one reading of the query's shape
/// that parsing, lookups, presigned parameters and SigV4's canonical query share.
pub fn raw_pairs(query: &str) -> impl Iterator<Item = (&str, &str)> {
    split_at(query, b'&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| split_once_at(pair, b'=').unwrap_or((pair, "")))
}

/// Parses `a=1&b=2&b=3` into a multimap, percent-decoding keys and values.
pub fn parse_query(query: Option<&str>) -> HashMap<String, Vec<String>> {
    let mut out: HashMap<String, Vec<String>> = HashMap::new();
    for (k, v) in raw_pairs(query.unwrap_or_default()) {
        let k = percent_decode_str(k).decode_utf8_lossy().into_owned();
        let v = percent_decode_str(v).decode_utf8_lossy().into_owned();
        out.entry(k).or_default().push(v);
    }
    out
}

/// The first value of `key` in the query, decoded as `parse_query` decodes (keys too), without
/// building its map: for the read paths, which look up one parameter per request.
pub fn query_first<'a>(query: Option<&'a str>, key: &str) -> Option<Cow<'a, str>> {
    raw_pairs(query.unwrap_or_default())
        .find_map(|(k, v)| (decode_component(k) == key).then(|| decode_component(v)))
}

/// Percent-decodes one key, value or path segment; text without `%` (a configuration token, a
/// name) is returned as it is, without the byte-by-byte decoder.
pub fn decode_component(s: &str) -> Cow<'_, str> {
    if memchr::memchr(b'%', s.as_bytes()).is_some() {
        percent_decode_str(s).decode_utf8_lossy()
    } else {
        Cow::Borrowed(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splitting_at_a_byte_is_str_split() {
        for s in ["", "a", "&", "a&b", "&a&&b&", "é&ü=ß&", "k=v=w"] {
            for sep in [b'&', b'='] {
                let ours: Vec<&str> = split_at(s, sep).collect();
                let std: Vec<&str> = s.split(char::from(sep)).collect();
                assert_eq!(ours, std, "{s:?} at {sep}");
                assert_eq!(split_once_at(s, sep), s.split_once(char::from(sep)));
            }
        }
    }

    #[test]
    fn raw_pairs_skip_empty_pairs_and_keep_values_encoded() {
        let pairs: Vec<_> = raw_pairs("a=1&&b&c=d=e&k%20=v%2F&").collect();
        assert_eq!(
            pairs,
            [("a", "1"), ("b", ""), ("c", "d=e"), ("k%20", "v%2F")]
        );
        assert_eq!(raw_pairs("").count(), 0);
    }
}
