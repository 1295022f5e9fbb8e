//! The query of a list or a search: filter, pagination, attributes.

#![allow(unused_imports)]
use super::*;

/// The query parameters of a list, or of a single read (`attributes`).
/// Numbers are taken as text so that a bad one is a SCIM `invalidValue`.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub(crate) struct ListParams {
    /// A filter (RFC 7644 §3.4.2.2), e.g. `userName eq "bjensen"`: at most
    /// 4096 bytes, 128 comparisons, 32 levels of nesting.
    pub(super) filter: Option<String>,
    /// The 1-based index of the first result (default 1; less than 1 is 1).
    #[param(value_type = Option<i64>)]
    pub(super) start_index: Option<String>,
    /// The most results to return (default and maximum 1000; less than 0 is 0).
    #[param(value_type = Option<i64>)]
    pub(super) count: Option<String>,
    /// Comma-separated attribute names to return (with those always returned).
    pub(super) attributes: Option<String>,
    /// Comma-separated attribute names to leave out.
    pub(super) excluded_attributes: Option<String>,
}

pub(super) struct ListQuery {
    pub(super) filter: Option<Filter>,
    pub(super) start_index: usize,
    pub(super) count: usize,
    pub(super) attributes: Vec<String>,
    pub(super) excluded: Vec<String>,
}

pub(super) fn names(list: Option<&str>) -> Vec<String> {
    list.unwrap_or("")
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

pub(super) fn parse_filter(text: Option<&str>) -> Result<Option<Filter>, ScimError> {
    text.filter(|t| !t.trim().is_empty())
        .map(|t| {
            Filter::parse(t).map_err(|e| {
                ScimError::bad("invalidFilter", format!("The filter is invalid: {e}."))
            })
        })
        .transpose()
}

/// `startIndex` is 1-based (less is 1); `count` at most [`MAX_RESULTS`] (less than 0 is 0).
pub(super) fn paging(start: Option<i64>, count: Option<i64>) -> (usize, usize) {
    let start = usize::try_from(start.unwrap_or(1).max(1)).unwrap_or(1);
    let count = count.map_or(MAX_RESULTS, |c| {
        usize::try_from(c.max(0)).unwrap_or(0).min(MAX_RESULTS)
    });
    (start, count)
}

pub(super) fn integer(name: &str, text: Option<&str>) -> Result<Option<i64>, ScimError> {
    text.map(|t| {
        t.trim()
            .parse::<i64>()
            .map_err(|_| ScimError::bad("invalidValue", format!("{name} '{t}' is not an integer")))
    })
    .transpose()
}

impl ListParams {
    pub(super) fn into_query(self) -> Result<ListQuery, ScimError> {
        let (start_index, count) = paging(
            integer("startIndex", self.start_index.as_deref())?,
            integer("count", self.count.as_deref())?,
        );
        Ok(ListQuery {
            filter: parse_filter(self.filter.as_deref())?,
            start_index,
            count,
            attributes: names(self.attributes.as_deref()),
            excluded: names(self.excluded_attributes.as_deref()),
        })
    }
}

/// A SearchRequest body (`POST …/.search`).
pub(super) fn search_query(body: &Value) -> Result<ListQuery, ScimError> {
    if let Some(schemas) = get_ci(body, "schemas")
        && !schemas.as_array().is_some_and(|s| {
            s.iter().any(|s| {
                s.as_str()
                    .is_some_and(|s| s.eq_ignore_ascii_case(SEARCH_SCHEMA))
            })
        })
    {
        return Err(ScimError::bad(
            "invalidSyntax",
            format!("`schemas` must contain {SEARCH_SCHEMA}"),
        ));
    }
    let list = |key: &str| -> Result<Vec<String>, ScimError> {
        match get_ci(body, key) {
            None | Some(Value::Null) => Ok(Vec::new()),
            Some(Value::Array(items)) => items
                .iter()
                .map(|v| {
                    v.as_str().map(str::to_owned).ok_or_else(|| {
                        ScimError::bad("invalidValue", format!("`{key}` must list strings"))
                    })
                })
                .collect(),
            Some(Value::String(s)) => Ok(names(Some(s))),
            Some(_) => Err(ScimError::bad(
                "invalidValue",
                format!("`{key}` must be an array of strings"),
            )),
        }
    };
    let number = |key: &str| -> Result<Option<i64>, ScimError> {
        match get_ci(body, key) {
            None | Some(Value::Null) => Ok(None),
            Some(v) => v.as_i64().map(Some).ok_or_else(|| {
                ScimError::bad("invalidValue", format!("`{key}` must be an integer"))
            }),
        }
    };
    let filter = match get_ci(body, "filter") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => parse_filter(Some(s))?,
        Some(_) => return Err(ScimError::bad("invalidFilter", "`filter` must be a string")),
    };
    let (start_index, count) = paging(number("startIndex")?, number("count")?);
    Ok(ListQuery {
        filter,
        start_index,
        count,
        attributes: list("attributes")?,
        excluded: list("excludedAttributes")?,
    })
}
