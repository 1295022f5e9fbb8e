//! Attacks on the end of the ledger and on its checkpoints: what the store
//! alone can catch, and what only a checkpoint held elsewhere (the signer's
//! witness, a trusted checkpoint) can.

use crate::helpers::*;
use crate::tamper::{SIZE, entry_bytes, leaves, ledger, replace, rewrite_head};
use soxctl_ledger::note::{Checkpoint, SigningKey};
use soxctl_ledger::tree::{Frontier, Hash, leaf_hash};
use soxctl_store::Store;
use soxctl_store::checkpoint::witness_path;
use soxctl_store::verify::{Failure, Options, Report, VerifyError};
use std::path::{Path, PathBuf};

on_both_backends!(
    truncated_tail,
    rewritten_tail,
    replaced_checkpoint,
    newest_checkpoint_deleted_and_tail_rewritten,
    three_newest_checkpoints_deleted_and_tail_rewritten,
    all_but_the_first_checkpoint_deleted_and_tail_rewritten,
    the_witness_bounds_the_unsigned_entries,
);

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

/// `verify` reading the signer's witness `file`, as `soxctl verify` does.
async fn verify_witnessed(env: &Env, store: &Store, file: &Path) -> Result<Report, VerifyError> {
    let key = env.key().verifier();
    let options = Options {
        key: &key,
        trusted_checkpoint: None,
    };
    soxctl_store::verify::verify_against_witness(store, options, file, |_, _| {}).await
}

/// The failure `verify` reports against the witness `file`.
async fn witness_failure(env: &Env, store: &Store, file: &Path) -> Failure {
    match verify_witnessed(env, store, file).await {
        Err(VerifyError::Failed(failure)) => failure,
        Err(VerifyError::Store(e)) => panic!("verify hit a store error: {e}"),
        Ok(report) => panic!(
            "tampering went undetected: verify passed over {} entries against the witness",
            report.entries
        ),
    }
}

/// Checkpoint sizes of [`witnessed_ledger`]: one every six entries after
/// [`SIZE`].
const SIGNED: [u64; 5] = [SIZE, SIZE + 6, SIZE + 12, SIZE + 18, SIZE + 24];

/// A signer keeping its witness beside the key signs after [`SIZE`] entries
/// and after each six more `read` tokens (tok00200..): checkpoints at
/// [`SIGNED`]. Returns the store and the witness file.
async fn witnessed_ledger(env: &Env) -> (Store, PathBuf) {
    let store = ledger(env).await;
    let key = env.key();
    let witness = witness_path(&env.key_path());
    store.set_checkpoint_witness(witness.clone(), &key).unwrap();
    store.sign_checkpoint(&key).await.unwrap();
    for from in (200..224).step_by(6) {
        append_tokens(&store, from..from + 6, 10).await;
        store.sign_checkpoint(&key).await.unwrap();
    }
    let stored: Vec<u64> = store
        .checkpoints()
        .await
        .unwrap()
        .iter()
        .map(|c| c.size)
        .collect();
    assert_eq!(stored, SIGNED);
    let note = std::fs::read_to_string(&witness).unwrap();
    assert!(note.contains(&format!("\n{}\n", SIGNED[4])), "{note}");
    (store, witness)
}

/// The attack of issue 12: the checkpoint rows after `kept` deleted, then
/// the tail after it rewritten consistently — the `token.created` at `kept`
/// changed from `read` to `admin`, the entries after it chained to it again,
/// their leaf hashes, the tokens row, the subtree nodes and the head.
async fn delete_checkpoints_and_rewrite_tail(env: &Env, store: &Store, kept: u64) {
    store
        .execute_unchecked(&format!("DELETE FROM checkpoints WHERE size > {kept}"))
        .await
        .unwrap();
    let entries = all_entries(store).await;
    let mut leaves: Vec<Hash> = entries.iter().map(|(_, leaf, _)| *leaf).collect();
    let token = 200 + (kept - SIZE);
    let mut sql = format!("UPDATE tokens SET scopes = 'admin' WHERE token_id = 'tok{token:05}';\n");
    for (seq, old_leaf, bytes) in &entries[kept as usize..] {
        let i = *seq as usize;
        let mut bytes = bytes.clone();
        if *seq == kept {
            assert!(json(&bytes)["payload"]["token_id"] == format!("tok{token:05}"));
            bytes = replace(&bytes, r#""scopes":["read"]"#, r#""scopes":["admin"]"#);
        } else {
            let stored_prev = format!(r#""prev":"{}""#, hex::encode(entries[i - 1].1));
            let new_prev = format!(r#""prev":"{}""#, hex::encode(leaves[i - 1]));
            bytes = replace(&bytes, &stored_prev, &new_prev);
        }
        leaves[i] = leaf_hash(&bytes);
        assert_ne!(leaves[i], *old_leaf);
        sql += &format!(
            "UPDATE ledger_entries SET bytes = {}, leaf_hash = {} WHERE seq = {seq};\n",
            env.blob(&bytes),
            env.blob(&leaves[i])
        );
    }
    sql += "DELETE FROM ledger_nodes;\n";
    let mut frontier = Frontier::new();
    for leaf in &leaves {
        for (node, hash) in frontier.push(*leaf) {
            if node.level % 4 == 0 {
                sql += &format!(
                    "INSERT INTO ledger_nodes (level, idx, hash) VALUES ({}, {}, {});\n",
                    node.level,
                    node.index,
                    env.blob(&hash)
                );
            }
        }
    }
    store.execute_unchecked(&sql).await.unwrap();
    rewrite_head(env, store, &leaves).await;
}

/// The rewrite is otherwise undetected: `verify` without the witness passes,
/// counting the rewritten tail as merely unsigned. Against the witness it
/// fails, naming it, and so does a signer reading it.
async fn caught_by_the_witness(env: &Env, store: &Store, witness: &Path, kept: u64) {
    let newest = SIGNED[4];
    let report = run_verify(env, store, None)
        .await
        .unwrap_or_else(|e| panic!("the rewrite should pass verify without the witness: {e}"));
    assert_eq!(
        (report.entries, report.unsigned_entries, report.witness_size),
        (newest, newest - kept, None)
    );
    match witness_failure(env, store, witness).await {
        Failure::Witness { path, reason } => {
            assert_eq!(path, witness);
            assert!(
                reason.contains(&format!("at size {newest} it has root")),
                "{reason}"
            );
            assert!(reason.contains("the ledger was rewritten"), "{reason}");
        }
        other => panic!("expected the witness to catch the rewrite, got {other}"),
    }
    let message = witness_failure(env, store, witness).await.to_string();
    assert!(
        message.starts_with(&format!("checkpoint witness {}: ", witness.display())),
        "{message}"
    );
    // The signer, in a new process reading the same witness, agrees.
    let signer = env.store().await;
    signer
        .set_checkpoint_witness(witness.to_owned(), &env.key())
        .unwrap();
    let refused = signer
        .sign_checkpoint(&env.key())
        .await
        .unwrap_err()
        .to_string();
    assert!(refused.contains("differs from the signed one"), "{refused}");
}

async fn newest_checkpoint_deleted_and_tail_rewritten(env: Env) {
    let (store, witness) = witnessed_ledger(&env).await;
    delete_checkpoints_and_rewrite_tail(&env, &store, SIGNED[3]).await;
    caught_by_the_witness(&env, &store, &witness, SIGNED[3]).await;
}

async fn three_newest_checkpoints_deleted_and_tail_rewritten(env: Env) {
    let (store, witness) = witnessed_ledger(&env).await;
    delete_checkpoints_and_rewrite_tail(&env, &store, SIGNED[1]).await;
    caught_by_the_witness(&env, &store, &witness, SIGNED[1]).await;
}

async fn all_but_the_first_checkpoint_deleted_and_tail_rewritten(env: Env) {
    let (store, witness) = witnessed_ledger(&env).await;
    delete_checkpoints_and_rewrite_tail(&env, &store, SIGNED[0]).await;
    caught_by_the_witness(&env, &store, &witness, SIGNED[0]).await;
}

/// Entries after the witness (and every stored checkpoint) are unsigned, and
/// counted; a missing witness is not a failure; a witness this key did not
/// sign is; a rollback behind the witness is caught.
async fn the_witness_bounds_the_unsigned_entries(env: Env) {
    let (store, witness) = witnessed_ledger(&env).await;
    let newest = SIGNED[4];
    let report = verify_witnessed(&env, &store, &witness).await.unwrap();
    assert_eq!(
        (report.witness_size, report.unsigned_entries),
        (Some(newest), 0)
    );
    append_tokens(&store, 300..307, 10).await;
    let report = verify_witnessed(&env, &store, &witness).await.unwrap();
    assert_eq!(
        (report.entries, report.witness_size, report.unsigned_entries),
        (newest + 7, Some(newest), 7)
    );

    // The newest checkpoint row deleted, nothing rewritten: the witness still
    // covers the entries it signed.
    store
        .execute_unchecked(&format!("DELETE FROM checkpoints WHERE size = {newest}"))
        .await
        .unwrap();
    assert_eq!(
        run_verify(&env, &store, None)
            .await
            .unwrap()
            .unsigned_entries,
        13
    );
    let report = verify_witnessed(&env, &store, &witness).await.unwrap();
    assert_eq!(
        (report.witness_size, report.unsigned_entries),
        (Some(newest), 7)
    );

    // No witness at that path: verified against the stored checkpoints only.
    let absent = env.dir.path().join("absent.checkpoint");
    let report = verify_witnessed(&env, &store, &absent).await.unwrap();
    assert_eq!((report.witness_size, report.unsigned_entries), (None, 13));

    // A witness this key did not sign.
    let impostor = SigningKey::generate(ORIGIN, [7; 32]).unwrap();
    let forged = env.dir.path().join("forged.checkpoint");
    let note = impostor
        .sign_checkpoint(&Checkpoint {
            origin: ORIGIN.into(),
            size: newest,
            root: [1; 32],
        })
        .unwrap();
    std::fs::write(&forged, note).unwrap();
    match witness_failure(&env, &store, &forged).await {
        Failure::Witness { path, reason } => {
            assert_eq!(path, forged);
            assert!(reason.contains("not a checkpoint signed"), "{reason}");
        }
        other => panic!("expected the forged witness to be refused, got {other}"),
    }

    // Rolled back consistently behind the witness: truncated.
    let kept = leaves(&store).await[..SIGNED[2] as usize].to_vec();
    store
        .execute_unchecked(&format!(
            "DELETE FROM ledger_entries WHERE seq >= {0}; DELETE FROM checkpoints WHERE size > {0}; \
             DELETE FROM tokens WHERE token_id >= 'tok00212'; DELETE FROM ledger_nodes WHERE level = 4 AND idx >= {1};",
            SIGNED[2],
            SIGNED[2] / 16
        ))
        .await
        .unwrap();
    rewrite_head(&env, &store, &kept).await;
    assert_eq!(
        run_verify(&env, &store, None).await.unwrap().entries,
        SIGNED[2]
    );
    match witness_failure(&env, &store, &witness).await {
        Failure::Witness { reason, .. } => assert!(
            reason.contains(&format!(
                "it covers {newest} entries but the store holds only {}: the ledger was truncated or rolled back",
                SIGNED[2]
            )),
            "{reason}"
        ),
        other => panic!("expected the witness to catch the rollback, got {other}"),
    }
}
