//! Erasure by crypto-shredding: `person.erased` deletes the person's keys,
//! the state row shows the erasure marker, and the ledger still verifies,
//! before and after, also when the person is added again under a new key.

use crate::helpers::Backend;
use crate::helpers::*;
use soxctl_model::event::{Event, PersonFact};
use soxctl_model::ids::PersonId;
use soxctl_model::inventory::Person;
use soxctl_model::projection::PersonRow;
use soxctl_model::sealed::KeyId;
use soxctl_store::Store;
use soxctl_store::erasure::{self, Erasure, ErasureError, MAX_REASON_LEN};
use soxctl_store::verify::Failure;

on_both_backends!(
    erasure_shreds_the_key_and_still_verifies,
    a_person_added_again_gets_a_new_key,
    erased_and_added_again_in_one_transaction,
    erasing_twice_records_nothing,
    refused_erasures_change_nothing,
    state_and_keys_changed_behind_the_ledger_are_reported,
);

const REASON: &str = "GDPR Art. 17 request, ticket HR-4711";

fn p1() -> PersonId {
    PersonId::parse("p1").unwrap()
}

async fn row(store: &Store, id: &PersonId) -> PersonRow {
    store.person(id).await.unwrap().expect("person row")
}

/// The key ids of `id`'s keys in the store.
async fn key_ids(store: &Store, id: &PersonId) -> Vec<KeyId> {
    store
        .person_keys()
        .await
        .unwrap()
        .into_keys()
        .filter(|(p, _)| p == id)
        .map(|(_, kid)| kid)
        .collect()
}

/// No entry holds any of `secrets` in plain text.
async fn assert_no_plaintext(store: &Store, secrets: &[&str]) {
    for (seq, _, bytes) in all_entries(store).await {
        let text = String::from_utf8(bytes).unwrap().to_lowercase();
        for secret in secrets {
            assert!(
                !text.contains(&secret.to_lowercase()),
                "entry {seq} holds {secret:?} in plain text: {text}"
            );
        }
    }
}

/// The kids of the sealed name and email of the person entry `seq`.
async fn sealed_kids(store: &Store, seq: u64) -> (u64, u64) {
    let (_, _, bytes) = store.entries(seq, 1).await.unwrap().remove(0);
    let entry = json(&bytes);
    let person = &entry["payload"]["person"];
    assert_eq!(person["name"]["alg"], "xchacha20poly1305", "{entry}");
    (
        person["name"]["kid"].as_u64().expect("name kid"),
        person["email"]["kid"].as_u64().expect("email kid"),
    )
}

async fn erase(store: &Store, id: &PersonId) -> Erasure {
    let mut tx = store.begin_write().await.unwrap();
    let done = erasure::erase_person(&mut tx, &actor(), id, REASON)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    done
}

/// Appends `person` as `person.changed` (what an import that finds them
/// again records), sealed under their live key; returns its seq.
async fn change(store: &Store, person: &Person) -> u64 {
    let mut tx = store.begin_write().await.unwrap();
    let seq = append_changed(&mut tx, person).await;
    tx.commit().await.unwrap();
    seq
}

async fn append_changed(tx: &mut soxctl_store::WriteTx, person: &Person) -> u64 {
    let sealed = tx.seal_person(person).await.unwrap();
    tx.append(
        &actor(),
        &Event::PersonChanged(PersonFact {
            origin: Default::default(),
            changed: Some(vec!["name".into(), "email".into()]),
            person: sealed,
        }),
    )
    .await
    .unwrap()
}

fn assert_erased(row: &PersonRow) {
    assert_eq!(row.person.name, None, "{row:?}");
    assert_eq!(row.person.email, None, "{row:?}");
    assert!(row.erased, "{row:?}");
    // Only personal data goes: the rest of the row stays.
    assert_eq!(row.person.department.as_deref(), Some("Finance"), "{row:?}");
}

async fn erasure_shreds_the_key_and_still_verifies(env: Env) {
    let store = env.store().await;
    seed_inventory(&store).await;
    // A second entry sealed under the same key.
    let renamed = person("p1", "Ada King", "ada.king@example.com");
    let changed = change(&store, &renamed).await;
    assert_eq!(
        row(&store, &p1()).await.person.name.as_deref(),
        Some("Ada King")
    );
    let (kid, email_kid) = sealed_kids(&store, changed).await;
    assert_eq!(kid, email_kid);
    assert_eq!(key_ids(&store, &p1()).await, vec![kid]);
    let secrets = [
        "Ada Lovelace",
        "ada@example.com",
        "Ada King",
        "ada.king@example.com",
    ];
    assert_no_plaintext(&store, &secrets).await;
    assert_verifies(&env, &store).await;

    let size = store.head().await.unwrap().size;
    let Erasure::Erased { seq, keys } = erase(&store, &p1()).await else {
        panic!("not erased");
    };
    assert_eq!((seq, keys), (size, 1));
    assert_erased(&row(&store, &p1()).await);
    assert!(
        key_ids(&store, &p1()).await.is_empty(),
        "the key is shredded"
    );
    let (_, _, bytes) = store.entries(seq, 1).await.unwrap().remove(0);
    let entry = json(&bytes);
    assert_eq!(entry["type"], "person.erased");
    assert_eq!(
        entry["payload"],
        serde_json::json!({"person_id": "p1", "reason": REASON})
    );
    assert_no_plaintext(&store, &secrets).await;
    // The hashes, the signatures and the replay all still agree.
    let report = assert_verifies(&env, &store).await;
    assert_eq!(report.entries, size + 1);
    // Other people and tables are untouched.
    assert_eq!(store.tokens().await.unwrap().len(), 2);
}

async fn a_person_added_again_gets_a_new_key(env: Env) {
    let store = env.store().await;
    seed_inventory(&store).await;
    let old = key_ids(&store, &p1()).await;
    assert_eq!(old.len(), 1);
    assert!(matches!(erase(&store, &p1()).await, Erasure::Erased { .. }));
    assert_verifies(&env, &store).await;

    // An HR import finds them again.
    let back = person("p1", "Ada Lovelace", "ada@example.com");
    let seq = change(&store, &back).await;
    let (kid, _) = sealed_kids(&store, seq).await;
    assert!(kid > old[0], "new key {kid}, shredded {}", old[0]);
    assert_eq!(key_ids(&store, &p1()).await, vec![kid]);
    let row = row(&store, &p1()).await;
    assert_eq!(row.person.name.as_deref(), Some("Ada Lovelace"));
    assert_eq!(row.person.email.as_deref(), Some("ada@example.com"));
    assert!(!row.erased, "{row:?}");
    // Entries under the shredded key replay as erased, the new one opens.
    assert_verifies(&env, &store).await;
    assert_no_plaintext(&store, &["Ada Lovelace", "ada@example.com"]).await;

    // Erasing them again shreds the new key too.
    assert!(matches!(
        erase(&store, &p1()).await,
        Erasure::Erased { keys: 1, .. }
    ));
    assert_erased(&self::row(&store, &p1()).await);
    assert!(key_ids(&store, &p1()).await.is_empty());
    assert_verifies(&env, &store).await;
}

async fn erased_and_added_again_in_one_transaction(env: Env) {
    let store = env.store().await;
    seed_inventory(&store).await;
    let old = key_ids(&store, &p1()).await;
    let mut tx = store.begin_write().await.unwrap();
    erasure::erase_person(&mut tx, &actor(), &p1(), REASON)
        .await
        .unwrap();
    let seq = append_changed(&mut tx, &person("p1", "Ada King", "ada.king@example.com")).await;
    // The transaction forgot the shredded key: the new entry is sealed under a new one.
    tx.commit().await.unwrap();
    let (kid, _) = sealed_kids(&store, seq).await;
    assert!(kid > old[0]);
    assert_eq!(key_ids(&store, &p1()).await, vec![kid]);
    assert_eq!(
        row(&store, &p1()).await.person.name.as_deref(),
        Some("Ada King")
    );
    assert_verifies(&env, &store).await;
}

async fn erasing_twice_records_nothing(env: Env) {
    let store = env.store().await;
    seed_inventory(&store).await;
    assert!(matches!(erase(&store, &p1()).await, Erasure::Erased { .. }));
    let head = store.head().await.unwrap();
    let rows = store.all_rows().await.unwrap();

    let mut tx = store.begin_write().await.unwrap();
    let again = erasure::erase_person(&mut tx, &actor(), &p1(), "second request")
        .await
        .unwrap();
    assert_eq!(again, Erasure::AlreadyErased);
    assert_eq!(tx.size(), head.size);
    assert_eq!(tx.commit().await.unwrap().appended, 0);
    assert_eq!(
        store.head().await.unwrap().frontier.root(),
        head.frontier.root()
    );
    assert_eq!(store.all_rows().await.unwrap(), rows);
    assert_verifies(&env, &store).await;
}

async fn refused_erasures_change_nothing(env: Env) {
    let store = env.store().await;
    seed_inventory(&store).await;
    let size = store.head().await.unwrap().size;
    let keys = store.person_keys().await.unwrap();
    let mut tx = store.begin_write().await.unwrap();
    let nobody = PersonId::parse("nobody").unwrap();
    let error = erasure::erase_person(&mut tx, &actor(), &nobody, REASON)
        .await
        .unwrap_err();
    assert!(matches!(error, ErasureError::UnknownPerson(_)), "{error}");
    assert!(
        error.to_string().contains("unknown person 'nobody'"),
        "{error}"
    );
    let too_long = "x".repeat(MAX_REASON_LEN + 1);
    for (reason, needle) in [
        ("", "needs a reason"),
        ("   ", "needs a reason"),
        (too_long.as_str(), "shorten it"),
        ("asked by ada@example.com", "name or email"),
        ("Ada Lovelace asked", "name or email"),
    ] {
        let error = erasure::erase_person(&mut tx, &actor(), &p1(), reason)
            .await
            .unwrap_err();
        assert!(error.to_string().contains(needle), "{reason:?}: {error}");
    }
    assert_eq!(tx.size(), size, "refused erasures append nothing");
    tx.commit().await.unwrap();
    assert_eq!(store.person_keys().await.unwrap(), keys, "nor shred a key");
    assert!(!row(&store, &p1()).await.erased);
    assert_verifies(&env, &store).await;
}

/// `verify` stays exact: a name written back into an erased row, and a key
/// deleted without `person.erased`, are both differences from the replay.
async fn state_and_keys_changed_behind_the_ledger_are_reported(env: Env) {
    let store = env.store().await;
    seed_inventory(&store).await;
    erase(&store, &PersonId::parse("p1").unwrap()).await;
    store
        .sign_checkpoint(&env.key())
        .await
        .expect("sign a checkpoint");
    store
        .execute_unchecked("UPDATE people SET name = 'Ada Lovelace' WHERE person_id = 'p1'")
        .await
        .unwrap();
    assert_people_differ(verify_failure(&env, &store, None).await);
    store
        .execute_unchecked("UPDATE people SET name = NULL WHERE person_id = 'p1'")
        .await
        .unwrap();
    run_verify(&env, &store, None).await.expect("restored");

    // A key deleted behind the ledger's back erases nothing in the state.
    let back = change(&store, &person("p1", "Ada King", "ada.king@example.com")).await;
    store
        .sign_checkpoint(&env.key())
        .await
        .expect("sign a checkpoint");
    let (kid, _) = sealed_kids(&store, back).await;
    store
        .execute_unchecked(&format!(
            "DELETE FROM person_keys WHERE person_id = 'p1' AND generation = {kid}"
        ))
        .await
        .unwrap();
    assert_unexplained_shredding(verify_failure(&env, &store, None).await);
    // Even with the row blanked to match, as a replay would show it: the
    // missing key has no person.erased entry to account for it.
    store
        .execute_unchecked(
            "UPDATE people SET name = NULL, email = NULL, erased = TRUE WHERE person_id = 'p1'",
        )
        .await
        .unwrap();
    assert_unexplained_shredding(verify_failure(&env, &store, None).await);
}

fn assert_unexplained_shredding(failure: Failure) {
    match failure {
        Failure::Entry { reason, .. } => assert!(reason.contains("no person.erased"), "{reason}"),
        other => panic!("expected an unexplained missing key, got {other}"),
    }
}

fn assert_people_differ(failure: Failure) {
    match failure {
        Failure::State { table, .. } => assert_eq!(table, "people"),
        other => panic!("expected a people row difference, got {other}"),
    }
}

/// Does `haystack` contain `needle`?
fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// SQLite: the shredded key's bytes are overwritten in the database file,
/// not left in the page's free space (`secure_delete` for the deletion).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_overwrites_a_shredded_key() {
    let env = Env::new(Backend::Sqlite).await;
    let store = env.store().await;
    seed_inventory(&store).await;
    let keys = store.person_keys().await.unwrap();
    let key = *keys.values().next().expect("a key");
    let soxctl_store::Location::Sqlite(dir) = &env.location else {
        unreachable!()
    };
    let file = dir.join(soxctl_store::DB_FILE);
    let checkpoint = "PRAGMA wal_checkpoint(TRUNCATE)";
    store.execute_unchecked(checkpoint).await.unwrap();
    assert!(
        contains(&std::fs::read(&file).unwrap(), &key),
        "the key is stored"
    );

    erase(&store, &p1()).await;
    store.execute_unchecked(checkpoint).await.unwrap();
    store.close().await;
    for path in [file.clone(), file.with_extension("db-wal")] {
        if let Ok(bytes) = std::fs::read(&path) {
            assert!(
                !contains(&bytes, &key),
                "{} still holds the key",
                path.display()
            );
        }
    }
    let store = env.open().await;
    assert_verifies(&env, &store).await;
}
