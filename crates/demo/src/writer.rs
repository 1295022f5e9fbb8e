//! Snapshot files in the interchange format: CSV with a header row, plus the
//! `manifest.toml` that names the source and its systems.

use std::path::Path;

use serde::Serialize;

use crate::DemoError;

#[derive(Clone)]
pub(crate) struct Table {
    pub file: &'static str,
    pub header: &'static [&'static str],
    pub rows: Vec<Vec<String>>,
}

/// Writes the table sorted by its leading (key) columns, so the bytes depend
/// only on the content and never on the order it was produced in. The header
/// is written by hand so that an empty table still has one.
pub(crate) fn write_table(dir: &Path, mut table: Table) -> Result<(), DemoError> {
    let path = dir.join(table.file);
    let csv_err = |source| DemoError::Csv {
        path: path.clone(),
        source,
    };
    table.rows.sort();
    // Names and emails of (made-up) people are personal data in form: the
    // files are the owner's alone, like the store.
    let file = {
        use std::os::unix::fs::OpenOptionsExt;
        std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&path)
            .map_err(|source| DemoError::Io {
                path: path.clone(),
                source,
            })?
    };
    let mut out = csv::WriterBuilder::new()
        .has_headers(false)
        .from_writer(file);
    out.write_record(table.header).map_err(csv_err)?;
    for row in &table.rows {
        out.write_record(row).map_err(csv_err)?;
    }
    out.flush().map_err(|source| DemoError::Io {
        path: path.clone(),
        source,
    })
}

#[derive(Serialize)]
struct Manifest<'a> {
    source: &'a str,
    extracted_at: &'a str,
    systems: &'a [&'a str],
}

pub(crate) fn write_manifest(
    dir: &Path,
    extracted_at: &str,
    systems: &[&str],
) -> Result<(), DemoError> {
    let mut sorted = systems.to_vec();
    sorted.sort_unstable();
    let text = toml::to_string(&Manifest {
        source: "soxctl-demo",
        extracted_at,
        systems: &sorted,
    })?;
    let path = dir.join("manifest.toml");
    std::fs::write(&path, text).map_err(|source| DemoError::Io { path, source })
}

pub(crate) fn opt<T: ToString>(v: Option<T>) -> String {
    v.map(|x| x.to_string()).unwrap_or_default()
}

pub(crate) fn flag(b: bool) -> String {
    if b { "true" } else { "false" }.to_string()
}
