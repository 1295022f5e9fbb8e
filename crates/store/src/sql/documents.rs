//! The `documents` table: versions of rules, policies and controls.

use super::Conn;
use super::rows::{Query, parse, seq_param};
use crate::error::Result;
use soxctl_model::document::{DocumentKind, DocumentRow};
use soxctl_model::time::Timestamp;

pub const COLUMNS: [&str; 7] = [
    "kind",
    "version",
    "name",
    "sha256",
    "content",
    "loaded_at",
    "loaded_by",
];

pub fn bind<'q>(q: Query<'q>, d: &'q DocumentRow) -> Query<'q> {
    q.bind(d.kind.as_str())
        .bind(seq_param(d.version))
        .bind(d.name.as_str())
        .bind(d.sha256.as_str())
        .bind(d.content.as_str())
        .bind(d.loaded_at.to_canonical())
        .bind(d.loaded_by.as_str())
}

type DocumentTuple = (String, i64, String, String, String, String, String);

fn row(t: DocumentTuple) -> Result<DocumentRow> {
    let (kind, version, name, sha256, content, loaded_at, loaded_by) = t;
    const T: &str = "documents";
    let key = format!("{kind}/{version}");
    Ok(DocumentRow {
        kind: parse(T, &key, kind.parse::<DocumentKind>())?,
        version: parse(T, &key, u64::try_from(version))?,
        name,
        sha256,
        content,
        loaded_at: parse(T, &key, Timestamp::parse(&loaded_at))?,
        loaded_by,
    })
}

pub async fn all(conn: &mut Conn) -> Result<Vec<DocumentRow>> {
    let rows: Vec<DocumentTuple> = sqlx::query_as(&format!(
        "SELECT {} FROM documents ORDER BY kind, version",
        COLUMNS.join(", ")
    ))
    .fetch_all(conn)
    .await?;
    rows.into_iter().map(row).collect()
}

/// Every version of a kind, oldest first.
pub async fn versions(conn: &mut Conn, kind: DocumentKind) -> Result<Vec<DocumentRow>> {
    let rows: Vec<DocumentTuple> = sqlx::query_as(&format!(
        "SELECT {} FROM documents WHERE kind = $1 ORDER BY version",
        COLUMNS.join(", ")
    ))
    .bind(kind.as_str())
    .fetch_all(conn)
    .await?;
    rows.into_iter().map(row).collect()
}

/// The latest version of a kind: the one in force.
pub async fn latest(conn: &mut Conn, kind: DocumentKind) -> Result<Option<DocumentRow>> {
    let found: Option<DocumentTuple> = sqlx::query_as(&format!(
        "SELECT {} FROM documents WHERE kind = $1 ORDER BY version DESC LIMIT 1",
        COLUMNS.join(", ")
    ))
    .bind(kind.as_str())
    .fetch_optional(conn)
    .await?;
    found.map(row).transpose()
}
