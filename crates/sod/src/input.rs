//! Snapshot CSV files (as bytes) to a [`Dataset`], fast.
//!
//! - `accounts.csv`: `system_id,account_id,person_id,kind,status,…` (other
//!   columns such as `last_login,mfa,owner_id,credential_rotated_at` are
//!   ignored); kind `human|service|shared`, status `active|disabled`.
//! - `grants.csv`: `system_id,account_id,entitlement_id,…` (`granted_at` and
//!   `source` are ignored: a snapshot lists what is held when it was taken,
//!   so its grants carry no validity interval).
//! - `entitlements.csv` (optional): `system_id,entitlement_id,…`.
//!
//! Columns are found by header name, in any order. Quoting follows RFC 4180.
//! Text without any `"` takes a fast path (split on `,` and newlines, found
//! a word at a time); otherwise the `csv` crate reads it. Errors name file,
//! line, column and what to fix; up to 100 are collected, the same on every
//! path.
//!
//! On the fast path every core works: `accounts.csv` is parsed in parts,
//! then the account indexes (two halves) and the people are filled on
//! separate threads; `grants.csv` goes in blocks of whole lines, each split
//! over the cores, and [`load_csv_stream`] reads the next block while the
//! cores parse this one, so the file is never in memory whole (a block
//! with a quote sends the rest of the file to the `csv` crate). Grants
//! listed account by account, in the order of `accounts.csv` (as exports
//! list them), skip the account lookup and the counting sort.

mod accounts;
mod grants;
mod table;

use crate::dataset::{AccountKind, AccountSpec, Dataset, DatasetBuilder, DatasetError};
use std::fmt;
use table::Table;

/// Stop collecting after this many errors: the first ones say enough.
const MAX_ERRORS: usize = 100;

/// The snapshot files, as read by the caller.
#[derive(Debug, Clone, Copy)]
pub struct SnapshotFiles<'a> {
    pub accounts: &'a [u8],
    pub grants: &'a [u8],
    pub entitlements: Option<&'a [u8]>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputError {
    pub file: &'static str,
    /// 1-based; the header is line 1.
    pub line: u64,
    pub column: Option<String>,
    pub reason: String,
}

impl fmt::Display for InputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.column {
            Some(c) => write!(
                f,
                "{} line {}, column {c}: {}",
                self.file, self.line, self.reason
            ),
            None => write!(f, "{} line {}: {}", self.file, self.line, self.reason),
        }
    }
}

impl std::error::Error for InputError {}

/// Every error found (up to 100), in file and line order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputErrors(pub Vec<InputError>);

impl fmt::Display for InputErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0.as_slice() {
            [one] => write!(f, "snapshot rejected: {one}"),
            many => {
                write!(f, "snapshot rejected ({} errors):", many.len())?;
                for e in many {
                    write!(f, "\n  - {e}")?;
                }
                Ok(())
            }
        }
    }
}

impl std::error::Error for InputErrors {}

impl From<InputError> for InputErrors {
    fn from(e: InputError) -> Self {
        Self(vec![e])
    }
}

/// Parses the snapshot files into a dataset whose catalogue holds every
/// entitlement of `entitlements.csv` and of any grant.
pub fn load_csv(files: SnapshotFiles<'_>) -> Result<Dataset, InputErrors> {
    load(files.accounts, files.entitlements, |builder, errors| {
        grants::read(files.grants, builder, errors)
    })
}

/// The snapshot with `grants.csv`, by far the biggest file, as a reader
/// (for example the open file): it is read one block ahead of the parsing
/// instead of being held in memory whole. The caller opens it; this crate
/// only pulls bytes.
#[derive(Debug)]
pub struct SnapshotStream<'a, R> {
    pub accounts: &'a [u8],
    pub entitlements: Option<&'a [u8]>,
    pub grants: R,
    /// The size of `grants.csv`, if known: it sizes the grant array.
    pub grants_len: Option<u64>,
}

/// [`load_csv`] with `grants.csv` read from a reader: the same dataset and
/// the same errors, in less memory.
pub fn load_csv_stream<R: std::io::Read + Send>(
    files: SnapshotStream<'_, R>,
) -> Result<Dataset, InputErrors> {
    let SnapshotStream {
        accounts,
        entitlements,
        grants,
        grants_len,
    } = files;
    load(accounts, entitlements, |builder, errors| {
        grants::read_stream(grants, grants_len, builder, errors)
    })
}

fn load(
    accounts: &[u8],
    entitlements: Option<&[u8]>,
    read_grants: impl FnOnce(&mut DatasetBuilder, &mut Vec<InputError>) -> Result<(), InputErrors>,
) -> Result<Dataset, InputErrors> {
    let mut builder = DatasetBuilder::new();
    let mut errors = Vec::new();
    if let Some(bytes) = entitlements {
        read_entitlements(bytes, &mut builder, &mut errors)?;
    }
    read_accounts(accounts, &mut builder, &mut errors)?;
    if errors.is_empty() {
        read_grants(&mut builder, &mut errors)?;
    }
    if errors.is_empty() {
        Ok(builder.build())
    } else {
        errors.truncate(MAX_ERRORS);
        Err(InputErrors(errors))
    }
}

fn read_entitlements(
    bytes: &[u8],
    builder: &mut DatasetBuilder,
    errors: &mut Vec<InputError>,
) -> Result<(), InputErrors> {
    let table = Table::open("entitlements.csv", bytes)?;
    let cols = table.columns(["system_id", "entitlement_id"])?;
    table.for_each(cols, errors, |line, [system, entitlement]| {
        let fail = |column: &str, reason: String| Err(table.error(line, Some(column), reason));
        if system.is_empty() {
            return fail("system_id", "empty system_id".into());
        }
        if entitlement.is_empty() {
            return fail("entitlement_id", "empty entitlement_id".into());
        }
        if builder.catalogue.get(system, entitlement).is_some() {
            return fail(
                "entitlement_id",
                format!("duplicate entitlement {system}:{entitlement}; list each once"),
            );
        }
        builder.entitlement(system, entitlement);
        Ok(())
    });
    Ok(())
}

fn read_accounts(
    bytes: &[u8],
    builder: &mut DatasetBuilder,
    errors: &mut Vec<InputError>,
) -> Result<(), InputErrors> {
    let table = Table::open("accounts.csv", bytes)?;
    let cols = table.columns(accounts::COLUMNS)?;
    if accounts::read_parallel(&table, builder, errors)? {
        return Ok(());
    }
    table.for_each(
        cols,
        errors,
        |line, [system, account, person, kind, status]| {
            let kind: AccountKind = kind.parse().map_err(|()| {
                let reason = format!("kind '{kind}' is not one of: human, service, shared");
                table.error(line, Some("kind"), reason)
            })?;
            let active = match status {
                "active" => true,
                "disabled" => false,
                other => {
                    let reason = format!("status '{other}' is not one of: active, disabled");
                    return Err(table.error(line, Some("status"), reason));
                }
            };
            let spec = AccountSpec {
                system,
                account,
                person: Some(person),
                kind,
                active,
            };
            builder.account(spec).map_err(|e| {
                let column = match e {
                    DatasetError::EmptyId { field } => field,
                    _ => "account_id",
                };
                table.error(line, Some(column), e.to_string())
            })
        },
    );
    Ok(())
}

#[cfg(test)]
mod tests;
