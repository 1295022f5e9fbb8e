//! Reading the CSV files of a snapshot into an `Inventory`.

use super::SnapshotError;
use super::validate::{LineIndex, jsonl_name};
use soxctl_model::identity::escape;
use soxctl_model::ids::{AccountId, EntitlementId, PersonId, RoleId, SystemId};
use soxctl_model::inventory::{
    Account, Entitlement, Grant, Inventory, Person, Role, RoleEntitlement, System,
};
use soxctl_model::time::{Date, Timestamp};
use std::cell::Cell;
use std::collections::BTreeMap;
use std::fmt::Display;
use std::io::{BufRead, Read};
use std::path::Path;
use std::rc::Rc;

mod read;
pub(super) use read::open;
use read::*;

/// The longest line (and CSV record) a snapshot file may hold: far more
/// than any row of the format needs, and little enough memory that one
/// line of a file that is not a snapshot (a NUL-filled sparse file, a
/// device) cannot exhaust it.
pub(super) const MAX_LINE: usize = 1 << 20;

/// The most one read asks of a file, so that a chunk never holds a whole
/// line longer than [`MAX_LINE`] between two of its newlines.
const READ_CHUNK: usize = 64 << 10;

fn too_long_reason() -> String {
    "is longer than 1 MiB, the most a line of a snapshot file may hold; \
     is this the file it should be?"
        .to_owned()
}

/// `message`, about `value`, as it may be shown: the value escaped where
/// the message quotes it (control and bidi characters as `\u{…}`, a NUL as
/// `\0`, cut at 80 characters), and no hidden character elsewhere.
pub(super) fn quoting(value: &str, message: String) -> String {
    let escaped = escape(value);
    let message = if escaped == value || value.is_empty() {
        message
    } else {
        message.replace(value, &escaped)
    };
    shown(&message)
}

/// `text` with its hidden characters escaped, not cut.
pub(super) fn shown(text: &str) -> String {
    soxctl_model::text::shown_on_one_line(text).into_owned()
}

/// A column name that may be repeated in a message: one that could be a
/// column of the format. Anything else in a header is quoted from a file
/// that is not this table (a symlink to `/etc/passwd`), so never shown.
pub(super) fn plausible_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() < 64
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b' ')
}

/// One data row with its position, so every error can say where it is.
pub(super) struct Row<'a> {
    file: &'static str,
    line: u64,
    columns: &'a BTreeMap<String, usize>,
    record: &'a csv::StringRecord,
}

impl Row<'_> {
    fn error(&self, column: &str, reason: impl Into<String>) -> SnapshotError {
        SnapshotError {
            file: self.file.to_owned(),
            line: Some(self.line),
            column: Some(column.to_owned()),
            reason: reason.into(),
        }
    }

    fn opt(&self, column: &str) -> Option<&str> {
        self.columns
            .get(column)
            .and_then(|&i| self.record.get(i))
            .filter(|v| !v.is_empty())
    }

    fn req(&self, column: &str) -> Result<&str, SnapshotError> {
        self.opt(column)
            .ok_or_else(|| self.error(column, "is empty, but a value is required"))
    }

    fn parse<T, E: Display>(
        &self,
        column: &str,
        f: impl Fn(&str) -> Result<T, E>,
    ) -> Result<T, SnapshotError> {
        let value = self.req(column)?;
        f(value).map_err(|e| self.error(column, quoting(value, e.to_string())))
    }

    fn parse_opt<T, E: Display>(
        &self,
        column: &str,
        f: impl Fn(&str) -> Result<T, E>,
    ) -> Result<Option<T>, SnapshotError> {
        self.opt(column)
            .map(|v| f(v).map_err(|e| self.error(column, quoting(v, e.to_string()))))
            .transpose()
    }

    fn boolean(&self, column: &str) -> Result<Option<bool>, SnapshotError> {
        self.parse_opt(column, |v| match v {
            "true" => Ok(true),
            "false" => Ok(false),
            other => Err(format!("'{other}' is not a boolean: use true or false")),
        })
    }

    /// Free text on one line (a name, a title): nothing hidden, bounded.
    fn text(&self, column: &str) -> Result<Option<String>, SnapshotError> {
        let value = self.opt(column);
        soxctl_model::text::check_inventory_line(column, value)
            .map_err(|e| self.error(column, e.to_string()))?;
        Ok(value.map(str::to_owned))
    }

    /// A description: as [`Row::text`], but longer and line breaks allowed.
    fn description(&self, column: &str) -> Result<Option<String>, SnapshotError> {
        let value = self.opt(column);
        soxctl_model::text::check_inventory_description(column, value)
            .map_err(|e| self.error(column, e.to_string()))?;
        Ok(value.map(str::to_owned))
    }
}

fn person(v: &str) -> Result<PersonId, soxctl_model::ids::IdError> {
    PersonId::parse_new(v)
}

fn insert_unique<K: Ord + Display + Clone, V>(
    map: &mut BTreeMap<K, V>,
    lines: &mut BTreeMap<K, u64>,
    row: &Row<'_>,
    key_column: &str,
    key: K,
    value: V,
) -> Result<(), SnapshotError> {
    if let Some(first) = lines.get(&key) {
        return Err(row.error(
            key_column,
            format!(
                "duplicate key {} (first on line {first})",
                escape(&key.to_string())
            ),
        ));
    }
    lines.insert(key.clone(), row.line);
    map.insert(key, value);
    Ok(())
}

struct Pair<'a, A, B>(&'a A, &'a B);
impl<A: Display, B: Display> Display for Pair<'_, A, B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.0, self.1)
    }
}

pub(super) fn read_all(dir: &Path, lines: &mut LineIndex) -> Result<Inventory, SnapshotError> {
    let mut inv = Inventory::default();
    read_table(
        dir,
        "people.csv",
        &[
            "person_id",
            "name",
            "email",
            "manager_id",
            "department",
            "title",
            "status",
            "hire_date",
            "termination_date",
        ],
        &[],
        &mut lines.jsonl,
        |row| {
            let mut p = Person {
                person_id: row.parse("person_id", person)?,
                name: row.text("name")?,
                email: row.text("email")?,
                manager_id: row.parse_opt("manager_id", person)?,
                department: row.text("department")?,
                title: row.text("title")?,
                status: row.parse("status", str::parse)?,
                hire_date: row.parse_opt("hire_date", Date::parse)?,
                termination_date: row.parse_opt("termination_date", Date::parse)?,
            };
            // Their own manager would route their requests to themselves.
            if p.manager_id.as_ref() == Some(&p.person_id) {
                p.manager_id = None;
                lines.self_managers.insert(p.person_id.clone(), row.line);
            }
            insert_unique(
                &mut inv.people,
                &mut lines.people,
                row,
                "person_id",
                p.person_id.clone(),
                p,
            )
        },
    )?;
    read_table(
        dir,
        "systems.csv",
        &["system_id", "name", "kind", "owner_id", "sox_in_scope"],
        &[],
        &mut lines.jsonl,
        |row| {
            let s = System {
                system_id: row.parse("system_id", |v| SystemId::parse_new(v))?,
                name: row
                    .text("name")?
                    .ok_or_else(|| row.error("name", "is empty, but a value is required"))?,
                kind: row.text("kind")?,
                owner_id: row.parse_opt("owner_id", person)?,
                sox_in_scope: row.boolean("sox_in_scope")?.unwrap_or(true),
            };
            insert_unique(
                &mut inv.systems,
                &mut lines.systems,
                row,
                "system_id",
                s.system_id.clone(),
                s,
            )
        },
    )?;
    read_table(
        dir,
        "entitlements.csv",
        &[
            "system_id",
            "entitlement_id",
            "name",
            "privileged",
            "owner_id",
            "description",
        ],
        &[],
        &mut lines.jsonl,
        |row| {
            let e = Entitlement {
                system_id: row.parse("system_id", |v| SystemId::parse_new(v))?,
                entitlement_id: row.parse("entitlement_id", |v| EntitlementId::parse_new(v))?,
                name: row.text("name")?,
                privileged: row.boolean("privileged")?.unwrap_or(false),
                owner_id: row.parse_opt("owner_id", person)?,
                description: row.description("description")?,
            };
            let key = e.key();
            if let Some(first) = lines.entitlements.get(&key) {
                let shown = escape(&Pair(&key.0, &key.1).to_string());
                return Err(row.error(
                    "entitlement_id",
                    format!("duplicate key {shown} (first on line {first})"),
                ));
            }
            lines.entitlements.insert(key.clone(), row.line);
            inv.entitlements.insert(key, e);
            Ok(())
        },
    )?;
    read_table(
        dir,
        "accounts.csv",
        &[
            "system_id",
            "account_id",
            "person_id",
            "kind",
            "status",
            "last_login",
            "mfa",
        ],
        &["owner_id", "credential_rotated_at"],
        &mut lines.jsonl,
        |row| {
            let a = Account {
                system_id: row.parse("system_id", |v| SystemId::parse_new(v))?,
                account_id: row.parse("account_id", |v| AccountId::parse_new(v))?,
                person_id: row.parse_opt("person_id", person)?,
                kind: row.parse("kind", str::parse)?,
                status: row.parse("status", str::parse)?,
                last_login: row.parse_opt("last_login", Timestamp::parse)?,
                mfa: row.boolean("mfa")?,
                owner_id: row.parse_opt("owner_id", person)?,
                credential_rotated_at: row.parse_opt("credential_rotated_at", Timestamp::parse)?,
            };
            let key = a.key();
            if let Some(first) = lines.accounts.get(&key) {
                let shown = escape(&Pair(&key.0, &key.1).to_string());
                return Err(row.error(
                    "account_id",
                    format!("duplicate key {shown} (first on line {first})"),
                ));
            }
            lines.accounts.insert(key.clone(), row.line);
            inv.accounts.insert(key, a);
            Ok(())
        },
    )?;
    read_table(
        dir,
        "grants.csv",
        &[
            "system_id",
            "account_id",
            "entitlement_id",
            "granted_at",
            "source",
        ],
        &[],
        &mut lines.jsonl,
        |row| {
            let g = Grant {
                system_id: row.parse("system_id", |v| SystemId::parse_new(v))?,
                account_id: row.parse("account_id", |v| AccountId::parse_new(v))?,
                entitlement_id: row.parse("entitlement_id", |v| EntitlementId::parse_new(v))?,
                granted_at: row.parse_opt("granted_at", Timestamp::parse)?,
                source: row
                    .parse_opt("source", str::parse)?
                    .unwrap_or(soxctl_model::inventory::GrantSource::Direct),
            };
            let key = g.key();
            if let Some(first) = lines.grants.get(&key) {
                return Err(row.error(
                    "entitlement_id",
                    format!(
                        "duplicate grant {}/{} → {} (first on line {first})",
                        escape(key.0.as_str()),
                        escape(key.1.as_str()),
                        escape(key.2.as_str())
                    ),
                ));
            }
            lines.grants.insert(key.clone(), row.line);
            inv.grants.insert(key, g);
            Ok(())
        },
    )?;
    read_table(
        dir,
        "roles.csv",
        &["role_id", "name", "owner_id"],
        &[],
        &mut lines.jsonl,
        |row| {
            let r = Role {
                role_id: row.parse("role_id", |v| RoleId::parse_new(v))?,
                name: row.text("name")?,
                owner_id: row.parse_opt("owner_id", person)?,
            };
            insert_unique(
                &mut inv.roles,
                &mut lines.roles,
                row,
                "role_id",
                r.role_id.clone(),
                r,
            )
        },
    )?;
    read_table(
        dir,
        "role_entitlements.csv",
        &["role_id", "system_id", "entitlement_id"],
        &[],
        &mut lines.jsonl,
        |row| {
            let r = RoleEntitlement {
                role_id: row.parse("role_id", |v| RoleId::parse_new(v))?,
                system_id: row.parse("system_id", |v| SystemId::parse_new(v))?,
                entitlement_id: row.parse("entitlement_id", |v| EntitlementId::parse_new(v))?,
            };
            let key = r.key();
            if let Some(first) = lines.role_entitlements.get(&key) {
                return Err(row.error(
                    "entitlement_id",
                    format!(
                        "duplicate role entitlement {} → {}:{} (first on line {first})",
                        escape(key.0.as_str()),
                        escape(key.1.as_str()),
                        escape(key.2.as_str())
                    ),
                ));
            }
            lines.role_entitlements.insert(key.clone(), row.line);
            inv.role_entitlements.insert(key, r);
            Ok(())
        },
    )?;
    Ok(inv)
}

#[cfg(test)]
mod tests;
