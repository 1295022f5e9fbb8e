//! Break-glass uses: emergency access taken without prior approval and
//! reviewed by its owner afterwards.

use super::*;

pub const BREAKGLASS_COLUMNS: [&str; 11] = [
    "use_id",
    "person_id",
    "items",
    "reason",
    "evidence",
    "starts_at",
    "ends_at",
    "reviewer_id",
    "reviewed_at",
    "outcome",
    "review_notes",
];

pub fn bind_breakglass<'q>(q: Query<'q>, b: &'q BreakGlassRow) -> Query<'q> {
    q.bind(b.use_id.as_str())
        .bind(b.person_id.as_str())
        .bind(json(&b.items))
        .bind(b.reason.as_str())
        .bind(b.evidence.as_deref())
        .bind(b.starts_at.to_canonical())
        .bind(b.ends_at.to_canonical())
        .bind(b.reviewer_id.as_str())
        .bind(ts(&b.reviewed_at))
        .bind(b.outcome.map(ReviewOutcome::as_str))
        .bind(b.review_notes.as_deref())
}

pub async fn review_breakglass(
    conn: &mut Conn,
    id: &RequestId,
    at: Timestamp,
    outcome: ReviewOutcome,
    notes: &str,
    evidence: Option<&str>,
) -> Result<()> {
    let done = sqlx::query(
        "UPDATE breakglass_uses SET reviewed_at = $1, outcome = $2, review_notes = $3, \
         evidence = COALESCE($4, evidence) WHERE use_id = $5",
    )
    .bind(at.to_canonical())
    .bind(outcome.as_str())
    .bind(notes)
    .bind(evidence)
    .bind(id.as_str())
    .execute(&mut *conn)
    .await?;
    must_hit(done.rows_affected(), "break-glass use", id.as_str())
}

fn breakglass(row: &DbRow) -> Result<BreakGlassRow> {
    const T: &str = "breakglass_uses";
    let id = text(row, "use_id")?;
    let outcome = match text_opt(row, "outcome")?.as_deref() {
        None => None,
        Some("appropriate") => Some(ReviewOutcome::Appropriate),
        Some("inappropriate") => Some(ReviewOutcome::Inappropriate),
        Some(other) => {
            return Err(StoreError::Invalid(format!(
                "breakglass_uses row '{id}' has outcome '{other}'"
            )));
        }
    };
    Ok(BreakGlassRow {
        person_id: parse(T, &id, person_id(&text(row, "person_id")?))?,
        items: parse(T, &id, serde_json::from_str(&text(row, "items")?))?,
        reason: text(row, "reason")?,
        evidence: text_opt(row, "evidence")?,
        starts_at: parse(T, &id, Timestamp::parse(&text(row, "starts_at")?))?,
        ends_at: parse(T, &id, Timestamp::parse(&text(row, "ends_at")?))?,
        reviewer_id: parse(T, &id, person_id(&text(row, "reviewer_id")?))?,
        reviewed_at: opt(T, &id, text_opt(row, "reviewed_at")?, Timestamp::parse)?,
        outcome,
        review_notes: text_opt(row, "review_notes")?,
        use_id: parse(T, &id, RequestId::parse(id.as_str()))?,
    })
}

pub async fn breakglass_uses(conn: &mut Conn) -> Result<Vec<BreakGlassRow>> {
    let sql = format!(
        "SELECT {} FROM breakglass_uses ORDER BY starts_at, use_id",
        BREAKGLASS_COLUMNS.join(", ")
    );
    sqlx::query(&sql)
        .fetch_all(&mut *conn)
        .await?
        .iter()
        .map(breakglass)
        .collect()
}
