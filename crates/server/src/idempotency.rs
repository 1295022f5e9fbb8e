//! `Idempotency-Key` for POST endpoints.
//!
//! A handler takes an [`IdempotentPost`] (the body, the optional key and the
//! request's fingerprint), opens its write transaction with
//! [`Idempotency::begin`] and finishes with [`Idempotency::commit`]:
//!
//! 1. Before any work the key is looked up for the caller's principal. The
//!    same request (SHA-256 of method, path and body) is answered from the
//!    record, with `Idempotent-Replayed: true`; another request is refused
//!    with 422 `idempotency_key_reused`.
//! 2. The lookup is repeated inside the write transaction, which holds the
//!    ledger's writer lock: a concurrent request with the same key on any
//!    replica has committed by then, so it is found there.
//! 3. The answer is stored in the same transaction as the effect, so either
//!    both exist or neither does. Should the insert still lose the race on
//!    the primary key, the transaction is dropped and the winner replayed.
//!
//! Only successful answers are stored: a failed request changed nothing and
//! may be retried with the same key. Handlers store answers without secrets
//! ([`Answer::remember`]) and choose how a replay is rendered ([`Replay`]).

use crate::problem::{ErrorCode, Problem};
use axum::Json;
use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
use serde_json::Value;
use sha2::{Digest, Sha256};
use soxctl_model::principal::Principal;
use soxctl_store::idempotency::{MAX_KEY_LEN, StoredResponse};
use soxctl_store::{Store, WriteTx};

pub const IDEMPOTENCY_KEY_HEADER: &str = "idempotency-key";
pub const IDEMPOTENT_REPLAYED_HEADER: &str = "idempotent-replayed";

/// A POST request's body with its `Idempotency-Key` and fingerprint.
#[derive(Debug, Clone)]
pub struct IdempotentPost {
    key: Option<String>,
    request_hash: String,
    pub body: Bytes,
}

impl<S: Send + Sync> FromRequest<S> for IdempotentPost {
    type Rejection = Problem;

    async fn from_request(request: Request, state: &S) -> Result<Self, Problem> {
        let key = idempotency_key(&request)?;
        let method = request.method().as_str().to_owned();
        let path = request.uri().path_and_query().map_or_else(
            || request.uri().path().to_owned(),
            |p| p.as_str().to_owned(),
        );
        if let Some(content_type) = request.headers().get(axum::http::header::CONTENT_TYPE)
            && !is_json(content_type)
        {
            return Err(Problem::bad_request(format!(
                "The body must be JSON, but Content-Type is {content_type:?}; send Content-Type: application/json."
            )));
        }
        let body = Bytes::from_request(request, state)
            .await
            .map_err(|rejection| {
                if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                    Problem::new(
                        ErrorCode::PayloadTooLarge,
                        "The request body is larger than 1 MiB; send a smaller body.",
                    )
                } else {
                    Problem::bad_request(format!(
                        "The request body could not be read: {}",
                        rejection.body_text()
                    ))
                }
            })?;
        let mut hash = Sha256::new();
        hash.update(method.as_bytes());
        hash.update(b"\n");
        hash.update(path.as_bytes());
        hash.update(b"\n");
        hash.update(&body);
        Ok(Self {
            key,
            request_hash: hex::encode(hash.finalize()),
            body,
        })
    }
}

fn is_json(content_type: &HeaderValue) -> bool {
    content_type.to_str().is_ok_and(|v| {
        let essence = v
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        essence == "application/json"
            || (essence.starts_with("application/") && essence.ends_with("+json"))
    })
}

fn idempotency_key(request: &Request) -> Result<Option<String>, Problem> {
    let mut values = request.headers().get_all(IDEMPOTENCY_KEY_HEADER).iter();
    let Some(value) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err(Problem::bad_request(
            "The request has several Idempotency-Key headers; send exactly one.",
        ));
    }
    let key = value.to_str().map_err(|_| {
        Problem::bad_request(
            "The Idempotency-Key is not printable ASCII; use a random value such as a UUID.",
        )
    })?;
    if key.is_empty() || key.len() > MAX_KEY_LEN {
        return Err(Problem::bad_request(format!(
            "The Idempotency-Key has {} characters; it must have 1 to {MAX_KEY_LEN} (a UUID is a good key).",
            key.len()
        )));
    }
    Ok(Some(key.to_owned()))
}

impl IdempotentPost {
    /// The body as `T`; a 400 problem that says exactly what is wrong (and
    /// where) when it is not JSON or does not match `T`. An empty body is
    /// read as `{}`.
    pub fn json<T: DeserializeOwned>(&self, example: &str) -> Result<T, Problem> {
        let body: &[u8] = if self.body.iter().all(u8::is_ascii_whitespace) {
            b"{}"
        } else {
            &self.body
        };
        let fail = |what: String| {
            Problem::bad_request(format!(
                "The request was not processed: {what}. Send a JSON object like {example}; \
                 /api/v1/openapi.json describes the fields."
            ))
        };
        // Serde would read an array as the struct's fields in order; say what is wrong instead.
        if body.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
            return Err(fail(match serde_json::from_slice::<Value>(body) {
                Ok(value) => format!("the body is JSON but not an object ({})", json_kind(&value)),
                Err(error) => format!("the body is not valid JSON: {error}"),
            }));
        }
        parse_json(body).map_err(|(path, error)| {
            let what = match error.classify() {
                serde_json::error::Category::Data if path != "." => {
                    format!("field `{path}` is invalid: {error}")
                }
                serde_json::error::Category::Data => {
                    format!("the body does not match the schema: {error}")
                }
                _ => format!("the body is not valid JSON: {error}"),
            };
            fail(what)
        })
    }

    /// Idempotency for this request on behalf of `principal`, replaying
    /// stored answers with `replay`.
    pub fn idempotency<'a>(&'a self, principal: &'a Principal, replay: Replay) -> Idempotency<'a> {
        Idempotency {
            post: self,
            principal,
            replay,
        }
    }
}

fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// `T` from `body`, or the path of the offending field (`.` for the whole
/// body) and serde's error, which says what was expected and where.
fn parse_json<T: DeserializeOwned>(body: &[u8]) -> Result<T, (String, serde_json::Error)> {
    let mut deserializer = serde_json::Deserializer::from_slice(body);
    let value = serde_path_to_error::deserialize(&mut deserializer)
        .map_err(|e| (e.path().to_string(), e.into_inner()))?;
    deserializer.end().map_err(|e| (".".to_owned(), e))?;
    Ok(value)
}

/// Renders a stored answer (status and body as remembered) as the replayed response.
pub type Replay = fn(StatusCode, Value) -> Response;

/// Replays the stored status and body as they are.
pub fn replay_as_stored(status: StatusCode, body: Value) -> Response {
    (status, Json(body)).into_response()
}

/// A response body as JSON; serialising a plain view cannot fail, but if it
/// did the client gets a 500 rather than a panic.
pub fn to_json(value: &impl serde::Serialize) -> Result<Value, Problem> {
    serde_json::to_value(value).map_err(|e| Problem::internal(&e))
}

/// A handler's answer: the response body, and what to remember of it.
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub body: Value,
    remembered: Value,
}

impl Answer {
    pub fn new(status: StatusCode, body: Value) -> Self {
        Self {
            status,
            remembered: body.clone(),
            body,
        }
    }

    /// Stores `remembered` instead of the body (e.g. the body without a secret).
    pub fn remember(mut self, remembered: Value) -> Self {
        self.remembered = remembered;
        self
    }
}

pub struct Idempotency<'a> {
    post: &'a IdempotentPost,
    principal: &'a Principal,
    replay: Replay,
}

/// What [`Idempotency::begin`] found.
pub enum Begun {
    /// The key's answer: send it, do nothing else.
    Replayed(Response),
    /// No answer yet: do the work in this transaction, then [`Idempotency::commit`].
    Write(WriteTx),
}

impl Idempotency<'_> {
    pub async fn begin(&self, store: &Store) -> Result<Begun, Problem> {
        let Some(key) = &self.post.key else {
            return Ok(Begun::Write(store.begin_write().await?));
        };
        if let Some(stored) = store.idempotent_response(self.principal, key).await? {
            return self.replay(key, stored).map(Begun::Replayed);
        }
        let mut tx = store.begin_write().await?;
        if let Some(stored) = tx.idempotent_response(self.principal, key).await? {
            drop(tx);
            return self.replay(key, stored).map(Begun::Replayed);
        }
        Ok(Begun::Write(tx))
    }

    /// Remembers the answer with the effect, commits both, and sends it.
    pub async fn commit(
        &self,
        store: &Store,
        mut tx: WriteTx,
        answer: Answer,
    ) -> Result<Response, Problem> {
        if let Some(key) = &self.post.key {
            let stored = tx
                .remember_response(
                    self.principal,
                    key,
                    &self.post.request_hash,
                    answer.status.as_u16(),
                    &answer.remembered,
                )
                .await?;
            if !stored {
                // A concurrent request with this key committed first: its
                // effect stands, ours is rolled back.
                drop(tx);
                tracing::info!(
                    key,
                    "idempotency key taken concurrently; replaying the winner"
                );
                let stored = store
                    .idempotent_response(self.principal, key)
                    .await?
                    .ok_or_else(|| {
                        Problem::internal(&"idempotency key taken but its record is missing")
                    })?;
                return self.replay(key, stored);
            }
        }
        tx.commit().await?;
        Ok((answer.status, Json(answer.body)).into_response())
    }

    fn replay(&self, key: &str, stored: StoredResponse) -> Result<Response, Problem> {
        if stored.request_hash != self.post.request_hash {
            return Err(Problem::new(
                ErrorCode::IdempotencyKeyReused,
                format!(
                    "Idempotency-Key {key:?} was used at {} for a different request (another method, path or \
                     body). Nothing was done: resend the original request unchanged to get its answer, or use a \
                     new key for a new request.",
                    stored.created_at
                ),
            ));
        }
        let status = StatusCode::from_u16(stored.status).map_err(|_| {
            Problem::internal(&format!("stored status {} for key {key:?}", stored.status))
        })?;
        let body: Value = serde_json::from_str(&stored.response)
            .map_err(|e| Problem::internal(&format!("stored response for key {key:?}: {e}")))?;
        let mut response = (self.replay)(status, body);
        response
            .headers_mut()
            .insert(IDEMPOTENT_REPLAYED_HEADER, HeaderValue::from_static("true"));
        Ok(response)
    }
}
