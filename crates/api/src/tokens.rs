//! API tokens as they are listed (never their secrets): the answer of
//! `GET /api/v1/tokens`, and each record of `soxctl token list`.

use crate::people::{Names, shown};
use serde::{Deserialize, Serialize};
use soxctl_model::projection::TokenRow;

/// A token as listed: never its secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TokenInfo {
    pub token_id: String,
    /// `active`, `expired` or `revoked`.
    pub state: String,
    #[cfg_attr(feature = "openapi", schema(schema_with = scopes_schema))]
    pub scopes: Vec<String>,
    pub system_id: Option<String>,
    pub person_id: Option<String>,
    /// The person's name; null when unnamed or erased.
    #[serde(default)]
    pub person_name: Option<String>,
    #[cfg_attr(feature = "openapi", schema(format = DateTime))]
    pub expires_at: Option<String>,
    pub description: Option<String>,
    #[cfg_attr(feature = "openapi", schema(format = DateTime))]
    pub created_at: String,
    pub created_by: String,
    #[cfg_attr(feature = "openapi", schema(format = DateTime))]
    pub revoked_at: Option<String>,
}

impl TokenInfo {
    /// The token in `state`, with its person's name from `names`.
    pub fn of(t: &TokenRow, state: &str, names: &Names) -> Self {
        Self {
            token_id: t.token_id.to_string(),
            state: state.to_owned(),
            scopes: t
                .scope_list()
                .into_iter()
                .map(|s| s.as_str().to_owned())
                .collect(),
            system_id: t.system_id.as_ref().map(ToString::to_string),
            person_id: t.person_id.as_ref().map(ToString::to_string),
            person_name: shown(names, t.person_id.as_ref()).0,
            expires_at: t.expires_at.map(|e| e.to_canonical()),
            description: t.description.clone(),
            created_at: t.created_at.to_canonical(),
            created_by: t.created_by.clone(),
            revoked_at: t.revoked_at.map(|e| e.to_canonical()),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TokenList {
    /// Sorted by token id.
    pub tokens: Vec<TokenInfo>,
}

/// The scopes as the document lists them: at least one, each a known name.
#[cfg(feature = "openapi")]
pub fn scopes_schema() -> impl Into<utoipa::openapi::RefOr<utoipa::openapi::Schema>> {
    use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, Type};
    ArrayBuilder::new()
        .items(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .enum_values(Some(
                    soxctl_model::principal::Scope::ALL
                        .iter()
                        .map(|s| s.as_str()),
                )),
        )
        .min_items(Some(1))
}
