//! Reading API tokens back.

#![allow(unused_imports)]
use super::*;

pub(super) const TOKEN_COLUMNS: &str = "token_id, secret_sha256, scopes, system_id, person_id, expires_at, description, created_at, created_by, revoked_at, repo, environments";

/// A gate token's environments, comma-separated (none: NULL).
pub(super) fn environments_text(envs: &[String]) -> Option<String> {
    (!envs.is_empty()).then(|| envs.join(","))
}

pub(super) fn token_row(t: TokenTuple) -> Result<TokenRow> {
    let (
        id,
        secret,
        scopes,
        system,
        person,
        expires,
        description,
        created_at,
        created_by,
        revoked,
        repo,
        environments,
    ) = t;
    const T: &str = "tokens";
    Ok(TokenRow {
        token_id: parse(T, &id, TokenId::parse(id.as_str()))?,
        secret_sha256: secret,
        scopes,
        system_id: opt(T, &id, system, |s| SystemId::parse(s))?,
        person_id: opt(T, &id, person, person_id)?,
        expires_at: opt(T, &id, expires, Timestamp::parse)?,
        description,
        created_at: parse(T, &id, Timestamp::parse(&created_at))?,
        created_by,
        revoked_at: opt(T, &id, revoked, Timestamp::parse)?,
        repo,
        environments: environments
            .map(|e| e.split(',').map(str::to_owned).collect())
            .unwrap_or_default(),
    })
}

pub async fn tokens(conn: &mut Conn) -> Result<Vec<TokenRow>> {
    let rows: Vec<TokenTuple> = sqlx::query_as(&format!(
        "SELECT {TOKEN_COLUMNS} FROM tokens ORDER BY token_id"
    ))
    .fetch_all(conn)
    .await?;
    rows.into_iter().map(token_row).collect()
}

pub async fn token(conn: &mut Conn, id: &TokenId) -> Result<Option<TokenRow>> {
    let row: Option<TokenTuple> = sqlx::query_as(&format!(
        "SELECT {TOKEN_COLUMNS} FROM tokens WHERE token_id = $1"
    ))
    .bind(id.as_str())
    .fetch_optional(conn)
    .await?;
    row.map(token_row).transpose()
}

pub async fn token_by_secret_hash(
    conn: &mut Conn,
    secret_sha256: &str,
) -> Result<Option<TokenRow>> {
    let row: Option<TokenTuple> = sqlx::query_as(&format!(
        "SELECT {TOKEN_COLUMNS} FROM tokens WHERE secret_sha256 = $1"
    ))
    .bind(secret_sha256)
    .fetch_optional(conn)
    .await?;
    row.map(token_row).transpose()
}
