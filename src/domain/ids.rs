//! Identifiers and ARNs.

const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";

/// A new resource id: 7 characters of `[a-z0-9]`, like every id AWS AppConfig hands out.
pub fn new_id() -> String {
    (0..7)
        .map(|_| ALPHABET[fastrand::usize(..ALPHABET.len())] as char)
        .collect()
}

/// A request id for `x-amzn-RequestId`: two resource ids' worth of randomness.
pub fn request_id() -> String {
    new_id() + &new_id()
}

pub fn arn(region: &str, account: &str, resource: &str) -> String {
    format!("arn:aws:appconfig:{region}:{account}:{resource}")
}

/// The parts of an AppConfig ARN: `arn:PARTITION:appconfig:REGION:ACCOUNT:RESOURCE`.
#[derive(Debug, PartialEq, Eq)]
pub struct ParsedArn<'a> {
    pub service: &'a str,
    pub region: &'a str,
    pub account: &'a str,
    /// The resource path split on `/`, e.g. `["application", "abc1234"]`.
    pub resource: Vec<&'a str>,
}

pub fn parse_arn(arn: &str) -> Option<ParsedArn<'_>> {
    let mut parts = arn.splitn(6, ':');
    let (Some("arn"), Some(_partition), Some(service), Some(region), Some(account), Some(rest)) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return None;
    };
    Some(ParsedArn {
        service,
        region,
        account,
        resource: rest.split('/').collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_seven_lowercase_alphanumerics() {
        for _ in 0..100 {
            let id = new_id();
            assert_eq!(id.len(), 7);
            assert!(id.bytes().all(|b| ALPHABET.contains(&b)));
        }
    }

    #[test]
    fn arn_round_trip() {
        let a = arn(
            "us-east-1",
            "000000000000",
            "application/abc1234/environment/def5678",
        );
        let p = parse_arn(&a).unwrap();
        assert_eq!(p.service, "appconfig");
        assert_eq!(p.account, "000000000000");
        assert_eq!(
            p.resource,
            vec!["application", "abc1234", "environment", "def5678"]
        );
        assert!(parse_arn("not-an-arn").is_none());
    }
}
