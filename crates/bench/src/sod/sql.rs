//! What the SQL engines are given: the rule set flattened into tables, the
//! shared query and the DuckDB script, so both peers answer from the same inputs.

use anyhow::{Context, anyhow};
use soxctl_sod::rules::Member;
use soxctl_sod::{Item, RuleSet};
use std::fs;
use std::path::Path;

pub(super) const PAIRS_SQL: &str = include_str!("../../../../benches/sod/pairs.sql");
const DUCKDB_PY: &str = include_str!("../../../../benches/sod/duckdb_sod.py");

/// `*`/`?` glob to a LIKE pattern with `\` as the escape character.
pub fn glob_to_like(glob: &str) -> String {
    let mut out = String::with_capacity(glob.len() + 4);
    for c in glob.chars() {
        match c {
            '\\' | '%' | '_' => {
                out.push('\\');
                out.push(c);
            }
            '*' => out.push('%'),
            '?' => out.push('_'),
            other => out.push(other),
        }
    }
    out
}

/// `rules_items.csv` and `risk_functions.csv`: the rule set normalised for SQL.
pub fn rule_tables(rules: &RuleSet) -> anyhow::Result<(Vec<u8>, Vec<u8>)> {
    let mut items = csv::Writer::from_writer(Vec::new());
    items.write_record([
        "function_id",
        "item_kind",
        "system_id",
        "pattern",
        "like_pattern",
        "group_id",
        "member",
        "group_size",
    ])?;
    let mut groups = 0usize;
    let member_row = |m: &Member| match m {
        Member::Ref(r) => (
            "ref",
            r.system().to_owned(),
            r.entitlement().to_owned(),
            glob_to_like(r.entitlement()),
        ),
        Member::Glob(g) => (
            "glob",
            g.system().to_owned(),
            g.pattern().to_owned(),
            glob_to_like(g.pattern()),
        ),
    };
    for function in &rules.functions {
        for item in &function.items {
            match item {
                Item::Ref(r) => {
                    let (kind, system, pattern, like) = member_row(&Member::Ref(r.clone()));
                    items.write_record([
                        &function.id,
                        kind,
                        &system,
                        &pattern,
                        &like,
                        "",
                        "",
                        "",
                    ])?;
                }
                Item::Glob(g) => {
                    let (kind, system, pattern, like) = member_row(&Member::Glob(g.clone()));
                    items.write_record([
                        &function.id,
                        kind,
                        &system,
                        &pattern,
                        &like,
                        "",
                        "",
                        "",
                    ])?;
                }
                Item::AllOf(members) => {
                    let group = format!("g{groups}");
                    groups += 1;
                    let size = members.len().to_string();
                    for (i, m) in members.iter().enumerate() {
                        let (kind, system, pattern, like) = member_row(m);
                        items.write_record([
                            &function.id,
                            kind,
                            &system,
                            &pattern,
                            &like,
                            &group,
                            &i.to_string(),
                            &size,
                        ])?;
                    }
                }
            }
        }
    }
    let mut risks = csv::Writer::from_writer(Vec::new());
    risks.write_record(["risk_id", "function_id"])?;
    for risk in &rules.risks {
        for function in &risk.functions {
            risks.write_record([&risk.id, function])?;
        }
    }
    Ok((items.into_inner()?, risks.into_inner()?))
}

/// Writes the SQL side's inputs (rule tables, the query, the script) to `dir`.
pub(super) fn write_sql_inputs(data: &Path, dir: &Path) -> anyhow::Result<()> {
    fs::create_dir_all(dir)?;
    let text = fs::read_to_string(data.join("rules.toml")).context("reading rules.toml")?;
    let rules = RuleSet::parse(&text).map_err(|e| anyhow!("rules.toml: {e}"))?;
    let (items, risks) = rule_tables(&rules)?;
    fs::write(dir.join("rules_items.csv"), items)?;
    fs::write(dir.join("risk_functions.csv"), risks)?;
    fs::write(dir.join("pairs.sql"), PAIRS_SQL)?;
    fs::write(dir.join("duckdb_sod.py"), DUCKDB_PY)?;
    Ok(())
}
