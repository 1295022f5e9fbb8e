//! The statements that write state rows, and how rows and keys bind.

#![allow(unused_imports)]
use super::*;

/// `($1, $2), ($3, $4), …`: `rows` tuples of `width` placeholders.
///
/// On SQLite they are anonymous, `(?, ?), (?, ?), …`, bound in order:
/// SQLite finds a numbered parameter's name by a linear search, and sqlx
/// looks up every parameter's name, so numbered placeholders cost time
/// quadratic in the parameters of a statement (a tenth of an append's CPU
/// with 320 of them).
pub fn placeholders(rows: usize, width: usize) -> String {
    // One buffer: a thousand-row statement has over ten thousand of them.
    let mut out = String::with_capacity(rows * (width * 5 + 4));
    for r in 0..rows {
        if r > 0 {
            out.push_str(", ");
        }
        out.push('(');
        push_params(&mut out, r * width + 1, width);
        out.push(')');
    }
    out
}

/// `$first, …` (`?, …` on SQLite, see `placeholders`): `count` parameters.
pub(super) fn params(first: usize, count: usize) -> String {
    let mut out = String::with_capacity(count * 5);
    push_params(&mut out, first, count);
    out
}

pub(super) fn push_params(out: &mut String, first: usize, count: usize) {
    use std::fmt::Write;
    for n in first..first + count {
        if n > first {
            out.push_str(", ");
        }
        if BACKEND == "sqlite" {
            out.push('?');
        } else {
            // Writing to a String cannot fail.
            let _ = write!(out, "${n}");
        }
    }
}

/// `INSERT … VALUES (…), … ON CONFLICT (key) DO UPDATE SET col = excluded.col, …`
/// for `rows` rows: a later row replaces an earlier one, as the projection's
/// upsert means. The rows of one statement must have distinct keys
/// (PostgreSQL refuses to update a row twice in one statement).
pub(super) fn upsert_sql(table: Table, rows: usize) -> String {
    let columns = table.columns();
    let (key, rest) = columns.split_at(table.key_len());
    let action = if rest.is_empty() {
        "NOTHING".to_owned()
    } else {
        let set: Vec<String> = rest.iter().map(|c| format!("{c} = excluded.{c}")).collect();
        format!("UPDATE SET {}", set.join(", "))
    };
    format!(
        "INSERT INTO {} ({}) VALUES {} ON CONFLICT ({}) DO {action}",
        table.name(),
        columns.join(", "),
        placeholders(rows, columns.len()),
        key.join(", "),
    )
}

/// `DELETE … WHERE key IN (…)` for `rows` keys. A composite key is compared
/// as a row value (SQLite 3.15+, PostgreSQL) with the rows of a VALUES list,
/// selected by their standard names `column1`, … in both. Spelt so, SQLite
/// searches the key's index; with a bare `IN (VALUES …)` SQLite 3.40 scans
/// the whole table (the bundled 3.46 searches either way).
pub(super) fn delete_sql(table: Table, rows: usize) -> String {
    let key = &table.columns()[..table.key_len()];
    if let [column] = key {
        format!(
            "DELETE FROM {} WHERE {column} IN ({})",
            table.name(),
            params(1, rows)
        )
    } else {
        let values: Vec<String> = (1..=key.len()).map(|i| format!("column{i}")).collect();
        format!(
            "DELETE FROM {} WHERE ({}) IN (SELECT {} FROM (VALUES {}) AS v)",
            table.name(),
            key.join(", "),
            values.join(", "),
            placeholders(rows, key.len()),
        )
    }
}

/// Binds the row's columns in `Table::columns` order.
pub(super) fn bind_row<'q>(q: Query<'q>, row: &'q Row) -> Query<'q> {
    match row {
        Row::Store(s) => q
            .bind(1_i64)
            .bind(&s.store_id)
            .bind(&s.origin)
            .bind(s.demo)
            .bind(s.initialised_at.to_canonical()),
        Row::Person(PersonRow { person: p, erased }) => q
            .bind(p.person_id.as_str())
            .bind(&p.name)
            .bind(&p.email)
            .bind(pid(&p.manager_id))
            .bind(&p.department)
            .bind(&p.title)
            .bind(p.status.as_str())
            .bind(date(&p.hire_date))
            .bind(date(&p.termination_date))
            .bind(*erased),
        Row::System(s) => q
            .bind(s.system_id.as_str())
            .bind(&s.name)
            .bind(&s.kind)
            .bind(pid(&s.owner_id))
            .bind(s.sox_in_scope),
        Row::Baseline(b) => q
            .bind(b.system_id.as_str())
            .bind(&b.import_id)
            .bind(b.as_of.to_canonical())
            .bind(b.certified),
        Row::Entitlement(e) => q
            .bind(e.system_id.as_str())
            .bind(e.entitlement_id.as_str())
            .bind(&e.name)
            .bind(e.privileged)
            .bind(pid(&e.owner_id))
            .bind(&e.description),
        Row::Account(a) => q
            .bind(a.system_id.as_str())
            .bind(a.account_id.as_str())
            .bind(pid(&a.person_id))
            .bind(a.kind.as_str())
            .bind(a.status.as_str())
            .bind(ts(&a.last_login))
            .bind(a.mfa)
            .bind(pid(&a.owner_id))
            .bind(ts(&a.credential_rotated_at)),
        Row::Grant(g) => q
            .bind(g.system_id.as_str())
            .bind(g.account_id.as_str())
            .bind(g.entitlement_id.as_str())
            .bind(ts(&g.granted_at))
            .bind(g.source.to_string()),
        Row::Role(r) => q
            .bind(r.role_id.as_str())
            .bind(&r.name)
            .bind(pid(&r.owner_id)),
        Row::RoleEntitlement(r) => q
            .bind(r.role_id.as_str())
            .bind(r.system_id.as_str())
            .bind(r.entitlement_id.as_str()),
        Row::Import(i) => q
            .bind(&i.import_id)
            .bind(&i.source)
            .bind(i.extracted_at.to_canonical())
            .bind(&i.systems)
            .bind(i64::try_from(i.events).unwrap_or(i64::MAX))
            .bind(i.completed_at.to_canonical())
            .bind(&i.actor),
        Row::Token(t) => q
            .bind(t.token_id.as_str())
            .bind(&t.secret_sha256)
            .bind(&t.scopes)
            .bind(t.system_id.as_ref().map(SystemId::as_str))
            .bind(pid(&t.person_id))
            .bind(ts(&t.expires_at))
            .bind(&t.description)
            .bind(t.created_at.to_canonical())
            .bind(&t.created_by)
            .bind(ts(&t.revoked_at))
            .bind(&t.repo)
            .bind(environments_text(&t.environments)),
        Row::GrantInterval(g) => q
            .bind(g.system_id.as_str())
            .bind(g.account_id.as_str())
            .bind(g.entitlement_id.as_str())
            .bind(seq_param(g.opened_seq))
            .bind(g.valid_from.to_canonical())
            .bind(ts(&g.valid_to))
            .bind(g.closed_seq.map(seq_param))
            .bind(g.source.to_string())
            .bind(&g.opened_by)
            .bind(&g.closed_by)
            .bind(&g.import_id),
        Row::Finding(f) => super::super::findings::bind(q, f),
        Row::Document(d) => super::super::documents::bind(q, d),
        Row::Mitigation(m) => super::super::mitigations::bind(q, m),
        Row::Request(r) => super::super::requests::bind_request(q, r),
        Row::Decision(d) => super::super::requests::bind_decision(q, d),
        Row::AccessGrant(g) => super::super::requests::bind_grant(q, g),
        Row::Delegation(d) => super::super::requests::bind_delegation(q, d),
        Row::ExecutionToken(t) => super::super::requests::bind_token(q, t),
        Row::Deployment(d) => super::super::requests::bind_deployment(q, d),
        Row::BreakGlass(b) => super::super::requests::bind_breakglass(q, b),
        Row::AccountInterval(a) => q
            .bind(a.system_id.as_str())
            .bind(a.account_id.as_str())
            .bind(seq_param(a.opened_seq))
            .bind(a.valid_from.to_canonical())
            .bind(ts(&a.valid_to))
            .bind(a.closed_seq.map(seq_param))
            .bind(pid(&a.person_id))
            .bind(a.kind.as_str())
            .bind(a.status.as_str())
            .bind(&a.opened_by)
            .bind(&a.closed_by),
    }
}

/// Binds the key's columns in `Table::columns` order.
pub(super) fn bind_key<'q>(q: Query<'q>, key: &'q RowKey) -> Query<'q> {
    match key {
        RowKey::Store => q.bind(1_i64),
        RowKey::Person(p) => q.bind(p.as_str()),
        RowKey::System(s) | RowKey::Baseline(s) => q.bind(s.as_str()),
        RowKey::Entitlement(s, e) => q.bind(s.as_str()).bind(e.as_str()),
        RowKey::Account(s, a) => q.bind(s.as_str()).bind(a.as_str()),
        RowKey::Grant(s, a, e) => q.bind(s.as_str()).bind(a.as_str()).bind(e.as_str()),
        RowKey::Role(r) => q.bind(r.as_str()),
        RowKey::RoleEntitlement(r, s, e) => q.bind(r.as_str()).bind(s.as_str()).bind(e.as_str()),
        RowKey::Import(i) => q.bind(i.as_str()),
        RowKey::Token(t) => q.bind(t.as_str()),
        RowKey::GrantInterval(s, a, e, seq) => q
            .bind(s.as_str())
            .bind(a.as_str())
            .bind(e.as_str())
            .bind(seq_param(*seq)),
        RowKey::Finding(id) => q.bind(id.as_str()),
        RowKey::Document(kind, version) => q.bind(kind.as_str()).bind(seq_param(*version)),
        RowKey::Mitigation(id) | RowKey::Deployment(id) => q.bind(id.as_str()),
        RowKey::Request(id) | RowKey::BreakGlass(id) => q.bind(id.as_str()),
        RowKey::AccessGrant(id) => q.bind(id.as_str()),
        RowKey::Delegation(id) => q.bind(id.as_str()),
        RowKey::ExecutionToken(id) => q.bind(id.as_str()),
        RowKey::Decision(id, approver) => q.bind(id.as_str()).bind(approver.as_str()),
        RowKey::AccountInterval(s, a, seq) => {
            q.bind(s.as_str()).bind(a.as_str()).bind(seq_param(*seq))
        }
    }
}
