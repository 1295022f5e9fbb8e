//! Reading inventory rows back: people, systems, entitlements, accounts,
//! grants, roles, baselines and imports.

#![allow(unused_imports)]
use super::*;

pub(crate) fn parse<T, E: std::fmt::Display>(
    table: &'static str,
    key: &str,
    r: std::result::Result<T, E>,
) -> Result<T> {
    r.map_err(|e| row_error(table, key, e))
}

pub(crate) fn opt<T, E: std::fmt::Display>(
    table: &'static str,
    key: &str,
    v: Option<String>,
    f: impl Fn(&str) -> std::result::Result<T, E>,
) -> Result<Option<T>> {
    v.map(|s| parse(table, key, f(&s))).transpose()
}

pub(crate) fn person_id(s: &str) -> std::result::Result<PersonId, soxctl_model::ids::IdError> {
    PersonId::parse(s)
}

pub(super) type PersonTuple = (
    String,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    String,
    Option<String>,
    Option<String>,
    bool,
);

pub(super) const PERSON_COLUMNS: &str = "person_id, name, email, manager_id, department, title, status, hire_date, termination_date, erased";

pub async fn people(conn: &mut Conn) -> Result<Vec<PersonRow>> {
    let rows: Vec<PersonTuple> = sqlx::query_as(&format!(
        "SELECT {PERSON_COLUMNS} FROM people ORDER BY person_id"
    ))
    .fetch_all(conn)
    .await?;
    rows.into_iter().map(person_row).collect()
}

pub async fn person(conn: &mut Conn, id: &PersonId) -> Result<Option<PersonRow>> {
    let row: Option<PersonTuple> = sqlx::query_as(&format!(
        "SELECT {PERSON_COLUMNS} FROM people WHERE person_id = $1"
    ))
    .bind(id.as_str())
    .fetch_optional(conn)
    .await?;
    row.map(person_row).transpose()
}

/// People whose id, name or email matches `pattern` (a lowercase SQL LIKE
/// pattern, escape character `\`; none: everyone), by id, at most `limit`.
pub async fn people_matching(
    conn: &mut Conn,
    pattern: Option<&str>,
    limit: u64,
) -> Result<Vec<PersonRow>> {
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let rows: Vec<PersonTuple> = sqlx::query_as(&format!(
        "SELECT {PERSON_COLUMNS} FROM people WHERE $1 IS NULL \
           OR lower(person_id) LIKE $1 ESCAPE '\\' OR lower(name) LIKE $1 ESCAPE '\\' \
           OR lower(email) LIKE $1 ESCAPE '\\' \
         ORDER BY person_id LIMIT $2"
    ))
    .bind(pattern)
    .bind(limit)
    .fetch_all(conn)
    .await?;
    rows.into_iter().map(person_row).collect()
}

/// The rows of these people (those that exist), by id.
pub async fn people_by_id(conn: &mut Conn, ids: &[PersonId]) -> Result<Vec<PersonRow>> {
    let mut out = Vec::with_capacity(ids.len());
    // Well under both backends' parameter limits.
    for chunk in ids.chunks(500) {
        let sql = format!(
            "SELECT {PERSON_COLUMNS} FROM people WHERE person_id IN ({}) ORDER BY person_id",
            (1..=chunk.len())
                .map(|i| format!("${i}"))
                .collect::<Vec<_>>()
                .join(", ")
        );
        let mut query = sqlx::query_as::<_, PersonTuple>(&sql);
        for id in chunk {
            query = query.bind(id.as_str());
        }
        for row in query.fetch_all(&mut *conn).await? {
            out.push(person_row(row)?);
        }
    }
    Ok(out)
}

/// Where someone named by an email or an id may be found: the people and
/// their accounts whose email, person id or account id could be `key` once
/// folded. `pattern` is a lowercase SQL LIKE pattern (escape character
/// `\`) for emails and account ids; `exact` an id compared exactly (person
/// ids) and without case (account ids). The caller folds every candidate
/// and keeps the exact matches: the query only narrows the rows.
pub async fn identity_candidates(
    conn: &mut Conn,
    pattern: Option<&str>,
    exact: Option<&str>,
) -> Result<Vec<IdentityCandidate>> {
    let rows: Vec<(String, Option<String>, String)> = sqlx::query_as(
        "SELECT person_id, email, 'email' FROM people WHERE $1 IS NOT NULL AND lower(email) LIKE $1 ESCAPE '\\' \
         UNION ALL SELECT person_id, person_id, 'person' FROM people WHERE person_id = $2 \
         UNION ALL SELECT person_id, account_id, 'account' FROM accounts \
           WHERE person_id IS NOT NULL AND ((lower(account_id) LIKE $1 ESCAPE '\\') OR lower(account_id) = lower($2))",
    )
    .bind(pattern)
    .bind(exact)
    .fetch_all(conn)
    .await?;
    let mut out = Vec::with_capacity(rows.len());
    for (person, key, kind) in rows {
        let Some(key) = key else { continue };
        out.push(IdentityCandidate {
            person_id: parse("identity", &person, PersonId::parse(person.as_str()))?,
            key,
            kind: match kind.as_str() {
                "email" => IdentityKeyKind::Email,
                "person" => IdentityKeyKind::PersonId,
                _ => IdentityKeyKind::AccountId,
            },
        });
    }
    Ok(out)
}

/// The people whose accounts in `system` have the id `account_id`, compared
/// without case (a CI platform's login).
pub async fn account_owners(
    conn: &mut Conn,
    system: &SystemId,
    account_id: &str,
) -> Result<Vec<PersonId>> {
    let rows: Vec<String> = sqlx::query_scalar(
        "SELECT DISTINCT person_id FROM accounts \
         WHERE system_id = $1 AND lower(account_id) = lower($2) AND person_id IS NOT NULL",
    )
    .bind(system.as_str())
    .bind(account_id)
    .fetch_all(conn)
    .await?;
    rows.into_iter()
        .map(|p| parse("accounts", &p, PersonId::parse(p.as_str())))
        .collect()
}

pub(super) fn person_row(row: PersonTuple) -> Result<PersonRow> {
    let (id, name, email, manager, department, title, status, hire, term, erased) = row;
    const T: &str = "people";
    Ok(PersonRow {
        person: Person {
            person_id: parse(T, &id, PersonId::parse(id.as_str()))?,
            name,
            email,
            manager_id: opt(T, &id, manager, person_id)?,
            department,
            title,
            status: parse(T, &id, status.parse())?,
            hire_date: opt(T, &id, hire, Date::parse)?,
            termination_date: opt(T, &id, term, Date::parse)?,
        },
        erased,
    })
}

pub(super) type SystemTuple = (String, String, Option<String>, Option<String>, bool);
pub(super) type EntitlementTuple = (
    String,
    String,
    Option<String>,
    bool,
    Option<String>,
    Option<String>,
);
pub(super) type ImportTuple = (String, Option<String>, String, String, i64, String, String);

pub async fn systems(conn: &mut Conn) -> Result<Vec<System>> {
    let rows: Vec<SystemTuple> = sqlx::query_as(
        "SELECT system_id, name, kind, owner_id, sox_in_scope FROM systems ORDER BY system_id",
    )
    .fetch_all(conn)
    .await?;
    rows.into_iter()
        .map(|(id, name, kind, owner, sox)| {
            Ok(System {
                system_id: parse("systems", &id, SystemId::parse(id.as_str()))?,
                name,
                kind,
                owner_id: opt("systems", &id, owner, person_id)?,
                sox_in_scope: sox,
            })
        })
        .collect()
}

pub async fn entitlements(conn: &mut Conn) -> Result<Vec<Entitlement>> {
    let rows: Vec<EntitlementTuple> = sqlx::query_as(
        "SELECT system_id, entitlement_id, name, privileged, owner_id, description FROM entitlements
         ORDER BY system_id, entitlement_id",
    )
    .fetch_all(conn)
    .await?;
    rows.into_iter()
        .map(|(s, e, name, privileged, owner, description)| {
            const T: &str = "entitlements";
            let key = format!("{s}:{e}");
            Ok(Entitlement {
                system_id: parse(T, &key, SystemId::parse(s))?,
                entitlement_id: parse(T, &key, EntitlementId::parse(e))?,
                name,
                privileged,
                owner_id: opt(T, &key, owner, person_id)?,
                description,
            })
        })
        .collect()
}

pub(super) type AccountTuple = (
    String,
    String,
    Option<String>,
    String,
    String,
    Option<String>,
    Option<bool>,
    Option<String>,
    Option<String>,
);

pub async fn accounts(conn: &mut Conn) -> Result<Vec<Account>> {
    let rows: Vec<AccountTuple> = sqlx::query_as(
        "SELECT system_id, account_id, person_id, kind, status, last_login, mfa, owner_id, credential_rotated_at
         FROM accounts ORDER BY system_id, account_id",
    )
    .fetch_all(conn)
    .await?;
    rows.into_iter()
        .map(
            |(s, a, person, kind, status, last_login, mfa, owner, rotated)| {
                const T: &str = "accounts";
                let key = format!("{s}/{a}");
                Ok(Account {
                    system_id: parse(T, &key, SystemId::parse(s))?,
                    account_id: parse(T, &key, AccountId::parse(a))?,
                    person_id: opt(T, &key, person, person_id)?,
                    kind: parse(T, &key, kind.parse())?,
                    status: parse(T, &key, status.parse())?,
                    last_login: opt(T, &key, last_login, Timestamp::parse)?,
                    mfa,
                    owner_id: opt(T, &key, owner, person_id)?,
                    credential_rotated_at: opt(T, &key, rotated, Timestamp::parse)?,
                })
            },
        )
        .collect()
}

pub async fn grants(conn: &mut Conn) -> Result<Vec<Grant>> {
    let rows: Vec<(String, String, String, Option<String>, String)> = sqlx::query_as(
        "SELECT system_id, account_id, entitlement_id, granted_at, source FROM grants
         ORDER BY system_id, account_id, entitlement_id",
    )
    .fetch_all(conn)
    .await?;
    rows.into_iter()
        .map(|(s, a, e, granted_at, source)| {
            const T: &str = "grants";
            let key = format!("{s}/{a}/{e}");
            Ok(Grant {
                system_id: parse(T, &key, SystemId::parse(s))?,
                account_id: parse(T, &key, AccountId::parse(a))?,
                entitlement_id: parse(T, &key, EntitlementId::parse(e))?,
                granted_at: opt(T, &key, granted_at, Timestamp::parse)?,
                source: parse(
                    T,
                    &key,
                    soxctl_model::inventory::GrantSource::from_str(&source),
                )?,
            })
        })
        .collect()
}

pub async fn roles(conn: &mut Conn) -> Result<Vec<Role>> {
    let rows: Vec<(String, Option<String>, Option<String>)> =
        sqlx::query_as("SELECT role_id, name, owner_id FROM roles ORDER BY role_id")
            .fetch_all(conn)
            .await?;
    rows.into_iter()
        .map(|(id, name, owner)| {
            Ok(Role {
                role_id: parse("roles", &id, RoleId::parse(id.as_str()))?,
                name,
                owner_id: opt("roles", &id, owner, person_id)?,
            })
        })
        .collect()
}

pub async fn role_entitlements(conn: &mut Conn) -> Result<Vec<RoleEntitlement>> {
    let rows: Vec<(String, String, String)> = sqlx::query_as(
        "SELECT role_id, system_id, entitlement_id FROM role_entitlements ORDER BY role_id, system_id, entitlement_id",
    )
    .fetch_all(conn)
    .await?;
    rows.into_iter()
        .map(|(r, s, e)| {
            const T: &str = "role_entitlements";
            let key = format!("{r}/{s}:{e}");
            Ok(RoleEntitlement {
                role_id: parse(T, &key, RoleId::parse(r))?,
                system_id: parse(T, &key, SystemId::parse(s))?,
                entitlement_id: parse(T, &key, EntitlementId::parse(e))?,
            })
        })
        .collect()
}

pub async fn baselines(conn: &mut Conn) -> Result<Vec<BaselineRow>> {
    let rows: Vec<(String, String, String, bool)> = sqlx::query_as(
        "SELECT system_id, import_id, as_of, certified FROM baselines ORDER BY system_id",
    )
    .fetch_all(conn)
    .await?;
    rows.into_iter()
        .map(|(s, import_id, as_of, certified)| {
            Ok(BaselineRow {
                system_id: parse("baselines", &s, SystemId::parse(s.as_str()))?,
                import_id,
                as_of: parse("baselines", &s, Timestamp::parse(&as_of))?,
                certified,
            })
        })
        .collect()
}

pub async fn imports(conn: &mut Conn) -> Result<Vec<ImportRow>> {
    let rows: Vec<ImportTuple> = sqlx::query_as(
        "SELECT import_id, source, extracted_at, systems, events, completed_at, actor FROM imports ORDER BY import_id",
    )
    .fetch_all(conn)
    .await?;
    rows.into_iter()
        .map(
            |(id, source, extracted_at, systems, events, completed_at, actor)| {
                Ok(ImportRow {
                    extracted_at: parse("imports", &id, Timestamp::parse(&extracted_at))?,
                    completed_at: parse("imports", &id, Timestamp::parse(&completed_at))?,
                    events: parse("imports", &id, u64::try_from(events))?,
                    import_id: id,
                    source,
                    systems,
                    actor,
                })
            },
        )
        .collect()
}

pub(super) type TokenTuple = (
    String,
    String,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    String,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
);
