//! The data plane: AppConfigData (StartConfigurationSession, GetLatestConfiguration), the
//! AppConfig Agent's local read API, and the deprecated GetConfiguration, all served from the
//! in-memory `Snapshot` with self-contained tokens, so a poll never touches the database.

pub mod experiments;
mod flags;
pub mod snapshot;
pub mod token;

use std::borrow::Cow;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, RwLock};

use bytes::Bytes;
use http::{HeaderMap, HeaderName, Method, StatusCode};
use http_body_util::Full;
use serde_json::{json, Value};

use crate::api::appconfigdata::{
    StartConfigurationSessionRequest, StartConfigurationSessionResponse,
};
use crate::domain::configuration_profiles::ConfigurationProfile;
use crate::domain::error::{Error, Result};
use crate::domain::featureflags::ION_CONTENT_TYPE;
use crate::domain::{decode, ids, Change, Service};
use crate::store::{Kind, Record};
use flags::{select_flags, wants_ion};
use snapshot::{bucket, bucket_of_address, Entry, Key, KeyMap, KeyRef, Snapshot};
use token::Claims;

/// A data-plane answer: the whole body is in memory, so it goes out as one `Full` buffer (no
/// boxed stream per response).
pub type Reply = http::Response<Full<Bytes>>;

/// Tokens live 24 hours (service time).
const TOKEN_LIFETIME_MS: i64 = 24 * 3600 * 1000;
const DEFAULT_POLL_SECONDS: i64 = 60;
/// Usage marks (deletion protection) are written at most this often per resource (service
/// time, like the protection period they serve).
const USAGE_WRITE_EVERY_MS: i64 = 30_000;

// Response header names, pre-parsed (parsing a mixed-case name allocates on every response).
const NEXT_TOKEN: HeaderName = HeaderName::from_static("next-poll-configuration-token");
const NEXT_INTERVAL: HeaderName = HeaderName::from_static("next-poll-interval-in-seconds");
const VERSION_LABEL: HeaderName = HeaderName::from_static("version-label");
const CONFIGURATION_VERSION: HeaderName = HeaderName::from_static("configuration-version");
/// The agent's entity (rollout bucket, experiment assignment).
const ENTITY_ID: HeaderName = HeaderName::from_static("entity-id");
/// Which data-plane operation a request is. The one classification shared by the wire layer
/// (what to route here, and whether a bearer token may authenticate it), the metrics, and
/// `DataPlane::handle`, so the three can never disagree.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Route {
    StartConfigurationSession,
    GetLatestConfiguration,
    /// `GET /applications/…/configurations/…` without `client_id`: the agent's local API.
    AgentRead,
    /// The same path with `client_id`: the deprecated control-plane GetConfiguration.
    GetConfiguration,
}

impl Route {
    pub const ALL: [Route; 4] = [
        Route::StartConfigurationSession,
        Route::GetLatestConfiguration,
        Route::AgentRead,
        Route::GetConfiguration,
    ];

    pub fn of(method: &Method, path: &str, query: Option<&str>) -> Option<Route> {
        match *method {
            Method::POST if path == "/configurationsessions" => {
                Some(Route::StartConfigurationSession)
            }
            Method::GET if path == "/configuration" => Some(Route::GetLatestConfiguration),
            Method::GET
                if path.starts_with("/applications/") && path.contains("/configurations/") =>
            {
                Some(if crate::query::query_first(query, "client_id").is_some() {
                    Route::GetConfiguration
                } else {
                    Route::AgentRead
                })
            }
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Route::StartConfigurationSession => "StartConfigurationSession",
            Route::GetLatestConfiguration => "GetLatestConfiguration",
            Route::AgentRead => "AgentRead",
            Route::GetConfiguration => "GetConfiguration",
        }
    }
}

/// What a read's identifiers (names or ids) resolve to.
pub struct Target {
    /// The ids.
    key: Key,
    /// The profile holds feature flags.
    flags: bool,
}

pub struct DataPlane {
    svc: Service,
    signer: token::Signer,
    snapshot: Snapshot,
    /// (account, app, env, profile identifiers as given, and as ids) → what they name.
    resolved: RwLock<KeyMap<Arc<Target>>>,
    usage: Mutex<HashMap<String, i64>>,
}

/// Errors in the data plane's own shapes (they differ from the control plane's).
pub enum DataError {
    Domain(Error),
    Token(&'static str),
    NotFound {
        message: String,
        resource_type: &'static str,
        referenced_by: Vec<(&'static str, String)>,
    },
}

impl From<Error> for DataError {
    fn from(e: Error) -> Self {
        DataError::Domain(e)
    }
}

impl From<crate::store::StoreError> for DataError {
    fn from(e: crate::store::StoreError) -> Self {
        DataError::Domain(e.into())
    }
}

impl DataPlane {
    /// Loads (or creates) the token key, and starts following the change feed.
    pub async fn start(svc: Service) -> Result<Arc<Self>> {
        let key = token_key(&svc).await?;
        let signer =
            token::Signer::new(&key).ok_or_else(|| Error::internal("unusable token key"))?;
        let dp = Arc::new(DataPlane {
            svc: svc.clone(),
            signer,
            snapshot: Snapshot::default(),
            resolved: RwLock::new(KeyMap::default()),
            usage: Mutex::new(HashMap::new()),
        });
        let mut rx = svc.changes.subscribe();
        let weak = Arc::downgrade(&dp);
        tokio::spawn(async move {
            loop {
                let change = rx.recv().await;
                let Some(dp) = weak.upgrade() else { break };
                match change {
                    Ok(Change::Deployment {
                        account,
                        app_id,
                        env_id,
                    }) => dp
                        .snapshot
                        .invalidate_environment(&account, &app_id, &env_id),
                    // Names of the account may now resolve differently; of the cached
                    // configurations, only the application's can be stale.
                    Ok(Change::Application { account, app_id }) => {
                        if let Ok(mut r) = dp.resolved.write() {
                            r.retain(|k, _| k.0 != account);
                        }
                        dp.snapshot.invalidate_application(&account, &app_id);
                    }
                    Ok(Change::Resources { account }) => {
                        if let Ok(mut r) = dp.resolved.write() {
                            r.retain(|k, _| k.0 != account);
                        }
                        dp.snapshot.invalidate_account(&account);
                    }
                    // Missed changes: forget everything rather than serve stale data.
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {
                        dp.snapshot.clear();
                        if let Ok(mut r) = dp.resolved.write() {
                            r.clear();
                        }
                    }
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => break,
                }
            }
        });
        Ok(dp)
    }

    /// Handles data-plane routes for an authenticated caller of `account`; `None` means
    /// "not mine" (the control plane takes it). Errors are returned for the wire layer to
    /// render, like every other AWS error.
    #[allow(clippy::too_many_arguments)]
    pub async fn handle(
        &self,
        account: &str,
        route: Route,
        path: &str,
        query: Option<&str>,
        headers: &HeaderMap,
        body: &Bytes,
        peer: SocketAddr,
    ) -> Option<Result<Reply, DataError>> {
        let result = match route {
            // Sessions start once per client: boxed, out of the polls' future.
            Route::StartConfigurationSession => {
                Box::pin(self.start_configuration_session(account, body)).await
            }
            Route::GetLatestConfiguration => {
                self.get_latest_configuration(account, query, headers).await
            }
            route @ (Route::AgentRead | Route::GetConfiguration) => {
                let mut parts = crate::query::split_at(path, b'/').filter(|s| !s.is_empty());
                let (
                    Some("applications"),
                    Some(app),
                    Some("environments"),
                    Some(env),
                    Some("configurations"),
                    Some(profile),
                    None,
                ) = (
                    parts.next(),
                    parts.next(),
                    parts.next(),
                    parts.next(),
                    parts.next(),
                    parts.next(),
                    parts.next(),
                )
                else {
                    return None;
                };
                let decode = crate::query::decode_component;
                let target = ConfigPath {
                    app: decode(app),
                    env: decode(env),
                    profile: decode(profile),
                };
                let q = crate::query::parse_query(query);
                if route == Route::GetConfiguration {
                    Box::pin(self.get_configuration(account, &target, &q)).await
                } else {
                    self.agent_read(account, &target, &q, headers, peer).await
                }
            }
        };
        Some(result)
    }

    // ---- StartConfigurationSession ------------------------------------------------------

    async fn start_configuration_session(
        &self,
        account: &str,
        body: &Bytes,
    ) -> Result<Reply, DataError> {
        let v: Value = serde_json::from_slice(body)
            .map_err(|e| Error::bad_request(format!("The request body is not valid JSON: {e}")))?;
        // The model's constraints, checked on the raw members so the messages name them as
        // AWS does; then the body binds to the model's request type.
        for name in [
            "ApplicationIdentifier",
            "EnvironmentIdentifier",
            "ConfigurationProfileIdentifier",
        ] {
            check_identifier(&v, name)?;
        }
        let interval_error = || -> DataError {
            let n = &v["RequiredMinimumPollIntervalInSeconds"];
            Error::bad_request(format!(
                "1 validation error detected: Value '{n}' at 'requiredMinimumPollIntervalInSeconds' failed to satisfy constraint: Member must have value between 15 and 86400"
            ))
            .into()
        };
        // With the identifiers checked, only the interval can fail to bind (not an integer).
        let input: StartConfigurationSessionRequest =
            serde_json::from_value(v.clone()).map_err(|_| interval_error())?;
        let interval = match input.required_minimum_poll_interval_in_seconds {
            None => DEFAULT_POLL_SECONDS,
            Some(i) if (15..=86400).contains(&i) => i,
            Some(_) => return Err(interval_error()),
        };
        let target = self
            .resolve(KeyRef(
                account,
                &input.application_identifier,
                &input.environment_identifier,
                &input.configuration_profile_identifier,
            ))
            .await?;
        let now = self.svc.clock.wall_millis();
        let (account, app, env, profile) = &target.key;
        let claims = Claims {
            s: Cow::Owned(format!(
                "{}{}{}",
                ids::new_id(),
                ids::new_id(),
                ids::new_id()
            )),
            account: account.into(),
            app: app.into(),
            env: env.into(),
            profile: profile.into(),
            interval,
            not_before: 0,
            expires: now + self.scaled(TOKEN_LIFETIME_MS),
            last: Cow::Borrowed(""),
        };
        let body = StartConfigurationSessionResponse {
            initial_configuration_token: Some(self.signer.mint(&claims)),
        };
        Ok(http::Response::builder()
            .status(StatusCode::CREATED)
            .header("content-type", "application/json")
            .body(Full::new(Bytes::from(
                serde_json::to_vec(&body).unwrap_or_default(),
            )))
            .unwrap_or_default())
    }

    // ---- GetLatestConfiguration ---------------------------------------------------------

    async fn get_latest_configuration(
        &self,
        account: &str,
        query: Option<&str>,
        headers: &HeaderMap,
    ) -> Result<Reply, DataError> {
        // The request's one member (`GetLatestConfigurationRequest::configuration_token`), read
        // in place: the token is borrowed from the query, its claims from `scratch`.
        let raw = crate::query::query_first(query, "configuration_token")
            .filter(|t| !t.is_empty())
            .ok_or_else(|| {
                Error::bad_request(
                    "1 validation error detected: Value null at 'configurationToken' failed to satisfy constraint: Member must not be null",
                )
            })?;
        // Whitespace and other stray characters fail the base64 decoding: Corrupted too.
        if raw.len() > 8192 {
            return Err(DataError::Token("Corrupted"));
        }
        let mut scratch = Vec::new();
        let mut claims = self
            .signer
            .verify(&raw, &mut scratch)
            .map_err(|_| DataError::Token("Corrupted"))?;
        // A token names its account: another account's token is not valid for this caller.
        if claims.account != account {
            return Err(DataError::Token("Corrupted"));
        }
        let now = self.svc.clock.wall_millis();
        if now > claims.expires {
            return Err(DataError::Token("Expired"));
        }
        if now < claims.not_before {
            return Err(DataError::Token("PollIntervalNotSatisfied"));
        }
        // Ids resolve to themselves (`resolve` caches them that way).
        let target = self
            .resolve(KeyRef(
                &claims.account,
                &claims.app,
                &claims.env,
                &claims.profile,
            ))
            .await?;
        let entry = self.entry(&target).await?;
        let served = entry.pick(bucket(&claims.s)).cloned();
        self.mark_read(&target.key, &entry, now);
        let Some(served) = served else {
            return Err(not_deployed(&target.key));
        };
        let changed = served.id != claims.last;
        claims.last = Cow::Borrowed(&served.id);
        claims.not_before = now + self.scaled(claims.interval * 1000);
        claims.expires = now + self.scaled(TOKEN_LIFETIME_MS);
        let mut b = http::Response::builder()
            .status(StatusCode::OK)
            .header(NEXT_TOKEN, self.signer.mint(&claims))
            .header(NEXT_INTERVAL, claims.interval);
        if !changed {
            // Unchanged: 200 with an empty body, as AWS answers.
            return Ok(b.body(Full::default()).unwrap_or_default());
        }
        let (bytes, content_type) = match &served.flags {
            Some(flags) if wants_ion(headers) => (
                flags.ion(),
                http::HeaderValue::from_static(ION_CONTENT_TYPE),
            ),
            _ => (&served.bytes, served.content_type.clone()),
        };
        b = b.header(http::header::CONTENT_TYPE, content_type);
        if let Some(l) = &served.version_label {
            b = b.header(VERSION_LABEL, l.clone());
        }
        Ok(b.body(Full::new(bytes.clone())).unwrap_or_default())
    }

    // ---- Agent-compatible read ------------------------------------------------------------

    async fn agent_read(
        &self,
        account: &str,
        target: &ConfigPath<'_>,
        q: &HashMap<String, Vec<String>>,
        headers: &HeaderMap,
        peer: SocketAddr,
    ) -> Result<Reply, DataError> {
        let resolved = self
            .resolve(KeyRef(account, &target.app, &target.env, &target.profile))
            .await?;
        let entry = self.entry(&resolved).await?;
        // The agent is one client per host: its identity is the Entity-Id header if given,
        // else the caller's address.
        let entity = headers.get(ENTITY_ID).and_then(|v| v.to_str().ok());
        let client = match entity {
            Some(e) => bucket(e),
            None => bucket_of_address(peer.ip()),
        };
        let served = entry.pick(client).cloned();
        self.mark_read(&resolved.key, &entry, self.svc.clock.wall_millis());
        let served = served.ok_or_else(|| not_deployed(&resolved.key))?;
        let (body, content_type) = match &served.flags {
            Some(flags) if wants_ion(headers) => (
                flags.ion().clone(),
                http::HeaderValue::from_static(ION_CONTENT_TYPE),
            ),
            Some(flags) => (
                select_flags(
                    flags,
                    headers,
                    q.get("flag"),
                    &entry.experiments,
                    entity.filter(|e| !e.is_empty()),
                )?,
                served.content_type.clone(),
            ),
            None => (served.bytes.clone(), served.content_type.clone()),
        };
        let mut b = http::Response::builder()
            .status(StatusCode::OK)
            .header(http::header::CONTENT_TYPE, content_type)
            .header(CONFIGURATION_VERSION, served.version.clone());
        if let Some(l) = &served.version_label {
            b = b.header(VERSION_LABEL, l.clone());
        }
        Ok(b.body(Full::new(body)).unwrap_or_default())
    }

    // ---- GetConfiguration (deprecated) ----------------------------------------------------

    async fn get_configuration(
        &self,
        account: &str,
        target: &ConfigPath<'_>,
        q: &HashMap<String, Vec<String>>,
    ) -> Result<Reply, DataError> {
        let client_id = q
            .get("client_id")
            .and_then(|v| v.first())
            .cloned()
            .unwrap_or_default();
        if !(1..=64).contains(&client_id.chars().count()) {
            return Err(Error::bad_request(format!(
                "1 validation error detected: Value '{client_id}' at 'clientId' failed to satisfy constraint: Member must have length between 1 and 64"
            ))
            .into());
        }
        for (name, v) in [
            ("application", &target.app),
            ("environment", &target.env),
            ("configuration", &target.profile),
        ] {
            if !(1..=64).contains(&v.chars().count()) {
                return Err(Error::bad_request(format!(
                    "1 validation error detected: Value '{v}' at '{name}' failed to satisfy constraint: Member must have length between 1 and 64"
                ))
                .into());
            }
        }
        // GetConfiguration is a control-plane operation: its errors use that model's shapes.
        let resolved = self
            .resolve(KeyRef(account, &target.app, &target.env, &target.profile))
            .await
            .map_err(|e| match e {
                DataError::NotFound {
                    message,
                    resource_type,
                    ..
                } => DataError::Domain(Error::ResourceNotFound {
                    message,
                    resource_name: Some(resource_type.to_string()),
                }),
                other => other,
            })?;
        if resolved.flags {
            return Err(Error::bad_request(
                "GetConfiguration does not support feature flag configuration profiles; use AppConfigData GetLatestConfiguration.",
            )
            .into());
        }
        let entry = self.entry(&resolved).await?;
        let served = entry.pick(bucket(&client_id)).cloned();
        self.mark_read(&resolved.key, &entry, self.svc.clock.wall_millis());
        let served = served.ok_or_else(|| {
            DataError::Domain(Error::ResourceNotFound {
                message: format!(
                    "No configuration is deployed for {} in environment {}.",
                    target.profile, target.env
                ),
                resource_name: Some("Configuration".into()),
            })
        })?;
        let known = q
            .get("client_configuration_version")
            .and_then(|v| v.first());
        let b = http::Response::builder().header(CONFIGURATION_VERSION, served.version.clone());
        if known.map(String::as_bytes) == Some(served.version.as_bytes()) {
            // The model documents 204 when the client already has this version.
            return Ok(b
                .status(StatusCode::NO_CONTENT)
                .body(Full::default())
                .unwrap_or_default());
        }
        Ok(b.status(StatusCode::OK)
            .header(http::header::CONTENT_TYPE, served.content_type.clone())
            .body(Full::new(served.bytes.clone()))
            .unwrap_or_default())
    }

    // ---- Shared pieces ----------------------------------------------------------------------

    fn scaled(&self, service_ms: i64) -> i64 {
        (service_ms as f64 / self.svc.settings.time_scale).ceil() as i64
    }

    async fn entry(&self, target: &Target) -> Result<Arc<Entry>, DataError> {
        match self.snapshot.get(KeyRef::of(&target.key)) {
            Some(e) => Ok(e),
            // Boxed: the store's future stays out of every read's (moved on each request).
            None => Box::pin(self.load_entry(target)).await,
        }
    }

    async fn load_entry(&self, target: &Target) -> Result<Arc<Entry>, DataError> {
        let generation = self.snapshot.generation();
        let e = Arc::new(snapshot::load(&self.svc.store, &target.key, target.flags).await?);
        self.snapshot.put(target.key.clone(), e.clone(), generation);
        Ok(e)
    }

    /// Names or ids → ids (plus whether the profile holds feature flags), cached until the
    /// next control-plane write.
    async fn resolve(&self, given: KeyRef<'_>) -> Result<Arc<Target>, DataError> {
        let hit = self
            .resolved
            .read()
            .ok()
            .and_then(|r| r.get(&given).cloned());
        match hit {
            Some(t) => Ok(t),
            None => Box::pin(self.resolve_in_store(given)).await,
        }
    }

    async fn resolve_in_store(&self, given: KeyRef<'_>) -> Result<Arc<Target>, DataError> {
        let KeyRef(account, app, env, profile) = given;
        let mut tx = self.svc.store.read(account).await?;
        let missing = |what: &str, resource_type, field, ident: &str| DataError::NotFound {
            message: format!("{what} {ident} not found"),
            resource_type,
            referenced_by: vec![(field, ident.to_string())],
        };
        let app_rec = find(&mut *tx, Kind::Application, "", app)
            .await?
            .ok_or_else(|| missing("Application", "Application", "ApplicationIdentifier", app))?;
        let env_rec = find(&mut *tx, Kind::Environment, &app_rec.id, env)
            .await?
            .ok_or_else(|| missing("Environment", "Environment", "EnvironmentIdentifier", env))?;
        let prof_rec = find(&mut *tx, Kind::ConfigurationProfile, &app_rec.id, profile)
            .await?
            .ok_or_else(|| {
                missing(
                    "Configuration profile",
                    "ConfigurationProfile",
                    "ConfigurationProfileIdentifier",
                    profile,
                )
            })?;
        let p: ConfigurationProfile = decode(&prof_rec)?;
        let target = Arc::new(Target {
            key: (account.to_string(), app_rec.id, env_rec.id, prof_rec.id),
            flags: p.is_feature_flags(),
        });
        if let Ok(mut r) = self.resolved.write() {
            let as_given = (
                account.to_string(),
                app.to_string(),
                env.to_string(),
                profile.to_string(),
            );
            r.insert(as_given, target.clone());
            r.insert(target.key.clone(), target.clone());
        }
        Ok(target)
    }

    /// Remembers that an environment and a profile were read (deletion protection); written
    /// to the store in the background, at most every 30 s per resource. `now` is the
    /// service's wall clock, which a poll has read already.
    fn mark_read(&self, key: &Key, entry: &Entry, now: i64) {
        use std::sync::atomic::Ordering;
        let every = self.scaled(USAGE_WRITE_EVERY_MS);
        // Fast path: this entry's read was recorded recently.
        let last = entry.last_marked.load(Ordering::Relaxed);
        if now - last < every
            || entry
                .last_marked
                .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_err()
        {
            return;
        }
        let marks = [
            format!("environment/{}", key.2),
            format!("configurationprofile/{}", key.3),
        ];
        let due: Vec<String> = match self.usage.lock() {
            Ok(mut m) => marks
                .into_iter()
                .filter(|k| {
                    let last = m.get(k).copied().unwrap_or(0);
                    if now - last >= every {
                        m.insert(k.clone(), now);
                        true
                    } else {
                        false
                    }
                })
                .collect(),
            Err(_) => Vec::new(),
        };
        if due.is_empty() {
            return;
        }
        let store = self.svc.store.clone();
        let account = key.0.clone();
        tokio::spawn(async move {
            if let Err(e) = write_usage(&store, &account, &due, now).await {
                tracing::warn!(error = %e, "cannot record read for deletion protection");
            }
        });
    }
}

async fn write_usage(
    store: &crate::store::DynStore,
    account: &str,
    ids: &[String],
    now: i64,
) -> Result<()> {
    let mut tx = store.write(account).await?;
    for id in ids {
        let body = json!({ "LastReadAt": now });
        match tx.get(Kind::Usage, id).await? {
            Some(mut rec) => {
                rec.body = body;
                tx.update(&rec).await?;
            }
            None => {
                tx.insert(Record::new(Kind::Usage, id.clone(), "", body))
                    .await?;
            }
        }
    }
    tx.commit().await?;
    Ok(())
}

/// A resource by id, else by name (the oldest of that name).
async fn find(
    tx: &mut dyn crate::store::Tx,
    kind: Kind,
    parent: &str,
    ident: &str,
) -> Result<Option<Record>> {
    crate::domain::find_by_id_or_name(tx, kind, parent, ident).await
}

/// An AppConfigData `Identifier` member: present, a string of 1 to 128 characters.
fn check_identifier(v: &Value, name: &str) -> Result<(), DataError> {
    match v.get(name) {
        Some(Value::String(s)) if (1..=128).contains(&s.chars().count()) => Ok(()),
        Some(Value::String(s)) => Err(Error::bad_request(format!(
            "1 validation error detected: Value '{s}' at '{name}' failed to satisfy constraint: Member must have length between 1 and 128"
        ))
        .into()),
        _ => Err(Error::bad_request(format!(
            "1 validation error detected: Value null at '{name}' failed to satisfy constraint: Member must not be null"
        ))
        .into()),
    }
}

fn not_deployed(key: &Key) -> DataError {
    DataError::NotFound {
        message: format!(
            "No configuration of profile {} has been deployed to environment {}.",
            key.3, key.2
        ),
        resource_type: "Deployment",
        referenced_by: vec![
            ("EnvironmentIdentifier", key.2.clone()),
            ("ConfigurationProfileIdentifier", key.3.clone()),
        ],
    }
}

/// The resource named by an agent read or GetConfiguration path, percent-decoded (ids or names).
struct ConfigPath<'a> {
    app: Cow<'a, str>,
    env: Cow<'a, str>,
    profile: Cow<'a, str>,
}

/// The HMAC key for tokens: created once, kept in the store so every node and every restart
/// shares it.
async fn token_key(svc: &Service) -> Result<Vec<u8>> {
    const SYSTEM: &str = "_appconfigd";
    let mut tx = svc.store.write(SYSTEM).await?;
    if let Some(rec) = tx.get(Kind::AccountSettings, "token-key").await? {
        if let Some(k) = rec.body["Key"].as_str() {
            return Ok(k.as_bytes().to_vec());
        }
    }
    let mut raw = [0u8; 32];
    ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut raw)
        .map_err(|_| Error::internal("no secure random source for the token key"))?;
    let key: String = raw.iter().map(|b| format!("{b:02x}")).collect();
    let rec = Record::new(
        Kind::AccountSettings,
        "token-key",
        "",
        json!({ "Key": key }),
    );
    tx.insert(rec).await?;
    tx.commit().await?;
    Ok(key.into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_split_agent_reads_from_get_configuration_by_decoded_query_key() {
        let path = "/applications/a/environments/e/configurations/p";
        let of = |q| Route::of(&Method::GET, path, q);
        assert_eq!(of(None), Some(Route::AgentRead));
        assert_eq!(of(Some("flag=x&client_idx=1")), Some(Route::AgentRead));
        for q in ["client_id=c", "flag=x&client_id", "client%5Fid=c"] {
            assert_eq!(of(Some(q)), Some(Route::GetConfiguration), "{q}");
            // The same decision `handle` would reach through the parsed query.
            assert!(crate::query::parse_query(Some(q)).contains_key("client_id"));
        }
        assert_eq!(
            Route::of(&Method::POST, "/configurationsessions", None),
            Some(Route::StartConfigurationSession)
        );
        assert_eq!(Route::of(&Method::GET, "/applications/a", None), None);
        assert_eq!(Route::of(&Method::DELETE, "/configuration", None), None);
    }
}
