//! Reading one resource, or a page of them.

#![allow(unused_imports)]
use super::*;

#[allow(clippy::too_many_arguments)]
pub(super) async fn read(
    state: &AppState,
    scim: &ScimAccess,
    base: &str,
    kind: Kind,
    id: &str,
    headers: &HeaderMap,
    params: &ListParams,
) -> Result<Response, ScimError> {
    let store = state.store();
    let system = scim.system();
    let doc = store
        .scim_document(system, kind.name(), id)
        .await?
        .ok_or_else(|| ScimError::missing(kind, id))?;
    if not_modified(headers, doc.version) {
        return Ok(respond_not_modified(doc.version));
    }
    let links = sync::links(&mut { store }, kind, system, id).await?;
    let resource = render::resource(kind, &doc, &links, base);
    let attributes = names(params.attributes.as_deref());
    let excluded = names(params.excluded_attributes.as_deref());
    let resource = render::select(kind, resource, &attributes, &excluded);
    Ok(respond(StatusCode::OK, &resource, Some(doc.version), None))
}

pub(super) async fn list(
    state: &AppState,
    scim: &ScimAccess,
    base: &str,
    kinds: &[Kind],
    query: ListQuery,
) -> Result<Response, ScimError> {
    let store = state.store();
    let system = scim.system();
    let grants = store.scim_grants(system, GrantsOf::System).await?;
    let groups = store.scim_documents(system, GROUP).await?;
    let group_names: BTreeMap<&str, Option<String>> = groups
        .iter()
        .map(|g| (g.scim_id.as_str(), sync::display_name(g)))
        .collect();
    let mut matched = Vec::new();
    for kind in kinds {
        let docs = match kind {
            Kind::User => store.scim_documents(system, USER).await?,
            Kind::Group => groups.clone(),
        };
        for doc in &docs {
            let links: Vec<Link> = grants
                .iter()
                .filter_map(|g| match kind {
                    Kind::User if g.account_id.as_str() == doc.scim_id => Some(Link {
                        id: g.entitlement_id.to_string(),
                        display: group_names
                            .get(g.entitlement_id.as_str())
                            .cloned()
                            .flatten(),
                    }),
                    Kind::Group if g.entitlement_id.as_str() == doc.scim_id => Some(Link {
                        id: g.account_id.to_string(),
                        display: None,
                    }),
                    _ => None,
                })
                .collect();
            let resource = render::resource(*kind, doc, &links, base);
            if query
                .filter
                .as_ref()
                .is_none_or(|f| f.matches(&resource, kind.core()))
            {
                matched.push((*kind, resource));
            }
        }
    }
    let total = matched.len();
    let page: Vec<Value> = matched
        .into_iter()
        .skip(query.start_index - 1)
        .take(query.count)
        .map(|(kind, r)| render::select(kind, r, &query.attributes, &query.excluded))
        .collect();
    let body = render::list_response(page, total, query.start_index);
    Ok(respond(StatusCode::OK, &body, None, None))
}
