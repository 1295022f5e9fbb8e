//! The snapshot interchange format: a directory of CSV files with a header
//! row (or JSON Lines files with the same fields) and an optional
//! `manifest.toml`. Parsing rejects the whole snapshot on
//! the first problem and says where it is (file, line, column, reason).

mod csv_files;
mod validate;

pub use validate::{validate_complete, validate_references};

use crate::correlate::AccountHints;
use soxctl_model::ids::SystemId;
use soxctl_model::inventory::{AccountKey, Inventory, PersonStatus};
use soxctl_model::time::Timestamp;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotError {
    pub file: String,
    pub line: Option<u64>,
    pub column: Option<String>,
    pub reason: String,
}

impl fmt::Display for SnapshotError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file)?;
        if let Some(line) = self.line {
            write!(f, " line {line}")?;
        }
        if let Some(column) = &self.column {
            write!(f, ", column {column}")?;
        }
        write!(f, ": {}", self.reason)
    }
}

impl std::error::Error for SnapshotError {}

impl SnapshotError {
    pub fn file(file: &str, reason: impl Into<String>) -> Self {
        Self {
            file: file.to_owned(),
            line: None,
            column: None,
            reason: reason.into(),
        }
    }
}

/// A parsed snapshot: its facts, its reconciliation scope and provenance.
#[derive(Debug, Clone)]
pub struct Snapshot {
    pub dir: PathBuf,
    pub inventory: Inventory,
    pub scope: BTreeSet<SystemId>,
    pub source: Option<String>,
    pub extracted_at: Option<Timestamp>,
    /// Where each fact came from, for reference errors: (file, line).
    pub lines: validate::LineIndex,
    /// Files present but not part of the format.
    pub ignored_files: Vec<String>,
    /// Tables of the format that the snapshot contains (by CSV name, also
    /// when given as JSON Lines).
    pub present_files: BTreeSet<&'static str>,
    /// What the source knows of its accounts beyond the inventory (a
    /// directory's mail, login and employee id), for the correlation rules.
    pub account_hints: BTreeMap<AccountKey, AccountHints>,
    /// The source knows nothing of roles (a directory): the store's role
    /// entitlements of the scope are kept as they are instead of removed.
    pub keeps_role_entitlements: bool,
    /// What the snapshot's people do to those the store already holds.
    pub existing_people: ExistingPeople,
}

/// How a snapshot's people meet the people already in the store.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ExistingPeople {
    /// The snapshot's record replaces the store's: an HR export is the
    /// source of truth for every field.
    #[default]
    Replace,
    /// A person the store holds stays as it is; only people it lacks are
    /// added (a directory that must not overwrite HR's records).
    Keep,
    /// Only these fields of a person the store holds take the snapshot's
    /// values; the others keep the store's.
    Update(PersonFields),
}

/// The person fields a source is authoritative for.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PersonFields {
    pub name: bool,
    pub email: bool,
    pub manager: bool,
    pub department: bool,
    pub title: bool,
    /// The status the source gives a person it sees as gone (a disabled
    /// user): the status then moves only between `active` and this one, so
    /// that a source that knows less than HR never revives a terminated
    /// person nor turns a termination into a leave.
    pub status: Option<PersonStatus>,
}

#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Manifest {
    source: Option<String>,
    extracted_at: Option<String>,
    systems: Option<Vec<String>>,
}

/// The tables of the format, by their CSV name; each may come as
/// `<name>.jsonl` instead.
pub const TABLES: &[&str] = &[
    "people.csv",
    "systems.csv",
    "entitlements.csv",
    "accounts.csv",
    "grants.csv",
    "roles.csv",
    "role_entitlements.csv",
];

fn is_known_file(name: &str) -> bool {
    name == "manifest.toml"
        || TABLES
            .iter()
            .any(|t| *t == name || validate::jsonl_name(t) == name)
}

/// The text of `manifest.toml`, `None` when there is none. A manifest is
/// a few lines: a file of more than [`csv_files::MAX_LINE`] bytes is not
/// one, and is refused without being read whole.
fn read_manifest(dir: &Path) -> Result<Option<String>, SnapshotError> {
    use std::io::Read;
    let error = |reason: String| SnapshotError::file("manifest.toml", reason);
    match std::fs::symlink_metadata(dir.join("manifest.toml")) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        _ => {}
    }
    let file = csv_files::open(dir, "manifest.toml")?;
    let mut bytes = Vec::new();
    file.take(csv_files::MAX_LINE as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| error(format!("cannot be read: {e}")))?;
    if bytes.len() > csv_files::MAX_LINE {
        return Err(error(
            "is larger than 1 MiB; a manifest is a few lines (source, extracted_at, systems)"
                .into(),
        ));
    }
    String::from_utf8(bytes)
        .map(Some)
        .map_err(|_| error("is not valid UTF-8; save the file as UTF-8".into()))
}

/// The line (from 1) of byte `offset` in `text`.
fn line_at(text: &str, offset: usize) -> u64 {
    let before = text.as_bytes().get(..offset).unwrap_or(text.as_bytes());
    let newlines = before.iter().filter(|&&b| b == b'\n').count();
    u64::try_from(newlines)
        .unwrap_or(u64::MAX)
        .saturating_add(1)
}

impl Snapshot {
    /// What reading the snapshot let pass but its user should hear of, one
    /// line each (file names and ids escaped): files outside the format,
    /// people recorded with no manager because they named themselves.
    pub fn warnings(&self) -> Vec<String> {
        let ignored = self.ignored_files.iter().map(|name| {
            format!(
                "{} is not part of the snapshot format and was ignored",
                soxctl_model::identity::escape(name)
            )
        });
        let people = self.lines.file("people.csv");
        let self_managers = self.lines.self_managers.iter().map(|(id, line)| {
            format!(
                "{people} line {line}: {} is their own manager; recorded with no manager",
                soxctl_model::identity::escape(id.as_str())
            )
        });
        ignored.chain(self_managers).collect()
    }
}

pub fn read(dir: &Path) -> Result<Snapshot, SnapshotError> {
    let dir_name = csv_files::shown(&dir.display().to_string());
    let listing = std::fs::read_dir(dir).map_err(|e| {
        SnapshotError::file(
            &dir_name,
            format!("cannot read the snapshot directory: {e}; give a directory of CSV files"),
        )
    })?;
    let mut ignored_files = Vec::new();
    for item in listing {
        let item = item.map_err(|e| SnapshotError::file(&dir_name, e.to_string()))?;
        let name = item.file_name().to_string_lossy().into_owned();
        if !is_known_file(&name) {
            ignored_files.push(name);
        }
    }
    ignored_files.sort();

    let manifest = match read_manifest(dir)? {
        Some(text) => toml::from_str::<Manifest>(&text).map_err(|e| SnapshotError {
            file: "manifest.toml".to_owned(),
            line: e.span().map(|span| line_at(&text, span.start)),
            column: None,
            // The message alone: toml's full form quotes the line.
            reason: csv_files::shown(e.message()),
        })?,
        None => Manifest::default(),
    };
    let extracted_at = manifest
        .extracted_at
        .as_deref()
        .map(|t| {
            Timestamp::parse(t).map_err(|e| {
                SnapshotError::file(
                    "manifest.toml",
                    format!("extracted_at: {}", csv_files::quoting(t, e.to_string())),
                )
            })
        })
        .transpose()?;

    let present_files = TABLES
        .iter()
        .copied()
        .filter(|f| dir.join(f).is_file() || dir.join(validate::jsonl_name(f)).is_file())
        .collect();
    let mut lines = validate::LineIndex::default();
    let inventory = csv_files::read_all(dir, &mut lines)?;
    let scope = match manifest.systems {
        Some(systems) => systems
            .into_iter()
            .map(|s| {
                SystemId::parse_new(s.as_str()).map_err(|e| {
                    SnapshotError::file(
                        "manifest.toml",
                        format!("systems: {}", csv_files::quoting(&s, e.to_string())),
                    )
                })
            })
            .collect::<Result<BTreeSet<_>, _>>()?,
        None => inventory.systems.keys().cloned().collect(),
    };
    Ok(Snapshot {
        dir: dir.to_owned(),
        inventory,
        scope,
        source: manifest.source,
        extracted_at,
        lines,
        ignored_files,
        present_files,
        account_hints: BTreeMap::new(),
        keeps_role_entitlements: false,
        existing_people: ExistingPeople::Replace,
    })
}
