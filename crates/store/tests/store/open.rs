//! Opening, initialising and migrating a store.

use crate::helpers::*;
use soxctl_ledger::entry::ZERO_HASH;
use soxctl_store::{Location, Store, StoreError};

on_both_backends!(
    missing_store_is_refused_without_create,
    initialise_appends_entry_zero_once,
    migrations_are_idempotent_across_reopen,
    newer_schema_is_refused,
    settling_the_wal_empties_it_and_keeps_everything,
);

async fn missing_store_is_refused_without_create(env: Env) {
    match &env.location {
        Location::Sqlite(dir) => {
            let result = Store::open(env.options(false)).await;
            match result {
                Err(StoreError::Missing { path }) => assert_eq!(&path, dir),
                Err(e) => panic!("expected StoreError::Missing, got {e}"),
                Ok(_) => panic!("opened a store that does not exist"),
            }
            assert!(
                !dir.exists(),
                "a refused open must not create {}",
                dir.display()
            );
            // The empty file an interrupted first open leaves is not a store
            // either, and is refused the same way.
            std::fs::create_dir_all(dir).unwrap();
            std::fs::write(dir.join("soxctl.db"), b"").unwrap();
            match Store::open(env.options(false)).await {
                Err(StoreError::Missing { path }) => assert_eq!(&path, dir),
                Err(e) => panic!("expected StoreError::Missing for an empty file, got {e}"),
                Ok(_) => panic!("opened an empty file as a store"),
            }
            // With create, the same location works and starts empty.
            let store = Store::open(env.options(true)).await.unwrap();
            assert_eq!(store.head().await.unwrap().size, 0);
            assert!(store.meta().await.unwrap().is_none());
        }
        Location::Postgres(url) => {
            // A database that does not exist is an error, never created on the fly.
            let (base, _) = url.rsplit_once('/').unwrap();
            let mut options = env.options(false);
            options.location = Location::Postgres(format!("{base}/soxctl_no_such_database"));
            let err = Store::open(options)
                .await
                .err()
                .expect("opened a database that does not exist");
            assert!(matches!(err, StoreError::Database(_)), "{err}");
            let store = Store::open(env.options(false)).await.unwrap();
            assert_eq!(store.head().await.unwrap().size, 0);
            assert!(store.meta().await.unwrap().is_none());
        }
    }
}

async fn initialise_appends_entry_zero_once(env: Env) {
    let store = env.open().await;
    assert_eq!(store.head().await.unwrap().size, 0);
    let meta = store.initialise(Some(ORIGIN.into()), true).await.unwrap();
    assert_eq!(meta.origin, ORIGIN);
    assert!(meta.demo);
    assert_eq!(meta.initialised_at, ts(START));

    let entries = all_entries(&store).await;
    assert_eq!(entries.len(), 1);
    let (seq, leaf, bytes) = &entries[0];
    assert_eq!(*seq, 0);
    assert_eq!(*leaf, soxctl_ledger::tree::leaf_hash(bytes));
    let entry = json(bytes);
    assert_eq!(entry["type"], "store.initialised");
    assert_eq!(entry["seq"], 0);
    assert_eq!(entry["prev"], hex::encode(ZERO_HASH));
    assert_eq!(entry["actor"], "system:store");
    assert_eq!(entry["time"], "2025-06-30T17:00:00.000000Z");
    assert_eq!(entry["payload"]["origin"], ORIGIN);
    assert_eq!(entry["payload"]["store_id"], meta.store_id.as_str());
    assert_eq!(entry["payload"]["demo"], true);

    // Again, from this handle and from another: same identity, no new entry.
    let again = store
        .initialise(Some("another.origin".into()), false)
        .await
        .unwrap();
    assert_eq!(again, meta);
    let other = env.open().await;
    assert_eq!(other.initialise(None, false).await.unwrap(), meta);
    assert_eq!(store.head().await.unwrap().size, 1);
    assert_verifies(&env, &store).await;
}

async fn migrations_are_idempotent_across_reopen(env: Env) {
    let store = env.store().await;
    seed_inventory(&store).await;
    let head = store.head().await.unwrap();
    let rows = store.all_rows().await.unwrap();
    let meta = store.meta().await.unwrap();
    store.close().await;

    for _ in 0..3 {
        let store = env.open().await;
        assert_eq!(store.head().await.unwrap().size, head.size);
        assert_eq!(
            store.head().await.unwrap().frontier.root(),
            head.frontier.root()
        );
        assert_eq!(store.all_rows().await.unwrap(), rows);
        assert_eq!(store.meta().await.unwrap(), meta);
        store.close().await;
    }
    let store = env.open().await;
    let receipt = store.append_one(&actor(), &token(99)).await.unwrap();
    assert_eq!(receipt.size, head.size + 1);
    assert_verifies(&env, &store).await;
}

async fn newer_schema_is_refused(env: Env) {
    let store = env.store().await;
    let size = store.head().await.unwrap().size;
    store
        .execute_unchecked("UPDATE schema_version SET version = 99 WHERE id = 1")
        .await
        .unwrap();
    store.close().await;

    let known = match Store::open(env.options(true)).await {
        Err(StoreError::SchemaTooNew { found, known }) => {
            assert_eq!(found, 99);
            assert!((1..99).contains(&known), "known schema version {known}");
            known
        }
        Err(e) => panic!("expected SchemaTooNew, got {e}"),
        Ok(_) => panic!("opened a store whose schema is newer than this build"),
    };

    // Refusing touched nothing: back at the known version the store is intact.
    let reset = format!("UPDATE schema_version SET version = {known} WHERE id = 1");
    raw_sql_behind_the_store(&env, &reset).await;
    let store = env.open().await;
    assert_eq!(store.head().await.unwrap().size, size);
    assert_verifies(&env, &store).await;
}

/// Runs SQL on the store's database without opening it as a store (which
/// would refuse).
async fn raw_sql_behind_the_store(env: &Env, sql: &str) {
    match &env.location {
        Location::Sqlite(dir) => {
            let options =
                sqlx::sqlite::SqliteConnectOptions::new().filename(dir.join(soxctl_store::DB_FILE));
            let pool = sqlx::SqlitePool::connect_with(options).await.unwrap();
            sqlx::raw_sql(sql).execute(&pool).await.unwrap();
            pool.close().await;
        }
        Location::Postgres(url) => {
            let pool = sqlx::PgPool::connect(url).await.unwrap();
            sqlx::raw_sql(sql).execute(&pool).await.unwrap();
            pool.close().await;
        }
    }
}

/// A new SQLite store and its backups are private to the service account:
/// directory 0700; database, WAL, shared-memory and backup files 0600.
#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_files_are_private_to_the_owner() {
    use crate::helpers::Backend;
    use std::os::unix::fs::PermissionsExt;

    let mode = |path: &std::path::Path| {
        std::fs::metadata(path)
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
            .permissions()
            .mode()
            & 0o777
    };
    let env = Env::new(Backend::Sqlite).await;
    let Location::Sqlite(dir) = env.location.clone() else {
        unreachable!("a SQLite env")
    };
    let store = env.store().await;
    seed_inventory(&store).await;

    assert_eq!(mode(&dir), 0o700, "{}", dir.display());
    for suffix in ["", "-wal", "-shm"] {
        let file = dir.join(format!("{}{suffix}", soxctl_store::DB_FILE));
        assert!(
            file.exists(),
            "{} appears while the store is open",
            file.display()
        );
        assert_eq!(mode(&file), 0o600, "{}", file.display());
    }

    let out = env.dir.path().join("backup.db");
    store.backup(&out).await.unwrap();
    assert_eq!(mode(&out), 0o600, "{}", out.display());
    assert!(std::fs::metadata(&out).unwrap().len() > 0);
    // A failed backup (the target is not empty) leaves the target alone.
    assert!(store.backup(&out).await.is_err());
    assert!(out.exists());
    let size = store.head().await.unwrap().size;
    store.close().await;

    // Reopening an existing store keeps the modes.
    let store = env.open().await;
    assert_eq!(store.head().await.unwrap().size, size);
    assert_eq!(mode(&dir.join(soxctl_store::DB_FILE)), 0o600);
    store.close().await;
}

async fn settling_the_wal_empties_it_and_keeps_everything(env: Env) {
    let store = env.store().await;
    seed_inventory(&store).await;
    if let Location::Sqlite(dir) = &env.location {
        let wal = dir.join("soxctl.db-wal");
        assert!(
            std::fs::metadata(&wal).unwrap().len() > 0,
            "the writes are in the WAL"
        );
        // A reader of an older snapshot (another process's long read): the
        // checkpoint gives up at once instead of holding the write lock
        // for the busy timeout, and writers go on.
        use sqlx::Connection;
        let mut reader = sqlx::SqliteConnection::connect(&format!(
            "sqlite://{}",
            dir.join("soxctl.db").display()
        ))
        .await
        .unwrap();
        sqlx::query("BEGIN").execute(&mut reader).await.unwrap();
        let _: (i64,) = sqlx::query_as("SELECT count(*) FROM ledger_entries")
            .fetch_one(&mut reader)
            .await
            .unwrap();
        store.append_one(&actor(), &token(98)).await.unwrap();
        let started = std::time::Instant::now();
        assert!(
            !store.settle_wal().await.unwrap(),
            "a reader holds an old snapshot"
        );
        assert!(started.elapsed() < std::time::Duration::from_secs(5));
        store.append_one(&actor(), &token(97)).await.unwrap();
        sqlx::query("COMMIT").execute(&mut reader).await.unwrap();
        reader.close().await.unwrap();

        assert!(store.settle_wal().await.unwrap(), "no reader now");
        // Emptied, or gone: SQLite removes the WAL when its last connection
        // closes, which a pool may do at any moment.
        assert_eq!(
            std::fs::metadata(&wal).map_or(0, |m| m.len()),
            0,
            "the WAL is emptied"
        );
    } else {
        assert!(store.settle_wal().await.unwrap());
    }
    let head = store.head().await.unwrap();
    let rows = store.all_rows().await.unwrap();
    store.settle_wal().await.unwrap();
    assert_eq!(store.head().await.unwrap().size, head.size);
    assert_eq!(store.all_rows().await.unwrap(), rows);
    let receipt = store.append_one(&actor(), &token(99)).await.unwrap();
    assert_eq!(receipt.size, head.size + 1);
    store.close().await;
    let store = env.open().await;
    assert_eq!(store.head().await.unwrap().size, head.size + 1);
    assert_verifies(&env, &store).await;
}
