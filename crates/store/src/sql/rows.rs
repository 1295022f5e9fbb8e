//! The state tables: applying projected row changes, and reading rows back
//! (for queries, for reconciliation and for `verify`'s comparison).

use super::Conn;
use crate::error::{Result, row_error};
use soxctl_model::ids::{AccountId, EntitlementId, PersonId, RoleId, SystemId, TokenId};
use soxctl_model::inventory::{
    Account, Entitlement, Grant, Inventory, Person, Role, RoleEntitlement, System,
};
use soxctl_model::projection::{
    BaselineRow, ImportRow, PersonRow, Row, RowChange, RowKey, StoreRow, TokenRow,
};
use soxctl_model::time::{Date, Timestamp};
use std::collections::BTreeMap;
use std::str::FromStr;

fn ts(t: &Option<Timestamp>) -> Option<String> {
    t.map(|t| t.to_canonical())
}

fn date(d: &Option<Date>) -> Option<String> {
    d.map(|d| d.to_string())
}

fn pid(v: &Option<PersonId>) -> Option<&str> {
    v.as_ref().map(PersonId::as_str)
}

pub async fn apply(conn: &mut Conn, changes: Vec<RowChange>) -> Result<()> {
    for change in changes {
        match change {
            RowChange::Upsert(row) => upsert(conn, &row).await?,
            RowChange::Delete(key) => delete(conn, &key).await?,
            RowChange::RevokeToken { token_id, at } => {
                sqlx::query("UPDATE tokens SET revoked_at = $1 WHERE token_id = $2")
                    .bind(at.to_canonical())
                    .bind(token_id.as_str())
                    .execute(&mut *conn)
                    .await?;
            }
        }
    }
    Ok(())
}

async fn upsert(conn: &mut Conn, row: &Row) -> Result<()> {
    match row {
        Row::Store(s) => {
            sqlx::query(
                "INSERT INTO store_meta (id, store_id, origin, demo, initialised_at) VALUES (1, $1, $2, $3, $4)
                 ON CONFLICT (id) DO UPDATE SET store_id = $1, origin = $2, demo = $3, initialised_at = $4",
            )
            .bind(&s.store_id)
            .bind(&s.origin)
            .bind(s.demo)
            .bind(s.initialised_at.to_canonical())
            .execute(conn)
            .await?;
        }
        Row::Person(PersonRow { person: p, erased }) => {
            sqlx::query(
                "INSERT INTO people (person_id, name, email, manager_id, department, title, status, hire_date, termination_date, erased)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
                 ON CONFLICT (person_id) DO UPDATE SET name = $2, email = $3, manager_id = $4, department = $5,
                   title = $6, status = $7, hire_date = $8, termination_date = $9, erased = $10",
            )
            .bind(p.person_id.as_str())
            .bind(&p.name)
            .bind(&p.email)
            .bind(pid(&p.manager_id))
            .bind(&p.department)
            .bind(&p.title)
            .bind(p.status.as_str())
            .bind(date(&p.hire_date))
            .bind(date(&p.termination_date))
            .bind(*erased)
            .execute(conn)
            .await?;
        }
        Row::System(s) => {
            sqlx::query(
                "INSERT INTO systems (system_id, name, kind, owner_id, sox_in_scope) VALUES ($1, $2, $3, $4, $5)
                 ON CONFLICT (system_id) DO UPDATE SET name = $2, kind = $3, owner_id = $4, sox_in_scope = $5",
            )
            .bind(s.system_id.as_str())
            .bind(&s.name)
            .bind(&s.kind)
            .bind(pid(&s.owner_id))
            .bind(s.sox_in_scope)
            .execute(conn)
            .await?;
        }
        Row::Baseline(b) => {
            sqlx::query(
                "INSERT INTO baselines (system_id, import_id, as_of, certified) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (system_id) DO UPDATE SET import_id = $2, as_of = $3, certified = $4",
            )
            .bind(b.system_id.as_str())
            .bind(&b.import_id)
            .bind(b.as_of.to_canonical())
            .bind(b.certified)
            .execute(conn)
            .await?;
        }
        Row::Entitlement(e) => {
            sqlx::query(
                "INSERT INTO entitlements (system_id, entitlement_id, name, privileged, owner_id, description)
                 VALUES ($1, $2, $3, $4, $5, $6)
                 ON CONFLICT (system_id, entitlement_id) DO UPDATE SET name = $3, privileged = $4, owner_id = $5, description = $6",
            )
            .bind(e.system_id.as_str())
            .bind(e.entitlement_id.as_str())
            .bind(&e.name)
            .bind(e.privileged)
            .bind(pid(&e.owner_id))
            .bind(&e.description)
            .execute(conn)
            .await?;
        }
        Row::Account(a) => {
            sqlx::query(
                "INSERT INTO accounts (system_id, account_id, person_id, kind, status, last_login, mfa, owner_id, credential_rotated_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
                 ON CONFLICT (system_id, account_id) DO UPDATE SET person_id = $3, kind = $4, status = $5,
                   last_login = $6, mfa = $7, owner_id = $8, credential_rotated_at = $9",
            )
            .bind(a.system_id.as_str())
            .bind(a.account_id.as_str())
            .bind(pid(&a.person_id))
            .bind(a.kind.as_str())
            .bind(a.status.as_str())
            .bind(ts(&a.last_login))
            .bind(a.mfa)
            .bind(pid(&a.owner_id))
            .bind(ts(&a.credential_rotated_at))
            .execute(conn)
            .await?;
        }
        Row::Grant(g) => {
            sqlx::query(
                "INSERT INTO grants (system_id, account_id, entitlement_id, granted_at, source) VALUES ($1, $2, $3, $4, $5)
                 ON CONFLICT (system_id, account_id, entitlement_id) DO UPDATE SET granted_at = $4, source = $5",
            )
            .bind(g.system_id.as_str())
            .bind(g.account_id.as_str())
            .bind(g.entitlement_id.as_str())
            .bind(ts(&g.granted_at))
            .bind(g.source.to_string())
            .execute(conn)
            .await?;
        }
        Row::Role(r) => {
            sqlx::query(
                "INSERT INTO roles (role_id, name, owner_id) VALUES ($1, $2, $3)
                 ON CONFLICT (role_id) DO UPDATE SET name = $2, owner_id = $3",
            )
            .bind(r.role_id.as_str())
            .bind(&r.name)
            .bind(pid(&r.owner_id))
            .execute(conn)
            .await?;
        }
        Row::RoleEntitlement(r) => {
            sqlx::query(
                "INSERT INTO role_entitlements (role_id, system_id, entitlement_id) VALUES ($1, $2, $3)
                 ON CONFLICT (role_id, system_id, entitlement_id) DO NOTHING",
            )
            .bind(r.role_id.as_str())
            .bind(r.system_id.as_str())
            .bind(r.entitlement_id.as_str())
            .execute(conn)
            .await?;
        }
        Row::Import(i) => {
            sqlx::query(
                "INSERT INTO imports (import_id, source, extracted_at, systems, events, completed_at, actor)
                 VALUES ($1, $2, $3, $4, $5, $6, $7)
                 ON CONFLICT (import_id) DO UPDATE SET source = $2, extracted_at = $3, systems = $4, events = $5,
                   completed_at = $6, actor = $7",
            )
            .bind(&i.import_id)
            .bind(&i.source)
            .bind(i.extracted_at.to_canonical())
            .bind(&i.systems)
            .bind(i64::try_from(i.events).unwrap_or(i64::MAX))
            .bind(i.completed_at.to_canonical())
            .bind(&i.actor)
            .execute(conn)
            .await?;
        }
        Row::Token(t) => {
            sqlx::query(
                "INSERT INTO tokens (token_id, secret_sha256, scopes, system_id, person_id, expires_at, description, created_at, created_by, revoked_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
                 ON CONFLICT (token_id) DO UPDATE SET secret_sha256 = $2, scopes = $3, system_id = $4, person_id = $5,
                   expires_at = $6, description = $7, created_at = $8, created_by = $9, revoked_at = $10",
            )
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
            .execute(conn)
            .await?;
        }
    }
    Ok(())
}

async fn delete(conn: &mut Conn, key: &RowKey) -> Result<()> {
    let (sql, binds): (&str, Vec<&str>) = match key {
        RowKey::Store => ("DELETE FROM store_meta WHERE id = 1", vec![]),
        RowKey::Person(p) => ("DELETE FROM people WHERE person_id = $1", vec![p.as_str()]),
        RowKey::System(s) => ("DELETE FROM systems WHERE system_id = $1", vec![s.as_str()]),
        RowKey::Baseline(s) => (
            "DELETE FROM baselines WHERE system_id = $1",
            vec![s.as_str()],
        ),
        RowKey::Entitlement(s, e) => (
            "DELETE FROM entitlements WHERE system_id = $1 AND entitlement_id = $2",
            vec![s.as_str(), e.as_str()],
        ),
        RowKey::Account(s, a) => (
            "DELETE FROM accounts WHERE system_id = $1 AND account_id = $2",
            vec![s.as_str(), a.as_str()],
        ),
        RowKey::Grant(s, a, e) => (
            "DELETE FROM grants WHERE system_id = $1 AND account_id = $2 AND entitlement_id = $3",
            vec![s.as_str(), a.as_str(), e.as_str()],
        ),
        RowKey::Role(r) => ("DELETE FROM roles WHERE role_id = $1", vec![r.as_str()]),
        RowKey::RoleEntitlement(r, s, e) => (
            "DELETE FROM role_entitlements WHERE role_id = $1 AND system_id = $2 AND entitlement_id = $3",
            vec![r.as_str(), s.as_str(), e.as_str()],
        ),
        RowKey::Import(i) => ("DELETE FROM imports WHERE import_id = $1", vec![i.as_str()]),
        RowKey::Token(t) => ("DELETE FROM tokens WHERE token_id = $1", vec![t.as_str()]),
    };
    let mut query = sqlx::query(sql);
    for b in binds {
        query = query.bind(b);
    }
    query.execute(conn).await?;
    Ok(())
}

// ---- reading rows back -------------------------------------------------

fn parse<T, E: std::fmt::Display>(
    table: &'static str,
    key: &str,
    r: std::result::Result<T, E>,
) -> Result<T> {
    r.map_err(|e| row_error(table, key, e))
}

fn opt<T, E: std::fmt::Display>(
    table: &'static str,
    key: &str,
    v: Option<String>,
    f: impl Fn(&str) -> std::result::Result<T, E>,
) -> Result<Option<T>> {
    v.map(|s| parse(table, key, f(&s))).transpose()
}

fn person_id(s: &str) -> std::result::Result<PersonId, soxctl_model::ids::IdError> {
    PersonId::parse(s)
}

type PersonTuple = (
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

const PERSON_COLUMNS: &str = "person_id, name, email, manager_id, department, title, status, hire_date, termination_date, erased";

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

fn person_row(row: PersonTuple) -> Result<PersonRow> {
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

type SystemTuple = (String, String, Option<String>, Option<String>, bool);
type EntitlementTuple = (
    String,
    String,
    Option<String>,
    bool,
    Option<String>,
    Option<String>,
);
type ImportTuple = (String, Option<String>, String, String, i64, String, String);

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

type AccountTuple = (
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

type TokenTuple = (
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
);

const TOKEN_COLUMNS: &str = "token_id, secret_sha256, scopes, system_id, person_id, expires_at, description, created_at, created_by, revoked_at";

fn token_row(t: TokenTuple) -> Result<TokenRow> {
    let (id, secret, scopes, system, person, expires, description, created_at, created_by, revoked) =
        t;
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

pub async fn store_meta(conn: &mut Conn) -> Result<Option<StoreRow>> {
    let row: Option<(String, String, bool, String)> = sqlx::query_as(
        "SELECT store_id, origin, demo, initialised_at FROM store_meta WHERE id = 1",
    )
    .fetch_optional(conn)
    .await?;
    row.map(|(store_id, origin, demo, at)| {
        Ok(StoreRow {
            initialised_at: parse("store_meta", "1", Timestamp::parse(&at))?,
            store_id,
            origin,
            demo,
        })
    })
    .transpose()
}

/// Every state row, keyed as the projection keys them.
pub async fn all_rows(conn: &mut Conn) -> Result<BTreeMap<RowKey, Row>> {
    let mut rows = Vec::new();
    rows.extend(store_meta(conn).await?.map(Row::Store));
    rows.extend(people(conn).await?.into_iter().map(Row::Person));
    rows.extend(systems(conn).await?.into_iter().map(Row::System));
    rows.extend(baselines(conn).await?.into_iter().map(Row::Baseline));
    rows.extend(entitlements(conn).await?.into_iter().map(Row::Entitlement));
    rows.extend(accounts(conn).await?.into_iter().map(Row::Account));
    rows.extend(grants(conn).await?.into_iter().map(Row::Grant));
    rows.extend(roles(conn).await?.into_iter().map(Row::Role));
    rows.extend(
        role_entitlements(conn)
            .await?
            .into_iter()
            .map(Row::RoleEntitlement),
    );
    rows.extend(imports(conn).await?.into_iter().map(Row::Import));
    rows.extend(tokens(conn).await?.into_iter().map(Row::Token));
    Ok(rows.into_iter().map(|r| (r.key(), r)).collect())
}

/// The inventory part of the state, as reconciliation compares it.
pub async fn inventory(conn: &mut Conn) -> Result<Inventory> {
    let mut inv = Inventory::default();
    for p in people(conn).await? {
        inv.people.insert(p.person.person_id.clone(), p.person);
    }
    for s in systems(conn).await? {
        inv.systems.insert(s.system_id.clone(), s);
    }
    for e in entitlements(conn).await? {
        inv.entitlements.insert(e.key(), e);
    }
    for a in accounts(conn).await? {
        inv.accounts.insert(a.key(), a);
    }
    for g in grants(conn).await? {
        inv.grants.insert(g.key(), g);
    }
    for r in roles(conn).await? {
        inv.roles.insert(r.role_id.clone(), r);
    }
    for r in role_entitlements(conn).await? {
        inv.role_entitlements.insert(r.key(), r);
    }
    Ok(inv)
}
