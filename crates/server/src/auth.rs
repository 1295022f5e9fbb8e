//! Bearer-token authentication and the typed capability gate.
//!
//! Handlers never see a token or a scope: they name the capability they need
//! as an extractor, `Require<ReadAccess>`, and run only if the caller has it.
//! A handler without such an argument cannot obtain a capability at all (see
//! `soxctl_model::access`).

use crate::problem::Problem;
use crate::state::AppState;
use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use sha2::{Digest, Sha256};
use soxctl_model::access::{Caller, Capability, Issuer, MetricsAccess, Pipeline};
use soxctl_model::ids::PersonId;
use soxctl_model::inventory::PersonStatus;
use soxctl_model::principal::Principal;

/// The capability `C`, granted to an authenticated caller whose scopes allow it.
/// Rejects with 401 (no valid token) or 403 (token lacks the scope).
#[derive(Debug, Clone)]
pub struct Require<C>(pub C);

impl<C: Capability + Send> FromRequestParts<AppState> for Require<C> {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Problem> {
        let caller = authenticate(parts, state).await?;
        caller
            .require::<C>()
            .map(Require)
            .map_err(Problem::forbidden)
    }
}

/// `MetricsAccess` for `/metrics`: by configuration when metrics are public,
/// otherwise through [`Require`].
#[derive(Debug, Clone)]
pub struct MetricsGate(pub MetricsAccess);

impl FromRequestParts<AppState> for MetricsGate {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Problem> {
        if state.metrics_public() {
            return Ok(Self(MetricsAccess::public_by_configuration()));
        }
        let Require(access) = Require::<MetricsAccess>::from_request_parts(parts, state).await?;
        Ok(Self(access))
    }
}

const HOW_TO_AUTHENTICATE: &str = "Send `Authorization: Bearer <token>` with a token from `soxctl token create` (ask an admin for one).";

/// Who issued a token for `person`: up the chain of tokens that created
/// it, the first creator that is not `person` themselves — an admin's
/// token, a person-less token, `system:cli` — or none when the chain ends
/// at the person (their own login). A token made with a token the person
/// was given by someone else is theirs no more than that one was.
async fn issuer_of(
    state: &AppState,
    person: &PersonId,
    created_by: &str,
) -> Result<Option<Issuer>, Problem> {
    let mut creator = created_by.to_owned();
    // Chains are short; a longer one (or a loop) is treated as foreign.
    for _ in 0..16 {
        match creator.parse::<Principal>() {
            Ok(Principal::Person(p)) if &p == person => return Ok(None),
            Ok(Principal::Token(id)) => match state.store().token(&id).await? {
                Some(t) if t.person_id.as_ref() == Some(person) => creator = t.created_by,
                Some(t) => {
                    return Ok(Some(Issuer {
                        principal: creator,
                        person: t.person_id,
                    }));
                }
                None => break,
            },
            Ok(Principal::Person(p)) => {
                return Ok(Some(Issuer {
                    principal: creator,
                    person: Some(p),
                }));
            }
            _ => break,
        }
    }
    Ok(Some(Issuer {
        principal: creator,
        person: None,
    }))
}

/// The caller behind the request's bearer token, looked up by the token's
/// SHA-256 (the store never holds the secret itself). The token must be
/// neither revoked nor expired, and a token bound to a person works only while
/// that person is in the inventory and not terminated.
async fn authenticate(parts: &mut Parts, state: &AppState) -> Result<Caller, Problem> {
    // Several extractors in one handler authenticate once.
    if let Some(caller) = parts.extensions.get::<Caller>() {
        return Ok(caller.clone());
    }
    let Some(header) = parts.headers.get(AUTHORIZATION) else {
        return Err(Problem::missing_credential(format!(
            "This endpoint needs a token. {HOW_TO_AUTHENTICATE}"
        )));
    };
    let malformed = || {
        Problem::invalid_credential(format!(
            "The Authorization header is not a bearer token. {HOW_TO_AUTHENTICATE}"
        ))
    };
    let value = header.to_str().map_err(|_| malformed())?;
    let (scheme, token) = value.split_once(' ').ok_or_else(malformed)?;
    let token = token.trim();
    if !scheme.eq_ignore_ascii_case("bearer") || token.is_empty() {
        return Err(malformed());
    }
    if crate::ci_identity::looks_like_jwt(token) {
        let caller = state.ci().authenticate(state.store(), token).await?;
        parts.extensions.insert(caller.clone());
        return Ok(caller);
    }
    let secret_sha256 = hex::encode(Sha256::digest(token.as_bytes()));
    let Some(row) = state.store().token_by_secret_hash(&secret_sha256).await? else {
        return Err(Problem::invalid_credential(format!(
            "The token is not known to this store; check that it was copied whole and issued for this server. \
             {HOW_TO_AUTHENTICATE}"
        )));
    };
    if let Some(revoked_at) = row.revoked_at {
        return Err(Problem::invalid_credential(format!(
            "Token {} was revoked at {revoked_at}; ask an admin for a new token.",
            row.token_id
        )));
    }
    if let Some(expires_at) = row.expires_at
        && expires_at <= state.store().context().clock.now()
    {
        return Err(Problem::invalid_credential(format!(
            "Token {} expired at {expires_at}; ask an admin for a new token.",
            row.token_id
        )));
    }
    // A token acting for a person is worth no more than the person's standing:
    // once they leave (or vanish from the inventory), it stops working, even
    // before an admin gets round to revoking it.
    if let Some(person_id) = &row.person_id {
        let standing = match state.store().person(person_id).await? {
            None => Some("is not in the inventory (unknown person)"),
            Some(person) if person.person.status == PersonStatus::Terminated => {
                Some("is terminated")
            }
            Some(_) => None,
        };
        if let Some(standing) = standing {
            return Err(Problem::invalid_credential(format!(
                "Token {} acts for person {person_id}, who {standing}; a token bound to a person works only \
                 while the person is active or on leave. An admin should revoke it and, if the work continues, \
                 issue a token for someone active.",
                row.token_id
            )));
        }
    }
    let principal = Principal::Token(row.token_id.clone());
    tracing::Span::current().record("principal", tracing::field::display(&principal));
    // A gate token bound to a repository is that repository's pipeline;
    // it states who triggered the run itself (no platform signs it).
    let pipeline = row.repo.clone().map(|repo| Pipeline {
        repo,
        environments: row.environments.clone(),
        triggered_by: None,
        run: None,
    });
    let issuer = match &row.person_id {
        Some(person) => issuer_of(state, person, &row.created_by).await?,
        None => None,
    };
    let caller = Caller::authenticated(
        principal,
        row.scope_list().into_iter().collect(),
        row.system_id.clone(),
    )
    .acting_for(row.person_id.clone())
    .bound_to(pipeline)
    .issued_by(issuer);
    parts.extensions.insert(caller.clone());
    Ok(caller)
}
