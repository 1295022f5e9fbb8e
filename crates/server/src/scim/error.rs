//! SCIM error responses (RFC 7644 §3.12): the one error shape under
//! `/scim/v2`, rendered here only. Handlers return a [`ScimError`]; the
//! request middleware ([`finish`]) turns the API's problems (authentication,
//! the store) and the framework's bare errors (404, 405, 413) on SCIM paths
//! into SCIM errors too.

use super::http::etag;
use super::schema::Kind;
use crate::problem::Problem;
use axum::body::Body;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use soxctl_store::StoreError;
use utoipa::ToSchema;

pub const SCIM_CONTENT_TYPE: &str = "application/scim+json";
pub const ERROR_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:Error";

/// A SCIM error body (RFC 7644 §3.12): every error under `/scim/v2` is
/// answered with one, as `application/scim+json`. The request id is in the
/// `x-request-id` header; a server error's `detail` names it too. Every
/// body is rendered through this type, so the OpenAPI document describes
/// what is sent.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "schemas": [ERROR_SCHEMA],
    "status": "404",
    "detail": "There is no User '2819c223' in this token's system (it was deleted, or never pushed here)."
}))]
pub struct ScimErrorBody {
    /// Always `["urn:ietf:params:scim:api:messages:2.0:Error"]`.
    #[schema(value_type = Vec<String>)]
    pub schemas: [&'static str; 1],
    /// The HTTP status, as a string (`"404"`).
    pub status: String,
    /// What went wrong, and what to do about it.
    pub detail: String,
    /// RFC 7644's error type where it defines one (400, 409 and 413:
    /// `invalidFilter`, `invalidSyntax`, `invalidValue`, `invalidPath`,
    /// `noTarget`, `uniqueness`, `tooLarge`).
    #[serde(rename = "scimType", skip_serializing_if = "Option::is_none")]
    #[schema(value_type = String, required = false)]
    pub scim_type: Option<&'static str>,
}

/// An error a SCIM handler returns.
#[derive(Debug, Clone)]
pub struct ScimError {
    pub status: StatusCode,
    /// RFC 7644's `scimType` (`invalidFilter`, `uniqueness`, …), for 400 and 409.
    pub scim_type: Option<&'static str>,
    pub detail: String,
}

impl ScimError {
    pub fn new(
        status: StatusCode,
        scim_type: Option<&'static str>,
        detail: impl Into<String>,
    ) -> Self {
        Self {
            status,
            scim_type,
            // Details quote input: nothing in them may hide or reorder text.
            detail: soxctl_model::text::shown(&detail.into()).into_owned(),
        }
    }

    pub fn bad(scim_type: &'static str, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, Some(scim_type), detail)
    }

    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, None, detail)
    }

    /// No resource `id` of `kind` in the token's system.
    pub fn missing(kind: Kind, id: &str) -> Self {
        Self::not_found(format!(
            "There is no {} '{id}' in this token's system (it was deleted, or never pushed here).",
            kind.name()
        ))
    }

    pub fn uniqueness(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, Some("uniqueness"), detail)
    }

    pub fn precondition_failed(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::PRECONDITION_FAILED, None, detail)
    }

    pub fn too_large() -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            Some("tooLarge"),
            "The request body is larger than 1 MiB; send a smaller body.",
        )
    }

    fn body(&self, request_id: Option<&str>) -> Vec<u8> {
        // The request id travels in the x-request-id header: the Error
        // schema has no attribute for it (strict clients refuse extras).
        let detail = match request_id {
            Some(id) if self.status.is_server_error() => {
                format!("{} (request id {id})", self.detail)
            }
            _ => self.detail.clone(),
        };
        let body = ScimErrorBody {
            schemas: [ERROR_SCHEMA],
            status: self.status.as_u16().to_string(),
            detail,
            scim_type: self.scim_type,
        };
        serde_json::to_vec(&body).unwrap_or_else(|_| b"{}".to_vec())
    }

    /// Problems from the shared layers (authentication, the store) keep
    /// their status and detail.
    pub fn from_problem(problem: &Problem) -> Self {
        Self::new(problem.code.status(), None, problem.detail.clone())
    }

    fn for_bare(status: StatusCode) -> Self {
        let detail = match status {
            StatusCode::NOT_FOUND => {
                "There is no such SCIM endpoint: the service provider serves /scim/v2/Users, /scim/v2/Groups, \
                 /scim/v2/ServiceProviderConfig, /scim/v2/Schemas and /scim/v2/ResourceTypes."
            }
            StatusCode::METHOD_NOT_ALLOWED => {
                "The endpoint does not accept this method; the Allow header lists those it does."
            }
            StatusCode::PAYLOAD_TOO_LARGE => return Self::too_large(),
            s if s.is_server_error() => {
                "The server failed to handle this request. Retry later; if it keeps failing, give the request id \
                 to the soxctl operator."
            }
            _ => "The request was rejected.",
        };
        Self::new(status, None, detail)
    }
}

impl From<StoreError> for ScimError {
    fn from(error: StoreError) -> Self {
        Self::from_problem(&Problem::from(error))
    }
}

impl From<soxctl_app::ingest::scim::ScimError> for ScimError {
    fn from(error: soxctl_app::ingest::scim::ScimError) -> Self {
        use soxctl_app::ingest::scim::ScimError as Write;
        match error {
            Write::InvalidValue(detail) => Self::bad("invalidValue", detail),
            Write::Invalid { scim_type, detail } => Self::bad(scim_type, detail),
            Write::NotFound { kind, id } => Self::missing(kind, &id),
            Write::Taken { kind, value } => Self::uniqueness(format!(
                "A {} with {} '{value}' already exists in this system.",
                kind.name(),
                kind.unique_attribute()
            )),
            Write::Changed { if_match, version } => Self::precondition_failed(format!(
                "If-Match {} does not match the resource's version {}: it changed since it was read. \
                 Read it again and retry.",
                if_match.header,
                etag(version)
            )),
            Write::Internal(detail) => Self::from_problem(&Problem::internal(&detail)),
            Write::Store(e) => e.into(),
        }
    }
}

impl From<Problem> for ScimError {
    fn from(problem: Problem) -> Self {
        Self::from_problem(&problem)
    }
}

impl IntoResponse for ScimError {
    fn into_response(self) -> Response {
        let mut response = Response::new(Body::from(self.body(None)));
        *response.status_mut() = self.status;
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(SCIM_CONTENT_TYPE),
        );
        // Kept so the middleware can render it again with the request id.
        response.extensions_mut().insert(self);
        response
    }
}

/// Gives an error response on a SCIM path its final SCIM body: the
/// handler's error, a problem from the shared layers (its
/// `WWW-Authenticate` header kept), or one made up for a bare framework error.
pub(crate) fn finish(response: Response, request_id: Option<&str>) -> Response {
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let (mut parts, _body) = response.into_parts();
    let error = match (
        parts.extensions.remove::<ScimError>(),
        parts.extensions.remove::<Problem>(),
    ) {
        (Some(error), _) => error,
        (None, Some(problem)) => ScimError::from_problem(&problem),
        (None, None) => ScimError::for_bare(status),
    };
    parts.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(SCIM_CONTENT_TYPE),
    );
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, Body::from(error.body(request_id)))
}
