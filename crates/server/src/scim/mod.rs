//! The SCIM 2.0 service provider (RFC 7643/7644) at `/scim/v2`.
//!
//! A SCIM User is an account of the calling token's system, a Group an
//! entitlement of it, and a membership a grant. Every change of access is a
//! ledger event appended with its projection through `WriteTx::append`
//! (see [`sync`]); the full SCIM documents, with their personal data, are
//! kept beside the ledger in `scim_resources`, written in the same
//! transaction. Errors are SCIM error bodies ([`error`]). docs/scim.md
//! describes the mapping, the events and the Okta and Entra ID set-up.

mod discovery;
pub(crate) mod error;
mod http;
mod render;
mod resources;
mod schema;

use crate::state::AppState;
use axum::Router;
use axum::routing::{get, post};

/// The path prefix every SCIM route lives under.
pub const PREFIX: &str = "/scim/v2";

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/scim/v2/ServiceProviderConfig",
            get(discovery::service_provider_config),
        )
        .route("/scim/v2/Schemas", get(discovery::schemas))
        .route("/scim/v2/Schemas/{id}", get(discovery::schema))
        .route("/scim/v2/ResourceTypes", get(discovery::resource_types))
        .route("/scim/v2/ResourceTypes/{id}", get(discovery::resource_type))
        .route(
            "/scim/v2/Users",
            get(resources::list_users).post(resources::create_user),
        )
        .route("/scim/v2/Users/.search", post(resources::search_users))
        .route(
            "/scim/v2/Users/{id}",
            get(resources::get_user)
                .put(resources::replace_user)
                .patch(resources::patch_user)
                .delete(resources::delete_user),
        )
        .route(
            "/scim/v2/Groups",
            get(resources::list_groups).post(resources::create_group),
        )
        .route("/scim/v2/Groups/.search", post(resources::search_groups))
        .route(
            "/scim/v2/Groups/{id}",
            get(resources::get_group)
                .put(resources::replace_group)
                .patch(resources::patch_group)
                .delete(resources::delete_group),
        )
        .route("/scim/v2/.search", post(resources::search_all))
}

/// Whether a request path is a SCIM one (its errors are SCIM errors).
pub(crate) fn is_scim_path(path: &str) -> bool {
    path == PREFIX || path.starts_with("/scim/")
}
