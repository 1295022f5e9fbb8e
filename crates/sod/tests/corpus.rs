//! Runs every scenario of `tests/corpus/sod/` through the CSV input and the
//! analysis, and compares with its `expected.jsonl` (and, when present,
//! `expected-warnings.txt`, one warning per line). The command line runs the
//! same corpus.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests"
)]

use soxctl_sod::input::{SnapshotFiles, load_csv};
use soxctl_sod::{Compiled, RuleSet, When, analyze};
use std::fs;
use std::path::{Path, PathBuf};

fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/corpus/sod")
}

fn run(dir: &Path) -> Result<(), String> {
    let read = |name: &str| fs::read(dir.join(name));
    let rules = RuleSet::parse(&fs::read_to_string(dir.join("rules.toml")).unwrap())
        .map_err(|e| e.to_string())?;
    let entitlements = read("entitlements.csv").ok();
    let dataset = load_csv(SnapshotFiles {
        accounts: &read("accounts.csv").unwrap(),
        grants: &read("grants.csv").unwrap(),
        entitlements: entitlements.as_deref(),
    })
    .map_err(|e| e.to_string())?;
    let (compiled, warnings) = Compiled::compile(&rules, dataset.catalogue());
    let got: Vec<serde_json::Value> = analyze(&compiled, &dataset, When::Now)
        .unwrap()
        .iter()
        .map(|v| serde_json::from_str(&v.to_json_line()).unwrap())
        .collect();
    let expected: Vec<serde_json::Value> = fs::read_to_string(dir.join("expected.jsonl"))
        .unwrap()
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    if got != expected {
        return Err(format!(
            "violations differ\n  expected: {}\n  got:      {}",
            serde_json::to_string_pretty(&expected).unwrap(),
            serde_json::to_string_pretty(&got).unwrap()
        ));
    }
    if let Ok(text) = fs::read_to_string(dir.join("expected-warnings.txt")) {
        let expected: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
        let got: Vec<String> = warnings.iter().map(ToString::to_string).collect();
        if got != expected {
            return Err(format!(
                "warnings differ\n  expected: {expected:#?}\n  got: {got:#?}"
            ));
        }
    }
    Ok(())
}

#[test]
fn every_corpus_scenario_gives_its_expected_violations() {
    let mut dirs: Vec<PathBuf> = fs::read_dir(corpus())
        .expect("tests/corpus/sod exists")
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    assert!(
        dirs.len() >= 12,
        "expected the scenario corpus, found {} scenarios",
        dirs.len()
    );
    let failures: Vec<String> = dirs
        .iter()
        .filter_map(|dir| run(dir).err().map(|e| format!("{}: {e}", dir.display())))
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
