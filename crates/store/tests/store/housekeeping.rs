//! Upkeep of operational tables: idempotency answers expire after a day.

use crate::helpers::*;
use soxctl_model::principal::Principal;

on_both_backends!(idempotency_keys_expire_after_a_day);

async fn idempotency_keys_expire_after_a_day(env: Env) {
    let store = env.store().await;
    let who: Principal = "token:t1".parse().unwrap();
    let mut tx = store.begin_write().await.unwrap();
    tx.append(&actor(), &token(1)).await.unwrap();
    let answer = serde_json::json!({});
    assert!(
        tx.remember_response(&who, "k1", "h", 200, &answer)
            .await
            .unwrap()
    );
    tx.commit().await.unwrap();

    assert_eq!(store.prune_idempotency_keys().await.unwrap(), 0);
    assert!(
        store
            .idempotent_response(&who, "k1")
            .await
            .unwrap()
            .is_some()
    );
    env.clock.advance(chrono::Duration::hours(25));
    assert_eq!(store.prune_idempotency_keys().await.unwrap(), 1);
    assert!(
        store
            .idempotent_response(&who, "k1")
            .await
            .unwrap()
            .is_none()
    );
}
