//! Request and response plumbing of the SCIM endpoints: the base URL for
//! `meta.location`, JSON bodies, `application/scim+json` responses and ETags.

use super::PREFIX;
use super::error::{SCIM_CONTENT_TYPE, ScimError};
use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::Value;
use soxctl_app::ingest::scim::IfMatch;

/// The service provider's base URL (`http://host/scim/v2`), from `Host`
/// and the reverse proxy's `X-Forwarded-Proto`/`-Host`; a bare path when the
/// request names no host.
#[derive(Debug, Clone)]
pub struct Base(pub String);

impl<S: Send + Sync> FromRequestParts<S> for Base {
    type Rejection = ScimError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ScimError> {
        let header = |name: &str| {
            parts
                .headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(|v| v.split(',').next().unwrap_or("").trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        let host = header("x-forwarded-host")
            .or_else(|| header("host"))
            .or_else(|| parts.uri.authority().map(|a| a.to_string()));
        let safe = |v: &str| {
            v.chars().all(|c| {
                c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']' | '_')
            })
        };
        Ok(Self(match host.filter(|h| safe(h)) {
            Some(host) => {
                let scheme = header("x-forwarded-proto")
                    .filter(|p| p == "https" || p == "http")
                    .or_else(|| parts.uri.scheme_str().map(str::to_owned))
                    .unwrap_or_else(|| "http".to_owned());
                format!("{scheme}://{host}{PREFIX}")
            }
            None => PREFIX.to_owned(),
        }))
    }
}

/// A JSON request body: `application/scim+json` or `application/json`.
#[derive(Debug, Clone)]
pub struct ScimBody(pub Value);

impl<S: Send + Sync> FromRequest<S> for ScimBody {
    type Rejection = ScimError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ScimError> {
        if let Some(content_type) = request.headers().get(header::CONTENT_TYPE) {
            let essence = content_type
                .to_str()
                .unwrap_or("")
                .split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase();
            if !(essence == "application/json"
                || (essence.starts_with("application/") && essence.ends_with("+json")))
            {
                return Err(ScimError::new(
                    StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    None,
                    format!(
                        "The body must be JSON, but Content-Type is {essence:?}; send Content-Type: \
                         application/scim+json."
                    ),
                ));
            }
        }
        let body = Bytes::from_request(request, state)
            .await
            .map_err(|rejection| {
                if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                    ScimError::too_large()
                } else {
                    ScimError::bad(
                        "invalidSyntax",
                        format!(
                            "The request body could not be read: {}",
                            rejection.body_text()
                        ),
                    )
                }
            })?;
        let value: Value = serde_json::from_slice(&body).map_err(|e| {
            ScimError::bad("invalidSyntax", format!("The body is not valid JSON: {e}."))
        })?;
        Ok(Self(value))
    }
}

/// `W/"<version>"`.
pub fn etag(version: u64) -> String {
    format!("W/\"{version}\"")
}

fn tags(value: &str) -> impl Iterator<Item = &str> {
    value.split(',').map(|t| {
        let t = t.trim();
        t.strip_prefix("W/").unwrap_or(t).trim_matches('"')
    })
}

/// The `If-Match` precondition, when the request sets one (the use case
/// checks it against the resource's version: 412 on a mismatch).
pub fn if_match(headers: &HeaderMap) -> Option<IfMatch> {
    let value = headers.get(header::IF_MATCH)?.to_str().unwrap_or("");
    Some(IfMatch {
        header: value.to_owned(),
        tags: tags(value).map(str::to_owned).collect(),
    })
}

/// Whether `If-None-Match` names the resource's version (answer 304).
pub fn not_modified(headers: &HeaderMap, version: u64) -> bool {
    let current = version.to_string();
    headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| tags(v).any(|t| t == "*" || t == current))
}

/// A SCIM JSON response, with its `ETag` and `Location` when given.
pub fn respond(
    status: StatusCode,
    body: &Value,
    version: Option<u64>,
    location: Option<&str>,
) -> Response {
    let bytes = serde_json::to_vec(body).unwrap_or_default();
    let mut response = (status, bytes).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(SCIM_CONTENT_TYPE),
    );
    if let Some(version) = version
        && let Ok(value) = HeaderValue::from_str(&etag(version))
    {
        headers.insert(header::ETAG, value);
    }
    if let Some(location) = location
        && let Ok(value) = HeaderValue::from_str(location)
    {
        headers.insert(header::LOCATION, value);
    }
    response
}

/// 304 Not Modified with the current ETag.
pub fn respond_not_modified(version: u64) -> Response {
    let mut response = StatusCode::NOT_MODIFIED.into_response();
    if let Ok(value) = HeaderValue::from_str(&etag(version)) {
        response.headers_mut().insert(header::ETAG, value);
    }
    response
}
