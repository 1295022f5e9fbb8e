//! Signed checkpoints and the key that signs them.

use crate::helpers::*;
use soxctl_ledger::note::{self, SigningKey};
use soxctl_store::StoreError;

on_both_backends!(
    checkpoint_signing_is_idempotent_per_size,
    checkpoint_key_must_name_the_store
);

async fn checkpoint_signing_is_idempotent_per_size(env: Env) {
    let empty = env.open().await;
    let key = env.key();
    assert!(
        empty.sign_checkpoint(&key).await.unwrap().is_none(),
        "checkpoint of an empty ledger"
    );
    assert!(empty.latest_checkpoint().await.unwrap().is_none());

    let store = env.store().await;
    seed_inventory(&store).await;
    let head = store.head().await.unwrap();
    let first = store
        .sign_checkpoint(&key)
        .await
        .unwrap()
        .expect("checkpoint");
    assert_eq!((first.size, first.root), (head.size, head.frontier.root()));
    assert_eq!(first.signed_at, "2025-06-30T17:00:00.000000Z");

    // Same size: the existing checkpoint, not a second one, even later on.
    env.clock.set(ts("2025-06-30T17:05:00Z"));
    let again = store
        .sign_checkpoint(&key)
        .await
        .unwrap()
        .expect("checkpoint");
    assert_eq!(
        (again.size, &again.note, &again.signed_at),
        (first.size, &first.note, &first.signed_at)
    );
    let other_handle = env.open().await;
    let third = other_handle
        .sign_checkpoint(&key)
        .await
        .unwrap()
        .expect("checkpoint");
    assert_eq!(third.note, first.note);
    assert_eq!(store.checkpoints().await.unwrap().len(), 1);

    // The note opens with the verifier key and says what the head says.
    let opened = note::open_checkpoint(&first.note, &key.verifier()).unwrap();
    assert_eq!(
        (opened.origin.as_str(), opened.size, opened.root),
        (ORIGIN, head.size, head.frontier.root())
    );
    // A key reloaded from its file is the same key.
    let reloaded = soxctl_store::signing::load(&env.key_path()).unwrap();
    assert_eq!(reloaded.to_string(), key.to_string());
    note::open_checkpoint(&first.note, &reloaded.verifier()).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(env.key_path())
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "signing key file mode");
    }

    store.append_one(&actor(), &token(50)).await.unwrap();
    let second = store
        .sign_checkpoint(&key)
        .await
        .unwrap()
        .expect("checkpoint");
    assert_eq!(second.size, head.size + 1);
    assert_eq!(second.signed_at, "2025-06-30T17:05:00.000000Z");
    let stored = store.checkpoints().await.unwrap();
    assert_eq!(
        stored.iter().map(|c| c.size).collect::<Vec<_>>(),
        vec![head.size, head.size + 1]
    );
    assert_eq!(
        store.latest_checkpoint().await.unwrap().unwrap().note,
        second.note
    );

    let report = assert_verifies(&env, &store).await;
    assert_eq!(report.checkpoints, 2);
    assert_eq!(report.trusted_size, None);
    // A trusted copy of either note, held elsewhere, is accepted.
    for trusted in [&first.note, &second.note] {
        let report = run_verify(&env, &store, Some(trusted)).await.unwrap();
        assert!(report.trusted_size.is_some());
    }
}

/// A key only signs for its own log: one named otherwise is refused, and a
/// note by another key does not open with the store's verifier.
async fn checkpoint_key_must_name_the_store(env: Env) {
    let store = env.store().await;
    let path = env.dir.path().join("other.key");
    let wrong_name = soxctl_store::signing::load_or_create(&path, "someone.else/ledger").unwrap();
    match store.sign_checkpoint(&wrong_name).await {
        Err(StoreError::SigningKey(_)) => {}
        other => panic!("expected a signing key error, got {other:?}"),
    }
    assert!(store.checkpoints().await.unwrap().is_empty());

    let impostor = SigningKey::generate(ORIGIN, [9; 32]).unwrap();
    let forged = store
        .sign_checkpoint(&impostor)
        .await
        .unwrap()
        .expect("checkpoint");
    assert!(note::open_checkpoint(&forged.note, &env.key().verifier()).is_err());
    // Two fresh keys for the same name are different keys.
    let second_path = env.dir.path().join("second.key");
    let second = soxctl_store::signing::load_or_create(&second_path, ORIGIN).unwrap();
    assert_ne!(second.to_string(), env.key().to_string());
}
