//! The change-management gate for CI/CD. A deployment is an action of kind
//! `deploy` whose payload is `{"commit": "<full sha>"}` in an environment,
//! so its digest follows from (environment, commit) alone and the gate can
//! be asked with nothing else. Its authors (from git) never approve it and,
//! unless the environment allows it, never deploy it.

use crate::create::author_key;
use crate::error::{Result, conflict, invalid, text};
use soxctl_detect::due_for;
use soxctl_model::event::Event;
use soxctl_model::finding::{FindingOpened, Severity, finding_id};
use soxctl_model::ids::PersonId;
use soxctl_model::principal::Principal;
use soxctl_model::request::{
    ActionAsk, Ask, ChangeDeployed, DecisionRow, DeploymentRow, RequestRow, RequestStatus,
};

use soxctl_model::time::Timestamp;
use soxctl_store::requests::RequestFilter;
use soxctl_store::{Store, WriteTx};

/// The action kind of deployments.
pub const DEPLOY: &str = "deploy";
/// The finding a deployment without a matching approval opens.
pub const UNAPPROVED_CHANGE: &str = "unapproved_change";

/// A full git object id, lowercase (SHA-1 or SHA-256).
pub fn normalise_commit(commit: &str) -> Result<String> {
    let c = commit.trim().to_ascii_lowercase();
    if (c.len() == 40 || c.len() == 64) && c.bytes().all(|b| b.is_ascii_hexdigit()) {
        Ok(c)
    } else {
        Err(invalid(format!(
            "'{commit}' is not a full commit id (40 or 64 hex digits): use `git rev-parse <rev>`"
        )))
    }
}

/// The payload of a deployment request.
pub fn deploy_payload(commit: &str) -> serde_json::Value {
    serde_json::json!({ "commit": commit })
}

/// The digest a deployment of `commit` to `env` is approved under.
pub fn deploy_digest(env: &str, commit: &str) -> Result<String> {
    soxctl_ledger::digest::action_digest(env, DEPLOY, &deploy_payload(commit))
        .map_err(|e| invalid(format!("cannot compute the deployment digest: {e}")))
}

/// Per-environment gate settings.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GatePolicy {
    /// Environments where an author may deploy their own change (approval
    /// by others is still required).
    pub author_may_deploy: Vec<String>,
    /// Environments whose changes pass the gate only when every author was
    /// matched to a person when the change was registered: an author nobody
    /// is known as could have approved it under another name.
    pub require_attributed_authors: Vec<String>,
}

impl GatePolicy {
    /// Why an approved change may still not pass the gate, judged on what
    /// was registered.
    fn unattributed_refusal(&self, env: &str, action: &ActionAsk) -> Option<String> {
        (self.require_attributed_authors.iter().any(|e| e == env)
            && !action.unattributed_authors.is_empty())
        .then(|| {
            format!(
                "{env} requires every author to be a known person, and {} matched nobody when the change \
                 was registered: add their git emails as accounts of the people (import the source-control \
                 system) and register the change again",
                action.unattributed_authors.join(", ")
            )
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    pub allowed: bool,
    pub reason: String,
    pub request_id: Option<String>,
    /// Where the approval is recorded: the ledger entries to prove.
    pub evidence: Option<String>,
    /// When the clock alone changes this verdict (an allowed one: its
    /// approval runs out; a pending request's: it expires); none: only the
    /// ledger does.
    pub valid_until: Option<Timestamp>,
}

fn deny(reason: String, request: Option<&RequestRow>) -> Verdict {
    Verdict {
        allowed: false,
        reason,
        request_id: request.map(|r| r.request_id.clone()),
        evidence: None,
        valid_until: None,
    }
}

fn is_author(who: &str, authors: &[String]) -> bool {
    let key = author_key(who);
    authors.iter().any(|a| author_key(a) == key)
}

/// The first approver (or the person whose seat they sat in) who wrote the
/// change. Approvers are people, authors git identities: compared by the
/// people the authors were matched to, and by id or email as written.
fn approver_who_wrote<'a>(
    action: &ActionAsk,
    decisions: &'a [DecisionRow],
) -> Option<&'a PersonId> {
    decisions
        .iter()
        .flat_map(|d| std::iter::once(&d.approver_id).chain(d.on_behalf_of.as_ref()))
        .find(|who| action.author_people.contains(who) || is_author(who.as_str(), &action.authors))
}

/// Where a person's identities are read: the store, or the write in
/// progress.
trait Identities {
    fn identity_keys(
        &mut self,
        person: &PersonId,
    ) -> impl Future<Output = Result<Vec<String>>> + Send;
}

impl Identities for &Store {
    fn identity_keys(
        &mut self,
        person: &PersonId,
    ) -> impl Future<Output = Result<Vec<String>>> + Send {
        let store = *self;
        async move { Ok(store.identity_keys_of_person(person).await?) }
    }
}

impl Identities for WriteTx {
    async fn identity_keys(&mut self, person: &PersonId) -> Result<Vec<String>> {
        Ok(self.identity_keys_of_person(person).await?)
    }
}

/// The deployer is an author under the name they deploy with, or under
/// any other identity of an author (their id, email, account ids): a CI
/// job's pusher email need not be the address the commits carry.
async fn deployer_is_author(
    deployer: &str,
    action: &ActionAsk,
    identities: &mut impl Identities,
) -> Result<bool> {
    if is_author(deployer, &action.authors) {
        return Ok(true);
    }
    let key = author_key(deployer);
    for person in &action.author_people {
        if identities.identity_keys(person).await?.contains(&key) {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Read-only: may `deployer` deploy `commit` to `env` now?
pub async fn check(
    store: &Store,
    policy: &GatePolicy,
    commit: &str,
    env: &str,
    deployer: &str,
) -> Result<Verdict> {
    let commit = normalise_commit(commit)?;
    text("deployer", deployer, true)?;
    let digest = deploy_digest(env, &commit)?;
    let now = store.context().clock.now();
    let candidates = store
        .requests(&RequestFilter {
            digest: Some(digest.clone()),
            ..RequestFilter::default()
        })
        .await?;
    let Some(request) = candidates
        .iter()
        .rev()
        .find(|r| r.status == RequestStatus::Approved && r.usable_at(now))
    else {
        let why = match candidates.last() {
            None => format!(
                "no change request for {commit} in {env}: register it with `soxctl gate request` and have it approved"
            ),
            Some(r) => format!(
                "the change request {} for {commit} in {env} is {}",
                r.request_id,
                r.state_at(now)
            ),
        };
        let mut verdict = deny(why, candidates.last());
        // "pending" turns into "expired" by the clock alone.
        verdict.valid_until = candidates
            .last()
            .filter(|r| r.status == RequestStatus::Pending)
            .map(|r| r.expires_at);
        return Ok(verdict);
    };
    let Ask::Action(action) = &request.ask else {
        return Ok(deny(
            "the matching request is not an action".into(),
            Some(request),
        ));
    };
    if let Some(why) = policy.unattributed_refusal(env, action) {
        return Ok(deny(why, Some(request)));
    }
    let decisions = store.decisions(Some(&request.request_id)).await?;
    if let Some(who) = approver_who_wrote(action, &decisions) {
        return Ok(deny(
            format!("{who} approved a change they wrote"),
            Some(request),
        ));
    }
    if !policy.author_may_deploy.iter().any(|e| e == env)
        && deployer_is_author(deployer, action, &mut { store }).await?
    {
        return Ok(deny(
            format!("{deployer} wrote part of this change and may not deploy it to {env}"),
            Some(request),
        ));
    }
    let approvals: Vec<String> = decisions
        .iter()
        .map(|d| format!("{} (ledger seq {})", d.approver_id, d.seq))
        .collect();
    Ok(Verdict {
        allowed: true,
        reason: format!(
            "approved by {}; valid until {}",
            approvals.join(", "),
            request
                .valid_until
                .map(|t| t.to_string())
                .unwrap_or_default()
        ),
        request_id: Some(request.request_id.clone()),
        evidence: Some(format!(
            "request {} ({}), decisions at ledger seq {}",
            request.request_id,
            digest,
            decisions
                .iter()
                .map(|d| d.seq.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        )),
        valid_until: request.valid_until,
    })
}

#[derive(Debug, Clone)]
pub struct Deployed {
    pub deployment: DeploymentRow,
    /// No approval matched: an `unapproved_change` finding is open.
    pub finding_id: Option<String>,
    pub reason: String,
}

/// Records a deployment; consumes the matching approval, or opens an
/// unapproved-change finding when none matches (or the deployer wrote it).
pub async fn record_deployment(
    tx: &mut WriteTx,
    actor: &Principal,
    policy: &GatePolicy,
    commit: &str,
    env: &str,
    deployer: &str,
    repo: Option<&str>,
) -> Result<Deployed> {
    let commit = normalise_commit(commit)?;
    crate::create::check_name("environment", env)?;
    text("deployer", deployer, true)?;
    if let Some(r) = repo {
        text("repo", r, false)?;
    }
    let now = tx.now();
    let digest = deploy_digest(env, &commit)?;
    let candidates = tx
        .requests(&RequestFilter {
            digest: Some(digest),
            ..RequestFilter::default()
        })
        .await?;
    let approved = candidates
        .iter()
        .rev()
        .find(|r| r.status == RequestStatus::Approved && r.usable_at(now));
    // The gate's check again: an approval given by an author is none, nor
    // one used by an author where authors may not deploy.
    let mut refusal = None;
    if let Some(r) = approved
        && let Ask::Action(a) = &r.ask
    {
        let decisions = tx.decisions(Some(&r.request_id)).await?;
        refusal = if let Some(who) = approver_who_wrote(a, &decisions) {
            Some(format!(
                "{who} approved a change they wrote (request {})",
                r.request_id
            ))
        } else if !policy.author_may_deploy.iter().any(|e| e == env)
            && deployer_is_author(deployer, a, tx).await?
        {
            Some(format!(
                "{deployer} deployed a change they wrote (request {})",
                r.request_id
            ))
        } else {
            policy.unattributed_refusal(env, a)
        };
    }
    let (request_id, reason) = match (approved, refusal) {
        (Some(_), Some(why)) => (None, why),
        (Some(r), None) => (
            Some(r.request_id.clone()),
            format!("approved by request {}", r.request_id),
        ),
        (None, _) => (
            None,
            format!("no approved, unexpired change request for {commit} in {env}"),
        ),
    };
    let deployment_id = format!("dep_{}", uuid::Uuid::new_v4().simple());
    let seq = tx
        .append(
            actor,
            &Event::ChangeDeployed(ChangeDeployed {
                deployment_id: deployment_id.clone(),
                env: env.to_owned(),
                commit: commit.clone(),
                repo: repo.map(str::to_owned),
                deployer: deployer.to_owned(),
                request_id: request_id.clone(),
            }),
        )
        .await?;
    let mut finding = None;
    if request_id.is_none() {
        let subject = format!("deployment:{env}:{commit}");
        let id = finding_id(UNAPPROVED_CHANGE, &subject);
        let open = tx
            .findings_of_kinds(&[UNAPPROVED_CHANGE])
            .await?
            .into_iter()
            .any(|f| {
                f.finding_id == id && f.status != soxctl_model::finding::FindingStatus::Resolved
            });
        if !open {
            let detail = [
                ("env".to_owned(), env.to_owned()),
                ("commit".to_owned(), commit.clone()),
                ("deployer".to_owned(), deployer.to_owned()),
                ("deployment_id".to_owned(), deployment_id.clone()),
                ("ledger_seq".to_owned(), seq.to_string()),
            ]
            .into_iter()
            .collect();
            tx.append(
                &Principal::system("gate"),
                &Event::FindingOpened(FindingOpened {
                    finding_id: id.clone(),
                    kind: UNAPPROVED_CHANGE.to_owned(),
                    subject,
                    severity: Severity::High,
                    control_ids: Vec::new(),
                    first_seen: now,
                    owner_id: None,
                    due: due_for(Severity::High, now),
                    summary: format!("Unapproved change deployed to {env}: {reason}"),
                    detail,
                }),
            )
            .await?;
            tx.enqueue(
                "finding.opened",
                &serde_json::json!({
                    "finding_id": id,
                    "kind": UNAPPROVED_CHANGE,
                    "notify": {
                        "subject": format!("Unapproved change deployed to {env}"),
                        "text": format!("{deployer} deployed {commit} to {env}: {reason}."),
                        "link": "/api/v1/findings?kind=unapproved_change",
                        "recipients": [],
                        "severity": "high",
                    }
                }),
            )
            .await?;
        }
        finding = Some(id);
    }
    let deployment = tx
        .deployments(Some(env))
        .await?
        .into_iter()
        .find(|d| d.deployment_id == deployment_id)
        .ok_or_else(|| conflict(format!("deployment {deployment_id} vanished")))?;
    Ok(Deployed {
        deployment,
        finding_id: finding,
        reason,
    })
}

/// The commit last deployed to `env` (of `repo`, when given), if any.
pub async fn last_deployed(
    store: &Store,
    env: &str,
    repo: Option<&str>,
) -> Result<Option<DeploymentRow>> {
    Ok(store
        .deployments(Some(env))
        .await?
        .into_iter()
        .rev()
        .find(|d| repo.is_none_or(|r| d.repo.as_deref() == Some(r))))
}
