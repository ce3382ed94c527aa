//! The agent-compatible read path: `Authorization: Bearer <token>`, checked against the legacy
//! `--agent-token` (emulator mode) or the credentials file's agent tokens.

use http::HeaderMap;

use super::{constant_time_eq, Authenticator};

pub enum AgentAuth<'a> {
    Account(&'a str),
    /// No bearer token: the request must carry a SigV4 signature instead.
    Signed,
    Refused,
}

impl Authenticator {
    /// The agent-compatible read path: `Authorization: Bearer T`. Returns the account, or
    /// `None` when the request must be refused. With credentials, a SigV4-signed request is
    /// accepted too (checked by the caller through `authenticate`).
    pub fn agent_account(&self, headers: &HeaderMap) -> AgentAuth<'_> {
        let bearer = headers
            .get(http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "));
        match self {
            Authenticator::Anonymous {
                account,
                agent_token,
            } => match agent_token {
                Some(t) if !bearer.is_some_and(|b| constant_time_eq(b, t)) => AgentAuth::Refused,
                _ => AgentAuth::Account(account),
            },
            Authenticator::Keys { agent_tokens, .. } => {
                if let Some(b) = bearer {
                    // Walk every token (constant time per token) rather than stop early.
                    let mut found = None;
                    for (t, account) in agent_tokens {
                        if constant_time_eq(t, b) {
                            found = Some(account.as_str());
                        }
                    }
                    return found.map_or(AgentAuth::Refused, AgentAuth::Account);
                }
                AgentAuth::Signed
            }
        }
    }
}
