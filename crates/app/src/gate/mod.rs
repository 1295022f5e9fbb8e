//! The change-management gate for CI/CD. A deployment is an action of kind
//! `deploy` whose payload is `{"commit": "<full sha>"}` in an environment,
//! so its digest follows from (environment, commit) alone and the gate can
//! be asked with nothing else. Its authors (from git) never approve it and,
//! unless the environment allows it, never deploy it.

pub mod git;

use crate::error::{Result, WorkflowError, conflict, invalid};
use crate::identities::{self, Named};
use crate::requests::create::{ChangeCommit, Created, NewAction, NewAsk, NewChange, NewRequest};
use soxctl_detect::due_for;
use soxctl_model::access::{Pipeline, TriggeredBy};
use soxctl_model::document::DocumentKind;
use soxctl_model::event::Event;
use soxctl_model::finding::{FindingOpened, Severity, finding_id};
use soxctl_model::identity::{EmailFolding, Identity};
use soxctl_model::ids::{FindingId, PersonId, RequestId};
use soxctl_model::principal::Principal;
use soxctl_model::request::{
    ActionAsk, Ask, ChangeDeployed, DecisionRow, DeploymentRow, RequestRow, RequestStatus,
};

use soxctl_model::time::Timestamp;
pub use soxctl_policy::GateSettings;
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

/// The `[gate]` settings of the policies document in force (the strict
/// default without one). Fails closed: a document that no longer parses
/// refuses every gate step.
pub async fn settings(store: &Store) -> Result<GateSettings> {
    gate_settings_of(store.latest_document(DocumentKind::Policies).await?)
}

/// [`settings`], as of the write in progress.
pub async fn settings_in_tx(tx: &mut WriteTx) -> Result<GateSettings> {
    gate_settings_of(tx.latest_document(DocumentKind::Policies).await?)
}

fn gate_settings_of(doc: Option<soxctl_model::document::DocumentRow>) -> Result<GateSettings> {
    match doc {
        None => Ok(GateSettings::default()),
        Some(doc) => GateSettings::from_document(&doc.content).map_err(|errors| {
            WorkflowError::Refused(format!(
                "the [gate] settings of the approval policies in force (version {}) do not parse ({}); \
                 load a corrected file with `soxctl policies load FILE`",
                doc.version,
                errors
                    .first()
                    .map(ToString::to_string)
                    .unwrap_or_default()
            ))
        }),
    }
}

/// How identities are folded under `settings`.
pub fn folding(settings: &GateSettings) -> EmailFolding {
    EmailFolding {
        subaddress_separator: settings.subaddress_separator,
    }
}

/// Why an approved change may still not pass the gate because of who
/// wrote it, judged on what was registered.
fn unattributed_refusal(settings: &GateSettings, env: &str, action: &ActionAsk) -> Option<String> {
    (!settings.allows_unattributed(env) && !action.unattributed_authors.is_empty()).then(|| {
        format!(
            "{} matched no person when the change was registered, and {env} requires every author to be a \
             known person: add their git emails as accounts of the people (import the source-control system) \
             and register the change again, or allow it in the policies' [gate] allow_unattributed_authors",
            action.unattributed_authors.join(", ")
        )
    })
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    pub allowed: bool,
    pub reason: String,
    pub request_id: Option<RequestId>,
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

/// The first approver (or the person whose seat they sat in) who wrote the
/// change, as the authors were attributed when it was registered.
fn approver_who_wrote<'a>(
    action: &ActionAsk,
    decisions: &'a [DecisionRow],
) -> Option<&'a PersonId> {
    decisions
        .iter()
        .flat_map(|d| std::iter::once(&d.approver_id).chain(d.on_behalf_of.as_ref()))
        .find(|who| action.author_people.contains(who))
}

/// Who deploys: named by the caller (a static gate token's pipeline, an
/// admin), or the person who triggered a CI run, as its identity token
/// says (never an argument).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Who {
    Named(String),
    Run(TriggeredBy),
}

impl Who {
    /// The same text for the same deployer, for remembering verdicts.
    pub fn key(&self) -> String {
        match self {
            Self::Named(text) => format!("named:{text}"),
            Self::Run(by) => format!(
                "run:{}:{}:{}",
                by.system.as_ref().map(|s| s.as_str()).unwrap_or(""),
                by.login,
                by.email.as_deref().unwrap_or("")
            ),
        }
    }
}

/// The deployer, parsed and named: a string that does not parse is refused
/// (400 / exit 2); one that names nobody is judged by the caller.
pub struct Deployer {
    pub identity: Identity,
    pub named: Named,
}

async fn deployer_of(
    directory: &mut impl identities::Directory,
    settings: &GateSettings,
    who: &Who,
) -> Result<Deployer> {
    let folding = folding(settings);
    let (identity, named) = match who {
        Who::Named(text) => {
            let identity = identities::parse("deployer", text, folding)?;
            let named = identities::resolve(directory, &identity, folding).await?;
            (identity, named)
        }
        Who::Run(by) => identities::resolve_run(directory, by, folding).await?,
    };
    Ok(Deployer { identity, named })
}

/// Why `deployer` may not deploy the approved `action` to `env`, if so:
/// author ≠ approver, approver ≠ deployer, author ≠ deployer (unless the
/// environment allows it), every author and the deployer known.
fn refusal(
    settings: &GateSettings,
    env: &str,
    action: &ActionAsk,
    decisions: &[DecisionRow],
    deployer: &Deployer,
) -> Option<String> {
    if let Some(why) = unattributed_refusal(settings, env, action) {
        return Some(why);
    }
    if let Some(who) = approver_who_wrote(action, decisions) {
        return Some(format!("{who} approved a change they wrote"));
    }
    let shown = &deployer.identity;
    let person = match &deployer.named {
        Named::Person(p) => p,
        Named::Several(people) if !settings.allows_unattributed(env) => {
            return Some(format!(
                "the deployer {shown} names several people ({}): name the deployer by person id",
                people
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        Named::Nobody if !settings.allows_unattributed(env) => {
            return Some(format!(
                "the deployer {shown} is no known person, and {env} requires a known deployer: name them by \
                 person id or by an email the inventory knows"
            ));
        }
        _ => return None,
    };
    if let Some(d) = decisions
        .iter()
        .find(|d| &d.approver_id == person || d.on_behalf_of.as_ref() == Some(person))
    {
        return Some(format!(
            "{person} approved this change (ledger seq {}) and may not deploy it: approver and deployer \
             are two people",
            d.seq
        ));
    }
    if action.author_people.contains(person) && !settings.author_may_deploy(env) {
        return Some(format!(
            "{person} ({shown}) wrote part of this change and may not deploy it to {env}"
        ));
    }
    None
}

/// Read-only: may `deployer` deploy `commit` to `env` now, whatever
/// repository registered it (for tools and tests; a pipeline asks with
/// [`check_as`] for its own repository).
pub async fn check(store: &Store, commit: &str, env: &str, deployer: &str) -> Result<Verdict> {
    check_as(store, None, commit, env, &Who::Named(deployer.to_owned())).await
}

/// Whether `request` registered a change of `repo` (any, when none is
/// asked): an approval is bound to the repository whose pipeline
/// registered it, not only to (environment, commit).
fn of_repo(request: &RequestRow, repo: Option<&str>) -> bool {
    match (repo, &request.ask) {
        (None, _) => true,
        (Some(repo), Ask::Action(a)) => a.repo.as_deref() == Some(repo),
        (Some(_), Ask::Access(_)) => false,
    }
}

/// [`check`] for a pipeline of `repo`, with a deployer named or signed by a CI run.
pub async fn check_as(
    store: &Store,
    repo: Option<&str>,
    commit: &str,
    env: &str,
    who: &Who,
) -> Result<Verdict> {
    let commit = normalise_commit(commit)?;
    crate::requests::create::check_name("environment", env)?;
    let settings = settings(store).await?;
    let deployer = deployer_of(&mut { store }, &settings, who).await?;
    let digest = deploy_digest(env, &commit)?;
    let now = store.context().clock.now();
    let candidates: Vec<RequestRow> = store
        .requests(&RequestFilter {
            digest: Some(digest.clone()),
            ..RequestFilter::default()
        })
        .await?
        .into_iter()
        .filter(|r| of_repo(r, repo))
        .collect();
    let Some(request) = candidates
        .iter()
        .rev()
        .find(|r| r.status == RequestStatus::Approved && r.usable_at(now))
    else {
        let why = match candidates.last() {
            None => format!(
                "no change request for {commit} in {env}: the pipeline registers it with `soxctl gate request`, \
                 then it must be approved"
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
    let decisions = store.decisions(Some(&request.request_id)).await?;
    if let Some(why) = refusal(&settings, env, action, &decisions, &deployer) {
        return Ok(deny(why, Some(request)));
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

/// A deployment as its pipeline registers it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewDeployment {
    pub env: String,
    /// The commit to deploy (full id).
    pub commit: String,
    /// Every commit the deployment brings (the deployed one included), as
    /// the pipeline read them from the repository.
    pub commits: Vec<ChangeCommit>,
    /// Who triggered the run, as a static gate token's pipeline states it
    /// (a person id or an email); a CI identity token's claims name them
    /// instead, and then this must be absent.
    pub triggered_by: Option<String>,
    pub justification: Option<String>,
    pub ticket: Option<String>,
}

/// Registers a deployment for approval, as the pipeline bound to its
/// repository. The requester is the person who triggered the run; the
/// authors come from the commits the pipeline read, never from a person.
pub async fn register(
    tx: &mut WriteTx,
    actor: &Principal,
    pipeline: Option<&Pipeline>,
    input: NewDeployment,
) -> Result<Created> {
    let Some(pipeline) = pipeline else {
        return Err(WorkflowError::Refused(
            "only a pipeline registers a deployment: use a gate token bound to the repository and its \
             environments (`soxctl token create --scope gate --repo HOST/PATH --env ENV`) or a CI identity \
             token its trust policy admits"
                .into(),
        ));
    };
    let commit = normalise_commit(&input.commit)?;
    crate::requests::create::check_name("environment", &input.env)?;
    if !pipeline.allows(&input.env) {
        return Err(WorkflowError::Refused(format!(
            "this pipeline credential acts in {} only, not in {}: use the credential of that environment's \
             pipeline",
            pipeline.environments.join(", "),
            input.env
        )));
    }
    if !input
        .commits
        .iter()
        .any(|c| normalise_commit(&c.sha).is_ok_and(|sha| sha == commit))
    {
        return Err(invalid(format!(
            "the commits read for the change do not include the deployed commit {commit}: read the range \
             that ends at it"
        )));
    }
    let settings = settings_in_tx(tx).await?;
    let folding = folding(&settings);
    let (requester, named) = match (&pipeline.triggered_by, &input.triggered_by) {
        (Some(_), Some(_)) => {
            return Err(invalid(
                "the CI identity token names who triggered the run: leave triggered_by out",
            ));
        }
        (Some(by), None) => {
            let (identity, named) = identities::resolve_run(tx, by, folding).await?;
            (identity.to_string(), named)
        }
        (None, Some(text)) => {
            let identity = identities::parse("person who triggered the run", text, folding)?;
            let named = identities::resolve(tx, &identity, folding).await?;
            (identity.to_string(), named)
        }
        (None, None) => {
            return Err(invalid(
                "name who triggered the run (triggered_by: their person id or email; `soxctl gate request \
                 --triggered-by`, e.g. $GITLAB_USER_EMAIL)",
            ));
        }
    };
    let requester = match named {
        Named::Person(p) => p,
        Named::Nobody => {
            return Err(WorkflowError::Refused(format!(
                "{requester}, who triggered the run, is no known person: a change is asked for by a person \
                 (add their CI login or email as an account of the source-control system)"
            )));
        }
        Named::Several(people) => {
            return Err(WorkflowError::Refused(format!(
                "{requester}, who triggered the run, names several people ({}): make the accounts unambiguous",
                people
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
    };
    let justification = input
        .justification
        .unwrap_or_else(|| format!("deploy {} {commit} to {}", pipeline.repo, input.env));
    crate::requests::create(
        tx,
        actor,
        &requester,
        NewRequest {
            ask: NewAsk::Action(NewAction {
                kind: DEPLOY.to_owned(),
                env: input.env,
                payload: deploy_payload(&commit),
                change: Some(NewChange {
                    repo: pipeline.repo.clone(),
                    run: pipeline.run.clone(),
                    commits: input.commits,
                }),
            }),
            justification,
            ticket: input.ticket,
        },
    )
    .await
}

#[derive(Debug, Clone)]
pub struct Deployed {
    pub deployment: DeploymentRow,
    /// No approval matched: an `unapproved_change` finding is open.
    pub finding_id: Option<FindingId>,
    pub reason: String,
}

/// Records a deployment; consumes the matching approval, or opens an
/// unapproved-change finding when none matches (or the deployer wrote it).
pub async fn record_deployment(
    tx: &mut WriteTx,
    actor: &Principal,
    commit: &str,
    env: &str,
    deployer: &str,
    repo: Option<&str>,
) -> Result<Deployed> {
    record_deployment_as(
        tx,
        actor,
        commit,
        env,
        &Who::Named(deployer.to_owned()),
        repo,
        None,
    )
    .await
}

/// [`record_deployment`], for a deployer named or signed by a CI run.
pub async fn record_deployment_as(
    tx: &mut WriteTx,
    actor: &Principal,
    commit: &str,
    env: &str,
    who: &Who,
    repo: Option<&str>,
    run: Option<&str>,
) -> Result<Deployed> {
    let commit = normalise_commit(commit)?;
    crate::requests::create::check_name("environment", env)?;
    if let Some(r) = repo {
        soxctl_model::text::check_line("repo", r, crate::MAX_TEXT_LEN)
            .map_err(|e| invalid(e.to_string()))?;
    }
    let settings = settings_in_tx(tx).await?;
    let deployer_named = deployer_of(tx, &settings, who).await?;
    let now = tx.now();
    let digest = deploy_digest(env, &commit)?;
    let candidates: Vec<RequestRow> = tx
        .requests(&RequestFilter {
            digest: Some(digest),
            ..RequestFilter::default()
        })
        .await?
        .into_iter()
        .filter(|r| of_repo(r, repo))
        .collect();
    let approved = candidates
        .iter()
        .rev()
        .find(|r| r.status == RequestStatus::Approved && r.usable_at(now));
    // The gate's check again: an approval given by an author is none, nor
    // one used by its approver, or by an author where authors may not deploy.
    let mut refusal = None;
    if let Some(r) = approved
        && let Ask::Action(a) = &r.ask
    {
        let decisions = tx.decisions(Some(&r.request_id)).await?;
        refusal = self::refusal(&settings, env, a, &decisions, &deployer_named)
            .map(|why| format!("{why} (request {})", r.request_id));
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
                deployer: deployer_named.identity.to_string(),
                deployer_person: deployer_named.named.person().cloned(),
                run: run.map(str::to_owned),
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
                ("deployer".to_owned(), deployer_named.identity.to_string()),
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
                        "text": format!("{} deployed {commit} to {env}: {reason}.", deployer_named.identity),
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
