//! Just-in-time approvals end to end on a real store (SQLite and
//! PostgreSQL): an inventory imported from a snapshot, SoD rules loaded as a
//! document, then requests, decisions, grants and expiries under an
//! injected clock. Every test ends with `verify`: the new state tables must
//! equal a replay of the ledger.

#![allow(clippy::unwrap_used, clippy::panic, reason = "tests")]

use soxctl_app::ingest::{ImportOptions, import};
use soxctl_app::mitigations::MitigationRequest;
use soxctl_app::{
    ChangeCommit, DecisionInput, NewAccess, NewAction, NewAsk, NewChange, NewDelegation,
    NewRequest, WorkflowError,
};
use soxctl_connectors::snapshot;
use soxctl_model::clock::ManualClock;
use soxctl_model::document::DocumentKind;
use soxctl_model::ids::{PersonId, RequestId};
use soxctl_model::principal::Principal;
use soxctl_model::request::{Activation, Decision, RequestStatus};
use soxctl_model::time::Timestamp;
use soxctl_store::verify::Options;
use soxctl_store::{FailPoints, Location, OpenOptions, Store};
use std::sync::Arc;

const ORIGIN: &str = "test.soxctl.example/ledger";
const START: &str = "2026-03-02T09:00:00Z";

macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$name(super::Env::new(false).await).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                super::$name(super::Env::new(true).await).await
            }
        }
    )*};
}

#[path = "workflow/actions.rs"]
mod actions;
#[path = "workflow/approvals.rs"]
mod approvals;
#[path = "workflow/authors.rs"]
mod authors;
#[path = "workflow/breakglass.rs"]
mod breakglass;
#[path = "workflow/delegation.rs"]
mod delegation;
#[path = "workflow/gate.rs"]
mod gate;
#[path = "workflow/lifecycle.rs"]
mod lifecycle;

struct Env {
    dir: tempfile::TempDir,
    location: Location,
    clock: Arc<ManualClock>,
    store: Store,
}

fn ts(s: &str) -> Timestamp {
    Timestamp::parse(s).unwrap()
}

fn pid(s: &str) -> PersonId {
    PersonId::parse(s).unwrap()
}

fn actor() -> Principal {
    "token:tok-test".parse().unwrap()
}

const PEOPLE: &str =
    "person_id,name,email,manager_id,department,title,status,hire_date,termination_date
req,Rita Requester,rita@example.com,mgr,Finance,Analyst,active,,
mgr,Max Manager,max@example.com,,Finance,Controller,active,,
own,Olga Owner,olga@example.com,mgr,Finance,AP Lead,active,,
sys,Sam Sysowner,sam@example.com,mgr,IT,ERP Admin,active,,
vend,Vera Vendor,vera@example.com,mgr,Procurement,Buyer,active,,
del,Dan Delegate,dan@example.com,mgr,Finance,Deputy,active,,
";

fn people(terminated: &[&str]) -> String {
    PEOPLE
        .lines()
        .map(|line| {
            let id = line.split(',').next().unwrap_or("");
            if terminated.contains(&id) {
                line.replace(",active,,", ",terminated,,2026-03-01")
            } else {
                line.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
        + "\n"
}

const RULES: &str = r#"
[[function]]
id = "VENDOR_MAINTAIN"
entitlements = ["erp:VENDOR_CREATE"]

[[function]]
id = "PAYMENT_APPROVE"
entitlements = ["erp:AP_PAY"]

[[risk]]
id = "P2P-01"
severity = "critical"
functions = ["VENDOR_MAINTAIN", "PAYMENT_APPROVE"]

[[function]]
id = "JOURNAL_POST"
entitlements = ["erp:GL_POST"]

[[risk]]
id = "R2R-01"
severity = "medium"
functions = ["JOURNAL_POST", "PAYMENT_APPROVE"]
"#;

/// Every owner and the manager are asked; one approval, two for a
/// critical conflict; reminders after 4 h, escalation after a day.
const POLICIES: &str = r#"
[defaults]
approvers = ["entitlement_owner", "system_owner", "manager"]
count = 1
critical_approvals = 2
max_duration = "8h"
undecided_expiry = "72h"
approval_window = "24h"
reminder_after = "4h"
escalate_after = "24h"
"#;

impl Env {
    async fn new(postgres: bool) -> Env {
        let dir = tempfile::tempdir().unwrap();
        let location = if postgres {
            Location::Postgres(
                soxctl_testkit::postgres()
                    .and_then(|pg| pg.fresh_database())
                    .unwrap_or_else(|e| panic!("PostgreSQL for the tests: {e}")),
            )
        } else {
            Location::Sqlite(dir.path().join("data"))
        };
        let clock = Arc::new(ManualClock::new(ts(START)));
        let store = Self::open_at(&location, &clock).await;
        store.initialise(Some(ORIGIN.into()), false).await.unwrap();
        let env = Env {
            dir,
            location,
            clock,
            store,
        };
        env.import(&[]).await;
        let mut tx = env.store.begin_write().await.unwrap();
        tx.load_document(&actor(), DocumentKind::Rules, "rules.toml", RULES)
            .await
            .unwrap();
        tx.load_document(&actor(), DocumentKind::Policies, "approvals.toml", POLICIES)
            .await
            .unwrap();
        tx.commit().await.unwrap();
        env
    }

    async fn open_at(location: &Location, clock: &Arc<ManualClock>) -> Store {
        Store::open(OpenOptions {
            location: location.clone(),
            create: true,
            clock: clock.clone(),
            failpoints: FailPoints::default(),
        })
        .await
        .unwrap()
    }

    /// A second handle on the same store, as after a restart.
    async fn reopen(&self) -> Store {
        Self::open_at(&self.location, &self.clock).await
    }

    /// The small finance org: `req` asks, `own` owns AP_PAY, `sys` owns
    /// the ERP, `mgr` manages everyone; `vend` and `sys` hold VENDOR_CREATE.
    async fn import(&self, terminated: &[&str]) {
        self.import_with(terminated, "").await
    }

    /// As `import`, with extra `grants.csv` lines.
    async fn import_with(&self, terminated: &[&str], extra_grants: &str) {
        self.import_full(terminated, "", extra_grants).await
    }

    /// As `import`, with extra `accounts.csv` and `grants.csv` lines.
    async fn import_full(&self, terminated: &[&str], extra_accounts: &str, extra_grants: &str) {
        let n = self.size().await;
        let dir = self
            .dir
            .path()
            .join(format!("snap-{}-{n}", terminated.join("-")));
        std::fs::create_dir_all(&dir).unwrap();
        let files = [
            ("people.csv", people(terminated)),
            (
                "systems.csv",
                "system_id,name,kind,owner_id,sox_in_scope\nerp,ERP,erp,sys,true\n".to_owned(),
            ),
            (
                "entitlements.csv",
                "system_id,entitlement_id,name,privileged,owner_id,description
erp,AP_PAY,Approve payments,true,own,
erp,VENDOR_CREATE,Create vendors,false,own,
erp,GL_POST,Post journals,false,own,
"
                .to_owned(),
            ),
            (
                "accounts.csv",
                "system_id,account_id,person_id,kind,status,last_login,mfa
erp,rita,req,human,active,,true
erp,max,mgr,human,active,,true
erp,olga,own,human,active,,true
erp,sam,sys,human,active,,true
erp,vera,vend,human,active,,true
erp,dan,del,human,active,,true
"
                .to_owned()
                    + extra_accounts,
            ),
            (
                "grants.csv",
                "system_id,account_id,entitlement_id,granted_at,source
erp,sam,VENDOR_CREATE,,direct
erp,vera,VENDOR_CREATE,,direct
"
                .to_owned()
                    + extra_grants,
            ),
        ];
        for (name, content) in files {
            std::fs::write(dir.join(name), content).unwrap();
        }
        let snapshot = snapshot::read(&dir).unwrap();
        // The tiny test system loses one grant in three when a revoked one goes.
        let options = ImportOptions {
            max_removals_percent: 100,
            ..ImportOptions::default()
        };
        import(&self.store, &snapshot, &options).await.unwrap();
    }

    /// Loads the test policies with extra rules and a `[gate]` table.
    async fn policies(&self, rules: &str, gate: &str) {
        let mut tx = self.store.begin_write().await.unwrap();
        tx.load_document(
            &actor(),
            DocumentKind::Policies,
            "approvals.toml",
            &format!("{POLICIES}\n{rules}\n[gate]\n{gate}\n"),
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
    }

    /// The test policies with this `[gate]` table.
    async fn gate_settings(&self, gate: &str) {
        self.policies("", gate).await
    }

    async fn size(&self) -> u64 {
        self.store.head().await.unwrap().size
    }

    async fn ask(&self, requester: &str, request: NewRequest) -> Result<RequestId, WorkflowError> {
        let mut tx = self.store.begin_write().await.unwrap();
        let created = soxctl_app::create(&mut tx, &actor(), &pid(requester), request).await?;
        tx.commit().await.unwrap();
        Ok(created.request.request_id)
    }

    async fn decide(
        &self,
        approver: &str,
        request_id: &RequestId,
        decision: Decision,
    ) -> Result<soxctl_app::Decided, WorkflowError> {
        let mut tx = self.store.begin_write().await.unwrap();
        let decided = soxctl_app::decide(
            &mut tx,
            &actor(),
            &pid(approver),
            DecisionInput {
                request_id: request_id.clone(),
                decision,
                comment: Some("checked the ticket".into()),
                mfa: false,
                issued_by: None,
            },
        )
        .await?;
        tx.commit().await.unwrap();
        Ok(decided)
    }

    async fn sweep(&self, store: &Store) -> soxctl_app::Sweep {
        let mut tx = store.begin_write().await.unwrap();
        let report = soxctl_app::sweep(&mut tx).await.unwrap();
        tx.commit().await.unwrap();
        report
    }

    /// A mitigation of P2P-01 for `identity`, approved by mgr.
    async fn mitigate(&self, identity: &str) {
        let mut tx = self.store.begin_write().await.unwrap();
        soxctl_app::mitigations::grant(
            &mut tx,
            &actor(),
            MitigationRequest {
                risk_id: "P2P-01".into(),
                identity: identity.into(),
                control: "weekly vendor payment review".into(),
                owner_id: pid("mgr"),
                approver_id: pid("mgr"),
                reason: "cover during month end".into(),
                expires_at: ts("2026-06-01T00:00:00Z"),
            },
            soxctl_model::clock::Clock::now(self.clock.as_ref()),
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
    }

    async fn status(&self, request_id: &RequestId) -> RequestStatus {
        self.store
            .request(request_id)
            .await
            .unwrap()
            .unwrap()
            .status
    }

    async fn verify(&self) {
        let key =
            soxctl_store::signing::load_or_create(&self.dir.path().join("key"), ORIGIN).unwrap();
        self.store.sign_checkpoint(&key).await.unwrap();
        let verifier = key.verifier();
        soxctl_store::verify::verify(
            &self.store,
            Options {
                key: &verifier,
                trusted_checkpoint: None,
            },
            |_, _| {},
        )
        .await
        .unwrap_or_else(|e| panic!("verify: {e}"));
    }

    async fn topics(&self) -> Vec<String> {
        self.store
            .outbox_records(0, 1000)
            .await
            .unwrap()
            .into_iter()
            .map(|r| r.topic)
            .collect()
    }
}

fn access(entitlement: &str, hours: Option<u64>) -> NewRequest {
    NewRequest {
        ask: NewAsk::Access(NewAccess {
            person_id: None,
            entitlement: Some(entitlement.to_owned()),
            role_id: None,
            duration_secs: hours.map(|h| h * 3600),
            activation: Activation::OnApproval,
        }),
        justification: "quarter-end payment run".into(),
        ticket: Some("CHG-1234".into()),
    }
}

fn refused(result: Result<impl std::fmt::Debug, WorkflowError>, needle: &str) {
    match result {
        Err(WorkflowError::Refused(m)) if m.contains(needle) => {}
        other => panic!("expected a refusal containing {needle:?}, got {other:?}"),
    }
}

fn conflict(result: Result<impl std::fmt::Debug, WorkflowError>, needle: &str) {
    match result {
        Err(WorkflowError::Conflict(m)) if m.contains(needle) => {}
        other => panic!("expected a conflict containing {needle:?}, got {other:?}"),
    }
}

fn payment(payload: serde_json::Value) -> NewRequest {
    NewRequest {
        ask: NewAsk::Action(NewAction {
            kind: "payment".into(),
            env: "prod".into(),
            payload,
            change: None,
        }),
        justification: "supplier invoice 991".into(),
        ticket: None,
    }
}

/// A change of one commit per author, each its own committer.
fn change_by(authors: &[&str]) -> NewChange {
    NewChange {
        repo: "github.com/acme/app".into(),
        run: None,
        commits: authors
            .iter()
            .enumerate()
            .map(|(i, a)| ChangeCommit {
                sha: format!("{:040x}", i + 1),
                author: (*a).to_owned(),
                committer: (*a).to_owned(),
                co_authors: Vec::new(),
            })
            .collect(),
    }
}

/// A deployment of `commit` to prod, written by `authors`.
fn deployment(commit: &str, authors: &[&str]) -> NewRequest {
    NewRequest {
        ask: NewAsk::Action(NewAction {
            kind: "deploy".into(),
            env: "prod".into(),
            payload: soxctl_app::gate::deploy_payload(commit),
            change: Some(change_by(authors)),
        }),
        justification: format!("release {commit}"),
        ticket: None,
    }
}
