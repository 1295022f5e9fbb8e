//! The ledger over HTTP: store info, checkpoints, entries as stored, and
//! proofs that verify against the signed root; the checkpointer.

use super::*;

#[tokio::test]
async fn store_info_and_checkpoint() {
    on_both_backends(async |fx| {
        let app = fx.app();
        let info = get(&app, "/api/v1/store", Some(READ)).await.json();
        let meta = fx.store.meta().await.unwrap().unwrap();
        assert_eq!(info["store_id"], meta.store_id);
        assert_eq!(info["origin"], meta.origin);
        assert_eq!(info["backend"], fx.store.backend());
        assert_eq!(info["ledger_size"], 9);
        assert_eq!(info["latest_checkpoint_size"], 8);

        let reply = get(&app, "/api/v1/ledger/checkpoint", Some(READ)).await;
        assert_eq!(reply.status, StatusCode::OK);
        assert!(reply.header("content-type").starts_with("text/plain"));
        let checkpoint = open_checkpoint(&reply.text(), &fx.key.verifier()).unwrap();
        assert_eq!(checkpoint.size, 8);
        assert_eq!(checkpoint.origin, meta.origin);
    })
    .await;
}

#[tokio::test]
async fn no_checkpoint_yet_is_a_404_problem() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(OpenOptions {
        location: Location::Sqlite(dir.path().to_owned()),
        create: true,
        clock: Arc::new(SystemClock),
        failpoints: Default::default(),
    })
    .await
    .unwrap();
    let meta = store.initialise(None, false).await.unwrap();
    store
        .append_one(
            &Principal::system("test"),
            &token_event("reader", READ, &[Scope::Read], None),
        )
        .await
        .unwrap();
    let key = soxctl_store::signing::load_or_create(&dir.path().join("signing.key"), &meta.origin)
        .unwrap();
    let app = router(AppState::new(store, key, ServerOptions::default()));
    let body = get(&app, "/api/v1/ledger/checkpoint", Some(READ))
        .await
        .problem(StatusCode::NOT_FOUND, "not_found");
    assert!(body["detail"].as_str().unwrap().contains("retry"), "{body}");
}

#[tokio::test]
async fn entries_are_the_exact_stored_bytes_as_json_lines() {
    on_both_backends(async |fx| {
        let app = fx.app();
        let stored = fx.store.entries(0, 100).await.unwrap();
        assert_eq!(stored.len(), 9);
        let expected: Vec<u8> = stored
            .iter()
            .flat_map(|(_, _, bytes)| bytes.iter().copied().chain([b'\n']))
            .collect();

        let reply = get(&app, "/api/v1/ledger/entries", Some(READ)).await;
        assert_eq!(reply.status, StatusCode::OK);
        assert_eq!(reply.header("content-type"), "application/jsonl");
        assert_eq!(reply.body, expected);

        // Paging: from and count pick a window; past the end is empty.
        let page = get(&app, "/api/v1/ledger/entries?from=2&count=3", Some(READ)).await;
        let window: Vec<u8> = stored[2..5]
            .iter()
            .flat_map(|(_, _, bytes)| bytes.iter().copied().chain([b'\n']))
            .collect();
        assert_eq!(page.body, window);
        for from in [9, u64::MAX] {
            let past = get(
                &app,
                &format!("/api/v1/ledger/entries?from={from}"),
                Some(READ),
            )
            .await;
            assert_eq!(past.status, StatusCode::OK);
            assert!(past.body.is_empty());
        }
        // Counts above the cap are capped, not refused.
        assert_eq!(
            get(&app, "/api/v1/ledger/entries?count=1000000", Some(READ))
                .await
                .body,
            expected
        );

        // The export verifies offline against the signed checkpoint.
        let note = get(&app, "/api/v1/ledger/checkpoint", Some(READ))
            .await
            .text();
        let signed = get(&app, "/api/v1/ledger/entries?count=8", Some(READ)).await;
        let report = verify_bundle(&signed.body, &note, &fx.key.verifier()).unwrap();
        assert_eq!(report.entries, 8);

        get(&app, "/api/v1/ledger/entries?count=0", Some(READ))
            .await
            .problem(StatusCode::BAD_REQUEST, "bad_request");
        let body = get(&app, "/api/v1/ledger/entries?from=abc", Some(READ))
            .await
            .problem(StatusCode::BAD_REQUEST, "bad_request");
        assert!(
            body["detail"].as_str().unwrap().contains("openapi.json"),
            "{body}"
        );
    })
    .await;
}

#[tokio::test]
async fn inclusion_proofs_verify_against_the_checkpoint_root() {
    on_both_backends(async |fx| {
        let app = fx.app();
        let note = get(&app, "/api/v1/ledger/checkpoint", Some(READ))
            .await
            .text();
        let checkpoint = open_checkpoint(&note, &fx.key.verifier()).unwrap();
        let stored = fx.store.entries(0, 100).await.unwrap();
        for seq in 0..checkpoint.size {
            // The size defaults to the latest checkpoint's.
            let reply = get(
                &app,
                &format!("/api/v1/ledger/proof/inclusion?seq={seq}"),
                Some(READ),
            )
            .await;
            assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
            let proof = reply.json();
            assert_eq!(proof["index"], seq);
            assert_eq!(proof["size"], checkpoint.size);
            let leaf = hash(&proof["leaf_hash"]);
            assert_eq!(leaf, leaf_hash(&stored[seq as usize].2));
            assert_eq!(hash(&proof["root"]), checkpoint.root);
            verify_inclusion(
                &leaf,
                seq,
                checkpoint.size,
                &hashes(&proof["hashes"]),
                &checkpoint.root,
            )
            .unwrap();
        }
        // An explicit size up to the head works too.
        let head = fx.store.head().await.unwrap();
        let proof = get(
            &app,
            "/api/v1/ledger/proof/inclusion?seq=8&size=9",
            Some(READ),
        )
        .await
        .json();
        verify_inclusion(
            &hash(&proof["leaf_hash"]),
            8,
            9,
            &hashes(&proof["hashes"]),
            &head.frontier.root(),
        )
        .unwrap();

        for (uri, needle) in [
            (
                "/api/v1/ledger/proof/inclusion?seq=8",
                "entry 8 is not in a tree of 8 entries",
            ),
            (
                "/api/v1/ledger/proof/inclusion?seq=0&size=10",
                "size=10 is not a tree size",
            ),
            (
                "/api/v1/ledger/proof/inclusion?seq=0&size=0",
                "size=0 is not a tree size",
            ),
            ("/api/v1/ledger/proof/inclusion", "seq"),
            ("/api/v1/ledger/proof/inclusion?seq=-1", "seq"),
        ] {
            let body = get(&app, uri, Some(READ))
                .await
                .problem(StatusCode::BAD_REQUEST, "bad_request");
            assert!(
                body["detail"].as_str().unwrap().contains(needle),
                "{uri}: {body}"
            );
        }
    })
    .await;
}

#[tokio::test]
async fn consistency_proofs_verify_against_the_checkpoint_root() {
    on_both_backends(async |fx| {
        let app = fx.app();
        let note = get(&app, "/api/v1/ledger/checkpoint", Some(READ))
            .await
            .text();
        let checkpoint = open_checkpoint(&note, &fx.key.verifier()).unwrap();
        for from in 1..=checkpoint.size {
            let reply = get(
                &app,
                &format!("/api/v1/ledger/proof/consistency?from={from}"),
                Some(READ),
            )
            .await;
            assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
            let proof = reply.json();
            assert_eq!(proof["size1"], from);
            assert_eq!(proof["size2"], checkpoint.size);
            assert_eq!(hash(&proof["root2"]), checkpoint.root);
            let root1 = hash(&proof["root1"]);
            assert_eq!(root1, fx.store.root_at(from).await.unwrap());
            verify_consistency(
                from,
                checkpoint.size,
                &hashes(&proof["hashes"]),
                &root1,
                &checkpoint.root,
            )
            .unwrap();
        }
        // From the checkpoint to the head: the log only grew.
        let head = fx.store.head().await.unwrap();
        let proof = get(
            &app,
            "/api/v1/ledger/proof/consistency?from=8&to=9",
            Some(READ),
        )
        .await
        .json();
        verify_consistency(
            8,
            9,
            &hashes(&proof["hashes"]),
            &checkpoint.root,
            &head.frontier.root(),
        )
        .unwrap();

        for (uri, needle) in [
            (
                "/api/v1/ledger/proof/consistency?from=9",
                "from=9 is larger than to=8",
            ),
            (
                "/api/v1/ledger/proof/consistency?from=0",
                "from=0 is not a tree size",
            ),
            (
                "/api/v1/ledger/proof/consistency?from=1&to=10",
                "to=10 is not a tree size",
            ),
            ("/api/v1/ledger/proof/consistency", "from"),
        ] {
            let body = get(&app, uri, Some(READ))
                .await
                .problem(StatusCode::BAD_REQUEST, "bad_request");
            assert!(
                body["detail"].as_str().unwrap().contains(needle),
                "{uri}: {body}"
            );
        }
    })
    .await;
}

#[tokio::test]
async fn checkpointer_signs_after_enough_entries_after_the_interval_and_on_stop() {
    on_both_backends(async |fx| {
        let actor = Principal::system("test");
        let append = async |n: u32| {
            for i in 0..n {
                let id = format!("t{}-{i}", fx.store.head().await.unwrap().size);
                fx.store
                    .append_one(&actor, &token_event(&id, &id, &[Scope::Read], None))
                    .await
                    .unwrap();
            }
            fx.store.head().await.unwrap().size
        };
        let never = Duration::from_secs(3600);

        // On start it covers what is there (9 entries, one unsigned).
        let by_count = Checkpointer::spawn(
            fx.store.clone(),
            fx.key.clone(),
            CheckpointPolicy {
                max_interval: never,
                max_entries: 3,
            },
        );
        wait_for_checkpoint(&fx.store, 9).await;
        // Two entries are below the count and the interval is far: no checkpoint.
        let size = append(2).await;
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert_eq!(fx.store.latest_checkpoint().await.unwrap().unwrap().size, 9);
        // The third one triggers it.
        let size = append(1).await.max(size);
        wait_for_checkpoint(&fx.store, size).await;
        // Stopping signs what is pending.
        let size = append(1).await;
        by_count.stop().await.unwrap();
        assert_eq!(
            fx.store.latest_checkpoint().await.unwrap().unwrap().size,
            size
        );

        let by_time = Checkpointer::spawn(
            fx.store.clone(),
            fx.key.clone(),
            CheckpointPolicy {
                max_interval: Duration::from_millis(100),
                max_entries: 1_000,
            },
        );
        let size = append(1).await;
        wait_for_checkpoint(&fx.store, size).await;
        // Entries written by another process (no wake-up here) are covered by the sweep.
        let other = Store::open(OpenOptions {
            location: fx.location.clone(),
            create: false,
            clock: Arc::new(SystemClock),
            failpoints: Default::default(),
        })
        .await
        .unwrap();
        other
            .append_one(
                &actor,
                &token_event("elsewhere", "elsewhere", &[Scope::Read], None),
            )
            .await
            .unwrap();
        wait_for_checkpoint(&fx.store, size + 1).await;
        by_time.stop().await.unwrap();
    })
    .await;
}
