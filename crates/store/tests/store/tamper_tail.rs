//! Attacks on the end of the ledger and on its checkpoints: what the store
//! alone can catch, and what only a checkpoint held elsewhere can.

use crate::helpers::*;
use crate::tamper::{SIZE, entry_bytes, leaves, ledger, replace, rewrite_head};
use soxctl_ledger::note::{Checkpoint, SigningKey};
use soxctl_ledger::tree::leaf_hash;
use soxctl_store::Store;
use soxctl_store::verify::Failure;

on_both_backends!(truncated_tail, rewritten_tail, replaced_checkpoint);

/// Setup for the tail attacks: a checkpoint at SIZE, six more entries and a
/// checkpoint at SIZE + 6 whose note an auditor kept outside the store.
async fn ledger_with_checkpoints(env: &Env) -> (Store, String, String) {
    let store = ledger(env).await;
    let key = env.key();
    let early = store.sign_checkpoint(&key).await.unwrap().unwrap().note;
    append_tokens(&store, 200..206, 10).await;
    let late = store.sign_checkpoint(&key).await.unwrap().unwrap().note;
    (store, early, late)
}

async fn truncated_tail(env: Env) {
    // Crudely: entries and their checkpoint deleted, the head left alone.
    let (store, _, late) = ledger_with_checkpoints(&env).await;
    store
        .execute_unchecked(&format!(
            "DELETE FROM ledger_entries WHERE seq >= {}",
            SIZE + 3
        ))
        .await
        .unwrap();
    store
        .execute_unchecked(&format!(
            "DELETE FROM checkpoints WHERE size > {}",
            SIZE + 3
        ))
        .await
        .unwrap();
    assert_eq!(
        verify_failure(&env, &store, None).await,
        Failure::EntryCount {
            head: SIZE + 6,
            found: SIZE + 3
        }
    );
    assert!(matches!(
        verify_failure(&env, &store, Some(&late)).await,
        Failure::EntryCount { .. }
    ));

    // Carefully: head, checkpoints and state rolled back consistently. The
    // store alone cannot tell; the checkpoint kept elsewhere can.
    let env = Env::new(env.backend).await;
    let (store, early, late) = ledger_with_checkpoints(&env).await;
    let kept = leaves(&store).await[..SIZE as usize].to_vec();
    store
        .execute_unchecked(&format!("DELETE FROM ledger_entries WHERE seq >= {SIZE}"))
        .await
        .unwrap();
    store
        .execute_unchecked(&format!("DELETE FROM checkpoints WHERE size > {SIZE}"))
        .await
        .unwrap();
    store
        .execute_unchecked("DELETE FROM tokens WHERE token_id >= 'tok00200'")
        .await
        .unwrap();
    rewrite_head(&env, &store, &kept).await;
    // The signer that signed `late` remembers it and will not sign the rollback.
    let refused = store
        .sign_checkpoint(&env.key())
        .await
        .unwrap_err()
        .to_string();
    assert!(refused.contains("truncated or rolled back"), "{refused}");
    // The store alone cannot tell: its own checkpoints were rolled back too.
    assert_eq!(run_verify(&env, &store, None).await.unwrap().entries, SIZE);
    assert_eq!(
        run_verify(&env, &store, Some(&early))
            .await
            .unwrap()
            .trusted_size,
        Some(SIZE)
    );
    match verify_failure(&env, &store, Some(&late)).await {
        Failure::Trusted(reason) => assert!(reason.contains("truncated"), "{reason}"),
        other => panic!("expected the trusted checkpoint to catch the truncation, got {other}"),
    }
}

async fn rewritten_tail(env: Env) {
    let (store, early, late) = ledger_with_checkpoints(&env).await;
    // Rewrite the last entry and everything that depends on it, except the
    // checkpoint, which needs the key.
    let last = SIZE + 5;
    let bytes = replace(
        &entry_bytes(&store, last).await,
        "token 00205",
        "token 00666",
    );
    let sql = format!(
        "UPDATE ledger_entries SET bytes = {}, leaf_hash = {} WHERE seq = {last};
         UPDATE tokens SET description = 'token 00666' WHERE token_id = 'tok00205';",
        env.blob(&bytes),
        env.blob(&leaf_hash(&bytes))
    );
    store.execute_unchecked(&sql).await.unwrap();
    rewrite_head(&env, &store, &leaves(&store).await).await;
    match verify_failure(&env, &store, None).await {
        Failure::Checkpoint { size, reason } => {
            assert_eq!(size, SIZE + 6);
            assert!(reason.contains("signed root"), "{reason}");
        }
        other => panic!("expected the stored checkpoint to catch the rewrite, got {other}"),
    }
    // With the stored checkpoint gone too, only the one held elsewhere can.
    store
        .execute_unchecked(&format!("DELETE FROM checkpoints WHERE size > {SIZE}"))
        .await
        .unwrap();
    // The signer that signed `late` will not notarise the rewrite...
    let refused = store
        .sign_checkpoint(&env.key())
        .await
        .unwrap_err()
        .to_string();
    assert!(refused.contains("differs from the signed one"), "{refused}");
    // ...but a signer without that memory would; the store alone cannot tell.
    let fresh = env.store().await;
    fresh.sign_checkpoint(&env.key()).await.unwrap();
    run_verify(&env, &fresh, None).await.unwrap();
    run_verify(&env, &store, Some(&early)).await.unwrap();
    match verify_failure(&env, &store, Some(&late)).await {
        Failure::Trusted(reason) => assert!(reason.contains("rewritten"), "{reason}"),
        other => panic!("expected the trusted checkpoint to catch the rewrite, got {other}"),
    }
}

async fn replaced_checkpoint(env: Env) {
    let impostor = SigningKey::generate(ORIGIN, [7; 32]).unwrap();
    let forged_root = [1u8; 32];
    let forged = impostor
        .sign_checkpoint(&Checkpoint {
            origin: ORIGIN.into(),
            size: SIZE,
            root: forged_root,
        })
        .unwrap();
    for what in [
        "note text altered",
        "note signed by another key",
        "root column altered",
    ] {
        let env = Env::new(env.backend).await;
        let (store, early, _) = ledger_with_checkpoints(&env).await;
        let set = match what {
            "note text altered" => {
                format!("note = {}", text(&early.replacen("\n40\n", "\n41\n", 1)))
            }
            "note signed by another key" => format!(
                "note = {}, root = {}",
                text(&forged),
                env.blob(&forged_root)
            ),
            _ => format!("root = {}", env.blob(&[0; 32])),
        };
        let sql = format!("UPDATE checkpoints SET {set} WHERE size = {SIZE}");
        store.execute_unchecked(&sql).await.unwrap();
        match verify_failure(&env, &store, None).await {
            Failure::Checkpoint { size, .. } => assert_eq!(size, SIZE, "{what}"),
            other => panic!("{what}: expected a checkpoint failure, got {other}"),
        }
    }
    // A "trusted" checkpoint that the key did not sign is refused too.
    let env = Env::new(env.backend).await;
    let (store, _, _) = ledger_with_checkpoints(&env).await;
    assert!(matches!(
        verify_failure(&env, &store, Some(&forged)).await,
        Failure::Trusted(_)
    ));
}
