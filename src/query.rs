//! URL query strings as AWS clients send them: percent-encoded keys and values, repeated keys.
//! Shared by the wire layer and the data plane (which reads one parameter per request).

use std::borrow::Cow;
use std::collections::HashMap;

use percent_encoding::percent_decode_str;

/// Parses `a=1&b=2&b=3` into a multimap, percent-decoding keys and values.
pub fn parse_query(query: Option<&str>) -> HashMap<String, Vec<String>> {
    let mut out: HashMap<String, Vec<String>> = HashMap::new();
    for pair in query
        .unwrap_or_default()
        .split('&')
        .filter(|p| !p.is_empty())
    {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let k = percent_decode_str(k).decode_utf8_lossy().into_owned();
        let v = percent_decode_str(v).decode_utf8_lossy().into_owned();
        out.entry(k).or_default().push(v);
    }
    out
}

/// The first value of `key` in the query, decoded as `parse_query` decodes (keys too), without
/// building its map: for the read paths, which look up one parameter per request.
pub fn query_first<'a>(query: Option<&'a str>, key: &str) -> Option<Cow<'a, str>> {
    query.unwrap_or_default().split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        (!pair.is_empty() && decode_component(k) == key).then(|| decode_component(v))
    })
}

/// Percent-decodes one key, value or path segment; text without `%` (a configuration token, a
/// name) is returned as it is, without the byte-by-byte decoder.
pub fn decode_component(s: &str) -> Cow<'_, str> {
    if s.contains('%') {
        percent_decode_str(s).decode_utf8_lossy()
    } else {
        Cow::Borrowed(s)
    }
}
