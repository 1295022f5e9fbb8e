//! State rows changed, added or removed without a ledger entry.

use crate::helpers::*;
use crate::tamper::ledger;
use soxctl_store::verify::Failure;

on_both_backends!(state_rows_changed_without_entries);

/// (SQL, table, what verify expects to find instead)
const STATE_TAMPERING: &[(&str, &str, Expect)] = &[
    (
        "UPDATE grants SET source = 'direct'",
        "grants",
        Expect::Changed,
    ),
    (
        "UPDATE people SET email = 'mallory@example.com' WHERE person_id = 'p1'",
        "people",
        Expect::Changed,
    ),
    (
        "UPDATE people SET status = 'terminated' WHERE person_id = 'p1'",
        "people",
        Expect::Changed,
    ),
    (
        "UPDATE tokens SET revoked_at = NULL WHERE token_id = 'tok00002'",
        "tokens",
        Expect::Changed,
    ),
    (
        "UPDATE tokens SET scopes = 'admin' WHERE token_id = 'tok00001'",
        "tokens",
        Expect::Changed,
    ),
    (
        "UPDATE accounts SET status = 'disabled'",
        "accounts",
        Expect::Changed,
    ),
    (
        "UPDATE entitlements SET privileged = false",
        "entitlements",
        Expect::Changed,
    ),
    (
        "UPDATE store_meta SET demo = true",
        "store_meta",
        Expect::Changed,
    ),
    (
        "INSERT INTO grants (system_id, account_id, entitlement_id, granted_at, source)
         VALUES ('erp', 'ada', 'PAYMENT_APPROVE', NULL, 'direct')",
        "grants",
        Expect::Inserted,
    ),
    (
        "INSERT INTO tokens (token_id, secret_sha256, scopes, created_at, created_by)
         VALUES ('backdoor', 'ffff', 'admin', '2025-06-30T17:00:00.000000Z', 'system:test')",
        "tokens",
        Expect::Inserted,
    ),
    ("DELETE FROM grants", "grants", Expect::Deleted),
    (
        "DELETE FROM people WHERE person_id = 'p1'",
        "people",
        Expect::Deleted,
    ),
    ("DELETE FROM roles", "roles", Expect::Deleted),
];

#[derive(Debug, Clone, Copy, PartialEq)]
enum Expect {
    Changed,
    Inserted,
    Deleted,
}

async fn state_rows_changed_without_entries(env: Env) {
    for &(sql, table, expect) in STATE_TAMPERING {
        let env = Env::new(env.backend).await;
        let store = ledger(&env).await;
        assert_verifies(&env, &store).await;
        store.execute_unchecked(sql).await.unwrap();
        match verify_failure(&env, &store, None).await {
            Failure::State {
                table: found_table,
                expected,
                found,
                ..
            } => {
                assert_eq!(found_table, table, "{sql}");
                match expect {
                    Expect::Changed => assert!(expected != "no row" && found != "no row", "{sql}"),
                    Expect::Inserted => assert_eq!(expected, "no row", "{sql}"),
                    Expect::Deleted => assert_eq!(found, "no row", "{sql}"),
                }
            }
            other => panic!("{sql}: expected a state failure, got {other}"),
        }
        store.close().await;
    }
}
