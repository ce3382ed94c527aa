//! Maps `METHOD /path` to a model operation. Routes are the model's `requestUri` templates, so
//! every operation (including the `/deployementstrategies/{id}` spelling of
//! DeleteDeploymentStrategy) is routed exactly as the SDKs send it.

use std::collections::HashMap;
use std::sync::OnceLock;

use percent_encoding::percent_decode_str;

use super::model::{appconfig, Operation};

#[derive(Debug)]
enum Segment {
    Literal(String),
    Label(String),
}

struct Route {
    method: String,
    segments: Vec<Segment>,
    op: &'static Operation,
}

fn routes() -> &'static [Route] {
    static ROUTES: OnceLock<Vec<Route>> = OnceLock::new();
    ROUTES.get_or_init(|| {
        let mut routes: Vec<Route> = appconfig()
            .operations
            .values()
            .map(|op| {
                // Some templates carry a literal query part (`?x`); only the path matters here.
                let path = op.http.request_uri.split('?').next().unwrap_or_default();
                let segments = split(path)
                    .map(
                        |s| match s.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                            Some(label) => Segment::Label(label.trim_end_matches('+').to_string()),
                            None => Segment::Literal(s.to_string()),
                        },
                    )
                    .collect();
                Route {
                    method: op.http.method.clone(),
                    segments,
                    op,
                }
            })
            .collect();
        // Literal segments win over labels at the same position (most specific first).
        routes.sort_by_key(|r| {
            r.segments
                .iter()
                .map(|s| matches!(s, Segment::Label(_)))
                .collect::<Vec<_>>()
        });
        routes
    })
}

fn split(path: &str) -> impl Iterator<Item = &str> {
    path.split('/').filter(|s| !s.is_empty())
}

pub enum RouteMatch {
    Found {
        op: &'static Operation,
        labels: HashMap<String, String>,
    },
    /// The path exists, but not with this method.
    MethodNotAllowed,
    NotFound,
}

/// `raw_path` is the percent-encoded path as received; labels are decoded one segment at a time
/// so an ARN with an encoded `/` stays one label.
pub fn find(method: &str, raw_path: &str) -> RouteMatch {
    let parts: Vec<&str> = split(raw_path).collect();
    let mut path_matched = false;
    for route in routes() {
        if route.segments.len() != parts.len() {
            continue;
        }
        let mut labels = HashMap::new();
        let ok = route
            .segments
            .iter()
            .zip(&parts)
            .all(|(seg, part)| match seg {
                Segment::Literal(l) => l == part,
                Segment::Label(name) => {
                    let value = percent_decode_str(part).decode_utf8_lossy().into_owned();
                    labels.insert(name.clone(), value);
                    true
                }
            });
        if !ok {
            continue;
        }
        if route.method.eq_ignore_ascii_case(method) {
            return RouteMatch::Found {
                op: route.op,
                labels,
            };
        }
        path_matched = true;
    }
    if path_matched {
        RouteMatch::MethodNotAllowed
    } else {
        RouteMatch::NotFound
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn op(method: &str, path: &str) -> Option<(&'static str, HashMap<String, String>)> {
        match find(method, path) {
            RouteMatch::Found { op, labels } => Some((op.name.as_str(), labels)),
            _ => None,
        }
    }

    #[test]
    fn every_model_operation_is_routed_to_itself() {
        for op_model in appconfig().operations.values() {
            let path = op_model
                .http
                .request_uri
                .split('?')
                .next()
                .unwrap_or_default();
            let concrete = path
                .split('/')
                .map(|s| if s.starts_with('{') { "abc1234" } else { s })
                .collect::<Vec<_>>()
                .join("/");
            let found = op(&op_model.http.method, &concrete).map(|(n, _)| n);
            assert_eq!(found, Some(op_model.name.as_str()), "{concrete}");
        }
    }

    #[test]
    fn typo_route_and_literal_precedence() {
        assert_eq!(
            op("DELETE", "/deployementstrategies/abc1234").map(|o| o.0),
            Some("DeleteDeploymentStrategy")
        );
        assert_eq!(
            op("GET", "/settings").map(|o| o.0),
            Some("GetAccountSettings")
        );
    }

    #[test]
    fn encoded_arn_is_one_label() {
        let (name, labels) = op(
            "GET",
            "/tags/arn%3Aaws%3Aappconfig%3Aus-east-1%3A000000000000%3Aapplication%2Fabc1234",
        )
        .unwrap();
        assert_eq!(name, "ListTagsForResource");
        assert_eq!(
            labels["ResourceArn"],
            "arn:aws:appconfig:us-east-1:000000000000:application/abc1234"
        );
    }

    #[test]
    fn unknown_and_wrong_method() {
        assert!(matches!(find("GET", "/nope"), RouteMatch::NotFound));
        assert!(matches!(
            find("PUT", "/applications"),
            RouteMatch::MethodNotAllowed
        ));
    }
}
