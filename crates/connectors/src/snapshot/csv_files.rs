//! Reading the CSV files of a snapshot into an `Inventory`.

use super::SnapshotError;
use super::validate::{LineIndex, jsonl_name};
use soxctl_model::ids::{AccountId, EntitlementId, PersonId, RoleId, SystemId};
use soxctl_model::inventory::{
    Account, Entitlement, Grant, Inventory, Person, Role, RoleEntitlement, System,
};
use soxctl_model::time::{Date, Timestamp};
use std::collections::BTreeMap;
use std::fmt::Display;
use std::path::Path;

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
        f(self.req(column)?).map_err(|e| self.error(column, e.to_string()))
    }

    fn parse_opt<T, E: Display>(
        &self,
        column: &str,
        f: impl Fn(&str) -> Result<T, E>,
    ) -> Result<Option<T>, SnapshotError> {
        self.opt(column)
            .map(|v| f(v).map_err(|e| self.error(column, e.to_string())))
            .transpose()
    }

    fn boolean(&self, column: &str) -> Result<Option<bool>, SnapshotError> {
        self.parse_opt(column, |v| match v {
            "true" => Ok(true),
            "false" => Ok(false),
            other => Err(format!("'{other}' is not a boolean: use true or false")),
        })
    }

    fn text(&self, column: &str) -> Option<String> {
        self.opt(column).map(str::to_owned)
    }
}

fn person(v: &str) -> Result<PersonId, soxctl_model::ids::IdError> {
    PersonId::parse(v)
}

/// Reads `file`, or its JSON Lines twin, if present; `required` columns
/// must all be in the header, and no column outside `required` and
/// `optional` may be. Returns whether the table was present.
fn read_table(
    dir: &Path,
    file: &'static str,
    required: &[&str],
    optional: &[&str],
    jsonl_tables: &mut std::collections::BTreeSet<&'static str>,
    mut each: impl FnMut(&Row<'_>) -> Result<(), SnapshotError>,
) -> Result<bool, SnapshotError> {
    let jsonl = jsonl_name(file);
    let (csv_present, jsonl_present) = (dir.join(file).exists(), dir.join(jsonl).exists());
    if csv_present && jsonl_present {
        return Err(SnapshotError::file(
            file,
            format!("{file} and {jsonl} are both present; keep one of them"),
        ));
    }
    if jsonl_present {
        jsonl_tables.insert(file);
        return read_jsonl(dir, jsonl, required, optional, &mut each).map(|()| true);
    }
    read_csv(dir, file, required, optional, &mut each)
}

/// One JSON object per line with the CSV columns as fields: strings,
/// booleans, integers or null (= empty). Blank lines are skipped.
fn read_jsonl(
    dir: &Path,
    file: &'static str,
    required: &[&str],
    optional: &[&str],
    each: &mut impl FnMut(&Row<'_>) -> Result<(), SnapshotError>,
) -> Result<(), SnapshotError> {
    use std::io::BufRead;
    let names: Vec<&str> = [required, optional].concat();
    let columns: BTreeMap<String, usize> = names
        .iter()
        .enumerate()
        .map(|(i, n)| ((*n).to_owned(), i))
        .collect();
    let reader = std::fs::File::open(dir.join(file))
        .map(std::io::BufReader::new)
        .map_err(|e| SnapshotError::file(file, e.to_string()))?;
    let mut record = csv::StringRecord::new();
    for (index, text) in reader.lines().enumerate() {
        let line = u64::try_from(index).unwrap_or(u64::MAX).saturating_add(1);
        let at = |column: Option<&str>, reason: String| SnapshotError {
            file: file.to_owned(),
            line: Some(line),
            column: column.map(str::to_owned),
            reason,
        };
        let text = text.map_err(|e| at(None, format!("cannot be read as UTF-8 text: {e}")))?;
        if text.trim().is_empty() {
            continue;
        }
        let object: serde_json::Map<String, serde_json::Value> = serde_json::from_str(&text)
            .map_err(|e| at(None, format!("is not a JSON object: {e}")))?;
        let mut values = vec![String::new(); names.len()];
        for (key, value) in object {
            let Some(&i) = columns.get(&key) else {
                return Err(at(
                    Some(&key),
                    format!("unknown field; the fields are {}", names.join(",")),
                ));
            };
            values[i] = match value {
                serde_json::Value::Null => String::new(),
                serde_json::Value::String(v) => v,
                serde_json::Value::Bool(b) => b.to_string(),
                serde_json::Value::Number(n) if n.is_i64() || n.is_u64() => n.to_string(),
                other => {
                    return Err(at(
                        Some(&key),
                        format!("must be a string, a boolean or null, not {other}"),
                    ));
                }
            };
        }
        if let Some(missing) = required.iter().find(|c| !columns.contains_key(**c)) {
            return Err(at(Some(missing), "required field is missing".into()));
        }
        record.clear();
        for v in &values {
            record.push_field(v);
        }
        each(&Row {
            file,
            line,
            columns: &columns,
            record: &record,
        })?;
    }
    Ok(())
}

fn read_csv(
    dir: &Path,
    file: &'static str,
    required: &[&str],
    optional: &[&str],
    each: &mut impl FnMut(&Row<'_>) -> Result<(), SnapshotError>,
) -> Result<bool, SnapshotError> {
    let path = dir.join(file);
    if !path.exists() {
        return Ok(false);
    }
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(false)
        .from_path(&path)
        .map_err(|e| SnapshotError::file(file, e.to_string()))?;
    let csv_error = |e: csv::Error| {
        let line = e.position().map(|p| p.line());
        let reason = match e.kind() {
            csv::ErrorKind::Utf8 { .. } => "is not valid UTF-8; save the file as UTF-8".to_owned(),
            csv::ErrorKind::UnequalLengths {
                expected_len, len, ..
            } => {
                format!("has {len} fields but the header has {expected_len}")
            }
            _ => e.to_string(),
        };
        SnapshotError {
            file: file.to_owned(),
            line,
            column: None,
            reason,
        }
    };
    let headers = reader.headers().map_err(csv_error)?.clone();
    let mut columns = BTreeMap::new();
    for (i, name) in headers.iter().enumerate() {
        if !required.contains(&name) && !optional.contains(&name) {
            return Err(SnapshotError {
                file: file.to_owned(),
                line: Some(1),
                column: Some(name.to_owned()),
                reason: format!(
                    "unknown column; the columns are {}",
                    [required, optional].concat().join(",")
                ),
            });
        }
        if columns.insert(name.to_owned(), i).is_some() {
            return Err(SnapshotError {
                file: file.to_owned(),
                line: Some(1),
                column: Some(name.to_owned()),
                reason: "appears twice in the header".into(),
            });
        }
    }
    if let Some(missing) = required.iter().find(|c| !columns.contains_key(**c)) {
        return Err(SnapshotError {
            file: file.to_owned(),
            line: Some(1),
            column: Some((*missing).to_owned()),
            reason: "required column is missing from the header".into(),
        });
    }
    let mut record = csv::StringRecord::new();
    loop {
        let more = reader.read_record(&mut record).map_err(|e| {
            // Name where the row goes wrong: its first missing, or first extra, field.
            let column = match e.kind() {
                csv::ErrorKind::UnequalLengths {
                    expected_len, len, ..
                } => Some(
                    usize::try_from(*len)
                        .ok()
                        .and_then(|i| headers.get(i))
                        .map_or_else(
                            || format!("{} (beyond the header)", expected_len + 1),
                            str::to_owned,
                        ),
                ),
                _ => None,
            };
            SnapshotError {
                column,
                ..csv_error(e)
            }
        })?;
        if !more {
            break;
        }
        let line = record.position().map_or(0, csv::Position::line);
        each(&Row {
            file,
            line,
            columns: &columns,
            record: &record,
        })?;
    }
    Ok(true)
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
            format!("duplicate key {key} (first on line {first})"),
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
            let p = Person {
                person_id: row.parse("person_id", person)?,
                name: row.text("name"),
                email: row.text("email"),
                manager_id: row.parse_opt("manager_id", person)?,
                department: row.text("department"),
                title: row.text("title"),
                status: row.parse("status", str::parse)?,
                hire_date: row.parse_opt("hire_date", Date::parse)?,
                termination_date: row.parse_opt("termination_date", Date::parse)?,
            };
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
                system_id: row.parse("system_id", |v| SystemId::parse(v))?,
                name: row.req("name")?.to_owned(),
                kind: row.text("kind"),
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
                system_id: row.parse("system_id", |v| SystemId::parse(v))?,
                entitlement_id: row.parse("entitlement_id", |v| EntitlementId::parse(v))?,
                name: row.text("name"),
                privileged: row.boolean("privileged")?.unwrap_or(false),
                owner_id: row.parse_opt("owner_id", person)?,
                description: row.text("description"),
            };
            let key = e.key();
            if let Some(first) = lines.entitlements.get(&key) {
                let shown = Pair(&key.0, &key.1);
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
                system_id: row.parse("system_id", |v| SystemId::parse(v))?,
                account_id: row.parse("account_id", |v| AccountId::parse(v))?,
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
                let shown = Pair(&key.0, &key.1);
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
                system_id: row.parse("system_id", |v| SystemId::parse(v))?,
                account_id: row.parse("account_id", |v| AccountId::parse(v))?,
                entitlement_id: row.parse("entitlement_id", |v| EntitlementId::parse(v))?,
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
                        key.0, key.1, key.2
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
                role_id: row.parse("role_id", |v| RoleId::parse(v))?,
                name: row.text("name"),
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
                role_id: row.parse("role_id", |v| RoleId::parse(v))?,
                system_id: row.parse("system_id", |v| SystemId::parse(v))?,
                entitlement_id: row.parse("entitlement_id", |v| EntitlementId::parse(v))?,
            };
            let key = r.key();
            if let Some(first) = lines.role_entitlements.get(&key) {
                return Err(row.error(
                    "entitlement_id",
                    format!(
                        "duplicate role entitlement {} → {}:{} (first on line {first})",
                        key.0, key.1, key.2
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
