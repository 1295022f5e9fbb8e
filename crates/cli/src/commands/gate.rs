//! `soxctl gate`: the change-management gate for CI/CD, and execution
//! tokens for approved actions. Authors come from the local git repository
//! through the `git` command (no git library in the build).

use crate::cli::GateCommand;
use crate::client::{Client, query};
use crate::exit::{CmdResult, Exit, failed, usage};
use crate::output::{Format, print_object};
use serde_json::{Value, json};
use std::path::Path;
use std::process::Command;

fn git(repo: &Path, args: &[&str]) -> Result<String, crate::exit::Failure> {
    let output = Command::new("git")
        .arg("-C")
        .arg(repo)
        .args(args)
        .output()
        .map_err(|e| {
            failed(
                Exit::Usage,
                anyhow::anyhow!(
                    "cannot run git ({e}): install git, or run in a CI job that has it"
                ),
            )
        })?;
    if !output.status.success() {
        return Err(failed(
            Exit::Usage,
            anyhow::anyhow!(
                "git {} in {} failed: {}",
                args.join(" "),
                repo.display(),
                String::from_utf8_lossy(&output.stderr).trim()
            ),
        ));
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

/// The full commit id of `rev`.
fn resolve(repo: &Path, rev: &str) -> Result<String, crate::exit::Failure> {
    let spec = format!("{rev}^{{commit}}");
    Ok(git(repo, &["rev-parse", "--verify", "--quiet", &spec])?
        .trim()
        .to_owned())
}

/// Every commit in `range`, merges included (code can be added inside a
/// merge): its author and committer after `.mailmap`, and as co-authors its
/// `Co-authored-by` trailers and the identities `.mailmap` rewrote, so
/// that an alias keeps its owner from approving too.
///
/// Git keeps control characters inside names, so no separator but NUL is
/// safe: every field ends with one (`-z` ends each record with another),
/// six fields make a commit, and anything else — or a count that differs
/// from `git rev-list --count` — is refused rather than a commit skipped.
fn commits(repo: &Path, range: &str) -> Result<Vec<Value>, crate::exit::Failure> {
    let out = git(
        repo,
        &[
            "log",
            "-z",
            "--format=%H%x00%aN <%aE>%x00%cN <%cE>%x00%an <%ae>%x00%cn <%ce>%x00%(trailers:key=Co-authored-by,valueonly,separator=%x1f)",
            range,
        ],
    )?;
    let unreadable = |why: String| {
        failed(
            Exit::Usage,
            anyhow::anyhow!(
                "cannot read the commits of {range} from git ({why}); no commit is left out, so nothing is registered"
            ),
        )
    };
    let fields: Vec<&str> = out.split('\u{0}').collect();
    // The output ends with the last record's terminator: one empty piece.
    let fields = match fields.split_last() {
        Some((last, rest)) if last.trim().is_empty() => rest,
        _ => fields.as_slice(),
    };
    if fields.len() % 6 != 0 {
        return Err(unreadable(format!(
            "{} fields, not a multiple of 6",
            fields.len()
        )));
    }
    let mut found = Vec::new();
    for record in fields.chunks(6) {
        let [sha, author, committer, raw_author, raw_committer, trailers] = record else {
            return Err(unreadable("a short record".into()));
        };
        let sha = sha.trim_start_matches('\n');
        if soxctl_workflow::gate::normalise_commit(sha).is_err() {
            return Err(unreadable(format!(
                "'{}' is not a commit id",
                soxctl_model::identity::escape(sha)
            )));
        }
        let mut co_authors: Vec<String> = trailers
            .split(['\u{1f}', '\n'])
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect();
        for (raw, mapped) in [(raw_author, author), (raw_committer, committer)] {
            if raw != mapped {
                co_authors.push((*raw).to_owned());
            }
        }
        co_authors.sort();
        co_authors.dedup();
        found.push(json!({
            "sha": sha,
            "author": author,
            "committer": committer,
            "co_authors": co_authors,
        }));
    }
    let expected: usize = git(repo, &["rev-list", "--count", range])?
        .trim()
        .parse()
        .map_err(|_| unreadable("git rev-list --count did not answer a number".into()))?;
    if expected != found.len() {
        return Err(unreadable(format!(
            "{} commits read, {expected} in the range",
            found.len()
        )));
    }
    Ok(found)
}

/// The commits a deployment of `sha` brings by itself: a merge brings
/// everything its first parent lacks (the merged branch), a plain commit
/// itself, a root commit itself.
fn own_range(repo: &Path, sha: &str) -> Result<String, crate::exit::Failure> {
    let line = git(repo, &["rev-list", "--parents", "-n", "1", sha])?;
    let ids: Vec<&str> = line.split_whitespace().collect();
    Ok(match ids.as_slice() {
        [_, first, _, ..] => format!("{first}..{sha}"),
        _ => format!("{sha}^!"),
    })
}

/// The repository's name in deployment records: its `origin` remote as
/// `host/path` (the same in every clone and CI runner), else the name of its
/// top directory.
fn repo_name(repo: &Path, given: Option<String>) -> Result<String, crate::exit::Failure> {
    repo_names(repo, given).map(|(name, _)| name)
}

/// [`repo_name`], and the name deployments of this repository were
/// recorded under before `remote_name` changed, when that differs.
fn repo_names(
    repo: &Path,
    given: Option<String>,
) -> Result<(String, Option<String>), crate::exit::Failure> {
    if let Some(name) = given {
        return Ok((name, None));
    }
    if let Ok(url) = git(repo, &["remote", "get-url", "origin"])
        && let Some(name) = remote_name(url.trim())
    {
        let earlier = legacy_remote_name(url.trim()).filter(|earlier| *earlier != name);
        return Ok((name, earlier));
    }
    let top = git(repo, &["rev-parse", "--show-toplevel"])?;
    let name = Path::new(top.trim())
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "repo".to_owned());
    Ok((name, None))
}

/// `https://user:secret@github.com/acme/app.git`, `ssh://git@github.com:22/acme/app`
/// and `git@github.com:acme/app.git` all name `github.com/acme/app`; the
/// credentials never reach the ledger.
fn remote_name(url: &str) -> Option<String> {
    let (host, path) = remote_host_path(url)?;
    let (host, path) = azure_devops(&host, &path).unwrap_or((host, path));
    Some(format!("{host}/{path}"))
}

/// What `remote_name` answered before Azure DevOps remotes were given one
/// name: deployments recorded then are found under it.
fn legacy_remote_name(url: &str) -> Option<String> {
    remote_host_path(url).map(|(host, path)| format!("{host}/{path}"))
}

/// The remote's host and path, lowercased, without credentials, port or `.git`.
fn remote_host_path(url: &str) -> Option<(String, String)> {
    let (host_part, path) = match url.split_once("://") {
        Some((_, rest)) => rest.split_once('/')?,
        // scp-like syntax: [user@]host:path
        None if !url.starts_with('/') && !url.starts_with('.') => url.split_once(':')?,
        None => return None,
    };
    let host = host_part.rsplit('@').next()?;
    let host = host.split(':').next()?.to_ascii_lowercase();
    // Hosts compare paths without case (github.com/Acme/App is acme/app).
    let path = path.trim_matches('/').to_ascii_lowercase();
    let path = path.strip_suffix(".git").unwrap_or(&path);
    (!host.is_empty() && !path.is_empty()).then(|| (host.clone(), path.to_owned()))
}

/// Azure DevOps writes one repository four ways: `dev.azure.com/ORG/PROJECT/_git/REPO`
/// over HTTPS, `ssh.dev.azure.com:v3/ORG/PROJECT/REPO` over SSH, and the same
/// on the older `ORG.visualstudio.com` and `vs-ssh.visualstudio.com` hosts.
/// All name `dev.azure.com/ORG/PROJECT/REPO`.
fn azure_devops(host: &str, path: &str) -> Option<(String, String)> {
    let canonical = |org: &str, project: &str, repo: &str| {
        Some((
            "dev.azure.com".to_owned(),
            format!("{org}/{project}/{repo}"),
        ))
    };
    let parts: Vec<&str> = path.split('/').collect();
    match (host, parts.as_slice()) {
        ("ssh.dev.azure.com" | "vs-ssh.visualstudio.com", ["v3", org, project, repo]) => {
            canonical(org, project, repo)
        }
        ("dev.azure.com", [org, project, "_git", repo]) => canonical(org, project, repo),
        (host, rest) if host.ends_with(".visualstudio.com") => {
            let org = host.strip_suffix(".visualstudio.com")?;
            match rest {
                [project, "_git", repo] | ["defaultcollection", project, "_git", repo] => {
                    canonical(org, project, repo)
                }
                _ => None,
            }
        }
        _ => None,
    }
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
        Some(repo) => resolve(repo, commit),
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
            if kind != soxctl_workflow::gate::DEPLOY {
                usage!(
                    "the gate registers deployments (--kind deploy); other actions: `soxctl request create --action`"
                );
            }
            let client = Client::new(&server)?;
            let sha = resolve(&repo, &commit)?;
            let (name, earlier_name) = repo_names(&repo, name)?;
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
                None => since.map(|s| resolve(&repo, &s)).transpose()?,
            };
            let own = own_range(&repo, &sha)?;
            let range = match &from {
                Some(f) => {
                    // A shallow clone lacks the history: a narrower range
                    // would silently leave authors out.
                    if resolve(&repo, f).is_err() {
                        return Err(failed(
                            Exit::Usage,
                            anyhow::anyhow!(
                                "the last deployed commit {f} is not in this clone: fetch the full history \
                                 (`git fetch --unshallow`, or `fetch-depth: 0` in the checkout step)"
                            ),
                        ));
                    }
                    format!("{f}..{sha}")
                }
                None => {
                    eprintln!(
                        "no earlier deployment of {name} to {env} to start the range from: the authors of \
                         {own} (give --since REV for a wider range)"
                    );
                    own.clone()
                }
            };
            let mut found = commits(&repo, &range)?;
            // A redeployment or a rollback (the commit is already behind the
            // last deployment) brings no new commits: it is the commit's own.
            if !found.iter().any(|c| c["sha"] == sha.as_str()) {
                eprintln!(
                    "{range} does not reach {sha} (a redeployment or a rollback): the commits of {own}"
                );
                found = commits(&repo, &own)?;
            }
            eprintln!(
                "change {range}: {} commit(s); the server names their authors, who may not approve it",
                found.len()
            );
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
                (None, Some(r)) => Some(repo_name(r, None)?),
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
                (None, Some(c)) => soxctl_workflow::gate::deploy_payload(
                    &soxctl_workflow::gate::normalise_commit(&c)
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
            let claims = soxctl_workflow::execution::verify_execution_token(&verifier, &token, now)
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

#[cfg(test)]
mod tests {
    use super::{legacy_remote_name, remote_name};

    #[test]
    fn remotes_name_the_same_repository_however_they_are_written() {
        for url in [
            "https://github.com/Acme/App.git",
            "https://ci-bot:ghp_secret@GitHub.com/acme/app",
            "ssh://git@github.com:22/acme/app.git",
            "git@github.com:acme/app.git",
            "github.com:acme/app/",
        ] {
            assert_eq!(
                remote_name(url).as_deref(),
                Some("github.com/acme/app"),
                "{url}"
            );
        }
        for url in [
            "https://acme@dev.azure.com/acme/Payments/_git/ledger-app",
            "git@ssh.dev.azure.com:v3/acme/Payments/ledger-app",
            "https://acme.visualstudio.com/Payments/_git/ledger-app",
            "https://acme.visualstudio.com/DefaultCollection/Payments/_git/ledger-app",
            "acme@vs-ssh.visualstudio.com:v3/acme/Payments/ledger-app",
        ] {
            assert_eq!(
                remote_name(url).as_deref(),
                Some("dev.azure.com/acme/payments/ledger-app"),
                "{url}"
            );
        }
        assert_eq!(
            legacy_remote_name("https://acme@dev.azure.com/acme/Payments/_git/ledger-app")
                .as_deref(),
            Some("dev.azure.com/acme/payments/_git/ledger-app")
        );
        assert_eq!(remote_name("/srv/git/app.git"), None);
        assert_eq!(remote_name("../app"), None);
        assert_eq!(remote_name("https://github.com"), None);
    }
}
