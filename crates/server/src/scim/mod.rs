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
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The path prefix every SCIM route lives under.
pub const PREFIX: &str = "/scim/v2";

/// The SCIM endpoints, registered like every other one: each route and its
/// operation in the OpenAPI document (tag `scim`) come from the handler's
/// `#[utoipa::path]`. Handlers of one path are registered in one `routes!`.
pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(discovery::service_provider_config))
        .routes(routes!(discovery::schemas))
        .routes(routes!(discovery::schema))
        .routes(routes!(discovery::resource_types))
        .routes(routes!(discovery::resource_type))
        .routes(routes!(resources::list_users, resources::create_user))
        .routes(routes!(resources::search_users))
        .routes(routes!(
            resources::get_user,
            resources::replace_user,
            resources::patch_user,
            resources::delete_user
        ))
        .routes(routes!(resources::list_groups, resources::create_group))
        .routes(routes!(resources::search_groups))
        .routes(routes!(
            resources::get_group,
            resources::replace_group,
            resources::patch_group,
            resources::delete_group
        ))
        .routes(routes!(resources::search_all))
}

/// Whether a request path is a SCIM one (its errors are SCIM errors).
pub(crate) fn is_scim_path(path: &str) -> bool {
    path == PREFIX || path.starts_with("/scim/")
}
