//! Buffered projection, on the backend this module is compiled for: the
//! state a transaction leaves is the one its events project to in order,
//! however the changes were grouped into statements; reads in the
//! transaction see every append before them; a failed write of the buffer
//! poisons the transaction like a failed append.

use super::super::{BACKEND, Inner};
use super::rows::ROW_BATCH;
use crate::verify::{Options, verify};
use crate::{Location, OpenOptions, Store, StoreError, WriteTx};
use soxctl_model::clock::ManualClock;
use soxctl_model::event::{
    AccountFact, Baselined, EntitlementFact, Event, GrantFact, Origin, PersonFact,
    RoleEntitlementFact, RoleFact, SystemFact, TokenCreated,
};
use soxctl_model::ids::{AccountId, EntitlementId, PersonId, RoleId, SystemId, TokenId};
use soxctl_model::inventory::{
    Account, AccountKind, AccountStatus, Entitlement, Grant, GrantSource, Person, PersonStatus,
    Role, RoleEntitlement, System,
};
use soxctl_model::principal::{Principal, Scope};
use soxctl_model::time::Timestamp;
use std::sync::Arc;

const ORIGIN: &str = "test.soxctl.example/ledger";

struct Env {
    store: Store,
    dir: tempfile::TempDir,
}

async fn env() -> Env {
    let dir = tempfile::tempdir().unwrap();
    let location = if BACKEND == "sqlite" {
        Location::Sqlite(dir.path().join("data"))
    } else {
        Location::Postgres(
            soxctl_testkit::postgres()
                .and_then(|pg| pg.fresh_database())
                .unwrap_or_else(|e| panic!("PostgreSQL for the tests: {e}")),
        )
    };
    let store = Store::open(OpenOptions {
        location,
        create: true,
        clock: Arc::new(ManualClock::new(ts("2025-06-30T17:00:00Z"))),
        failpoints: Default::default(),
    })
    .await
    .unwrap();
    store.initialise(Some(ORIGIN.into()), false).await.unwrap();
    Env { store, dir }
}

impl Env {
    /// This backend's side of the store, for a `Tx` with its connection.
    fn inner(&self) -> &Inner {
        let inner: &dyn std::any::Any = match &self.store {
            Store::Sqlite(inner) => inner,
            Store::Postgres(inner) => inner,
        };
        inner.downcast_ref().unwrap()
    }

    /// Signs a checkpoint and verifies: replaying the ledger through the
    /// projection must give exactly the stored state rows.
    async fn assert_verifies(&self) {
        let key =
            crate::signing::load_or_create(&self.dir.path().join("signing.key"), ORIGIN).unwrap();
        self.store.sign_checkpoint(&key).await.unwrap();
        let options = Options {
            key: &key.verifier(),
            trusted_checkpoint: None,
        };
        if let Err(e) = verify(&self.store, options, |_, _| {}).await {
            panic!("verify on {BACKEND}: {e}");
        }
    }
}

fn ts(s: &str) -> Timestamp {
    Timestamp::parse(s).unwrap()
}

fn actor() -> Principal {
    Principal::system("test")
}

fn sys() -> SystemId {
    SystemId::parse("erp").unwrap()
}

fn ent(i: u32) -> EntitlementId {
    EntitlementId::parse(format!("E{i}")).unwrap()
}

fn acc(i: u32) -> AccountId {
    AccountId::parse(format!("a{i:03}")).unwrap()
}

fn entitlement(i: u32) -> Entitlement {
    Entitlement {
        system_id: sys(),
        entitlement_id: ent(i),
        name: Some(format!("entitlement {i}")),
        privileged: i.is_multiple_of(3),
        owner_id: None,
        description: None,
    }
}

fn account(i: u32, status: AccountStatus) -> Account {
    Account {
        system_id: sys(),
        account_id: acc(i),
        person_id: (i == 0).then(|| PersonId::parse("p1").unwrap()),
        kind: AccountKind::Human,
        status,
        last_login: None,
        mfa: Some(i.is_multiple_of(2)),
        owner_id: None,
        credential_rotated_at: None,
    }
}

fn grant(a: u32, e: u32, at: &str, source: GrantSource) -> Grant {
    Grant {
        system_id: sys(),
        account_id: acc(a),
        entitlement_id: ent(e),
        granted_at: Some(ts(at)),
        source,
    }
}

fn role_entitlement(role: &str, e: u32) -> RoleEntitlement {
    RoleEntitlement {
        role_id: RoleId::parse(role).unwrap(),
        system_id: sys(),
        entitlement_id: ent(e),
    }
}

fn role(id: &str) -> Role {
    Role {
        role_id: RoleId::parse(id).unwrap(),
        name: Some(id.to_lowercase()),
        owner_id: None,
    }
}

macro_rules! fact {
    ($variant:ident, $fact:ident, $field:ident: $value:expr) => {
        Event::$variant($fact {
            origin: Origin::default(),
            changed: None,
            $field: $value,
        })
    };
}

fn token(i: u64) -> Event {
    Event::TokenCreated(TokenCreated {
        token_id: TokenId::parse(format!("tok{i:05}")).unwrap(),
        secret_sha256: format!("{i:064x}"),
        scopes: vec![Scope::Read],
        system_id: None,
        person_id: None,
        expires_at: None,
        description: None,
        repo: None,
        environments: Vec::new(),
    })
}

async fn append_all(tx: &mut WriteTx, events: &[Event]) {
    for event in events {
        tx.append(&actor(), event).await.unwrap();
    }
}

/// Runs of every table and both operations, longer than a statement, with
/// keys upserted twice in one run, upserted then deleted, and deleted then
/// upserted, around changes that are written on their own (tokens).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batched_changes_end_as_their_events_project() {
    let env = env().await;
    let accounts = ROW_BATCH as u32 + 16;
    let mut tx = env.store.begin_write().await.unwrap();
    let person = Person {
        email: Some("ada@example.com".into()),
        ..person("p1", "Ada Lovelace")
    };
    let sealed = tx.seal_person(&person).await.unwrap();
    let mut events = vec![
        fact!(PersonAdded, PersonFact, person: sealed),
        fact!(SystemAdded, SystemFact, system: System {
            system_id: sys(),
            name: "ERP".into(),
            kind: None,
            owner_id: None,
            sox_in_scope: true,
        }),
        Event::SystemBaselined(Baselined {
            system_id: sys(),
            import_id: "imp1".into(),
            as_of: ts("2025-06-30T00:00:00Z"),
        }),
    ];
    events.extend(
        (0..10).map(|e| fact!(EntitlementAdded, EntitlementFact, entitlement: entitlement(e))),
    );
    events.extend(
        (0..accounts)
            .map(|a| fact!(AccountAdded, AccountFact, account: account(a, AccountStatus::Active))),
    );
    events.push(token(1));
    for a in 0..accounts {
        for e in [a % 10, (a + 1) % 10] {
            let g = grant(a, e, "2024-01-01T00:00:00Z", GrantSource::Direct);
            events.push(fact!(GrantAdded, GrantFact, grant: g));
        }
    }
    append_all(&mut tx, &events).await;

    // Reads in the transaction see every append so far.
    let inventory = tx.inventory().await.unwrap();
    assert_eq!(inventory.accounts.len(), accounts as usize);
    assert_eq!(inventory.grants.len(), 2 * accounts as usize);
    assert_eq!(tx.baselined_systems().await.unwrap(), vec![sys()]);

    let changed = |at: &str| {
        let g = grant(0, 0, at, GrantSource::Direct);
        fact!(GrantChanged, GrantFact, grant: g)
    };
    let events = vec![
        // One run upserting the same key twice: the later row stays.
        changed("2024-02-01T00:00:00Z"),
        changed("2024-03-01T00:00:00Z"),
        // Upserted above, deleted here: gone.
        fact!(GrantRemoved, GrantFact, grant: grant(1, 1, "2024-01-01T00:00:00Z", GrantSource::Direct)),
        fact!(GrantRemoved, GrantFact, grant: grant(3, 3, "2024-01-01T00:00:00Z", GrantSource::Direct)),
        // Deleted above, upserted here: back, from its role.
        fact!(GrantAdded, GrantFact, grant: grant(3, 3, "2024-04-01T00:00:00Z", GrantSource::Role(RoleId::parse("R1").unwrap()))),
        fact!(AccountChanged, AccountFact, account: account(5, AccountStatus::Disabled)),
        fact!(AccountRemoved, AccountFact, account: account(accounts - 1, AccountStatus::Active)),
        fact!(EntitlementChanged, EntitlementFact, entitlement: Entitlement { description: Some("changed".into()), ..entitlement(2) }),
        fact!(EntitlementRemoved, EntitlementFact, entitlement: entitlement(9)),
        fact!(RoleAdded, RoleFact, role: role("R1")),
        fact!(RoleAdded, RoleFact, role: role("R2")),
        fact!(RoleEntitlementAdded, RoleEntitlementFact, role_entitlement: role_entitlement("R1", 3)),
        fact!(RoleEntitlementAdded, RoleEntitlementFact, role_entitlement: role_entitlement("R1", 4)),
        fact!(RoleEntitlementAdded, RoleEntitlementFact, role_entitlement: role_entitlement("R1", 3)),
        token(2),
        fact!(RoleEntitlementRemoved, RoleEntitlementFact, role_entitlement: role_entitlement("R1", 4)),
        fact!(RoleRemoved, RoleFact, role: role("R2")),
    ];
    append_all(&mut tx, &events).await;
    let inventory = tx.inventory().await.unwrap();
    assert_eq!(inventory.grants.len(), 2 * accounts as usize - 1);
    assert_eq!(inventory.role_entitlements.len(), 1);
    assert_eq!(inventory.roles.len(), 1);
    assert!(
        tx.token(&TokenId::parse("tok00002").unwrap())
            .await
            .unwrap()
            .is_some()
    );
    tx.commit().await.unwrap();

    let inventory = env.store.inventory().await.unwrap();
    let g = |a: u32, e: u32| {
        inventory
            .grants
            .values()
            .find(|g| g.account_id == acc(a) && g.entitlement_id == ent(e))
    };
    assert_eq!(
        g(0, 0).and_then(|g| g.granted_at),
        Some(ts("2024-03-01T00:00:00Z"))
    );
    assert!(g(1, 1).is_none());
    assert_eq!(
        g(3, 3).map(|g| g.source.clone()),
        Some(GrantSource::Role(RoleId::parse("R1").unwrap()))
    );
    assert_eq!(inventory.accounts.len(), accounts as usize - 1);
    assert_eq!(inventory.entitlements.len(), 9);
    env.assert_verifies().await;
}

/// A statement of the buffer that fails (here: its table was dropped in the
/// transaction) fails the read, append or commit that wrote it, and the
/// transaction can then only be rolled back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_write_of_the_buffer_poisons_the_transaction() {
    let env = env().await;
    let size = env.store.head().await.unwrap().size;
    let event = |a: u32| {
        let g = grant(a, 0, "2024-01-01T00:00:00Z", GrantSource::Direct);
        fact!(GrantAdded, GrantFact, grant: g)
    };
    let poisoned = |r: Result<u64, StoreError>| matches!(r, Err(StoreError::Invalid(m)) if m.contains("only be rolled back"));
    for fails_at in ["read", "append", "commit"] {
        let mut tx = env.inner().begin_write().await.unwrap();
        tx.append(&actor(), &event(0)).await.unwrap();
        // Writes the buffer first, so the grant above lands.
        let conn = tx.conn().await.unwrap();
        sqlx::query("DROP TABLE grants")
            .execute(conn)
            .await
            .unwrap();
        tx.append(&actor(), &event(1)).await.unwrap();
        match fails_at {
            "read" => assert!(tx.inventory().await.is_err()),
            "append" => {
                // The append that fills a run starts writing the buffer in
                // the background; the failure shows at the next append that
                // writes (the one that fills the next run).
                let mut failed = None;
                for a in 2..2 + 2 * ROW_BATCH as u32 {
                    if let Err(e) = tx.append(&actor(), &event(a)).await {
                        failed = Some((a, e));
                        break;
                    }
                }
                let (a, e) = failed.expect("a full run is written");
                assert_eq!(a, 2 * ROW_BATCH as u32, "{e}");
            }
            _ => {
                assert!(tx.commit().await.is_err());
                continue;
            }
        }
        assert!(poisoned(tx.append(&actor(), &event(99)).await));
        assert!(
            tx.conn().await.is_ok(),
            "the buffer is empty after a failure"
        );
        assert!(tx.commit().await.is_err());
    }
    assert_eq!(env.store.head().await.unwrap().size, size);
    assert!(env.store.inventory().await.unwrap().grants.is_empty());
    env.assert_verifies().await;
}

/// The indexes of the store, by name with their definitions.
async fn indexes(env: &Env) -> Vec<(String, String)> {
    let sql = if BACKEND == "sqlite" {
        "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL ORDER BY name"
    } else {
        "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema() ORDER BY indexname"
    };
    sqlx::query_as(sql)
        .fetch_all(&env.inner().pool)
        .await
        .unwrap()
}

/// A write prepared as a bulk one (on SQLite: a larger page cache, and
/// the secondary indexes of the tables it fills from empty built at
/// commit) ends in the state its events project, with the schema it
/// started with; rolled back, it leaves both as they were.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bulk_write_leaves_the_schema_and_projects_its_events() {
    let env = env().await;
    let before = indexes(&env).await;
    assert!(
        before
            .iter()
            .any(|(name, _)| name == "grants_by_entitlement")
    );
    let events: Vec<Event> = (0..40)
        .map(|i| fact!(AccountAdded, AccountFact, account: account(i, AccountStatus::Active)))
        .chain((0..40).flat_map(|a| {
            (0..3).map(move |e| {
                let g = grant(a, e, "2024-01-01T00:00:00Z", GrantSource::Direct);
                fact!(GrantAdded, GrantFact, grant: g)
            })
        }))
        .collect();

    let mut tx = env.store.begin_write().await.unwrap();
    tx.prepare_bulk(1_000_000).await.unwrap();
    append_all(&mut tx, &events).await;
    drop(tx);
    assert_eq!(indexes(&env).await, before);
    assert!(env.store.inventory().await.unwrap().grants.is_empty());

    let mut tx = env.inner().begin_write().await.unwrap();
    tx.prepare_bulk(1_000_000).await.unwrap();
    for event in &events {
        tx.append(&actor(), event).await.unwrap();
    }
    if BACKEND == "sqlite" {
        let (left,): (i64,) = sqlx::query_as(
            "SELECT count(*) FROM sqlite_master WHERE name IN ('grants_by_entitlement', 'accounts_by_person')",
        )
        .fetch_one(tx.conn().await.unwrap())
        .await
        .unwrap();
        assert_eq!(left, 0, "built at commit");
    }
    // Reads in the transaction see its appends, indexes or not.
    assert_eq!(tx.inventory().await.unwrap().grants.len(), 120);
    tx.commit().await.unwrap();
    assert_eq!(indexes(&env).await, before);
    let inventory = env.store.inventory().await.unwrap();
    assert_eq!(
        (inventory.accounts.len(), inventory.grants.len()),
        (40, 120)
    );
    env.assert_verifies().await;
}

fn person(id: &str, name: &str) -> Person {
    Person {
        person_id: PersonId::parse(id).unwrap(),
        name: Some(name.into()),
        email: Some(format!("{id}@example.com")),
        manager_id: None,
        department: None,
        title: None,
        status: PersonStatus::Active,
        hire_date: None,
        termination_date: None,
    }
}

/// Keys made for sealing are inserted with the buffered rows, not one
/// statement each: the projection still opens what they sealed in the
/// transaction, the committed keys are found again by `prepare_sealing`
/// (the next change of the person is sealed under the same key), and a
/// shredding in the transaction deletes a key not yet written too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn buffered_person_keys_are_written_and_found_again() {
    let env = env().await;
    let ids: Vec<PersonId> = (0..3)
        .map(|i| PersonId::parse(format!("p{i}")).unwrap())
        .collect();

    let mut tx = env.inner().begin_write().await.unwrap();
    tx.prepare_sealing(&ids).await.unwrap();
    for (i, id) in ids.iter().enumerate() {
        let sealed = tx
            .seal_person(&person(id.as_str(), &format!("Name {i}")))
            .await
            .unwrap();
        let event = fact!(PersonAdded, PersonFact, person: sealed);
        tx.append(&actor(), &event).await.unwrap();
    }
    // Reads in the transaction see the keys' rows and the opened names.
    let p1 = super::rows::person(tx.conn().await.unwrap(), &ids[1])
        .await
        .unwrap()
        .unwrap();
    assert_eq!(p1.person.name.as_deref(), Some("Name 1"));
    let shredded = tx.shred_person_keys(&ids[2]).await.unwrap();
    assert_eq!(shredded, 1, "the unwritten key is written, then deleted");
    let erased = Event::PersonErased(soxctl_model::event::PersonErased {
        person_id: ids[2].clone(),
        reason: "test".into(),
    });
    tx.append(&actor(), &erased).await.unwrap();
    tx.commit().await.unwrap();

    let keys = env.store.person_keys().await.unwrap();
    assert_eq!(keys.len(), 2);
    let kid_of = |id: &PersonId| {
        keys.keys()
            .find(|(p, _)| p == id)
            .map(|(_, kid)| *kid)
            .unwrap()
    };
    let first = kid_of(&ids[0]);

    let mut tx = env.store.begin_write().await.unwrap();
    tx.prepare_sealing(&ids).await.unwrap();
    let sealed = tx
        .seal_person(&person(ids[0].as_str(), "Renamed"))
        .await
        .unwrap();
    assert_eq!(sealed.name.as_ref().unwrap().kid, first, "the same key");
    let event = fact!(PersonChanged, PersonFact, person: sealed);
    tx.append(&actor(), &event).await.unwrap();
    // The shredded person gets a new key.
    let sealed = tx
        .seal_person(&person(ids[2].as_str(), "Back"))
        .await
        .unwrap();
    let event = fact!(PersonAdded, PersonFact, person: sealed);
    tx.append(&actor(), &event).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(env.store.person_keys().await.unwrap().len(), 3);
    let p0 = env.store.person(&ids[0]).await.unwrap().unwrap();
    assert_eq!(p0.person.name.as_deref(), Some("Renamed"));
    env.assert_verifies().await;
}
