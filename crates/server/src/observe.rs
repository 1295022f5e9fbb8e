//! Per-request plumbing around every handler: request ids, the tracing span,
//! the route template, metrics, the body limit, and final problem bodies.

use crate::problem;
use crate::state::AppState;
use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::http::HeaderName;
use axum::middleware::{self, Next};
use axum::response::Response;
use std::time::Instant;
use tower::ServiceBuilder;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use tracing::Level;

pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// The longest client-supplied request id kept; longer ones are replaced.
pub const MAX_REQUEST_ID_LEN: usize = 128;

/// The largest request body accepted.
pub const BODY_LIMIT: usize = 1024 * 1024;

/// The route template that served a response; "unmatched" when none did.
#[derive(Debug, Clone)]
struct RouteTemplate(String);

/// Wraps the routes with the request stack (outermost first):
/// client id vetted → request id → span → id on the response → metrics and
/// problem bodies.
/// Route-level layers (template, body limit) run only for matched routes.
pub(crate) fn layer(routes: Router<AppState>, state: AppState) -> Router {
    let request_id = HeaderName::from_static(REQUEST_ID_HEADER);
    let routes = routes.route_layer(
        ServiceBuilder::new()
            .layer(middleware::from_fn(record_route))
            .layer(middleware::from_fn(refuse_controls_in_path))
            .layer(RequestBodyLimitLayer::new(BODY_LIMIT)),
    );
    routes
        .layer(
            ServiceBuilder::new()
                .layer(middleware::map_request(vet_request_id))
                .layer(SetRequestIdLayer::new(request_id.clone(), MakeRequestUuid))
                .layer(
                    TraceLayer::new_for_http()
                        .make_span_with(|request: &Request| {
                            let id = request
                                .headers()
                                .get(REQUEST_ID_HEADER)
                                .and_then(|v| v.to_str().ok())
                                .unwrap_or("");
                            tracing::info_span!(
                                "request",
                                request_id = %id,
                                method = %request.method(),
                                route = tracing::field::Empty,
                                principal = tracing::field::Empty,
                            )
                        })
                        .on_response(DefaultOnResponse::new().level(Level::INFO)),
                )
                .layer(PropagateRequestIdLayer::new(request_id))
                .layer(middleware::from_fn_with_state(state.clone(), observe)),
        )
        .with_state(state)
}

/// Whether a client-supplied request id is kept: 1 to
/// [`MAX_REQUEST_ID_LEN`] visible ASCII characters (no spaces, no controls),
/// so it is safe to log, to echo in a header and to put in problem bodies.
fn acceptable_request_id(value: &[u8]) -> bool {
    (1..=MAX_REQUEST_ID_LEN).contains(&value.len()) && value.iter().all(u8::is_ascii_graphic)
}

/// Drops a client's `x-request-id` unless it is exactly one acceptable value;
/// the next layer then makes a fresh UUID.
async fn vet_request_id(mut request: Request) -> Request {
    let mut values = request.headers().get_all(REQUEST_ID_HEADER).iter();
    let keep = match (values.next(), values.next()) {
        (Some(value), None) => acceptable_request_id(value.as_bytes()),
        (None, _) => true,
        (Some(_), Some(_)) => false,
    };
    if !keep {
        request.headers_mut().remove(REQUEST_ID_HEADER);
    }
    request
}

/// Notes the matched route template in the span and on the response.
async fn record_route(request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned());
    if let Some(route) = &route {
        tracing::Span::current().record("route", tracing::field::display(route));
    }
    let mut response = next.run(request).await;
    if let Some(route) = route {
        response.extensions_mut().insert(RouteTemplate(route));
    }
    response
}

/// A path whose decoded segments hold a control character (`%00`, `%1B`)
/// names nothing soxctl holds: 404 before any handler, on every backend
/// alike (PostgreSQL would refuse the NUL as an error of its own).
async fn refuse_controls_in_path(request: Request, next: Next) -> Response {
    // A URI holds no raw control character: only an escape can decode to
    // one, so a path without `%` (every path a client builds from ids)
    // is passed on as it is.
    let path = request.uri().path();
    if path.contains('%') {
        let decoded = percent_encoding::percent_decode_str(path).decode_utf8_lossy();
        if decoded.chars().any(char::is_control) {
            return axum::response::IntoResponse::into_response(problem::Problem::not_found(
                format!(
                    "nothing is at '{}': the path holds a control character",
                    soxctl_model::identity::escape(&decoded)
                ),
            ));
        }
    }
    next.run(request).await
}

/// Counts and times the request and gives error responses their problem body.
async fn observe(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().clone();
    let request_id = request
        .headers()
        .get(REQUEST_ID_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let scim = crate::scim::is_scim_path(request.uri().path());
    let response = next.run(request).await;
    let response = if scim {
        crate::scim::error::finish(response, request_id.as_deref())
    } else {
        problem::finish(response, request_id.as_deref())
    };
    let route = response
        .extensions()
        .get::<RouteTemplate>()
        .map_or("unmatched", |r| r.0.as_str());
    state.metrics().observe_request(
        &method,
        route,
        response.status().as_u16(),
        started.elapsed(),
    );
    response
}
