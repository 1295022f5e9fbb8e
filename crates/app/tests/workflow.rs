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

on_both_backends!(
    access_is_approved_once_and_granted_for_its_duration,
    nobody_approves_their_own_or_a_conflicting_request,
    critical_violations_need_a_mitigation_and_two_approvers,
    terminated_approvers_cannot_decide,
    delegates_decide_in_the_delegators_seat,
    two_approvers_at_once_record_one_completion,
    undecided_requests_and_grants_expire_across_restarts,
    manual_activation_within_the_approval_window,
    actions_are_bound_to_their_digest_and_exclude_authors,
    bad_input_changes_nothing,
    cancelling_ends_the_grants,
    execution_tokens_are_bound_and_single_use,
    the_gate_allows_only_approved_commits_deployed_by_non_authors,
    break_glass_is_immediate_alerted_and_reviewed,
    revocations_are_confirmed_by_the_next_import,
    undecided_requests_remind_then_escalate_once,
    activation_is_judged_again_when_it_happens,
    two_of_two_approvals_at_once_both_count,
    approvals_needed_rise_with_a_new_critical_risk,
    delegates_are_judged_as_approvers_themselves,
    authors_are_known_by_their_accounts_and_unknown_ones_are_flagged,
    violations_an_import_brings_are_alerted,
    remembered_verdicts_follow_the_ledger_and_the_clock,
    deployers_are_identities_not_strings,
    authors_are_folded_and_platform_authors_are_nobody,
    pipelines_register_deployments,
    decisions_through_someone_elses_credential,
    approvals_are_bound_to_their_repository,
    delegations_through_someone_elses_credential,
);

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

async fn access_is_approved_once_and_granted_for_its_duration(env: Env) {
    let id = env
        .ask("req", access("erp:GL_POST", Some(4)))
        .await
        .unwrap();
    let request = env.store.request(&id).await.unwrap().unwrap();
    assert_eq!(request.status, RequestStatus::Pending);
    assert_eq!(request.required_approvals, 1);
    // Routed to the entitlement owner, the system owner and the manager;
    // sys holds VENDOR_CREATE, which GL_POST does not conflict with.
    assert_eq!(request.approvers, vec![pid("own"), pid("sys"), pid("mgr")]);
    assert!(request.sod.is_empty(), "{:?}", request.sod);
    assert_eq!(request.expires_at, ts("2026-03-05T09:00:00Z"));

    env.clock.set(ts("2026-03-02T10:00:00Z"));
    let decided = env.decide("own", &id, Decision::Approve).await.unwrap();
    assert_eq!(decided.request.status, RequestStatus::Approved);
    assert_eq!(decided.seqs.len(), 2, "approval + one grant");
    let grants = env.store.access_grants(Some(&id), None).await.unwrap();
    assert_eq!(grants.len(), 1);
    let g = &grants[0];
    assert_eq!(
        (
            g.system_id.as_str(),
            g.account_id.as_str(),
            g.entitlement_id.as_str()
        ),
        ("erp", "rita", "GL_POST")
    );
    assert_eq!(g.starts_at, ts("2026-03-02T10:00:00Z"));
    assert_eq!(g.ends_at, ts("2026-03-02T14:00:00Z"));

    conflict(
        env.decide("mgr", &id, Decision::Approve).await,
        "is approved",
    );
    let topics = env.topics().await;
    for t in ["request.created", "request.approved", "access.granted"] {
        assert!(topics.iter().any(|x| x == t), "{t} in {topics:?}");
    }
    let decisions = env.store.decisions(Some(&id)).await.unwrap();
    assert_eq!(decisions.len(), 1);
    assert_eq!(decisions[0].actor, "token:tok-test");
    assert!(!decisions[0].mfa);
    env.verify().await;
}

async fn nobody_approves_their_own_or_a_conflicting_request(env: Env) {
    // own asks for AP_PAY for req: own is the entitlement owner, routed but
    // removed as requester; sys holds VENDOR_CREATE and would be in P2P-01
    // conflict holding AP_PAY, so sys is removed too.
    let mut request = access("erp:AP_PAY", Some(2));
    if let NewAsk::Access(a) = &mut request.ask {
        a.person_id = Some(pid("req"));
    }
    let id = env.ask("own", request).await.unwrap();
    let row = env.store.request(&id).await.unwrap().unwrap();
    assert_eq!(row.approvers, vec![pid("mgr")]);
    refused(
        env.decide("own", &id, Decision::Approve).await,
        "nobody approves their own request",
    );
    refused(
        env.decide("req", &id, Decision::Approve).await,
        "would hold the access",
    );
    refused(
        env.decide("sys", &id, Decision::Approve).await,
        "SoD conflict (P2P-01)",
    );
    refused(
        env.decide("del", &id, Decision::Approve).await,
        "is not an approver",
    );
    assert_eq!(env.status(&id).await, RequestStatus::Pending);
    let denied = env.decide("mgr", &id, Decision::Deny).await.unwrap();
    assert_eq!(denied.request.status, RequestStatus::Denied);
    assert!(
        env.store
            .access_grants(Some(&id), None)
            .await
            .unwrap()
            .is_empty()
    );
    env.verify().await;
}

async fn critical_violations_need_a_mitigation_and_two_approvers(env: Env) {
    // vend holds VENDOR_CREATE: AP_PAY would complete P2P-01 (critical).
    let mut request = access("erp:AP_PAY", Some(1));
    if let NewAsk::Access(a) = &mut request.ask {
        a.person_id = Some(pid("vend"));
    }
    let id = env.ask("req", request).await.unwrap();
    let row = env.store.request(&id).await.unwrap().unwrap();
    assert_eq!(row.sod.len(), 1);
    assert_eq!(
        (
            row.sod[0].risk_id.as_str(),
            row.sod[0].severity.as_str(),
            row.sod[0].mitigated
        ),
        ("P2P-01", "critical", false)
    );
    assert_eq!(row.required_approvals, 2, "critical risk: two approvers");
    refused(
        env.decide("own", &id, Decision::Approve).await,
        "critical SoD violation (P2P-01)",
    );
    let mut tx = env.store.begin_write().await.unwrap();
    soxctl_app::mitigations::grant(
        &mut tx,
        &actor(),
        MitigationRequest {
            risk_id: "P2P-01".into(),
            identity: "vend".into(),
            control: "weekly vendor payment review".into(),
            owner_id: pid("mgr"),
            approver_id: pid("mgr"),
            reason: "cover during month end".into(),
            expires_at: ts("2026-06-01T00:00:00Z"),
        },
        soxctl_model::clock::Clock::now(env.clock.as_ref()),
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let first = env.decide("own", &id, Decision::Approve).await.unwrap();
    assert_eq!(
        (first.request.status, first.request.approvals),
        (RequestStatus::Pending, 1)
    );
    assert!(
        env.store
            .access_grants(Some(&id), None)
            .await
            .unwrap()
            .is_empty()
    );
    let second = env.decide("mgr", &id, Decision::Approve).await.unwrap();
    assert_eq!(
        (second.request.status, second.request.approvals),
        (RequestStatus::Approved, 2)
    );
    assert_eq!(
        env.store
            .access_grants(Some(&id), None)
            .await
            .unwrap()
            .len(),
        1
    );

    // SoD counts the time-bound grant while it lasts (DESIGN A6): the
    // violation is found, accepted under the mitigation, and resolved
    // when the grant expires.
    let sod = |at: &'static str| {
        let store = env.store.clone();
        let clock = env.clock.clone();
        async move {
            clock.set(ts(at));
            let mut tx = store.begin_write().await.unwrap();
            soxctl_app::sweep(&mut tx).await.unwrap();
            let now = soxctl_model::clock::Clock::now(clock.as_ref());
            soxctl_app::findings::evaluate(&mut tx, now, &Default::default())
                .await
                .unwrap();
            tx.commit().await.unwrap();
            store
                .findings(&soxctl_store::findings::Filter {
                    kind: Some("sod_violation".into()),
                    ..Default::default()
                })
                .await
                .unwrap()
                .into_iter()
                .map(|f| (f.subject, f.status))
                .collect::<Vec<_>>()
        }
    };
    use soxctl_model::finding::FindingStatus;
    assert_eq!(
        sod("2026-03-02T09:30:00Z").await,
        vec![("risk:P2P-01:vend".to_owned(), FindingStatus::Accepted)]
    );
    assert_eq!(
        sod("2026-03-02T10:00:00Z").await,
        vec![("risk:P2P-01:vend".to_owned(), FindingStatus::Resolved)]
    );
    env.verify().await;
}

async fn terminated_approvers_cannot_decide(env: Env) {
    let id = env.ask("req", access("erp:GL_POST", None)).await.unwrap();
    env.import(&["own"]).await;
    refused(
        env.decide("own", &id, Decision::Approve).await,
        "has left the company",
    );
    // The others still may.
    env.decide("mgr", &id, Decision::Approve).await.unwrap();
    env.verify().await;
}

async fn delegates_decide_in_the_delegators_seat(env: Env) {
    let id = env.ask("req", access("erp:GL_POST", None)).await.unwrap();
    let mut tx = env.store.begin_write().await.unwrap();
    let (delegation_id, _) = soxctl_app::delegate(
        &mut tx,
        &actor(),
        &pid("mgr"),
        NewDelegation {
            delegate_id: pid("del"),
            starts_at: None,
            ends_at: ts("2026-03-09T00:00:00Z"),
            reason: "holiday".into(),
            issued_by: None,
        },
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let decided = env.decide("del", &id, Decision::Approve).await.unwrap();
    assert_eq!(decided.on_behalf_of, Some(pid("mgr")));
    let decisions = env.store.decisions(Some(&id)).await.unwrap();
    assert_eq!(decisions[0].on_behalf_of, Some(pid("mgr")));

    // Once revoked, the delegate is no approver of a new request.
    let next = env.ask("req", access("erp:GL_POST", None)).await.unwrap();
    let mut tx = env.store.begin_write().await.unwrap();
    soxctl_app::revoke_delegation(&mut tx, &actor(), Some(&pid("mgr")), &delegation_id)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    refused(
        env.decide("del", &next, Decision::Approve).await,
        "is not an approver",
    );
    // A delegation past its end does not count either.
    let mut tx = env.store.begin_write().await.unwrap();
    soxctl_app::delegate(
        &mut tx,
        &actor(),
        &pid("mgr"),
        NewDelegation {
            delegate_id: pid("del"),
            starts_at: None,
            ends_at: ts("2026-03-02T12:00:00Z"),
            reason: "afternoon off".into(),
            issued_by: None,
        },
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    env.clock.set(ts("2026-03-02T12:00:00Z"));
    refused(
        env.decide("del", &next, Decision::Approve).await,
        "is not an approver",
    );
    env.verify().await;
}

async fn two_approvers_at_once_record_one_completion(env: Env) {
    let id = env.ask("req", access("erp:GL_POST", None)).await.unwrap();
    let env = Arc::new(env);
    let (a, b) = tokio::join!(
        {
            let env = env.clone();
            let id = id.clone();
            async move { env.decide("own", &id, Decision::Approve).await }
        },
        {
            let env = env.clone();
            let id = id.clone();
            async move { env.decide("mgr", &id, Decision::Approve).await }
        }
    );
    let wins = [a.is_ok(), b.is_ok()].iter().filter(|x| **x).count();
    assert_eq!(wins, 1, "exactly one approval completes: {a:?} {b:?}");
    let loser = if a.is_ok() { b } else { a };
    conflict(loser, "is approved");
    assert_eq!(env.store.decisions(Some(&id)).await.unwrap().len(), 1);
    assert_eq!(
        env.store
            .access_grants(Some(&id), None)
            .await
            .unwrap()
            .len(),
        1
    );
    env.verify().await;
}

async fn undecided_requests_and_grants_expire_across_restarts(env: Env) {
    let undecided = env.ask("req", access("erp:GL_POST", None)).await.unwrap();
    let granted = env
        .ask("req", access("erp:GL_POST", Some(1)))
        .await
        .unwrap();
    env.decide("own", &granted, Decision::Approve)
        .await
        .unwrap();

    // One microsecond before the deadline nothing is due.
    env.clock.set(ts("2026-03-02T09:59:59.999999Z"));
    assert_eq!(env.sweep(&env.store).await, soxctl_app::Sweep::default());
    // At the grant's end, a fresh handle (a restarted server) revokes it.
    env.clock.set(ts("2026-03-02T10:00:00Z"));
    let restarted = env.reopen().await;
    let swept = env.sweep(&restarted).await;
    assert_eq!((swept.requests_expired, swept.grants_expired), (0, 1));
    let grant = &env.store.access_grants(Some(&granted), None).await.unwrap()[0];
    assert_eq!(grant.ended_at, Some(ts("2026-03-02T10:00:00Z")));
    assert!(env.topics().await.iter().any(|t| t == "access.revoked"));

    // The undecided request: decisions fail at its deadline, the sweep records it.
    env.clock.set(ts("2026-03-05T09:00:00Z"));
    conflict(
        env.decide("own", &undecided, Decision::Approve).await,
        "expired undecided",
    );
    let swept = env.sweep(&restarted).await;
    assert_eq!((swept.requests_expired, swept.grants_expired), (1, 0));
    assert_eq!(env.status(&undecided).await, RequestStatus::Expired);
    assert_eq!(env.sweep(&restarted).await, soxctl_app::Sweep::default());
    env.verify().await;
}

async fn manual_activation_within_the_approval_window(env: Env) {
    let mut request = access("erp:GL_POST", Some(2));
    if let NewAsk::Access(a) = &mut request.ask {
        a.activation = Activation::Manual;
    }
    let id = env.ask("req", request.clone()).await.unwrap();
    let decided = env.decide("own", &id, Decision::Approve).await.unwrap();
    assert_eq!(decided.seqs.len(), 1, "no grant before activation");
    assert_eq!(
        decided.request.valid_until,
        Some(ts("2026-03-03T09:00:00Z"))
    );
    env.clock.set(ts("2026-03-02T15:00:00Z"));
    let activate = |who: &'static str, id: RequestId| {
        let store = env.store.clone();
        async move {
            let mut tx = store.begin_write().await.unwrap();
            let r = soxctl_app::activate(&mut tx, &actor(), &pid(who), &id).await;
            if r.is_ok() {
                tx.commit().await.unwrap();
            }
            r
        }
    };
    refused(activate("mgr", id.clone()).await, "only the requester");
    activate("req", id.clone()).await.unwrap();
    let grant = &env.store.access_grants(Some(&id), None).await.unwrap()[0];
    assert_eq!(
        (grant.starts_at, grant.ends_at),
        (ts("2026-03-02T15:00:00Z"), ts("2026-03-02T17:00:00Z"))
    );
    conflict(activate("req", id.clone()).await, "already activated");

    // A second approval left unused past its window cannot be activated and
    // the sweep records it as expired.
    let late = env.ask("req", request).await.unwrap();
    env.decide("own", &late, Decision::Approve).await.unwrap();
    env.clock.set(ts("2026-03-03T15:00:00Z"));
    conflict(activate("req", late.clone()).await, "ran out");
    let swept = env.sweep(&env.store).await;
    assert_eq!(swept.requests_expired, 1);
    env.verify().await;
}

async fn actions_are_bound_to_their_digest_and_exclude_authors(env: Env) {
    let payload = serde_json::json!({"repo": "ledger-app", "commit": "4f1c2d", "amount": {"amount": "1250.00", "currency": "USD"}});
    let action = |payload: serde_json::Value| NewRequest {
        ask: NewAsk::Action(NewAction {
            kind: "deploy".into(),
            env: "prod".into(),
            payload,
            change: Some(change_by(&["Max Manager <MAX@example.com>"])),
        }),
        justification: "release 4.2".into(),
        ticket: None,
    };
    // Actions route to the requester's manager under the default policy,
    // and the manager wrote the change: nobody is left.
    refused(
        env.ask("req", action(payload.clone())).await,
        "excluded: mgr: is an author",
    );
    let mut ok = action(payload.clone());
    if let NewAsk::Action(a) = &mut ok.ask {
        a.change = Some(change_by(&["Olga Owner <olga@example.com>"]));
    }
    let id = env.ask("req", ok).await.unwrap();
    let row = env.store.request(&id).await.unwrap().unwrap();
    assert_eq!(
        row.digest(),
        Some(
            soxctl_ledger::digest::action_digest("prod", "deploy", &payload)
                .unwrap()
                .as_str()
        )
    );
    let decided = env.decide("mgr", &id, Decision::Approve).await.unwrap();
    assert_eq!(
        decided.request.valid_until,
        Some(ts("2026-03-03T09:00:00Z"))
    );
    let before = env.size().await;
    let floats = env
        .ask("req", action(serde_json::json!({"amount": 12.5})))
        .await;
    assert!(
        matches!(&floats, Err(WorkflowError::Invalid(m)) if m.contains("floating-point")),
        "{floats:?}"
    );
    // What an approver reads must be what is done: no reversed vendor name,
    // no NUL, no hidden key; a note may span lines.
    for (payload, named) in [
        (
            serde_json::json!({"vendor": "ACME\u{202e}DTL", "amount": "10.00"}),
            "payload.vendor",
        ),
        (serde_json::json!({"note": "a\u{0}b"}), "payload.note"),
        (
            serde_json::json!({"lines": [{"vendor": "ok"}, {"vendor": "zero\u{200b}width"}]}),
            "payload.lines[1].vendor",
        ),
        (serde_json::json!({"ven\u{7}dor": "ACME"}), "key of payload"),
    ] {
        let hidden = env.ask("req", payment(payload.clone())).await;
        assert!(
            matches!(&hidden, Err(WorkflowError::Invalid(m))
                if m.contains(named) && m.contains("control or invisible character")
                    && !m.chars().any(soxctl_model::identity::is_hidden)),
            "{payload}: {hidden:?}"
        );
    }
    assert_eq!(env.size().await, before);
    env.ask(
        "req",
        payment(serde_json::json!({"vendor": "ACME", "note": "two\nlines"})),
    )
    .await
    .unwrap();
    env.verify().await;
}

async fn bad_input_changes_nothing(env: Env) {
    let before = env.size().await;
    let cases: Vec<(NewRequest, &str, &str)> = vec![
        (access("erp:NOPE", None), "req", "no entitlement 'erp:NOPE'"),
        (
            access("not-a-ref", None),
            "req",
            "not an entitlement reference",
        ),
        (access("erp:GL_POST", Some(9)), "req", "allows at most 8h"),
        (
            access("erp:GL_POST", None),
            "ghost",
            "not a person in the store",
        ),
        (
            NewRequest {
                justification: "  ".into(),
                ..access("erp:GL_POST", None)
            },
            "req",
            "justification may not be empty",
        ),
        (
            NewRequest {
                ask: NewAsk::Action(NewAction {
                    kind: "Deploy Now".into(),
                    env: "prod".into(),
                    payload: serde_json::json!({}),
                    change: None,
                }),
                justification: "x".into(),
                ticket: None,
            },
            "req",
            "action kind 'Deploy Now'",
        ),
    ];
    for (request, requester, needle) in cases {
        let result = env.ask(requester, request).await;
        match &result {
            Err(WorkflowError::Invalid(m) | WorkflowError::Refused(m)) if m.contains(needle) => {}
            other => panic!("expected an error containing {needle:?}, got {other:?}"),
        }
    }
    assert!(matches!(
        env.decide("own", &"req_nope".parse().unwrap(), Decision::Approve)
            .await,
        Err(WorkflowError::NotFound(_))
    ));
    assert_eq!(env.size().await, before, "nothing was recorded");
}

async fn cancelling_ends_the_grants(env: Env) {
    let id = env
        .ask("req", access("erp:GL_POST", Some(4)))
        .await
        .unwrap();
    env.decide("own", &id, Decision::Approve).await.unwrap();
    let mut tx = env.store.begin_write().await.unwrap();
    let refused_cancel =
        soxctl_app::cancel(&mut tx, &actor(), Some(&pid("own")), &id, "done early").await;
    refused(refused_cancel, "only the requester");
    drop(tx);
    let mut tx = env.store.begin_write().await.unwrap();
    let seqs = soxctl_app::cancel(&mut tx, &actor(), Some(&pid("req")), &id, "done early")
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(seqs.len(), 2, "grant revoked, request cancelled");
    assert_eq!(env.status(&id).await, RequestStatus::Cancelled);
    let grant = &env.store.access_grants(Some(&id), None).await.unwrap()[0];
    assert!(grant.ended_at.is_some());
    env.verify().await;
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

async fn execution_tokens_are_bound_and_single_use(env: Env) {
    use soxctl_app::execution::{
        TokenInput, issue_execution_token, record_execution, verify_execution_token,
    };
    let key = soxctl_ledger::SigningKey::generate(ORIGIN, [9; 32]).unwrap();
    let payload =
        serde_json::json!({"invoice": "991", "amount": {"amount": "1250.00", "currency": "USD"}});
    let digest = soxctl_ledger::digest::action_digest("prod", "payment", &payload).unwrap();
    let id = env.ask("req", payment(payload)).await.unwrap();
    let ci: Principal = "token:ci-runner".parse().unwrap();
    let other: Principal = "token:someone-else".parse().unwrap();
    let issue = |input: TokenInput| {
        let store = env.store.clone();
        let key = &key;
        let ci = ci.clone();
        async move {
            let mut tx = store.begin_write().await.unwrap();
            let r = issue_execution_token(&mut tx, &ci, key, input).await;
            if r.is_ok() {
                tx.commit().await.unwrap();
            }
            r
        }
    };
    let input = |digest: &str, environment: &str| TokenInput {
        request_id: id.clone(),
        digest: digest.to_owned(),
        env: environment.to_owned(),
        ttl_secs: None,
    };
    // Another payment, asked and approved: its id and the digest approved.
    let approved_payment = |payload: serde_json::Value| {
        let env = &env;
        async move {
            let digest = soxctl_ledger::digest::action_digest("prod", "payment", &payload).unwrap();
            let id = env.ask("req", payment(payload)).await.unwrap();
            env.decide("mgr", &id, Decision::Approve).await.unwrap();
            (id, digest)
        }
    };
    // Not approved yet.
    conflict(issue(input(&digest, "prod")).await, "not approved");
    env.decide("mgr", &id, Decision::Approve).await.unwrap();
    refused(
        issue(input("sha256:00", "prod")).await,
        "the payload changed",
    );
    refused(issue(input(&digest, "staging")).await, "not 'staging'");
    let issued = issue(input(&digest, "prod")).await.unwrap();
    // One token at a time: a second would let the approval start twice.
    conflict(issue(input(&digest, "prod")).await, "one token at a time");
    assert_eq!(issued.expires_at, ts("2026-03-02T09:15:00Z"));
    let claims =
        verify_execution_token(&key.verifier(), &issued.token, ts("2026-03-02T09:10:00Z")).unwrap();
    assert_eq!(
        (
            claims.digest.as_str(),
            claims.env.as_str(),
            claims.executor.as_str()
        ),
        (digest.as_str(), "prod", "token:ci-runner")
    );
    let report = |who: Principal, token: String| {
        let store = env.store.clone();
        let verifier = key.verifier();
        async move {
            let mut tx = store.begin_write().await.unwrap();
            let r = record_execution(&mut tx, &who, &verifier, &token, "paid: ref 77").await;
            if r.is_ok() {
                tx.commit().await.unwrap();
            }
            r
        }
    };
    // Only the same request's token counts: another approval gets its own.
    let (id_2, digest_2) = approved_payment(
        serde_json::json!({"invoice": "992", "amount": {"amount": "80.00", "currency": "USD"}}),
    )
    .await;
    let issued_2 = issue(TokenInput {
        request_id: id_2,
        ..input(&digest_2, "prod")
    })
    .await
    .unwrap();
    assert_ne!(issued_2.token, issued.token);
    // Used at once, so that it plays no part in what follows.
    report(ci.clone(), issued_2.token).await.unwrap();
    refused(
        report(other, issued.token.clone()).await,
        "issued to token:ci-runner",
    );
    // A token from another key is refused before anything else.
    let forged = soxctl_ledger::jws::sign(
        &soxctl_ledger::SigningKey::generate(ORIGIN, [1; 32]).unwrap(),
        &serde_json::Map::new(),
    );
    assert!(report(ci.clone(), forged).await.is_err());
    report(ci.clone(), issued.token.clone()).await.unwrap();
    assert_eq!(env.status(&id).await, RequestStatus::Consumed);
    conflict(
        report(ci.clone(), issued.token.clone()).await,
        "was used at",
    );
    conflict(issue(input(&digest, "prod")).await, "used already");

    // An expired token, and an expired approval.
    let (second, digest2) = approved_payment(serde_json::json!({"invoice": "992"})).await;
    let token = issue(TokenInput {
        request_id: second.clone(),
        ttl_secs: Some(60),
        ..input(&digest2, "prod")
    })
    .await
    .unwrap();
    // The token is checked offline when the action starts: one minute later
    // it no longer lets anything start.
    conflict(
        verify_execution_token(&key.verifier(), &token.token, ts("2026-03-02T09:01:00Z")),
        "expired at",
    );
    env.clock.set(ts("2026-03-03T09:00:00Z"));
    let late = issue(TokenInput {
        request_id: second.clone(),
        ..input(&digest2, "prod")
    })
    .await;
    conflict(late, "expired at 2026-03-03T09:00:00");
    // The action that started under the token ran long: its report comes
    // after the token and the approval ran out, and the sweep has expired
    // the approval as unused. It is still recorded, and consumes it.
    assert_eq!(env.sweep(&env.store).await.requests_expired, 1);
    assert_eq!(env.status(&second).await, RequestStatus::Expired);
    env.clock.set(ts("2026-03-03T09:00:59Z"));
    report(ci.clone(), token.token.clone()).await.unwrap();
    assert_eq!(env.status(&second).await, RequestStatus::Consumed);
    conflict(report(ci.clone(), token.token).await, "was used at");

    // Past the grace, a report is refused.
    let (third, digest_third) = approved_payment(serde_json::json!({"invoice": "993"})).await;
    let token = issue(TokenInput {
        request_id: third.clone(),
        ttl_secs: Some(60),
        ..input(&digest_third, "prod")
    })
    .await
    .unwrap();
    env.clock.set(ts("2026-03-04T09:02:00Z"));
    conflict(report(ci.clone(), token.token).await, "more than 1d");
    assert_ne!(env.status(&third).await, RequestStatus::Consumed);

    // A swept approval with a token out can still be cancelled, which
    // stops its late report.
    let (fourth, digest_fourth) = approved_payment(serde_json::json!({"invoice": "994"})).await;
    let token = issue(TokenInput {
        request_id: fourth.clone(),
        ..input(&digest_fourth, "prod")
    })
    .await
    .unwrap();
    env.clock.set(ts("2026-03-05T09:03:00Z"));
    env.sweep(&env.store).await;
    assert_eq!(env.status(&fourth).await, RequestStatus::Expired);
    let mut tx = env.store.begin_write().await.unwrap();
    soxctl_app::cancel(&mut tx, &actor(), None, &fourth, "payment run aborted")
        .await
        .unwrap();
    tx.commit().await.unwrap();
    conflict(report(ci.clone(), token.token).await, "cancelled");
    env.verify().await;
}

async fn the_gate_allows_only_approved_commits_deployed_by_non_authors(env: Env) {
    use soxctl_app::gate::{check, last_deployed, record_deployment};
    let commit = "4f1c2d7e9a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d";
    let other = "0000000000000000000000000000000000000001";
    // A deployment without its commits could be approved by its author.
    let mut anonymous = deployment(other, &[]);
    if let NewAsk::Action(a) = &mut anonymous.ask {
        a.change = Some(NewChange::default());
    }
    let anonymous = env.ask("req", anonymous).await;
    assert!(
        matches!(&anonymous, Err(WorkflowError::Invalid(m)) if m.contains("names the commits")),
        "{anonymous:?}"
    );
    // Nor does a person ask for one without the pipeline's commits.
    let mut unread = deployment(other, &[]);
    if let NewAsk::Action(a) = &mut unread.ask {
        a.change = None;
    }
    let unread = env.ask("req", unread).await;
    assert!(
        matches!(&unread, Err(WorkflowError::Invalid(m)) if m.contains("registered by its pipeline")),
        "{unread:?}"
    );
    let id = env
        .ask(
            "req",
            NewRequest {
                ticket: Some("CHG-42".into()),
                ..deployment(commit, &["Olga Owner <olga@example.com>", "req"])
            },
        )
        .await
        .unwrap();
    let verdict = check(&env.store, commit, "prod", "sam@example.com")
        .await
        .unwrap();
    assert!(!verdict.allowed);
    assert!(verdict.reason.contains("is pending"), "{}", verdict.reason);
    env.decide("mgr", &id, Decision::Approve).await.unwrap();
    let by_author = check(&env.store, commit, "prod", "OLGA@example.com")
        .await
        .unwrap();
    assert!(!by_author.allowed);
    assert!(
        by_author.reason.contains("may not deploy"),
        "{}",
        by_author.reason
    );
    env.gate_settings("author_may_deploy = [\"prod\"]").await;
    assert!(
        check(&env.store, commit, "prod", "olga@example.com")
            .await
            .unwrap()
            .allowed
    );
    env.gate_settings("").await;
    let ok = check(
        &env.store,
        &commit.to_uppercase(),
        "prod",
        "sam@example.com",
    )
    .await
    .unwrap();
    assert!(ok.allowed, "{}", ok.reason);
    assert_eq!(ok.request_id.as_ref(), Some(&id));
    assert!(ok.evidence.unwrap().contains("decisions at ledger seq"));
    assert!(
        !check(&env.store, commit, "staging", "sam")
            .await
            .unwrap()
            .allowed
    );
    assert!(
        !check(&env.store, other, "prod", "sam")
            .await
            .unwrap()
            .allowed
    );
    assert!(matches!(
        check(&env.store, "abc", "prod", "sam").await,
        Err(WorkflowError::Invalid(_))
    ));

    let mut tx = env.store.begin_write().await.unwrap();
    let deployed = record_deployment(
        &mut tx,
        &actor(),
        commit,
        "prod",
        "sam@example.com",
        Some("github.com/acme/app"),
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(deployed.deployment.request_id.as_ref(), Some(&id));
    assert!(deployed.finding_id.is_none());
    assert_eq!(env.status(&id).await, RequestStatus::Consumed);
    assert!(
        !check(&env.store, commit, "prod", "sam")
            .await
            .unwrap()
            .allowed,
        "consumed"
    );

    // A deployment nobody approved is recorded, and opens a finding.
    let mut tx = env.store.begin_write().await.unwrap();
    let rogue = record_deployment(
        &mut tx,
        &actor(),
        other,
        "prod",
        "sam",
        Some("github.com/acme/app"),
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let finding = rogue.finding_id.unwrap();
    let findings = env
        .store
        .findings(&soxctl_store::findings::Filter {
            kind: Some("unapproved_change".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(findings.len(), 1);
    assert_eq!(findings[0].finding_id, finding);
    assert_eq!(
        last_deployed(&env.store, "prod", Some("github.com/acme/app"))
            .await
            .unwrap()
            .unwrap()
            .commit,
        other
    );
    assert!(
        last_deployed(&env.store, "staging", None)
            .await
            .unwrap()
            .is_none()
    );

    // Defence in depth: an approval recorded for an author (by a path that
    // skipped the workflow's rules) still does not pass the gate.
    let third = "0000000000000000000000000000000000000003";
    let id = env
        .ask("req", deployment(third, &["Olga <OLGA@example.com>"]))
        .await
        .unwrap();
    env.store
        .append_one(
            &actor(),
            &soxctl_model::event::Event::RequestApproved(soxctl_model::request::RequestApproved {
                request_id: id,
                approver_id: pid("own"),
                on_behalf_of: None,
                mfa: false,
                issued_by: None,
                comment: None,
                approvals: 1,
                approved: true,
                required_approvals: None,
                valid_until: Some(ts("2026-03-09T00:00:00Z")),
            }),
        )
        .await
        .unwrap();
    let verdict = check(&env.store, third, "prod", "sam").await.unwrap();
    assert!(!verdict.allowed);
    assert!(
        verdict.reason.contains("own approved a change they wrote"),
        "{}",
        verdict.reason
    );
    // Deployed anyway: recorded as unapproved, the approval not consumed.
    let mut tx = env.store.begin_write().await.unwrap();
    let deployed = record_deployment(&mut tx, &actor(), third, "prod", "sam", None)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(deployed.deployment.request_id, None);
    assert!(deployed.finding_id.is_some());
    assert!(
        deployed.reason.contains("own approved a change they wrote"),
        "{}",
        deployed.reason
    );
    env.verify().await;
}

async fn break_glass_is_immediate_alerted_and_reviewed(env: Env) {
    use soxctl_app::breakglass::{Emergency, Review, break_glass, review};
    use soxctl_model::request::ReviewOutcome;
    let emergency = |hours: u64| Emergency {
        entitlements: vec!["erp:AP_PAY".into()],
        duration_secs: Some(hours * 3600),
        reason: "payment run failed at 02:00, supplier penalties from 06:00".into(),
        evidence: None,
    };
    let use_glass = |who: &'static str, e: Emergency| {
        let store = env.store.clone();
        async move {
            let mut tx = store.begin_write().await.unwrap();
            let r = break_glass(&mut tx, &actor(), &pid(who), e).await;
            if r.is_ok() {
                tx.commit().await.unwrap();
            }
            r
        }
    };
    refused(
        use_glass("sys", emergency(1)).await,
        "break-glass is not enabled",
    );
    let mut tx = env.store.begin_write().await.unwrap();
    tx.load_document(
        &actor(),
        DocumentKind::Policies,
        "approvals.toml",
        &format!("{POLICIES}\n[break_glass]\npeople = [\"sys\"]\nmax_duration = \"2h\"\n"),
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    refused(
        use_glass("req", emergency(1)).await,
        "not on the break-glass list",
    );
    refused(use_glass("sys", emergency(3)).await, "at most 2h");
    let before = env.size().await;
    let used = use_glass("sys", emergency(1)).await.unwrap();
    assert_eq!(
        used.reviewer_id,
        pid("own"),
        "the entitlement owner reviews"
    );
    assert!(env.size().await > before);
    let grants = env
        .store
        .access_grants(Some(&used.use_id), None)
        .await
        .unwrap();
    assert_eq!(grants.len(), 1);
    assert!(grants[0].active_at(ts("2026-03-02T09:30:00Z")));
    assert!(env.topics().await.iter().any(|t| t == "breakglass.used"));
    let open = |kind: &'static str| {
        let store = env.store.clone();
        async move {
            store
                .findings(&soxctl_store::findings::Filter {
                    kind: Some(kind.into()),
                    ..Default::default()
                })
                .await
                .unwrap()
                .into_iter()
                .filter(|f| f.status == soxctl_model::finding::FindingStatus::Open)
                .count()
        }
    };
    assert_eq!(open("breakglass_unreviewed").await, 1);
    conflict(
        use_glass("sys", emergency(1)).await,
        "not extended or stacked",
    );

    let do_review = |who: &'static str, evidence: Option<&str>| {
        let store = env.store.clone();
        let input = Review {
            use_id: used.use_id.clone(),
            outcome: ReviewOutcome::Inappropriate,
            notes: "no incident ticket existed".into(),
            evidence: evidence.map(str::to_owned),
            issued_by: None,
        };
        async move {
            let mut tx = store.begin_write().await.unwrap();
            let r = review(&mut tx, &actor(), &pid(who), input).await;
            if r.is_ok() {
                tx.commit().await.unwrap();
            }
            r
        }
    };
    conflict(do_review("own", Some("rec-1")).await, "still in force");
    env.clock.set(ts("2026-03-02T10:00:00Z"));
    assert_eq!(env.sweep(&env.store).await.grants_expired, 1);
    refused(do_review("sys", Some("rec-1")).await, "own break-glass use");
    refused(
        do_review("mgr", Some("rec-1")).await,
        "is for own to review",
    );
    assert!(matches!(
        do_review("own", None).await,
        Err(WorkflowError::Invalid(m)) if m.contains("no evidence")
    ));
    let reviewed = do_review("own", Some("siem:session/8812")).await.unwrap();
    assert_eq!(reviewed.outcome, Some(ReviewOutcome::Inappropriate));
    assert_eq!(reviewed.evidence.as_deref(), Some("siem:session/8812"));
    assert_eq!(open("breakglass_unreviewed").await, 0);
    assert_eq!(open("breakglass_misuse").await, 1);
    conflict(do_review("own", Some("x")).await, "reviewed already");

    // Uses one after another, none reviewed: the fourth waits for reviews.
    for hour in ["11", "12", "13"] {
        env.clock.set(ts(&format!("2026-03-02T{hour}:00:00Z")));
        use_glass("sys", emergency(1)).await.unwrap();
    }
    env.clock.set(ts("2026-03-02T14:00:00Z"));
    refused(
        use_glass("sys", emergency(1)).await,
        "3 break-glass uses awaiting review",
    );
    // Their reviewer leaves: the review passes to whoever would review
    // now (sys's manager, since sys owns the system), never to sys.
    env.import(&["own"]).await;
    let waiting: Vec<RequestId> = env
        .store
        .breakglass_uses()
        .await
        .unwrap()
        .into_iter()
        .filter(|b| b.reviewed_at.is_none())
        .map(|b| b.use_id)
        .collect();
    assert_eq!(waiting.len(), 3);
    let review_as = |who: &'static str, use_id: RequestId| {
        let store = env.store.clone();
        async move {
            let mut tx = store.begin_write().await.unwrap();
            let r = review(
                &mut tx,
                &actor(),
                &pid(who),
                Review {
                    use_id,
                    outcome: ReviewOutcome::Appropriate,
                    notes: "INC-9".into(),
                    evidence: Some("siem:session/9".into()),
                    issued_by: None,
                },
            )
            .await;
            if r.is_ok() {
                tx.commit().await.unwrap();
            }
            r
        }
    };
    refused(
        review_as("vend", waiting[0].clone()).await,
        "who has left; now: mgr",
    );
    review_as("mgr", waiting[0].clone()).await.unwrap();
    use_glass("sys", emergency(1)).await.unwrap();
    env.verify().await;
}

async fn revocations_are_confirmed_by_the_next_import(env: Env) {
    let open = |kind: &'static str| {
        let store = env.store.clone();
        async move {
            store
                .findings(&soxctl_store::findings::Filter {
                    kind: Some(kind.into()),
                    ..Default::default()
                })
                .await
                .unwrap()
                .into_iter()
                .filter(|f| f.status == soxctl_model::finding::FindingStatus::Open)
                .map(|f| f.subject)
                .collect::<Vec<_>>()
        }
    };
    let id = env
        .ask("req", access("erp:GL_POST", Some(1)))
        .await
        .unwrap();
    env.decide("own", &id, Decision::Approve).await.unwrap();
    // The system reports the provisioned grant: authorised, so no drift.
    env.import_with(&[], "erp,rita,GL_POST,,direct\n").await;
    assert!(open("drift").await.is_empty(), "{:?}", open("drift").await);
    env.clock.set(ts("2026-03-02T10:00:00Z"));
    assert_eq!(env.sweep(&env.store).await.grants_expired, 1);
    // Revoked, but the next import still sees it.
    env.clock.set(ts("2026-03-02T11:00:00Z"));
    env.import_with(&[], "erp,rita,GL_POST,,direct\n").await;
    let grant = &env.store.access_grants(Some(&id), None).await.unwrap()[0];
    assert_eq!(
        open("unconfirmed_revocation").await,
        vec![format!("access:{}", grant.grant_id)]
    );
    // Removed at the source: confirmed, the finding resolves.
    env.clock.set(ts("2026-03-02T12:00:00Z"));
    env.import(&[]).await;
    assert!(open("unconfirmed_revocation").await.is_empty());
    env.verify().await;
}

async fn undecided_requests_remind_then_escalate_once(env: Env) {
    // Approvers own, sys and mgr; own's and sys's manager is mgr.
    let id = env.ask("req", access("erp:GL_POST", None)).await.unwrap();
    env.clock.set(ts("2026-03-02T12:59:59Z"));
    assert_eq!(env.sweep(&env.store).await, soxctl_app::Sweep::default());
    env.clock.set(ts("2026-03-02T13:00:00Z"));
    let swept = env.sweep(&env.store).await;
    assert_eq!((swept.reminders, swept.escalations), (1, 0));
    assert_eq!(env.sweep(&env.store).await.reminders, 0, "once");
    let row = env.store.request(&id).await.unwrap().unwrap();
    assert_eq!(row.reminded_at, Some(ts("2026-03-02T13:00:00Z")));
    // mgr decided meanwhile? No: deny by nobody; escalate at 24h to the
    // managers of the approvers still waiting (own, sys -> mgr; mgr has none).
    env.clock.set(ts("2026-03-03T09:00:00Z"));
    let swept = env.sweep(&env.store).await;
    assert_eq!((swept.reminders, swept.escalations), (0, 1));
    let records = env.store.outbox_records(0, 1000).await.unwrap();
    let escalated = records
        .iter()
        .find(|r| r.topic == "request.escalated")
        .unwrap();
    assert_eq!(
        escalated.payload["notify"]["recipients"],
        serde_json::json!(["mgr"])
    );
    let reminder = records
        .iter()
        .find(|r| r.topic == "request.reminder")
        .unwrap();
    assert_eq!(
        reminder.payload["notify"]["recipients"],
        serde_json::json!(["mgr", "own", "sys"])
    );
    env.verify().await;
}

async fn activation_is_judged_again_when_it_happens(env: Env) {
    // Each alone is harmless for req; together they are P2P-01 (critical).
    let manual = |entitlement: &str| {
        let mut r = access(entitlement, Some(2));
        if let NewAsk::Access(a) = &mut r.ask {
            a.activation = Activation::Manual;
        }
        r
    };
    let vendor = env.ask("req", manual("erp:VENDOR_CREATE")).await.unwrap();
    let pay = env.ask("req", manual("erp:AP_PAY")).await.unwrap();
    env.decide("own", &vendor, Decision::Approve).await.unwrap();
    env.decide("own", &pay, Decision::Approve).await.unwrap();
    let activate = |id: RequestId| {
        let store = env.store.clone();
        async move {
            let mut tx = store.begin_write().await.unwrap();
            let r = soxctl_app::activate(&mut tx, &actor(), &pid("req"), &id).await;
            if r.is_ok() {
                tx.commit().await.unwrap();
            }
            r
        }
    };
    activate(vendor).await.unwrap();
    refused(
        activate(pay.clone()).await,
        "critical SoD violation (P2P-01)",
    );
    assert!(
        env.store
            .access_grants(Some(&pay), None)
            .await
            .unwrap()
            .is_empty()
    );
    // A holder who has left is not started either.
    let gl = env.ask("req", manual("erp:GL_POST")).await.unwrap();
    env.decide("own", &gl, Decision::Approve).await.unwrap();
    env.import(&["req"]).await;
    refused(activate(gl).await, "no longer active");
    env.verify().await;
}

async fn two_of_two_approvals_at_once_both_count(env: Env) {
    // vend holds VENDOR_CREATE: AP_PAY completes P2P-01 (critical), so two
    // approvals; sam is excluded (he holds VENDOR_CREATE too), leaving own
    // and mgr. Both decide at the same moment: neither approval is lost.
    let mut request = access("erp:AP_PAY", Some(1));
    if let NewAsk::Access(a) = &mut request.ask {
        a.person_id = Some(pid("vend"));
    }
    let id = env.ask("req", request).await.unwrap();
    let row = env.store.request(&id).await.unwrap().unwrap();
    assert_eq!(row.required_approvals, 2);
    assert_eq!(row.approvers, [pid("own"), pid("mgr")]);
    env.mitigate("vend").await;
    let env = Arc::new(env);
    let (a, b) = tokio::join!(
        {
            let env = env.clone();
            let id = id.clone();
            async move { env.decide("own", &id, Decision::Approve).await }
        },
        {
            let env = env.clone();
            let id = id.clone();
            async move { env.decide("mgr", &id, Decision::Approve).await }
        }
    );
    let (a, b) = (a.unwrap(), b.unwrap());
    let mut counts = [a.request.approvals, b.request.approvals];
    counts.sort();
    assert_eq!(counts, [1, 2], "each approval saw the other's");
    let row = env.store.request(&id).await.unwrap().unwrap();
    assert_eq!((row.status, row.approvals), (RequestStatus::Approved, 2));
    assert_eq!(env.store.decisions(Some(&id)).await.unwrap().len(), 2);
    assert_eq!(
        env.store
            .access_grants(Some(&id), None)
            .await
            .unwrap()
            .len(),
        1,
        "the grant starts once"
    );
    env.verify().await;
}

async fn approvals_needed_rise_with_a_new_critical_risk(env: Env) {
    // del asks for AP_PAY with no conflict: one approval.
    let id = env.ask("del", access("erp:AP_PAY", Some(1))).await.unwrap();
    let row = env.store.request(&id).await.unwrap().unwrap();
    assert_eq!((row.required_approvals, row.sod.len()), (1, 0));
    // Before anyone decides, del is given VENDOR_CREATE: AP_PAY would now
    // complete P2P-01, a critical risk.
    env.import_with(&[], "erp,dan,VENDOR_CREATE,,direct\n")
        .await;
    refused(
        env.decide("own", &id, Decision::Approve).await,
        "critical SoD violation (P2P-01)",
    );
    env.mitigate("del").await;
    let first = env.decide("own", &id, Decision::Approve).await.unwrap();
    assert_eq!(
        (
            first.request.status,
            first.request.approvals,
            first.request.required_approvals
        ),
        (RequestStatus::Pending, 1, 2),
        "the critical risk asks for a second approval, as if it had been known at the start"
    );
    let second = env.decide("mgr", &id, Decision::Approve).await.unwrap();
    assert_eq!(second.request.status, RequestStatus::Approved);
    env.verify().await;
}

async fn delegates_are_judged_as_approvers_themselves(env: Env) {
    let delegate = |from: &'static str, to: &'static str, starts_at: Option<Timestamp>| {
        let store = env.store.clone();
        async move {
            let mut tx = store.begin_write().await.unwrap();
            let r = soxctl_app::delegate(
                &mut tx,
                &actor(),
                &pid(from),
                NewDelegation {
                    delegate_id: pid(to),
                    starts_at,
                    ends_at: ts("2026-03-09T00:00:00Z"),
                    reason: "holiday".into(),
                    issued_by: None,
                },
            )
            .await;
            if r.is_ok() {
                tx.commit().await.unwrap();
            }
            r
        }
    };
    // A delegation cannot start in the past: decisions already taken would
    // look delegated.
    assert!(matches!(
        delegate("mgr", "del", Some(ts("2026-03-02T08:00:00Z"))).await,
        Err(WorkflowError::Invalid(m)) if m.contains("in the past")
    ));
    // The requester as the delegate still never approves their own request.
    delegate("mgr", "req", None).await.unwrap();
    let own_request = env.ask("req", access("erp:GL_POST", None)).await.unwrap();
    refused(
        env.decide("req", &own_request, Decision::Approve).await,
        "nobody approves their own request",
    );
    // The policy's Cedar text forbids deputies to approve: a delegation
    // does not widen who may.
    let mut tx = env.store.begin_write().await.unwrap();
    tx.load_document(
        &actor(),
        DocumentKind::Policies,
        "approvals.toml",
        &format!(
            "cedar = '''\npermit (principal, action, resource);\nforbid (principal, action == Action::\"approve\", resource) when {{ principal.title == \"Deputy\" }};\n'''\n{POLICIES}"
        ),
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    delegate("own", "del", None).await.unwrap();
    let id = env.ask("vend", access("erp:GL_POST", None)).await.unwrap();
    refused(
        env.decide("del", &id, Decision::Approve).await,
        "as a delegate",
    );
    assert!(env.store.decisions(Some(&id)).await.unwrap().is_empty());
    env.decide("own", &id, Decision::Approve).await.unwrap();

    // A policy tightened after a request was routed binds its approvers
    // too: AP leads may no longer approve.
    let pending = env.ask("vend", access("erp:GL_POST", None)).await.unwrap();
    let mut tx = env.store.begin_write().await.unwrap();
    tx.load_document(
        &actor(),
        DocumentKind::Policies,
        "approvals.toml",
        &format!(
            "cedar = '''\npermit (principal, action, resource);\nforbid (principal, action == Action::\"approve\", resource) when {{ principal.title == \"AP Lead\" }};\n'''\n{POLICIES}"
        ),
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    refused(
        env.decide("own", &pending, Decision::Approve).await,
        "cannot decide request",
    );
    env.verify().await;
}

async fn authors_are_known_by_their_accounts_and_unknown_ones_are_flagged(env: Env) {
    use soxctl_app::gate::{check, deploy_payload, record_deployment};
    use soxctl_model::request::Ask;
    // Olga commits from a private address, known as her account.
    env.import_full(&[], "erp,olga.o@gmail.com,own,human,active,,\n", "")
        .await;
    let routing = "[[action]]\nid = \"deploy\"\nkinds = [\"deploy\"]\napprovers = [\"person:own\", \"manager\"]\n";
    env.policies(routing, "").await;
    let commit = "4f1c2d7e9a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d";
    let ask = |env: &Env| {
        let store = env.store.clone();
        async move {
            let mut tx = store.begin_write().await.unwrap();
            let created = soxctl_app::create(
                &mut tx,
                &actor(),
                &pid("req"),
                NewRequest {
                    ask: NewAsk::Action(NewAction {
                        kind: "deploy".into(),
                        env: "prod".into(),
                        payload: deploy_payload(commit),
                        change: Some(NewChange {
                            repo: "github.com/acme/app".into(),
                            run: None,
                            commits: vec![ChangeCommit {
                                sha: commit.into(),
                                author: "Olga <Olga.O@gmail.com>".into(),
                                // The committer of a squash merge in GitHub's web UI.
                                committer: "GitHub <noreply@github.com>".into(),
                                co_authors: vec!["Ghost <ghost@elsewhere.org>".into()],
                            }],
                        }),
                    }),
                    justification: "release 4.3".into(),
                    ticket: None,
                },
            )
            .await;
            if created.is_ok() {
                tx.commit().await.unwrap();
            }
            created
        }
    };
    // By default every environment refuses an author nobody is known as,
    // when the change is registered.
    let before = env.size().await;
    refused(ask(&env).await, "ghost@elsewhere.org matched no person");
    assert_eq!(env.size().await, before);
    env.policies(routing, "allow_unattributed_authors = [\"prod\"]")
        .await;
    let created = ask(&env).await.unwrap();
    assert!(
        created
            .excluded
            .iter()
            .any(|(p, why)| p == &pid("own") && why.contains("author")),
        "{:?}",
        created.excluded
    );
    let id = created.request.request_id.clone();
    let Ask::Action(action) = &created.request.ask else {
        panic!("an action")
    };
    // The platform committer names nobody and is left out.
    assert_eq!(action.unattributed_authors, ["ghost@elsewhere.org"]);
    assert_eq!(action.author_people, [pid("own")]);
    refused(env.decide("own", &id, Decision::Approve).await, "author");
    env.decide("mgr", &id, Decision::Approve).await.unwrap();
    assert!(
        check(&env.store, commit, "prod", "sam@example.com")
            .await
            .unwrap()
            .allowed
    );
    // The opt-out withdrawn: the gate refuses what was registered under it.
    env.policies(routing, "").await;
    let denied = check(&env.store, commit, "prod", "sam@example.com")
        .await
        .unwrap();
    assert!(!denied.allowed);
    assert!(
        denied.reason.contains("ghost@elsewhere.org"),
        "{}",
        denied.reason
    );
    env.policies(routing, "allow_unattributed_authors = [\"prod\"]")
        .await;
    assert!(
        !check(&env.store, commit, "prod", "olga.o@gmail.com")
            .await
            .unwrap()
            .allowed,
        "an author deploys under her private address"
    );
    let by_work_address = check(&env.store, commit, "prod", "olga@example.com")
        .await
        .unwrap();
    assert!(
        !by_work_address.allowed && by_work_address.reason.contains("may not deploy"),
        "an author deploys under her work address, not the one her commits carry: {}",
        by_work_address.reason
    );
    env.policies(routing, "").await;
    let mut tx = env.store.begin_write().await.unwrap();
    let deployed = record_deployment(&mut tx, &actor(), commit, "prod", "sam@example.com", None)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert!(deployed.finding_id.is_some(), "{}", deployed.reason);
    assert_eq!(env.status(&id).await, RequestStatus::Approved);
    env.verify().await;
}

async fn violations_an_import_brings_are_alerted(env: Env) {
    let alerts = |env: &Env| {
        let store = env.store.clone();
        async move {
            store
                .outbox_records(0, 1000)
                .await
                .unwrap()
                .into_iter()
                .filter(|r| r.topic == "sod.violation.opened")
                .collect::<Vec<_>>()
        }
    };
    assert!(alerts(&env).await.is_empty());
    // An import gives del both halves of P2P-01: the import's own detector
    // pass opens the finding and alerts it, with no server running.
    env.import_with(
        &[],
        "erp,dan,VENDOR_CREATE,,direct\nerp,dan,AP_PAY,,direct\n",
    )
    .await;
    let sent = alerts(&env).await;
    assert_eq!(sent.len(), 1, "{sent:?}");
    let payload = &sent[0].payload;
    assert_eq!(payload["severity"], "critical");
    assert!(
        payload["summary"].as_str().unwrap().contains("del"),
        "{payload}"
    );
    // The same snapshot again opens nothing and alerts nothing new.
    env.import_with(
        &[],
        "erp,dan,VENDOR_CREATE,,direct\nerp,dan,AP_PAY,,direct\n",
    )
    .await;
    assert_eq!(alerts(&env).await.len(), 1);
    env.verify().await;
}

async fn remembered_verdicts_follow_the_ledger_and_the_clock(env: Env) {
    use soxctl_app::gate::check;
    use soxctl_app::verdicts::VerdictCache;
    let cache = VerdictCache::new();
    let commit = "4f1c2d7e9a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d";
    // Each answer from memory is the answer computed afresh, asked twice
    // so the second comes from memory when nothing changed.
    let agree = |deployer: &'static str| {
        let (store, cache) = (env.store.clone(), &cache);
        async move {
            let fresh = check(&store, commit, "prod", deployer).await.unwrap();
            let first = cache.check(&store, commit, "prod", deployer).await.unwrap();
            let again = cache
                .check(&store, &commit.to_uppercase(), "prod", deployer)
                .await
                .unwrap();
            assert_eq!(first, fresh);
            assert_eq!(again, fresh);
            fresh
        }
    };
    assert!(
        agree("sam@example.com")
            .await
            .reason
            .contains("no change request")
    );
    let id = env
        .ask(
            "req",
            deployment(commit, &["Olga Owner <olga@example.com>"]),
        )
        .await
        .unwrap();
    assert!(agree("sam@example.com").await.reason.contains("is pending"));
    env.decide("mgr", &id, Decision::Approve).await.unwrap();
    assert!(agree("sam@example.com").await.allowed);
    assert!(!agree("olga@example.com").await.allowed, "an author");
    // The approval runs out with no ledger entry: the clock ends it.
    env.clock.set(ts("2026-03-03T08:59:59.999999Z"));
    assert!(agree("sam@example.com").await.allowed);
    env.clock.set(ts("2026-03-03T09:00:00Z"));
    assert!(!agree("sam@example.com").await.allowed);

    // A cancellation is a ledger entry: the next answer sees it.
    let second = "0000000000000000000000000000000000000002";
    let id = env
        .ask(
            "req",
            deployment(second, &["Vera Vendor <vera@example.com>"]),
        )
        .await
        .unwrap();
    env.decide("mgr", &id, Decision::Approve).await.unwrap();
    let ask = |c: &'static str| cache.check(&env.store, c, "prod", "sam@example.com");
    assert!(ask(second).await.unwrap().allowed);
    let mut tx = env.store.begin_write().await.unwrap();
    soxctl_app::cancel(&mut tx, &actor(), None, &id, "release pulled")
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert!(!ask(second).await.unwrap().allowed);
    env.verify().await;
}

/// The change gate takes nobody at their word: who deploys is parsed into
/// one identity, whoever approved a change does not deploy it, and a
/// deployer nobody is known as does not pass by default.
async fn deployers_are_identities_not_strings(env: Env) {
    use soxctl_app::gate::{check, record_deployment};
    let commit = "4f1c2d7e9a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d";
    let id = env
        .ask(
            "req",
            deployment(
                commit,
                &["Olga Owner <olga@example.com>", "Vera <vera@example.com>"],
            ),
        )
        .await
        .unwrap();
    env.decide("mgr", &id, Decision::Approve).await.unwrap();
    let verdict = |deployer: &'static str| {
        let store = env.store.clone();
        async move { check(&store, commit, "prod", deployer).await }
    };
    assert!(verdict("sam@example.com").await.unwrap().allowed);
    // Texts that name nobody, or several, are refused outright.
    for bad in [
        "Olga Owner",
        "olga@example.com>",
        "olga@example.com,ci@example.com",
        "olga@example.com ci@example.com",
        "olga\u{202e}@example.com",
        "",
    ] {
        assert!(
            matches!(verdict(bad).await, Err(WorkflowError::Invalid(_))),
            "{bad:?}: {:?}",
            verdict(bad).await
        );
    }
    // The author, however written, may not deploy.
    for author in [
        "olga@example.com.",
        "OLGA@Example.com",
        "olga+ci@example.com",
        "mailto:olga@example.com",
        "<olga@example.com>",
        "Someone Else <olga@example.com>",
        "own",
        "olga",
        "vera+release@example.com",
    ] {
        let v = verdict(author).await.unwrap();
        assert!(!v.allowed, "{author} deployed a change they wrote");
        assert!(
            v.reason.contains("wrote part of this change"),
            "{author}: {}",
            v.reason
        );
    }
    // The approver may not deploy what they approved.
    for approver in ["mgr", "max@example.com", "Max <MAX+deploy@example.com>"] {
        let v = verdict(approver).await.unwrap();
        assert!(!v.allowed, "{approver}");
        assert!(
            v.reason.contains("approved this change"),
            "{approver}: {}",
            v.reason
        );
    }
    // A deployer nobody is known as is refused unless the environment
    // opts out in the policies document.
    let unknown = verdict("stranger@elsewhere.test").await.unwrap();
    assert!(!unknown.allowed);
    assert!(
        unknown.reason.contains("no known person"),
        "{}",
        unknown.reason
    );
    env.gate_settings("allow_unattributed_authors = [\"prod\"]")
        .await;
    assert!(verdict("stranger@elsewhere.test").await.unwrap().allowed);
    env.gate_settings("").await;
    // Recording a deployment by the approver consumes nothing and opens a finding.
    let mut tx = env.store.begin_write().await.unwrap();
    let deployed = record_deployment(&mut tx, &actor(), commit, "prod", "MAX@example.com.", None)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert!(deployed.finding_id.is_some(), "{}", deployed.reason);
    assert_eq!(deployed.deployment.deployer, "max@example.com");
    assert_eq!(deployed.deployment.request_id, None);
    assert_eq!(env.status(&id).await, RequestStatus::Approved);
    env.verify().await;
}

/// Authors are named by folded identities: a sub-address, a platform
/// identity as the author, an alias the inventory knows.
async fn authors_are_folded_and_platform_authors_are_nobody(env: Env) {
    let commit = "4f1c2d7e9a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d";
    // The manager commits from a sub-address: still the manager, so the
    // default routing (the requester's manager) leaves nobody to approve.
    refused(
        env.ask("req", deployment(commit, &["Max <max+ci@example.com>"]))
            .await,
        "mgr: is an author",
    );
    // A commit GitHub's web interface authored as itself hides who wrote it.
    let before = env.size().await;
    refused(
        env.ask("req", deployment(commit, &["GitHub <noreply@github.com>"]))
            .await,
        "a platform identity as the author",
    );
    refused(
        env.ask(
            "req",
            deployment(
                commit,
                &["github-actions[bot] <41898282+github-actions[bot]@users.noreply.github.com>"],
            ),
        )
        .await,
        "a platform identity as the author",
    );
    assert_eq!(env.size().await, before);
    // As committer a platform names nobody and is left out.
    let mut ok = deployment(commit, &["Olga <olga@example.com>"]);
    if let NewAsk::Action(a) = &mut ok.ask
        && let Some(change) = &mut a.change
    {
        change.commits[0].committer = "GitHub <noreply@github.com>".into();
    }
    let id = env.ask("req", ok).await.unwrap();
    let row = env.store.request(&id).await.unwrap().unwrap();
    let soxctl_model::request::Ask::Action(action) = &row.ask else {
        panic!("an action")
    };
    assert_eq!(action.author_people, [pid("own")]);
    assert!(action.unattributed_authors.is_empty());
    env.verify().await;
}

/// Only a pipeline registers a deployment: bound to its repository and
/// environments, naming who triggered the run, who becomes the requester.
async fn pipelines_register_deployments(env: Env) {
    use soxctl_app::gate::{NewDeployment, register};
    use soxctl_model::access::{Pipeline, TriggeredBy};
    let commit = "4f1c2d7e9a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d";
    let pipeline = Pipeline {
        repo: "github.com/acme/app".into(),
        environments: vec!["prod".into(), "staging-*".into()],
        triggered_by: None,
        run: None,
    };
    let input = |env: &str, triggered_by: Option<&str>| NewDeployment {
        env: env.into(),
        commit: commit.into(),
        commits: vec![ChangeCommit {
            sha: commit.to_uppercase(),
            author: "Olga Owner <olga@example.com>".into(),
            committer: "GitHub <noreply@github.com>".into(),
            co_authors: vec!["Vera <vera@example.com>".into()],
        }],
        triggered_by: triggered_by.map(str::to_owned),
        justification: None,
        ticket: None,
    };
    let attempt = |pipeline: Option<Pipeline>, deployment: NewDeployment| {
        let store = env.store.clone();
        async move {
            let mut tx = store.begin_write().await.unwrap();
            let done = register(&mut tx, &actor(), pipeline.as_ref(), deployment).await;
            if done.is_ok() {
                tx.commit().await.unwrap();
            }
            done
        }
    };
    let before = env.size().await;
    refused(
        attempt(None, input("prod", Some("req"))).await,
        "only a pipeline registers",
    );
    refused(
        attempt(Some(pipeline.clone()), input("dev", Some("req"))).await,
        "acts in prod, staging-* only",
    );
    refused(
        attempt(
            Some(pipeline.clone()),
            input("prod", Some("stranger@elsewhere.test")),
        )
        .await,
        "no known person",
    );
    let mut garbage = input("prod", Some("req"));
    garbage.commit = "../../../etc/passwd".into();
    garbage.commits[0].sha = "../../../etc/passwd".into();
    let garbage = attempt(Some(pipeline.clone()), garbage).await;
    assert!(
        matches!(&garbage, Err(WorkflowError::Invalid(m)) if m.contains("not a full commit id")),
        "{garbage:?}"
    );
    let missing = attempt(Some(pipeline.clone()), input("prod", None)).await;
    assert!(
        matches!(missing, Err(WorkflowError::Invalid(_))),
        "{missing:?}"
    );
    let mut elsewhere = input("prod", Some("req"));
    elsewhere.commits[0].sha = "0000000000000000000000000000000000000009".into();
    let elsewhere = attempt(Some(pipeline.clone()), elsewhere).await;
    assert!(
        matches!(&elsewhere, Err(WorkflowError::Invalid(m)) if m.contains("do not include the deployed commit")),
        "{elsewhere:?}"
    );
    // A signed CI identity names who triggered the run; the body may not.
    let signed = Pipeline {
        triggered_by: Some(TriggeredBy {
            login: "rita".into(),
            email: None,
            system: Some(soxctl_model::ids::SystemId::parse("erp").unwrap()),
        }),
        ..pipeline.clone()
    };
    let both = attempt(Some(signed.clone()), input("prod", Some("req"))).await;
    assert!(matches!(both, Err(WorkflowError::Invalid(_))), "{both:?}");
    assert_eq!(env.size().await, before, "nothing recorded");

    let created = attempt(Some(signed), input("staging-eu", None))
        .await
        .unwrap();
    assert_eq!(created.request.requester_id, pid("req"));
    let created = attempt(Some(pipeline), input("prod", Some("rita@example.com")))
        .await
        .unwrap();
    assert_eq!(created.request.requester_id, pid("req"));
    let soxctl_model::request::Ask::Action(action) = &created.request.ask else {
        panic!("an action")
    };
    assert_eq!(action.repo.as_deref(), Some("github.com/acme/app"));
    assert_eq!(action.commits, Some(1));
    assert_eq!(action.author_people, [pid("own"), pid("vend")]);
    assert_eq!(created.request.approvers, [pid("mgr")]);
    env.verify().await;
}

/// A decision through a credential someone else issued: the issuer is
/// judged by the built-in rules too, and the entry names them.
async fn decisions_through_someone_elses_credential(env: Env) {
    use soxctl_model::access::Issuer;
    let decide_as = |approver: &'static str, id: RequestId, issuer: Issuer| {
        let store = env.store.clone();
        async move {
            let mut tx = store.begin_write().await.unwrap();
            let done = soxctl_app::decide(
                &mut tx,
                &actor(),
                &pid(approver),
                DecisionInput {
                    request_id: id,
                    decision: Decision::Approve,
                    comment: None,
                    mfa: false,
                    issued_by: Some(issuer),
                },
            )
            .await;
            if done.is_ok() {
                tx.commit().await.unwrap();
            }
            done
        }
    };
    let id = env
        .ask("req", access("erp:GL_POST", Some(4)))
        .await
        .unwrap();
    let before = env.size().await;
    // The requester's admin token made a token for the owner: the requester
    // would approve her own request through it.
    refused(
        decide_as(
            "own",
            id.clone(),
            Issuer {
                principal: "token:tok_admin".into(),
                person: Some(pid("req")),
            },
        )
        .await,
        "issued by req (token:tok_admin), who cannot decide",
    );
    assert_eq!(env.size().await, before);
    // A token the command line made names nobody: allowed by the test
    // policy, and marked in the ledger.
    let decided = decide_as(
        "own",
        id.clone(),
        Issuer {
            principal: "system:cli".into(),
            person: None,
        },
    )
    .await
    .unwrap();
    assert_eq!(decided.request.status, RequestStatus::Approved);
    let (_, _, bytes) = env
        .store
        .entries(decided.seqs[0], 1)
        .await
        .unwrap()
        .remove(0);
    let json: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(json["type"], "request.approved");
    assert_eq!(json["payload"]["issued_by"], "system:cli", "{json}");
    env.verify().await;
}

/// An approval is bound to the repository whose pipeline registered it:
/// another repository's pipeline (a sandbox, a fork with the same commit)
/// cannot register a commit it does not own and have the real pipeline
/// deploy it. A person id that is also someone else's account id names
/// nobody for sure.
async fn approvals_are_bound_to_their_repository(env: Env) {
    use soxctl_app::gate::{NewDeployment, Who, check_as, record_deployment_as, register};
    use soxctl_model::access::Pipeline;
    let commit = "6f99f13a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e";
    let scratch = Pipeline {
        repo: "github.com/zoe/scratch".into(),
        environments: vec!["prod".into()],
        triggered_by: None,
        run: None,
    };
    let mut tx = env.store.begin_write().await.unwrap();
    let created = register(
        &mut tx,
        &actor(),
        Some(&scratch),
        NewDeployment {
            env: "prod".into(),
            commit: commit.into(),
            commits: vec![ChangeCommit {
                sha: commit.into(),
                author: "Vera <vera@example.com>".into(),
                committer: "Vera <vera@example.com>".into(),
                co_authors: Vec::new(),
            }],
            triggered_by: Some("vend".into()),
            justification: None,
            ticket: None,
        },
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    env.decide("mgr", &created.request.request_id, Decision::Approve)
        .await
        .unwrap();
    let sam = Who::Named("sam@example.com".into());
    let own_repo = check_as(
        &env.store,
        Some("github.com/zoe/scratch"),
        commit,
        "prod",
        &sam,
    )
    .await
    .unwrap();
    assert!(own_repo.allowed, "{}", own_repo.reason);
    let elsewhere = check_as(
        &env.store,
        Some("github.com/acme/app"),
        commit,
        "prod",
        &sam,
    )
    .await
    .unwrap();
    assert!(!elsewhere.allowed);
    assert!(
        elsewhere.reason.contains("no change request"),
        "{}",
        elsewhere.reason
    );
    let mut tx = env.store.begin_write().await.unwrap();
    let deployed = record_deployment_as(
        &mut tx,
        &actor(),
        commit,
        "prod",
        &sam,
        Some("github.com/acme/app"),
        None,
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    assert!(deployed.finding_id.is_some(), "{}", deployed.reason);
    assert_eq!(
        env.status(&created.request.request_id).await,
        RequestStatus::Approved
    );

    // An account id chosen to look like another person's id.
    env.import_full(&[], "erp,sys,vend,human,active,,\n", "")
        .await;
    let ambiguous = check_as(
        &env.store,
        Some("github.com/zoe/scratch"),
        commit,
        "prod",
        &Who::Named("sys".into()),
    )
    .await
    .unwrap();
    assert!(!ambiguous.allowed);
    assert!(
        ambiguous.reason.contains("names several people"),
        "{}",
        ambiguous.reason
    );
    env.verify().await;
}

/// A delegation or a break-glass review through someone else's credential:
/// the issuer may not become the delegate, nor review their own use.
async fn delegations_through_someone_elses_credential(env: Env) {
    use soxctl_model::access::Issuer;
    let mut tx = env.store.begin_write().await.unwrap();
    let made = soxctl_app::delegate(
        &mut tx,
        &actor(),
        &pid("mgr"),
        NewDelegation {
            delegate_id: pid("req"),
            starts_at: None,
            ends_at: ts("2026-03-09T00:00:00Z"),
            reason: "holiday".into(),
            issued_by: Some(Issuer {
                principal: "token:tok_admin".into(),
                person: Some(pid("req")),
            }),
        },
    )
    .await;
    refused(made, "cannot make them mgr's delegate");
    drop(tx);
    env.verify().await;
}
