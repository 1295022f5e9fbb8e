//! RFC 9457 problem details: the one error shape of the API.
//!
//! Every error response is `application/problem+json` with a stable `code`
//! from [`ErrorCode`], so clients branch on the code rather than on prose.
//! Handlers return a [`Problem`]; the request middleware fills in the request
//! id (which the handler does not know) and turns the bare error responses of
//! the framework (404, 405, 413) into problems too.

use axum::body::Body;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use soxctl_model::access::Denied;
use soxctl_store::StoreError;
use std::fmt::Display;
use utoipa::ToSchema;

pub const PROBLEM_CONTENT_TYPE: &str = "application/problem+json";

/// Declares the error codes once, as a table: each row gives the code's
/// variant, its stable name, HTTP status, title and when it is answered;
/// the enum, its lists and lookups are generated from the rows, and
/// `docs/errors.md` has a section per name (a test keeps them in step).
macro_rules! error_codes {
    ($($(#[doc = $doc:literal])+ $variant:ident = ($name:literal, $status:ident, $title:literal);)+) => {
        /// The stable error codes of the API. Adding one is fine; renaming
        /// one breaks clients.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
        #[serde(rename_all = "snake_case")]
        pub enum ErrorCode {
            $($(#[doc = $doc])+ $variant,)+
        }

        impl ErrorCode {
            pub const ALL: &[ErrorCode] = &[$(Self::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $name,)+
                }
            }

            pub fn status(self) -> StatusCode {
                match self {
                    $(Self::$variant => StatusCode::$status,)+
                }
            }

            pub fn title(self) -> &'static str {
                match self {
                    $(Self::$variant => $title,)+
                }
            }
        }
    };
}

error_codes! {
    /// 400: a parameter is missing, malformed or out of range.
    BadRequest = ("bad_request", BAD_REQUEST, "Bad request");
    /// 401: no bearer token, or one that is unknown, revoked or expired.
    Unauthenticated = ("unauthenticated", UNAUTHORIZED, "Authentication required");
    /// 403: the token lacks the scope the operation needs.
    Forbidden = ("forbidden", FORBIDDEN, "Forbidden");
    /// 404: no such endpoint or resource.
    NotFound = ("not_found", NOT_FOUND, "Not found");
    /// 405: the endpoint exists but not with this method.
    MethodNotAllowed = ("method_not_allowed", METHOD_NOT_ALLOWED, "Method not allowed");
    /// 409: a token-creating request was replayed with its Idempotency-Key;
    /// the token exists but its secret was shown once and is not stored.
    TokenSecretShownOnce = ("token_secret_shown_once", CONFLICT, "Token secret shown once");
    /// 403: a policy or a built-in rule (nobody approves their own request,
    /// no author approves a change…) forbids the step.
    Refused = ("refused", FORBIDDEN, "Refused by policy");
    /// 409: the resource is not in a state that allows the step (already
    /// decided, expired, consumed).
    Conflict = ("conflict", CONFLICT, "Conflict");
    /// 413: the request body exceeds the limit.
    PayloadTooLarge = ("payload_too_large", PAYLOAD_TOO_LARGE, "Payload too large");
    /// 422: the Idempotency-Key was already used for a different request.
    IdempotencyKeyReused = ("idempotency_key_reused", UNPROCESSABLE_ENTITY, "Idempotency key reused");
    /// 500: a bug or an unexpected state; details are in the server log.
    Internal = ("internal", INTERNAL_SERVER_ERROR, "Internal server error");
    /// 503: the database does not answer or the store cannot be written.
    StoreUnavailable = ("store_unavailable", SERVICE_UNAVAILABLE, "Store unavailable");
}

impl ErrorCode {
    /// Where the code is explained: a section of `docs/errors.md`.
    pub fn doc(self) -> String {
        format!("docs/errors.md#{}", self.as_str())
    }

    /// The problem `type`: a URN rather than a URL, so it stays stable and
    /// does not pretend to be a page someone hosts.
    pub fn type_uri(self) -> String {
        format!("urn:soxctl:problem:{}", self.as_str())
    }

    /// The code a bare framework response with this status stands for.
    fn for_status(status: StatusCode) -> Self {
        match status {
            StatusCode::UNAUTHORIZED => Self::Unauthenticated,
            StatusCode::FORBIDDEN => Self::Forbidden,
            StatusCode::NOT_FOUND => Self::NotFound,
            StatusCode::METHOD_NOT_ALLOWED => Self::MethodNotAllowed,
            StatusCode::PAYLOAD_TOO_LARGE => Self::PayloadTooLarge,
            StatusCode::SERVICE_UNAVAILABLE => Self::StoreUnavailable,
            s if s.is_server_error() => Self::Internal,
            _ => Self::BadRequest,
        }
    }
}

/// The JSON body of every error response.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ProblemBody {
    /// `urn:soxctl:problem:<code>`.
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    /// What went wrong and what to do next.
    pub detail: String,
    /// The `x-request-id` of the request; quote it when reporting a problem.
    pub request_id: Option<String>,
    pub code: ErrorCode,
}

/// An error a handler returns.
#[derive(Debug, Clone)]
pub struct Problem {
    pub code: ErrorCode,
    pub detail: String,
    /// `WWW-Authenticate` value for 401s.
    challenge: Option<&'static str>,
}

const CHALLENGE: &str = "Bearer realm=\"soxctl\"";
const CHALLENGE_INVALID: &str = "Bearer realm=\"soxctl\", error=\"invalid_token\"";

impl Problem {
    pub fn new(code: ErrorCode, detail: impl Into<String>) -> Self {
        Self {
            code,
            // Details quote input: nothing in them may hide or reorder text.
            detail: soxctl_model::text::shown(&detail.into()).into_owned(),
            challenge: None,
        }
    }

    pub fn bad_request(detail: impl Into<String>) -> Self {
        Self::new(ErrorCode::BadRequest, detail)
    }

    /// A number from a client over its limit: 400 naming both.
    pub fn out_of_range(name: &str, value: u64, max: u64) -> Self {
        Self::bad_request(format!(
            "{name} = {value} is more than {max}, the most this accepts: ask for less"
        ))
    }

    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::new(ErrorCode::NotFound, detail)
    }

    /// No credential at all.
    pub fn missing_credential(detail: impl Into<String>) -> Self {
        Self {
            challenge: Some(CHALLENGE),
            ..Self::new(ErrorCode::Unauthenticated, detail)
        }
    }

    /// A credential that is malformed, unknown, revoked or expired.
    pub fn invalid_credential(detail: impl Into<String>) -> Self {
        Self {
            challenge: Some(CHALLENGE_INVALID),
            ..Self::new(ErrorCode::Unauthenticated, detail)
        }
    }

    pub fn forbidden(denied: Denied) -> Self {
        Self::new(ErrorCode::Forbidden, denied.to_string())
    }

    /// A 500 with an opaque detail; the error itself goes to the log, inside
    /// the request's span so it carries the request id.
    pub fn internal(error: &dyn Display) -> Self {
        tracing::error!(error = %error, "request failed");
        Self::new(
            ErrorCode::Internal,
            "The server failed to handle this request. Retry later; if it keeps failing, give the request id to \
             the soxctl operator, whose server log has the full error.",
        )
    }

    pub fn body(&self, request_id: Option<&str>) -> ProblemBody {
        ProblemBody {
            kind: self.code.type_uri(),
            title: self.code.title().to_owned(),
            status: self.code.status().as_u16(),
            detail: self.detail.clone(),
            request_id: request_id.map(str::to_owned),
            code: self.code,
        }
    }

    fn render(&self, request_id: Option<&str>) -> Body {
        // Serialising a struct of strings cannot fail; fall back to the bare
        // code rather than panic if it somehow does.
        let json = serde_json::to_vec(&self.body(request_id))
            .unwrap_or_else(|_| format!("{{\"code\":\"{}\"}}", self.code.as_str()).into_bytes());
        Body::from(json)
    }

    /// A framework response with an error status and no problem body.
    fn for_bare(status: StatusCode) -> Self {
        let code = ErrorCode::for_status(status);
        let detail = match code {
            ErrorCode::NotFound => {
                "There is no such endpoint. The API is described at /api/v1/openapi.json."
            }
            ErrorCode::MethodNotAllowed => {
                "The endpoint does not accept this method; the Allow header lists those it does, and \
                 /api/v1/openapi.json describes them."
            }
            ErrorCode::PayloadTooLarge => {
                "The request body is larger than 1 MiB; send a smaller body."
            }
            ErrorCode::Internal => {
                "The server failed to handle this request. Retry later; if it keeps failing, give the request id \
                 to the soxctl operator."
            }
            _ => "The request was rejected; check it against /api/v1/openapi.json.",
        };
        Self::new(code, detail)
    }
}

impl From<StoreError> for Problem {
    fn from(error: StoreError) -> Self {
        match error {
            // The database not answering is an outage, not a bug: say so, so
            // clients retry and operators look at the database.
            StoreError::Database(_) => {
                tracing::error!(error = %error, "store unavailable");
                Self::new(
                    ErrorCode::StoreUnavailable,
                    "The store's database did not answer. Retry shortly; if it persists, the operator should check \
                     the database and the server log.",
                )
            }
            StoreError::NotFound(detail) => Self::not_found(detail),
            StoreError::Unstorable(detail) => Self::bad_request(detail),
            other => Self::internal(&other),
        }
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let mut response = Response::new(self.render(None));
        *response.status_mut() = self.code.status();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(PROBLEM_CONTENT_TYPE),
        );
        if let Some(challenge) = self.challenge {
            headers.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static(challenge),
            );
        }
        // Kept so the middleware can render it again with the request id.
        response.extensions_mut().insert(self);
        response
    }
}

/// Gives an error response its final problem body: the handler's problem with
/// the request id, or one made up for a bare framework error.
pub(crate) fn finish(response: Response, request_id: Option<&str>) -> Response {
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let problem = match parts.extensions.remove::<Problem>() {
        Some(problem) => problem,
        None if parts
            .headers
            .get(header::CONTENT_TYPE)
            .is_some_and(|v| v == PROBLEM_CONTENT_TYPE) =>
        {
            return Response::from_parts(parts, body);
        }
        None => Problem::for_bare(status),
    };
    parts.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(PROBLEM_CONTENT_TYPE),
    );
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, problem.render(request_id))
}

/// An id in the path, parsed into its type before any lookup: a malformed
/// one is a 400 that says what is wrong with it.
pub fn path_id<T>(raw: &str) -> Result<T, Problem>
where
    T: std::str::FromStr<Err = soxctl_model::ids::IdError>,
{
    raw.parse()
        .map_err(|e| Problem::bad_request(format!("The id in the path is invalid: {e}.")))
}

/// `value` when it is at most `max`; else 400 naming the limit. Every
/// number a client sends that sizes work or moves a clock passes here.
pub fn at_most(name: &str, value: u64, max: u64) -> Result<u64, Problem> {
    if value <= max {
        Ok(value)
    } else {
        Err(Problem::out_of_range(name, value, max))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_distinct_and_match_their_serde_names() {
        let mut seen = std::collections::BTreeSet::new();
        for code in ErrorCode::ALL {
            assert!(seen.insert(code.as_str()), "{code:?}");
            assert_eq!(serde_json::to_value(code).unwrap(), code.as_str());
            assert!(code.status().is_client_error() || code.status().is_server_error());
        }
    }

    /// Every code has its section in docs/errors.md, which gives its status.
    #[test]
    fn every_code_is_documented() {
        let doc = include_str!("../../../docs/errors.md");
        for code in ErrorCode::ALL {
            let heading = format!("\n## {}\n{}.", code.as_str(), code.status().as_u16());
            assert!(
                doc.contains(&heading),
                "docs/errors.md lacks `## {}` starting with its status {}",
                code.as_str(),
                code.status().as_u16()
            );
            assert!(code.doc().ends_with(&format!("#{}", code.as_str())));
        }
    }
}
