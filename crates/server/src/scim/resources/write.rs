//! Creating, replacing, patching and deleting a resource: the use cases of
//! `soxctl_app::ingest::scim`, each in one write transaction; here only the
//! HTTP around them (body, `If-Match`, status, `ETag`, `Location`).

#![allow(unused_imports)]
use super::*;

pub(super) async fn create(
    state: &AppState,
    scim: &ScimAccess,
    base: &str,
    kind: Kind,
    body: Value,
) -> Result<Response, ScimError> {
    let mut tx = state.store().begin_write().await?;
    let stored = sync::create(&mut tx, scim, state.scim_correlation(), kind, body).await?;
    tx.commit().await?;
    let resource = render::resource(kind, &stored.document, &stored.links, base);
    let location = render::location(kind, &stored.document.scim_id, base);
    Ok(respond(
        StatusCode::CREATED,
        &resource,
        Some(stored.document.version),
        Some(&location),
    ))
}

pub(super) enum Change {
    Replace(Value),
    Patch(Value),
}

#[allow(clippy::too_many_arguments)]
pub(super) async fn write(
    state: &AppState,
    scim: &ScimAccess,
    base: &str,
    kind: Kind,
    id: &str,
    headers: &HeaderMap,
    change: Change,
) -> Result<Response, ScimError> {
    let if_match = if_match(headers);
    let rules = state.scim_correlation();
    let mut tx = state.store().begin_write().await?;
    let stored = match change {
        Change::Replace(body) => {
            sync::replace(&mut tx, scim, rules, kind, id, if_match.as_ref(), body).await?
        }
        Change::Patch(body) => {
            sync::patch(&mut tx, scim, rules, kind, id, if_match.as_ref(), &body).await?
        }
    };
    tx.commit().await?;
    let resource = render::resource(kind, &stored.document, &stored.links, base);
    Ok(respond(
        StatusCode::OK,
        &resource,
        Some(stored.document.version),
        None,
    ))
}

pub(super) async fn delete(
    state: &AppState,
    scim: &ScimAccess,
    kind: Kind,
    id: &str,
    headers: &HeaderMap,
) -> Result<Response, ScimError> {
    let if_match = if_match(headers);
    let mut tx = state.store().begin_write().await?;
    sync::delete(&mut tx, scim, kind, id, if_match.as_ref()).await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
