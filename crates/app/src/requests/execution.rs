//! Action approvals at execution time: the executor obtains a short-lived
//! signed token bound to the action digest, environment and its own
//! principal, executes, and reports the action done, which consumes the
//! approval. A changed payload, an expired approval or token, a token for
//! another executor, or a second use is refused.

use crate::error::{Result, WorkflowError, conflict, invalid, refused, text};
use serde_json::{Map, Value};
use soxctl_ledger::{SigningKey, VerifierKey, jws};
use soxctl_model::event::Event;
use soxctl_model::ids::{ExecutionTokenId, RequestId};
use soxctl_model::principal::Principal;
use soxctl_model::request::{ActionExecuted, Ask, ExecutionTokenIssued, RequestRow, RequestStatus};
use soxctl_model::time::Timestamp;
use soxctl_store::WriteTx;
use soxctl_store::requests::TokensOf;

/// Execution tokens last this long unless asked for less (never longer
/// than the approval).
pub const DEFAULT_TTL_SECS: u64 = 15 * 60;
/// How long after its token expired an action may still be reported done:
/// the token bounds when the action may *start* (the target checks it
/// before running), and a long data fix or deployment may finish later.
pub const REPORT_GRACE_SECS: u64 = 24 * 3_600;
/// The `aud` of execution tokens.
pub const AUDIENCE: &str = "soxctl-execution";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenInput {
    pub request_id: RequestId,
    /// The digest of the action about to run, computed by the executor
    /// from what it will actually do.
    pub digest: String,
    pub env: String,
    pub ttl_secs: Option<u64>,
}

#[derive(Debug, Clone)]
pub struct IssuedExecution {
    /// The compact JWS. Shown once; only its id is recorded.
    pub token: String,
    pub token_id: ExecutionTokenId,
    pub expires_at: Timestamp,
    pub seq: u64,
}

/// A reported execution: the request whose approval it consumed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Executed {
    pub request_id: RequestId,
    /// The `action.executed` entry.
    pub seq: u64,
}

/// The claims of a verified execution token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecutionClaims {
    pub token_id: ExecutionTokenId,
    pub request_id: RequestId,
    pub executor: String,
    pub digest: String,
    pub env: String,
    pub kind: String,
    pub expires_at: Timestamp,
}

fn approved_action(
    request: &RequestRow,
    now: Timestamp,
) -> Result<&soxctl_model::request::ActionAsk> {
    let Ask::Action(action) = &request.ask else {
        return Err(conflict(format!(
            "request {} is for access; only action approvals are executed",
            request.request_id
        )));
    };
    match request.status {
        RequestStatus::Approved if request.usable_at(now) => Ok(action),
        RequestStatus::Approved => Err(conflict(format!(
            "the approval of request {} expired at {}: ask again",
            request.request_id,
            request
                .valid_until
                .map(|t| t.to_string())
                .unwrap_or_default()
        ))),
        RequestStatus::Consumed => Err(conflict(format!(
            "request {} was used already; an approval is good for one execution",
            request.request_id
        ))),
        status => Err(conflict(format!(
            "request {} is {status}, not approved",
            request.request_id
        ))),
    }
}

pub async fn issue_execution_token(
    tx: &mut WriteTx,
    executor: &Principal,
    key: &SigningKey,
    input: TokenInput,
) -> Result<IssuedExecution> {
    let now = tx.now();
    let request = tx
        .request(&input.request_id)
        .await?
        .ok_or_else(|| WorkflowError::NotFound(format!("no request '{}'", input.request_id)))?;
    let action = approved_action(&request, now)?;
    // A deployment's approval is used through the gate, which checks who
    // deploys (never its author or approver) and the pipeline's repository;
    // an execution token carries neither.
    if action.kind == crate::gate::DEPLOY {
        return Err(refused(format!(
            "request {} is a deployment: it passes the change gate (`soxctl gate check` and `gate deployed` \
             with the repository's pipeline credential), not an execution token",
            request.request_id
        )));
    }
    if input.digest != action.digest {
        return Err(refused(format!(
            "request {} approved {} but this action's digest is {}: the payload changed, so it needs a new \
             request and approval",
            request.request_id, action.digest, input.digest
        )));
    }
    if input.env != action.env {
        return Err(refused(format!(
            "request {} was approved for environment '{}', not '{}'",
            request.request_id, action.env, input.env
        )));
    }
    // Targets check tokens offline: two valid tokens would let one approval
    // start twice. A new one is issued only once the last has run out.
    if let Some(outstanding) = tx
        .execution_tokens(TokensOf::Request(&request.request_id))
        .await?
        .into_iter()
        .find(|t| t.used_at.is_none() && now < t.expires_at)
    {
        return Err(conflict(format!(
            "execution token {} for request {} is valid until {}: execute with it (one token at a time \
             per approval), or wait until it expires",
            outstanding.token_id, request.request_id, outstanding.expires_at
        )));
    }
    let ttl = input
        .ttl_secs
        .unwrap_or(DEFAULT_TTL_SECS)
        .clamp(1, DEFAULT_TTL_SECS);
    let mut expires_at = crate::requests::decide::after(now, ttl);
    if let Some(until) = request.valid_until
        && until < expires_at
    {
        expires_at = until;
    }
    let token_id = ExecutionTokenId::mint(uuid::Uuid::new_v4().as_u128());
    let mut claims = Map::new();
    let secs = |t: Timestamp| Value::from(t.as_datetime().timestamp());
    claims.insert("iss".into(), key.name().into());
    claims.insert("sub".into(), executor.to_string().into());
    claims.insert("aud".into(), AUDIENCE.into());
    claims.insert("jti".into(), token_id.to_string().into());
    claims.insert("iat".into(), secs(now));
    claims.insert("exp".into(), secs(expires_at));
    claims.insert("request_id".into(), request.request_id.to_string().into());
    claims.insert("action_digest".into(), action.digest.clone().into());
    claims.insert("env".into(), action.env.clone().into());
    claims.insert("kind".into(), action.kind.clone().into());
    let token = jws::sign(key, &claims);
    let seq = tx
        .append(
            executor,
            &Event::ExecutionTokenIssued(ExecutionTokenIssued {
                token_id: token_id.clone(),
                request_id: request.request_id.clone(),
                executor: executor.to_string(),
                env: action.env.clone(),
                digest: action.digest.clone(),
                expires_at,
            }),
        )
        .await?;
    Ok(IssuedExecution {
        token,
        token_id,
        expires_at,
        seq,
    })
}

/// Checks a token offline: signature, audience, expiry at `now`. What it
/// is bound to is returned for the caller to compare.
/// What a target expects of an execution token before it runs the action.
#[derive(Debug, Clone, Copy, Default)]
pub struct Expected<'a> {
    /// The digest of what it is about to do.
    pub digest: Option<&'a str>,
    pub env: Option<&'a str>,
    /// Who presents the token, compared as a principal, never as text.
    pub executor: Option<&'a Principal>,
}

/// Verifies `token` now (signature, audience, expiry) and that it is bound
/// to what the target expects; the claims when it is.
pub fn check_execution_token(
    key: &VerifierKey,
    token: &str,
    now: Timestamp,
    expected: Expected<'_>,
) -> Result<ExecutionClaims> {
    let claims = verify_execution_token(key, token, now)?;
    let bound_to = |what: &str, want: &str, got: &str| {
        refused(format!("the token is bound to {what} {got}, not {want}"))
    };
    if let Some(want) = expected.digest
        && want != claims.digest
    {
        return Err(bound_to("digest", want, &claims.digest));
    }
    if let Some(want) = expected.env
        && want != claims.env
    {
        return Err(bound_to("environment", want, &claims.env));
    }
    if let Some(want) = expected.executor {
        let got: Principal = claims
            .executor
            .parse()
            .map_err(|e| invalid(format!("execution token: 'sub': {e}")))?;
        if &got != want {
            return Err(bound_to("executor", &want.to_string(), &claims.executor));
        }
    }
    Ok(claims)
}

pub fn verify_execution_token(
    key: &VerifierKey,
    token: &str,
    now: Timestamp,
) -> Result<ExecutionClaims> {
    verify_with_grace(key, token, now, 0)
}

fn verify_with_grace(
    key: &VerifierKey,
    token: &str,
    now: Timestamp,
    grace_secs: u64,
) -> Result<ExecutionClaims> {
    let claims = jws::verify(key, token).map_err(|e| refused(format!("execution token: {e}")))?;
    let get = |name: &str| {
        claims
            .get(name)
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| invalid(format!("execution token: no '{name}' claim")))
    };
    if claims.get("aud").and_then(Value::as_str) != Some(AUDIENCE) {
        return Err(refused("execution token: not an execution token (aud)"));
    }
    let exp = claims
        .get("exp")
        .and_then(Value::as_i64)
        .ok_or_else(|| invalid("execution token: no 'exp' claim"))?;
    let expires_at = chrono::DateTime::from_timestamp(exp, 0)
        .map(Timestamp::from_datetime)
        .ok_or_else(|| invalid("execution token: 'exp' is out of range"))?;
    if now >= crate::requests::decide::after(expires_at, grace_secs) {
        return Err(conflict(if grace_secs == 0 {
            format!("the execution token expired at {expires_at}: obtain a new one")
        } else {
            format!(
                "the execution token expired at {expires_at}, more than {} before this report: an action \
                 is reported within that time; tell the request's approvers what was done",
                crate::requests::notify::duration_text(grace_secs)
            )
        }));
    }
    Ok(ExecutionClaims {
        token_id: ExecutionTokenId::parse(get("jti")?)
            .map_err(|e| invalid(format!("execution token: 'jti': {e}")))?,
        request_id: RequestId::parse(get("request_id")?)
            .map_err(|e| invalid(format!("execution token: 'request_id': {e}")))?,
        executor: get("sub")?,
        digest: get("action_digest")?,
        env: get("env")?,
        kind: get("kind")?,
        expires_at,
    })
}

/// The executor reports the action done: consumes the approval. The
/// report is accepted up to [`REPORT_GRACE_SECS`] after the token expired,
/// and after the approval ran out, since the token was issued while it held.
pub async fn record_execution(
    tx: &mut WriteTx,
    reporter: &Principal,
    key: &VerifierKey,
    token: &str,
    outcome: &str,
) -> Result<Executed> {
    text("outcome", outcome, true)?;
    let now = tx.now();
    let claims = verify_with_grace(key, token, now, REPORT_GRACE_SECS)?;
    if claims.executor != reporter.to_string() {
        return Err(refused(format!(
            "this execution token was issued to {}, not {reporter}: the executor reports its own action",
            claims.executor
        )));
    }
    let issued = tx
        .execution_tokens(TokensOf::Token(&claims.token_id))
        .await?
        .into_iter()
        .next()
        .ok_or_else(|| {
            refused(format!(
                "execution token {} was never issued here",
                claims.token_id
            ))
        })?;
    if issued.request_id != claims.request_id || issued.executor != claims.executor {
        return Err(refused(format!(
            "execution token {} does not match its issue record",
            claims.token_id
        )));
    }
    if let Some(at) = issued.used_at {
        return Err(conflict(format!(
            "execution token {} was used at {at}; a token is good for one execution",
            claims.token_id
        )));
    }
    let request = tx
        .request(&claims.request_id)
        .await?
        .ok_or_else(|| WorkflowError::NotFound(format!("no request '{}'", claims.request_id)))?;
    // The approval may have run out (and been swept as unused) while the
    // action ran: what was approved when the token was issued is what
    // counts, so only a use, a cancellation or a denial stops the report.
    if !matches!(
        request.status,
        RequestStatus::Approved | RequestStatus::Expired
    ) {
        return Err(conflict(format!(
            "request {} is {}; it cannot be used again",
            request.request_id, request.status
        )));
    }
    if request.digest() != Some(claims.digest.as_str()) || issued.digest != claims.digest {
        return Err(refused(format!(
            "execution token {} is bound to {}, which request {} did not approve",
            claims.token_id, claims.digest, request.request_id
        )));
    }
    let seq = tx
        .append(
            reporter,
            &Event::ActionExecuted(ActionExecuted {
                request_id: request.request_id.clone(),
                token_id: claims.token_id,
                executor: reporter.to_string(),
                outcome: outcome.to_owned(),
            }),
        )
        .await?;
    Ok(Executed {
        request_id: request.request_id,
        seq,
    })
}
