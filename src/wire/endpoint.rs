//! A request is classified once, by the server's front (`server.rs`), from its method, path and
//! query, before anything else runs, into the endpoint it is for. Data-plane routes are answered
//! there; for the rest the value travels with the request (an extension), so metrics and the
//! control-plane handler never decide it again, and never disagree.

use std::collections::HashMap;

use http::Method;

use super::model::Operation;
use super::router::{self, RouteMatch};
use crate::dataplane::Route;

#[derive(Clone, Debug)]
pub enum Endpoint {
    /// AppConfigData or the configuration read path.
    Data(Route),
    /// A control-plane operation of the model, with its decoded path labels.
    Operation {
        op: &'static Operation,
        labels: HashMap<String, String>,
    },
    /// A model path, but not with this method.
    MethodNotAllowed,
    NotFound,
}

impl Endpoint {
    pub fn classify(method: &Method, path: &str, query: Option<&str>) -> Endpoint {
        if let Some(route) = Route::of(method, path, query) {
            return Endpoint::Data(route);
        }
        match router::find(method.as_str(), path) {
            RouteMatch::Found { op, labels } => Endpoint::Operation { op, labels },
            RouteMatch::MethodNotAllowed => Endpoint::MethodNotAllowed,
            RouteMatch::NotFound => Endpoint::NotFound,
        }
    }

    /// The operation's name as metrics and logs report it.
    pub fn name(&self) -> &'static str {
        match self {
            Endpoint::Data(route) => route.name(),
            Endpoint::Operation { op, .. } => op.name.as_str(),
            Endpoint::MethodNotAllowed | Endpoint::NotFound => "unknown",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_plane_and_control_plane_paths_are_classified_once() {
        let get = Method::GET;
        assert_eq!(
            Endpoint::classify(&Method::POST, "/configurationsessions", None).name(),
            "StartConfigurationSession"
        );
        assert_eq!(
            Endpoint::classify(&get, "/configuration", Some("configuration_token=x")).name(),
            "GetLatestConfiguration"
        );
        let read = "/applications/a/environments/e/configurations/p";
        assert_eq!(Endpoint::classify(&get, read, None).name(), "AgentRead");
        assert_eq!(
            Endpoint::classify(&get, read, Some("client_id=1")).name(),
            "GetConfiguration"
        );
        assert_eq!(
            Endpoint::classify(&get, "/applications", None).name(),
            "ListApplications"
        );
        assert_eq!(Endpoint::classify(&get, "/nowhere", None).name(), "unknown");
    }
}
