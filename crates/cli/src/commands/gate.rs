//! `soxctl gate`: the change-management gate for CI/CD, and execution
//! tokens for approved actions. The change's commits and authors are read
//! from the local clone by `soxctl_app::gate::git`.

use crate::cli::GateCommand;
use crate::client::{Client, query};
use crate::exit::{CmdResult, Exit, failed, usage};
use crate::output::{Format, print_object, print_view};
use serde_json::json;
use soxctl_api::gate::{
    CommitBody, DeployedBody, DeployedView, ExecutedBody, ExecutedView, IssuedToken, LastDeployed,
    RegisterBody, TokenBody, VerdictView,
};
use soxctl_api::requests::{CreatedRequest, RequestDetail};
use soxctl_app::gate::git::Repository;
use soxctl_model::request::Ask;
use std::path::Path;

/// A secret given as text, `-` (stdin) or `@FILE`: an argument is visible
/// to every user in the process list, stdin and files are not.
fn secret_argument(given: &str) -> Result<String, crate::exit::Failure> {
    let text = if given == "-" {
        let mut text = String::new();
        std::io::Read::read_to_string(
            &mut std::io::Read::take(std::io::stdin(), 64 * 1024),
            &mut text,
        )
        .map_err(|e| {
            failed(
                Exit::Usage,
                anyhow::anyhow!("cannot read the token from stdin: {e}"),
            )
        })?;
        text
    } else if let Some(path) = given.strip_prefix('@') {
        std::fs::read_to_string(path).map_err(|e| {
            failed(
                Exit::Usage,
                anyhow::anyhow!("cannot read the token from {path}: {e}"),
            )
        })?
    } else {
        given.to_owned()
    };
    let text = text.trim().to_owned();
    if text.is_empty() {
        return Err(failed(
            Exit::Usage,
            anyhow::anyhow!("no execution token given (text, - for stdin, or @FILE)"),
        ));
    }
    Ok(text)
}

fn commit_of(repo: Option<&Path>, commit: &str) -> Result<String, crate::exit::Failure> {
    match repo {
        Some(repo) => Ok(Repository::at(repo).resolve(commit)?),
        None => Ok(commit.to_owned()),
    }
}

pub async fn run(command: GateCommand) -> CmdResult {
    match command {
        GateCommand::Request {
            kind,
            repo,
            commit,
            env,
            repo_name: name,
            since,
            triggered_by,
            justification,
            ticket,
            server,
            format,
        } => {
            if kind != soxctl_app::gate::DEPLOY {
                usage!(
                    "the gate registers deployments (--kind deploy); other actions: `soxctl request create --action`"
                );
            }
            let client = Client::new(&server)?;
            let repository = Repository::at(&repo);
            let sha = repository.resolve(&commit)?;
            let (name, earlier_name) = repository.names(name)?;
            let last_of = |repo_name: String| {
                let client = &client;
                let path = format!(
                    "/api/v1/changes/last-deployed?env={}&repo={}",
                    query(&env),
                    query(&repo_name)
                );
                async move { client.get_as::<LastDeployed>(&path).await }
            };
            let mut last = last_of(name.clone()).await?;
            // Deployments recorded under the repository's earlier name
            // (Azure DevOps remotes) still start the range.
            if last.commit.is_none()
                && let Some(earlier) = earlier_name
            {
                last = last_of(earlier).await?;
            }
            let from = match last.commit {
                Some(previous) => Some(previous),
                None => since.map(|s| repository.resolve(&s)).transpose()?,
            };
            let change = repository.change(&sha, from.as_deref(), &name, &env)?;
            for note in &change.notes {
                eprintln!("{note}");
            }
            eprintln!(
                "change {}: {} commit(s); the server names their authors, who may not approve it",
                change.range,
                change.commits.len()
            );
            let body = RegisterBody {
                commits: change
                    .commits
                    .into_iter()
                    .map(|c| CommitBody {
                        sha: c.sha,
                        author: c.author,
                        committer: c.committer,
                        co_authors: c.co_authors,
                    })
                    .collect(),
                justification: Some(
                    justification.unwrap_or_else(|| format!("deploy {name} {sha} to {env}")),
                ),
                env,
                commit: sha,
                triggered_by,
                ticket,
            };
            let created: CreatedRequest = client.post_as("/api/v1/gate/requests", &body).await?;
            eprintln!(
                "request {} awaits approval by {}",
                created.request.request_id,
                created.request.approvers.join(", ")
            );
            let unattributed = match &created.request.ask {
                Ask::Action(action) => action.unattributed_authors.as_slice(),
                Ask::Access(_) => &[],
            };
            if !unattributed.is_empty() {
                eprintln!(
                    "warning: {} matched no person's email, id or account, so nobody is kept from approving \
                     as them (this environment allows it: the policies' [gate] allow_unattributed_authors)",
                    unattributed.join(", ")
                );
            }
            print_view(Format::resolve(format), &created)?;
            Ok(Exit::Ok)
        }
        GateCommand::Check {
            commit,
            env,
            deployer,
            repo,
            server,
            format,
        } => {
            let client = Client::new(&server)?;
            let sha = commit_of(repo.as_deref(), &commit)?;
            let deployer = deployer
                .map(|d| format!("&deployer={}", query(&d)))
                .unwrap_or_default();
            let verdict: VerdictView = client
                .get_as(&format!(
                    "/api/v1/gate/check?commit={}&env={}{deployer}",
                    query(&sha),
                    query(&env),
                ))
                .await?;
            if verdict.allowed {
                eprintln!("allowed: {}", verdict.reason);
                if let Some(evidence) = &verdict.evidence {
                    eprintln!("evidence: {evidence}");
                }
            } else {
                eprintln!("denied: {}", verdict.reason);
            }
            print_view(Format::resolve(format), &verdict)?;
            Ok(if verdict.allowed {
                Exit::Ok
            } else {
                Exit::CheckFailed
            })
        }
        GateCommand::Deployed {
            commit,
            env,
            deployer,
            repo_name: name,
            repo,
            server,
            format,
        } => {
            let client = Client::new(&server)?;
            let sha = commit_of(repo.as_deref(), &commit)?;
            let name = match (name, &repo) {
                (Some(n), _) => Some(n),
                (None, Some(r)) => Some(Repository::at(r).names(None)?.0),
                (None, None) => None,
            };
            let body = DeployedBody {
                commit: sha,
                env,
                deployer,
                repo: name,
            };
            let done: DeployedView = client.post_as("/api/v1/changes/deployed", &body).await?;
            print_view(Format::resolve(format), &done)?;
            if let Some(finding) = &done.finding_id {
                eprintln!(
                    "recorded as an UNAPPROVED change ({}); finding {finding} is open",
                    done.reason
                );
                return Ok(Exit::CheckFailed);
            }
            eprintln!("recorded; the approval is consumed");
            Ok(Exit::Ok)
        }
        GateCommand::Token {
            request_id,
            env,
            payload,
            commit,
            server,
        } => {
            let client = Client::new(&server)?;
            let shown: RequestDetail = client
                .get_as(&format!("/api/v1/requests/{}", query(&request_id)))
                .await?;
            let Ask::Action(action) = shown.request.ask else {
                usage!("request {request_id} is not an action");
            };
            let kind = action.kind;
            let payload = match (payload, commit) {
                (Some(p), None) => super::workflow::payload(&p)?,
                (None, Some(c)) => soxctl_app::gate::deploy_payload(
                    &soxctl_app::gate::normalise_commit(&c)
                        .map_err(|e| failed(Exit::Usage, anyhow::anyhow!("{e}")))?,
                ),
                _ => usage!(
                    "give the payload to execute (--payload JSON|@FILE) or, for a deployment, --commit"
                ),
            };
            let digest = soxctl_ledger::digest::action_digest(&env, &kind, &payload)
                .map_err(|e| failed(Exit::Usage, anyhow::anyhow!("the payload: {e}")))?;
            let issued: IssuedToken = client
                .post_as(
                    "/api/v1/actions/token",
                    &TokenBody {
                        request_id,
                        digest,
                        env,
                        ttl_secs: None,
                    },
                )
                .await?;
            eprintln!(
                "execution token {} valid until {}; report with `soxctl gate executed`",
                issued.token_id, issued.expires_at
            );
            println!("{}", issued.token);
            Ok(Exit::Ok)
        }
        GateCommand::Executed {
            token,
            outcome,
            server,
            format,
        } => {
            let token = secret_argument(&token)?;
            let client = Client::new(&server)?;
            let done: ExecutedView = client
                .post_as("/api/v1/actions/executed", &ExecutedBody { token, outcome })
                .await?;
            print_view(Format::resolve(format), &done)?;
            Ok(Exit::Ok)
        }
        GateCommand::VerifyToken {
            token,
            key,
            digest,
            env,
            executor,
            format,
        } => {
            let token = secret_argument(&token)?;
            let text = std::fs::read_to_string(&key).map_err(|e| {
                failed(
                    Exit::Usage,
                    anyhow::anyhow!("cannot read {}: {e}", key.display()),
                )
            })?;
            let verifier = soxctl_ledger::VerifierKey::parse(text.trim()).map_err(|e| {
                failed(
                    Exit::Usage,
                    anyhow::anyhow!("{} is not a verifier key: {e}", key.display()),
                )
            })?;
            let now = soxctl_model::clock::Clock::now(&soxctl_model::clock::SystemClock);
            let claims = soxctl_app::execution::verify_execution_token(&verifier, &token, now)
                .map_err(|e| failed(Exit::CheckFailed, anyhow::anyhow!("{e}")))?;
            let mismatch = [
                ("digest", digest.as_deref(), claims.digest.as_str()),
                ("environment", env.as_deref(), claims.env.as_str()),
                ("executor", executor.as_deref(), claims.executor.as_str()),
            ]
            .into_iter()
            .find(|(_, want, got)| want.is_some_and(|w| w != *got));
            let view = json!({
                "token_id": claims.token_id,
                "request_id": claims.request_id,
                "executor": claims.executor,
                "digest": claims.digest,
                "env": claims.env,
                "kind": claims.kind,
                "expires_at": claims.expires_at.to_canonical(),
            });
            print_object(Format::resolve(format), &view)?;
            if let Some((what, want, got)) = mismatch {
                return Err(failed(
                    Exit::CheckFailed,
                    anyhow::anyhow!(
                        "the token is bound to {what} {got}, not {}",
                        want.unwrap_or("")
                    ),
                ));
            }
            eprintln!("valid: signed by {}", verifier.name());
            Ok(Exit::Ok)
        }
    }
}
