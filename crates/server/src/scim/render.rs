//! Resources as SCIM answers them: the stored document with `id`, `meta`
//! (version, times, location), `schemas`, and the memberships derived from
//! grants (a User's read-only `groups`, a Group's `members`); list
//! responses; and `attributes`/`excludedAttributes`.

use super::http::etag;
use super::schema::{Kind, LIST_SCHEMA};
use serde_json::{Map, Value, json};
use soxctl_connectors::scim::filter::AttrPath;
use soxctl_store::scim::ScimDocument;

pub use soxctl_app::ingest::scim::Link;

/// The full resource: document, id, schemas, meta, and memberships.
pub fn resource(kind: Kind, doc: &ScimDocument, links: &[Link], base: &str) -> Value {
    let mut out = match &doc.document {
        Value::Object(map) => map.clone(),
        _ => Map::new(),
    };
    let mut schemas = vec![Value::String(kind.core().to_owned())];
    for extension in kind.extensions() {
        if out.contains_key(*extension) {
            schemas.push(Value::String((*extension).to_owned()));
        }
    }
    out.insert("schemas".into(), Value::Array(schemas));
    out.insert("id".into(), Value::String(doc.scim_id.clone()));
    if let Some(external_id) = &doc.external_id {
        out.insert("externalId".into(), Value::String(external_id.clone()));
    }
    if !links.is_empty() {
        let (name, other) = match kind {
            Kind::User => ("groups", Kind::Group),
            Kind::Group => ("members", Kind::User),
        };
        let items = links
            .iter()
            .map(|link| {
                let mut item = json!({
                    "value": link.id,
                    "$ref": format!("{base}/{}/{}", other.endpoint(), link.id),
                });
                match kind {
                    Kind::User => {
                        item["type"] = "direct".into();
                        if let Some(display) = &link.display {
                            item["display"] = display.clone().into();
                        }
                    }
                    Kind::Group => item["type"] = "User".into(),
                }
                item
            })
            .collect();
        out.insert(name.into(), Value::Array(items));
    }
    out.insert(
        "meta".into(),
        json!({
            "resourceType": kind.name(),
            "created": doc.created.to_canonical(),
            "lastModified": doc.last_modified.to_canonical(),
            "location": location(kind, &doc.scim_id, base),
            "version": etag(doc.version),
        }),
    );
    Value::Object(out)
}

pub fn location(kind: Kind, id: &str, base: &str) -> String {
    format!("{base}/{}/{id}", kind.endpoint())
}

/// A ListResponse of one page.
pub fn list_response(resources: Vec<Value>, total: usize, start_index: usize) -> Value {
    json!({
        "schemas": [LIST_SCHEMA],
        "totalResults": total,
        "startIndex": start_index,
        "itemsPerPage": resources.len(),
        "Resources": resources,
    })
}

/// A requested attribute: in an extension (by its URI) or the core schema.
fn split(kind: Kind, text: &str) -> Option<(Option<&'static str>, Option<AttrPath>)> {
    if let Some(extension) = kind
        .extensions()
        .iter()
        .find(|e| e.eq_ignore_ascii_case(text))
    {
        return Some((Some(extension), None));
    }
    let path = AttrPath::parse(text).ok()?;
    match &path.uri {
        Some(uri) if uri.eq_ignore_ascii_case(kind.core()) => Some((None, Some(path))),
        Some(uri) => {
            let extension = kind
                .extensions()
                .iter()
                .find(|e| e.eq_ignore_ascii_case(uri))?;
            Some((Some(extension), Some(path)))
        }
        None => Some((None, Some(path))),
    }
}

fn key_ci(map: &Map<String, Value>, name: &str) -> Option<String> {
    map.keys().find(|k| k.eq_ignore_ascii_case(name)).cloned()
}

/// Copies `path` from `from` into `to`.
fn copy(from: &Map<String, Value>, to: &mut Map<String, Value>, path: &AttrPath) {
    let Some(key) = key_ci(from, &path.name) else {
        return;
    };
    let Some(value) = from.get(&key) else {
        return;
    };
    let Some(sub) = &path.sub else {
        to.insert(key, value.clone());
        return;
    };
    let pick = |v: &Value| -> Option<Value> {
        let map = v.as_object()?;
        let sub_key = key_ci(map, sub)?;
        let mut one = Map::new();
        one.insert(sub_key.clone(), map.get(&sub_key)?.clone());
        Some(Value::Object(one))
    };
    let picked = match value {
        Value::Array(items) => {
            let items: Vec<Value> = items.iter().filter_map(pick).collect();
            (!items.is_empty()).then_some(Value::Array(items))
        }
        other => pick(other),
    };
    if let Some(picked) = picked {
        match to.get_mut(&key) {
            Some(Value::Object(existing)) => {
                if let Value::Object(new) = picked {
                    existing.extend(new);
                }
            }
            _ => {
                to.insert(key, picked);
            }
        }
    }
}

fn remove(map: &mut Map<String, Value>, path: &AttrPath) {
    let Some(key) = key_ci(map, &path.name) else {
        return;
    };
    match &path.sub {
        None => {
            map.remove(&key);
        }
        Some(sub) => {
            let strip = |v: &mut Value| {
                if let Some(inner) = v.as_object_mut()
                    && let Some(sub_key) = key_ci(inner, sub)
                {
                    inner.remove(&sub_key);
                }
            };
            match map.get_mut(&key) {
                Some(Value::Array(items)) => items.iter_mut().for_each(strip),
                Some(other) => strip(other),
                None => {}
            }
        }
    }
}

/// Applies `attributes` (only these, with `id` and `schemas`) or
/// `excludedAttributes` (all but these; `id` and `schemas` always stay).
pub fn select(kind: Kind, resource: Value, attributes: &[String], excluded: &[String]) -> Value {
    let Value::Object(full) = resource else {
        return resource;
    };
    if !attributes.is_empty() {
        let mut out = Map::new();
        for always in ["schemas", "id"] {
            if let Some(v) = full.get(always) {
                out.insert(always.into(), v.clone());
            }
        }
        for text in attributes {
            match split(kind, text) {
                Some((Some(extension), None)) => {
                    if let Some(v) = full.get(extension) {
                        out.insert(extension.to_owned(), v.clone());
                    }
                }
                Some((Some(extension), Some(path))) => {
                    if let Some(Value::Object(ext)) = full.get(extension) {
                        let mut picked = match out.remove(extension) {
                            Some(Value::Object(m)) => m,
                            _ => Map::new(),
                        };
                        copy(ext, &mut picked, &path);
                        if !picked.is_empty() {
                            out.insert(extension.to_owned(), Value::Object(picked));
                        }
                    }
                }
                Some((None, Some(path))) => copy(&full, &mut out, &path),
                _ => {}
            }
        }
        return Value::Object(out);
    }
    let mut out = full;
    for text in excluded {
        match split(kind, text) {
            Some((Some(extension), None)) => {
                out.remove(extension);
            }
            Some((Some(extension), Some(path))) => {
                if let Some(Value::Object(ext)) = out.get_mut(extension) {
                    remove(ext, &path);
                }
            }
            Some((None, Some(path))) => {
                let name = path.name.to_ascii_lowercase();
                if path.sub.is_some() || (name != "id" && name != "schemas") {
                    remove(&mut out, &path);
                }
            }
            _ => {}
        }
    }
    Value::Object(out)
}
