//! What the service provider serves about its schemas: the service
//! provider configuration, `/Schemas` and `/ResourceTypes`. The schemas,
//! the resource kinds and the check of a client's document are
//! `soxctl_connectors::scim::schema`.

use serde_json::{Value, json};
pub use soxctl_connectors::scim::schema::Kind;

pub const LIST_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
pub const SEARCH_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:SearchRequest";

/// The most resources one list or search answers (`filter.maxResults`).
pub const MAX_RESULTS: usize = 1000;

/// `/ServiceProviderConfig`.
pub fn service_provider_config(base: &str) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"],
        "patch": {"supported": true},
        "bulk": {"supported": false, "maxOperations": 0, "maxPayloadSize": 0},
        "filter": {"supported": true, "maxResults": MAX_RESULTS},
        "changePassword": {"supported": false},
        "sort": {"supported": false},
        "etag": {"supported": true},
        "authenticationSchemes": [{
            "type": "oauthbearertoken",
            "name": "OAuth Bearer Token",
            "description": "A soxctl token with the scim scope, bound to one system: \
                            soxctl token create --scope scim --system ID",
            "specUri": "https://www.rfc-editor.org/info/rfc6750",
            "primary": true
        }],
        "meta": {
            "resourceType": "ServiceProviderConfig",
            "location": format!("{base}/ServiceProviderConfig")
        }
    })
}

/// Every schema, as `/Schemas` lists them.
pub fn schemas(base: &str) -> Vec<Value> {
    soxctl_connectors::scim::schema::raw()
        .iter()
        .map(|raw| {
            let mut schema = raw.clone();
            let id = raw
                .get("id")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned();
            if let Some(map) = schema.as_object_mut() {
                map.insert(
                    "schemas".into(),
                    json!(["urn:ietf:params:scim:schemas:core:2.0:Schema"]),
                );
                map.insert(
                    "meta".into(),
                    json!({"resourceType": "Schema", "location": format!("{base}/Schemas/{id}")}),
                );
            }
            schema
        })
        .collect()
}

/// Every resource type, as `/ResourceTypes` lists them.
pub fn resource_types(base: &str) -> Vec<Value> {
    Kind::ALL
        .iter()
        .map(|kind| {
            let extensions: Vec<Value> = kind
                .extensions()
                .iter()
                .map(|e| json!({"schema": e, "required": false}))
                .collect();
            let mut resource = json!({
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ResourceType"],
                "id": kind.name(),
                "name": kind.name(),
                "endpoint": format!("/{}", kind.endpoint()),
                "description": match kind {
                    Kind::User => "An account in the token's system",
                    Kind::Group => "An entitlement of the token's system; its members hold it",
                },
                "schema": kind.core(),
                "meta": {"resourceType": "ResourceType", "location": format!("{base}/ResourceTypes/{}", kind.name())}
            });
            if !extensions.is_empty() {
                resource["schemaExtensions"] = Value::Array(extensions);
            }
            resource
        })
        .collect()
}
