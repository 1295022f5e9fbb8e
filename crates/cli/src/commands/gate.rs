//! `soxctl gate`: the change-management gate for CI/CD, and execution
//! tokens for approved actions. The change's commits and authors are read
//! from the local clone by `soxctl_app::gate::git`.

use crate::client::{Client, query};
use crate::exit::{CmdResult, Exit, failed, usage};
use crate::output::{Format, print_object, print_view};
use clap::Subcommand;
use serde_json::json;
use soxctl_api::gate::{
    CommitBody, DeployedBody, DeployedView, ExecutedBody, ExecutedView, IssuedToken, LastDeployed,
    RegisterBody, TokenBody, VerdictView,
};
use soxctl_api::requests::CreatedRequest;
use soxctl_app::gate::git::Repository;
use soxctl_model::ids::RequestId;
use soxctl_model::request::Ask;
use std::path::Path;
use std::path::PathBuf;

#[derive(Debug, Subcommand)]
pub enum GateCommand {
    /// Run by the pipeline, with its gate credential: register a change for approval. Its commits
    /// are read from git (`last_deployed(env)..COMMIT`, merge commits included: authors, committers,
    /// Co-authored-by, after .mailmap) and sent to the server, which names the people who wrote
    /// it; none of them may approve it.
    Request {
        /// deploy (the gate's kind).
        #[arg(long, default_value = "deploy")]
        kind: String,
        /// The local git repository.
        #[arg(long, value_name = "PATH", default_value = ".")]
        repo: PathBuf,
        /// The commit to deploy (any revision git understands).
        #[arg(long)]
        commit: String,
        /// The environment the change is for (e.g. staging, prod): approval routing, the
        /// approval's binding and the pipeline credential's allowed environments use it.
        #[arg(long)]
        env: String,
        /// The repository's name in messages and the default justification (default: its
        /// `origin` remote as host/path, else the directory name). A bound pipeline credential's
        /// repository is what the server records, whatever this says.
        #[arg(long)]
        repo_name: Option<String>,
        /// Where the author range starts when the environment has no deployment yet (default: the commit alone).
        #[arg(long, value_name = "REV")]
        since: Option<String>,
        /// With a static gate token: who triggered the run (person id or email, e.g.
        /// $GITLAB_USER_EMAIL); they become the requester. A CI identity token names them itself.
        #[arg(long, env = "SOXCTL_TRIGGERED_BY", value_name = "WHO")]
        triggered_by: Option<String>,
        /// Why the change is needed, shown to the approvers (default: "<repo>: deploy <commit>").
        #[arg(long)]
        justification: Option<String>,
        /// The change ticket (e.g. CHG-1234) the approvers check it against.
        #[arg(long)]
        ticket: Option<String>,
        /// Print only the new request's id on stdout, for scripts:
        /// `REQ=$(soxctl gate request … --id)`.
        #[arg(long, conflicts_with = "format")]
        id: bool,
        #[command(flatten)]
        server: crate::client::ServerArgs,
        #[arg(long, value_enum)]
        format: Option<Format>,
    },
    /// Read-only, with the repository's pipeline credential: exit 0 when an unexpired approval
    /// that this repository's pipeline registered binds this commit and environment, no author
    /// approved it, and the deployer is a known person who neither wrote nor approved it; 1
    /// otherwise (with the reason); 2 for input that names nobody (e.g. a display name).
    Check {
        #[arg(long)]
        commit: String,
        #[arg(long)]
        env: String,
        /// Who deploys: person id, email or `Name <email>`. Left out with a CI identity token
        /// (OIDC), whose claims name them.
        #[arg(long)]
        deployer: Option<String>,
        /// Resolve a short or symbolic --commit in this git repository.
        #[arg(long, value_name = "PATH")]
        repo: Option<PathBuf>,
        #[command(flatten)]
        server: crate::client::ServerArgs,
        #[arg(long, value_enum)]
        format: Option<Format>,
    },
    /// Record a deployment: consumes its approval; without one it opens an unapproved-change finding (exit 1).
    Deployed {
        #[arg(long)]
        commit: String,
        #[arg(long)]
        env: String,
        /// Who deployed: person id, email or `Name <email>`. Left out with a CI identity token
        /// (OIDC), whose claims name them.
        #[arg(long)]
        deployer: Option<String>,
        #[arg(long)]
        repo_name: Option<String>,
        #[arg(long, value_name = "PATH")]
        repo: Option<PathBuf>,
        #[command(flatten)]
        server: crate::client::ServerArgs,
        #[arg(long, value_enum)]
        format: Option<Format>,
    },
    /// Obtain a short-lived execution token for an approved action (the JWS alone on the last line).
    Token {
        #[arg(long = "request", value_name = "REQUEST_ID")]
        request_id: String,
        #[arg(long)]
        env: String,
        /// The payload about to be executed: JSON or @FILE (its digest must be the approved one).
        #[arg(long, conflicts_with = "commit")]
        payload: Option<String>,
        /// For a deployment: the full commit id (payload {"commit": …}).
        #[arg(long)]
        commit: Option<String>,
        #[command(flatten)]
        server: crate::client::ServerArgs,
    },
    /// Report an action done with its execution token: consumes the approval.
    Executed {
        /// The execution token: the text, `-` to read it from stdin, or @FILE (so that it is not
        /// visible in the process list).
        #[arg(long)]
        token: String,
        #[arg(long)]
        outcome: String,
        #[command(flatten)]
        server: crate::client::ServerArgs,
        #[arg(long, value_enum)]
        format: Option<Format>,
    },
    /// Verify an execution token offline with the store's verifier key (exit 1 when invalid or not bound as given).
    VerifyToken {
        /// The execution token: the text, `-` to read it from stdin, or @FILE.
        token: String,
        /// The verifier key (`soxctl export ledger` writes verifier.key).
        #[arg(long, value_name = "FILE")]
        key: PathBuf,
        #[arg(long)]
        digest: Option<String>,
        #[arg(long)]
        env: Option<String>,
        /// The executor principal (`token:<id>` or `person:<id>`).
        #[arg(long)]
        executor: Option<String>,
        #[arg(long, value_enum)]
        format: Option<Format>,
    },
}

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
            id,
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
                super::workflow::named_approvers(&created.request)
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
            if id {
                println!("{}", created.request.request_id);
            } else {
                print_view(Format::resolve(format), &created)?;
            }
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
            let request_id = RequestId::parse(request_id)?;
            let client = Client::new(&server)?;
            let shown = client.request(&request_id).await?;
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
            let executor = executor
                .as_deref()
                .map(str::parse::<soxctl_model::principal::Principal>)
                .transpose()
                .map_err(|e| failed(Exit::Usage, anyhow::anyhow!("--executor: {e}")))?;
            let now = soxctl_model::clock::Clock::now(&soxctl_model::clock::SystemClock);
            let expected = soxctl_app::execution::Expected {
                digest: digest.as_deref(),
                env: env.as_deref(),
                executor: executor.as_ref(),
            };
            let claims =
                soxctl_app::execution::check_execution_token(&verifier, &token, now, expected)
                    .map_err(|e| failed(Exit::CheckFailed, anyhow::anyhow!("{e}")))?;
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
            eprintln!("valid: signed by {}", verifier.name());
            Ok(Exit::Ok)
        }
    }
}
