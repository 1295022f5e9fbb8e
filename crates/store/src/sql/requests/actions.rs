//! Execution tokens and deployments: the approved action's single-use
//! token, and the changes the gate recorded as deployed.

use super::*;

pub const TOKEN_COLUMNS: [&str; 8] = [
    "token_id",
    "request_id",
    "executor",
    "env",
    "digest",
    "issued_at",
    "expires_at",
    "used_at",
];

pub const DEPLOYMENT_COLUMNS: [&str; 8] = [
    "deployment_id",
    "env",
    "commit_sha",
    "repo",
    "deployer",
    "request_id",
    "deployed_at",
    "seq",
];

pub fn bind_token<'q>(q: Query<'q>, t: &'q ExecutionTokenRow) -> Query<'q> {
    q.bind(t.token_id.as_str())
        .bind(t.request_id.as_str())
        .bind(t.executor.as_str())
        .bind(t.env.as_str())
        .bind(t.digest.as_str())
        .bind(t.issued_at.to_canonical())
        .bind(t.expires_at.to_canonical())
        .bind(ts(&t.used_at))
}

pub fn bind_deployment<'q>(q: Query<'q>, d: &'q DeploymentRow) -> Query<'q> {
    q.bind(d.deployment_id.as_str())
        .bind(d.env.as_str())
        .bind(d.commit.as_str())
        .bind(d.repo.as_deref())
        .bind(d.deployer.as_str())
        .bind(d.request_id.as_ref().map(RequestId::as_str))
        .bind(d.deployed_at.to_canonical())
        .bind(seq_param(d.seq))
}

pub async fn use_token(conn: &mut Conn, id: &ExecutionTokenId, at: Timestamp) -> Result<()> {
    let done = sqlx::query(
        "UPDATE execution_tokens SET used_at = $1 WHERE token_id = $2 AND used_at IS NULL",
    )
    .bind(at.to_canonical())
    .bind(id.as_str())
    .execute(&mut *conn)
    .await?;
    must_hit(done.rows_affected(), "unused execution token", id.as_str())
}

fn token(row: &DbRow) -> Result<ExecutionTokenRow> {
    const T: &str = "execution_tokens";
    let id = text(row, "token_id")?;
    Ok(ExecutionTokenRow {
        request_id: parse(T, &id, RequestId::parse(text(row, "request_id")?))?,
        executor: text(row, "executor")?,
        env: text(row, "env")?,
        digest: text(row, "digest")?,
        issued_at: parse(T, &id, Timestamp::parse(&text(row, "issued_at")?))?,
        expires_at: parse(T, &id, Timestamp::parse(&text(row, "expires_at")?))?,
        used_at: opt(T, &id, text_opt(row, "used_at")?, Timestamp::parse)?,
        token_id: parse(T, &id, ExecutionTokenId::parse(id.as_str()))?,
    })
}

fn deployment(row: &DbRow) -> Result<DeploymentRow> {
    const T: &str = "deployments";
    let id = text(row, "deployment_id")?;
    Ok(DeploymentRow {
        env: text(row, "env")?,
        commit: text(row, "commit_sha")?,
        repo: text_opt(row, "repo")?,
        deployer: text(row, "deployer")?,
        request_id: opt(T, &id, text_opt(row, "request_id")?, |r| {
            RequestId::parse(r)
        })?,
        deployed_at: parse(T, &id, Timestamp::parse(&text(row, "deployed_at")?))?,
        seq: count(T, &id, row.try_get("seq")?)?,
        deployment_id: id,
    })
}

/// Execution tokens, oldest first: all, one by id, or a request's.
pub async fn execution_tokens(conn: &mut Conn, of: TokensOf<'_>) -> Result<Vec<ExecutionTokenRow>> {
    let (filter, value) = match of {
        TokensOf::All => ("", None),
        TokensOf::Token(id) => ("WHERE token_id = $1", Some(id.as_str())),
        TokensOf::Request(id) => ("WHERE request_id = $1", Some(id.as_str())),
    };
    let sql = format!(
        "SELECT {} FROM execution_tokens {filter} ORDER BY issued_at, token_id",
        TOKEN_COLUMNS.join(", ")
    );
    let mut q = sqlx::query(&sql);
    if let Some(value) = value {
        q = q.bind(value);
    }
    q.fetch_all(&mut *conn).await?.iter().map(token).collect()
}

/// Deployments, oldest first; only those of `env` when given.
pub async fn deployments(conn: &mut Conn, env: Option<&str>) -> Result<Vec<DeploymentRow>> {
    let filter = if env.is_some() { "WHERE env = $1" } else { "" };
    let sql = format!(
        "SELECT {} FROM deployments {filter} ORDER BY seq",
        DEPLOYMENT_COLUMNS.join(", ")
    );
    let mut q = sqlx::query(&sql);
    if let Some(e) = env {
        q = q.bind(e);
    }
    q.fetch_all(&mut *conn)
        .await?
        .iter()
        .map(deployment)
        .collect()
}
