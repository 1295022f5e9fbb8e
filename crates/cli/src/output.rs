//! Listings: `--format table|json|jsonl|csv`; only data on stdout.

use clap::ValueEnum;
use serde_json::Value;
use std::io::{IsTerminal, Write};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Table,
    Json,
    Jsonl,
    Csv,
}

impl Format {
    /// `table` on a terminal, JSON Lines when piped.
    pub fn resolve(format: Option<Format>) -> Format {
        format.unwrap_or_else(|| {
            if std::io::stdout().is_terminal() {
                Format::Table
            } else {
                Format::Jsonl
            }
        })
    }
}

fn cell(v: Option<&Value>) -> String {
    match v {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(items)) => items
            .iter()
            .map(|i| cell(Some(i)))
            .collect::<Vec<_>>()
            .join(","),
        Some(other) => other.to_string(),
    }
}

/// Prints records (JSON objects) with the given columns for table and CSV.
pub fn print_records(format: Format, columns: &[&str], records: &[Value]) -> anyhow::Result<()> {
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    match format {
        Format::Json => writeln!(out, "{}", serde_json::to_string_pretty(records)?)?,
        Format::Jsonl => {
            for r in records {
                writeln!(out, "{}", serde_json::to_string(r)?)?;
            }
        }
        Format::Csv => {
            let mut w = csv::Writer::from_writer(out);
            w.write_record(columns)?;
            for r in records {
                w.write_record(columns.iter().map(|c| cell(r.get(*c))))?;
            }
            w.flush()?;
        }
        Format::Table => {
            let rows: Vec<Vec<String>> = records
                .iter()
                .map(|r| columns.iter().map(|c| cell(r.get(*c))).collect())
                .collect();
            let widths: Vec<usize> = columns
                .iter()
                .enumerate()
                .map(|(i, c)| {
                    rows.iter()
                        .map(|r| r[i].chars().count())
                        .chain([c.len()])
                        .max()
                        .unwrap_or(0)
                })
                .collect();
            let line = |cells: Vec<String>| {
                cells
                    .iter()
                    .zip(&widths)
                    .map(|(c, w)| format!("{c:<w$}"))
                    .collect::<Vec<_>>()
                    .join("  ")
            };
            writeln!(
                out,
                "{}",
                line(columns.iter().map(|c| c.to_uppercase()).collect()).trim_end()
            )?;
            for r in rows {
                writeln!(out, "{}", line(r).trim_end())?;
            }
        }
    }
    Ok(())
}

/// Prints one object: pretty JSON for json/table, one line for jsonl.
pub fn print_object(format: Format, value: &Value) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    match format {
        Format::Jsonl => writeln!(out, "{}", serde_json::to_string(value)?)?,
        Format::Csv => {
            let columns: Vec<String> = value
                .as_object()
                .map(|o| o.keys().cloned().collect())
                .unwrap_or_default();
            let refs: Vec<&str> = columns.iter().map(String::as_str).collect();
            drop(out);
            print_records(Format::Csv, &refs, std::slice::from_ref(value))?;
        }
        Format::Json | Format::Table => {
            writeln!(out, "{}", serde_json::to_string_pretty(value)?)?;
        }
    }
    Ok(())
}

/// Prints a typed answer (an API view) as [`print_object`] prints its JSON:
/// the same fields in the same order as the server's answer.
pub fn print_view<T: serde::Serialize>(format: Format, view: &T) -> anyhow::Result<()> {
    print_object(format, &serde_json::to_value(view)?)
}

/// Prints typed records (API views) as [`print_records`] prints their JSON.
pub fn print_views<T: serde::Serialize>(
    format: Format,
    columns: &[&str],
    views: &[T],
) -> anyhow::Result<()> {
    let records = views
        .iter()
        .map(serde_json::to_value)
        .collect::<Result<Vec<Value>, _>>()?;
    print_records(format, columns, &records)
}
