//! JSON Lines snapshots: the same tables as CSV, one object per line; the
//! same import, the same errors with file, line and field.

use crate::helpers::*;
use soxctl_connectors::snapshot;

on_both_backends!(jsonl_imports_like_csv);

/// The CSV text as JSON Lines: one object per row, every field a string
/// except the booleans, empty fields left out.
fn to_jsonl(csv_text: &str) -> String {
    let mut reader = csv::Reader::from_reader(csv_text.as_bytes());
    let headers = reader.headers().unwrap().clone();
    let mut out = String::new();
    for record in reader.records() {
        let record = record.unwrap();
        let mut object = serde_json::Map::new();
        for (name, value) in headers.iter().zip(record.iter()) {
            let value = match value {
                "" => continue,
                "true" => serde_json::Value::Bool(true),
                "false" => serde_json::Value::Bool(false),
                v => serde_json::Value::String(v.to_owned()),
            };
            object.insert(name.to_owned(), value);
        }
        out.push_str(&serde_json::to_string(&object).unwrap());
        out.push('\n');
    }
    out
}

fn as_jsonl(files: Vec<(&'static str, String)>) -> Vec<(&'static str, String)> {
    files
        .into_iter()
        .map(|(name, text)| match name.strip_suffix(".csv") {
            Some(stem) => (
                &*Box::leak(format!("{stem}.jsonl").into_boxed_str()),
                to_jsonl(&text),
            ),
            None => (name, text),
        })
        .collect()
}

async fn jsonl_imports_like_csv(env: Env) {
    let csv_dir = env.write_snapshot("csv", &base());
    let jsonl_dir = env.write_snapshot("jsonl", &as_jsonl(base()));
    let from_csv = snapshot::read(&csv_dir).unwrap();
    let from_jsonl = snapshot::read(&jsonl_dir).unwrap();
    assert_eq!(from_jsonl.inventory, from_csv.inventory);
    assert_eq!(from_jsonl.present_files, from_csv.present_files);
    assert!(
        from_jsonl.ignored_files.is_empty(),
        "{:?}",
        from_jsonl.ignored_files
    );

    env.import_ok(&jsonl_dir).await;
    // The CSV twin is the same snapshot: nothing to record.
    assert_eq!(env.import_ok(&csv_dir).await.events, 0);

    // Errors say file, line and field.
    let mut bad = as_jsonl(base());
    let grants = bad.iter_mut().find(|(n, _)| *n == "grants.jsonl").unwrap();
    grants.1.push_str("{\"system_id\":\"erp\",\"account_id\":\"u1001\",\"entitlement_id\":\"GL_POST\",\"source\":\"direct\",\"colour\":\"red\"}\n");
    let err = snapshot::read(&env.write_snapshot("unknown-field", &bad)).unwrap_err();
    assert_eq!(
        (err.file.as_str(), err.line, err.column.as_deref()),
        ("grants.jsonl", Some(9), Some("colour")),
        "{err}"
    );

    let mut bad = as_jsonl(base());
    bad.iter_mut()
        .find(|(n, _)| *n == "accounts.jsonl")
        .unwrap()
        .1
        .push_str("{not json\n");
    let err = snapshot::read(&env.write_snapshot("not-json", &bad)).unwrap_err();
    assert_eq!(
        (err.file.as_str(), err.line),
        ("accounts.jsonl", Some(7)),
        "{err}"
    );
    assert!(err.reason.contains("not a JSON object"), "{err}");

    let mut bad = as_jsonl(base());
    bad.iter_mut()
        .find(|(n, _)| *n == "people.jsonl")
        .unwrap()
        .1 = "{\"person_id\":\"p9\",\"status\":\"active\",\"hire_date\":20200101.5}\n".into();
    let err = snapshot::read(&env.write_snapshot("float", &bad)).unwrap_err();
    assert_eq!(err.column.as_deref(), Some("hire_date"), "{err}");

    let mut both = base();
    both.push(("grants.jsonl", to_jsonl(super::helpers::GRANTS)));
    let err = snapshot::read(&env.write_snapshot("both", &both)).unwrap_err();
    assert!(err.reason.contains("keep one of them"), "{err}");

    // A reference error names the JSONL file.
    let mut bad = as_jsonl(base());
    bad.iter_mut().find(|(n, _)| *n == "grants.jsonl").unwrap().1.push_str(
        "{\"system_id\":\"erp\",\"account_id\":\"nobody\",\"entitlement_id\":\"GL_POST\",\"source\":\"direct\"}\n",
    );
    let dir = env.write_snapshot("bad-ref", &bad);
    let err = env.import(&dir, &Default::default()).await.unwrap_err();
    assert!(err.to_string().contains("grants.jsonl line 9"), "{err}");
}
