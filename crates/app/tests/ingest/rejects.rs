//! A bad snapshot is rejected as a whole, says where the problem is (file,
//! line, column) and changes nothing.

use crate::helpers::*;
use soxctl_app::ingest::{ImportError, ImportOptions};

on_both_backends!(bad_snapshots_are_rejected_and_change_nothing);

struct Bad {
    what: &'static str,
    files: Vec<(&'static str, String)>,
    file: &'static str,
    line: u64,
    column: &'static str,
    reason: &'static str,
}

fn append(file: &'static str, row: &str) -> Vec<(&'static str, String)> {
    edit(file, |t| format!("{t}{row}\n"))
}

fn cases() -> Vec<Bad> {
    let bad = |what, files, file, line, column, reason| Bad {
        what,
        files,
        file,
        line,
        column,
        reason,
    };
    vec![
        bad(
            "unknown person",
            append("accounts.csv", "erp,u1009,p99,human,active,,true"),
            "accounts.csv",
            8,
            "person_id",
            "unknown person 'p99'",
        ),
        bad(
            "unknown account",
            append("grants.csv", "erp,nobody,GL_POST,,direct"),
            "grants.csv",
            10,
            "account_id",
            "unknown account erp/nobody",
        ),
        bad(
            "unknown entitlement",
            append("grants.csv", "erp,u1003,NOPE,,direct"),
            "grants.csv",
            10,
            "entitlement_id",
            "unknown entitlement erp:NOPE",
        ),
        bad(
            "unknown role",
            append("grants.csv", "erp,u1003,VENDOR_CREATE,,role:NOPE"),
            "grants.csv",
            10,
            "source",
            "unknown role 'NOPE'",
        ),
        bad(
            "unknown manager",
            edit("people.csv", |t| {
                t.replace("p1,Finance,AP Clerk", "p42,Finance,AP Clerk")
            }),
            "people.csv",
            3,
            "manager_id",
            "unknown person 'p42'",
        ),
        bad(
            "out of scope",
            with("manifest.toml", "systems = [\"erp\"]\n"),
            "entitlements.csv",
            5,
            "system_id",
            "not in the snapshot's scope",
        ),
        bad(
            "duplicate person",
            append("people.csv", "p2,Someone Else,else@example.com,,,,active,,"),
            "people.csv",
            6,
            "person_id",
            "duplicate key p2 (first on line 3)",
        ),
        bad(
            "duplicate grant",
            append("grants.csv", "erp,u1001,GL_POST,,direct"),
            "grants.csv",
            10,
            "entitlement_id",
            "first on line 3",
        ),
        bad(
            "missing column",
            edit("systems.csv", |t| {
                t.replace(",sox_in_scope", "").replace(",true", "")
            }),
            "systems.csv",
            1,
            "sox_in_scope",
            "missing",
        ),
        bad(
            "unknown column",
            edit("people.csv", |t| {
                t.replace("\n", ",\n")
                    .replacen("termination_date,", "termination_date,nickname", 1)
            }),
            "people.csv",
            1,
            "nickname",
            "unknown column",
        ),
        bad(
            "bad date",
            edit("people.csv", |t| t.replace("2019-07-01", "2019-02-30")),
            "people.csv",
            4,
            "hire_date",
            "2019-02-30",
        ),
        bad(
            "bad timestamp",
            edit("accounts.csv", |t| {
                t.replace("2025-06-01T09:00:00Z", "yesterday")
            }),
            "accounts.csv",
            2,
            "last_login",
            "yesterday",
        ),
        bad(
            "bad status",
            edit("people.csv", |t| t.replacen(",active,", ",fired,", 1)),
            "people.csv",
            2,
            "status",
            "'fired'",
        ),
        bad(
            "short row",
            edit("entitlements.csv", |t| {
                t.replace(
                    "GL_POST,Post journals,false,p1,\n",
                    "GL_POST,Post journals,false,p1\n",
                )
            }),
            "entitlements.csv",
            4,
            "description",
            "has 5 fields but the header has 6",
        ),
        bad(
            "long row",
            edit("accounts.csv", |t| {
                t.replace(
                    "erp,u1003,p3,human,active,,true",
                    "erp,u1003,p3,human,active,,true,extra",
                )
            }),
            "accounts.csv",
            4,
            "8 (beyond the header)",
            "has 8 fields but the header has 7",
        ),
        bad(
            "bad boolean",
            edit("systems.csv", |t| t.replace("erp,p1,true", "erp,p1,yes")),
            "systems.csv",
            2,
            "sox_in_scope",
            "'yes' is not a boolean",
        ),
        bad(
            "empty required value",
            edit("systems.csv", |t| t.replace("erp,ERP,erp", "erp,,erp")),
            "systems.csv",
            2,
            "name",
            "is empty",
        ),
    ]
}

async fn bad_snapshots_are_rejected_and_change_nothing(env: Env) {
    env.import_ok(&env.write_snapshot("base", &base())).await;
    let size = env.size().await;
    let inv = env.inventory().await;
    let keys = env.store.person_keys().await.unwrap().len();
    for (i, mut case) in cases().into_iter().enumerate() {
        // Everything else in each bad snapshot is a change, so a partial import would show.
        edit_in(&mut case.files, "people.csv", |t| {
            t.replace("Treasurer", "Chief Treasurer")
        });
        edit_in(&mut case.files, "roles.csv", |t| {
            format!("{t}NEW,New role,p1\n")
        });
        let dir = env.write_snapshot(&format!("bad-{i}"), &case.files);
        for options in [
            ImportOptions::default(),
            ImportOptions {
                dry_run: true,
                ..Default::default()
            },
        ] {
            let err = match env.import(&dir, &options).await {
                Err(ImportError::Snapshot(err)) => err,
                other => panic!("{}: expected a snapshot error, got {other:?}", case.what),
            };
            let shown = err.to_string();
            assert_eq!(err.file, case.file, "{}: {shown}", case.what);
            assert_eq!(err.line, Some(case.line), "{}: {shown}", case.what);
            assert_eq!(
                err.column.as_deref(),
                Some(case.column),
                "{}: {shown}",
                case.what
            );
            assert!(err.reason.contains(case.reason), "{}: {shown}", case.what);
            assert!(
                shown.starts_with(&format!(
                    "{} line {}, column {}: ",
                    case.file, case.line, case.column
                )),
                "{shown}"
            );
        }
        assert_eq!(env.size().await, size, "{}: the ledger grew", case.what);
        assert_eq!(
            env.inventory().await,
            inv,
            "{}: the inventory changed",
            case.what
        );
        assert_eq!(
            env.store.person_keys().await.unwrap().len(),
            keys,
            "{}",
            case.what
        );
    }
    env.verify().await;
}
