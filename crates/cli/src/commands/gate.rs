//! `soxctl gate`: the change-management gate for CI/CD, and execution
//! tokens for approved actions. The change's commits and authors are read
//! from the local clone by `soxctl_app::gate::git`.

use crate::cli::GateCommand;
use crate::client::{Client, query};
use crate::exit::{CmdResult, Exit, failed, usage};
use crate::output::{Format, print_object};
use serde_json::{Value, json};
use soxctl_app::gate::git::Repository;
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
                async move { client.get(&path).await }
            };
            let mut last = last_of(name.clone()).await?;
            // Deployments recorded under the repository's earlier name
            // (Azure DevOps remotes) still start the range.
            if last.get("commit").is_none_or(Value::is_null)
                && let Some(earlier) = earlier_name
            {
                last = last_of(earlier).await?;
            }
            let from = match last.get("commit").and_then(Value::as_str) {
                Some(previous) => Some(previous.to_owned()),
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
            let found: Vec<Value> = change
                .commits
                .iter()
                .map(|c| {
                    json!({
                        "sha": c.sha,
                        "author": c.author,
                        "committer": c.committer,
                        "co_authors": c.co_authors,
                    })
                })
                .collect();
            let body = json!({
                "env": env,
                "commit": sha,
                "commits": found,
                "triggered_by": triggered_by,
                "justification": justification.unwrap_or_else(|| format!("deploy {name} {sha} to {env}")),
                "ticket": ticket,
            });
            let created = client.post("/api/v1/gate/requests", &body).await?;
            eprintln!(
                "request {} awaits approval by {}",
                created
                    .get("request_id")
                    .and_then(Value::as_str)
                    .unwrap_or(""),
                created
                    .get("approvers")
                    .and_then(Value::as_array)
                    .map(|a| a
                        .iter()
                        .filter_map(Value::as_str)
                        .collect::<Vec<_>>()
                        .join(", "))
                    .unwrap_or_default()
            );
            let unattributed: Vec<&str> = created
                .pointer("/ask/action/unattributed_authors")
                .and_then(Value::as_array)
                .map(|a| a.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            if !unattributed.is_empty() {
                eprintln!(
                    "warning: {} matched no person's email, id or account, so nobody is kept from approving \
                     as them (this environment allows it: the policies' [gate] allow_unattributed_authors)",
                    unattributed.join(", ")
                );
            }
            print_object(Format::resolve(format), &created)?;
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
            let verdict = client
                .get(&format!(
                    "/api/v1/gate/check?commit={}&env={}{deployer}",
                    query(&sha),
                    query(&env),
                ))
                .await?;
            let allowed = verdict.get("allowed") == Some(&Value::Bool(true));
            let reason = verdict.get("reason").and_then(Value::as_str).unwrap_or("");
            if allowed {
                eprintln!("allowed: {reason}");
                if let Some(evidence) = verdict.get("evidence").and_then(Value::as_str) {
                    eprintln!("evidence: {evidence}");
                }
            } else {
                eprintln!("denied: {reason}");
            }
            print_object(Format::resolve(format), &verdict)?;
            Ok(if allowed { Exit::Ok } else { Exit::CheckFailed })
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
            let done = client
                .post(
                    "/api/v1/changes/deployed",
                    &json!({ "commit": sha, "env": env, "deployer": deployer, "repo": name }),
                )
                .await?;
            print_object(Format::resolve(format), &done)?;
            if let Some(finding) = done.get("finding_id").and_then(Value::as_str) {
                eprintln!(
                    "recorded as an UNAPPROVED change ({}); finding {finding} is open",
                    done.get("reason").and_then(Value::as_str).unwrap_or("")
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
            let shown = client
                .get(&format!("/api/v1/requests/{}", query(&request_id)))
                .await?;
            let kind = shown
                .pointer("/ask/action/kind")
                .and_then(Value::as_str)
                .ok_or_else(|| {
                    failed(
                        Exit::Usage,
                        anyhow::anyhow!("request {request_id} is not an action"),
                    )
                })?
                .to_owned();
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
            let issued = client
                .post(
                    "/api/v1/actions/token",
                    &json!({ "request_id": request_id, "digest": digest, "env": env }),
                )
                .await?;
            eprintln!(
                "execution token {} valid until {}; report with `soxctl gate executed`",
                issued.get("token_id").and_then(Value::as_str).unwrap_or(""),
                issued
                    .get("expires_at")
                    .and_then(Value::as_str)
                    .unwrap_or("")
            );
            println!(
                "{}",
                issued.get("token").and_then(Value::as_str).unwrap_or("")
            );
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
            let done = client
                .post(
                    "/api/v1/actions/executed",
                    &json!({ "token": token, "outcome": outcome }),
                )
                .await?;
            print_object(Format::resolve(format), &done)?;
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
