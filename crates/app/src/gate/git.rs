//! Reading a change from a git repository through the `git` command (no
//! git library in the build): the commit a deployment names, the commits it
//! brings with their authors, and the repository's name in records.

use crate::requests::ChangeCommit;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Why a change could not be read from git. Every one refuses the
/// registration: no commit is ever left out.
#[derive(Debug, thiserror::Error)]
pub enum GitError {
    #[error("cannot run git ({0}): install git, or run in a CI job that has it")]
    NotRunnable(std::io::Error),
    #[error("git {args} in {} failed: {stderr}", repo.display())]
    Failed {
        args: String,
        repo: PathBuf,
        stderr: String,
    },
    #[error(
        "cannot read the commits of {range} from git ({why}); no commit is left out, so nothing is registered"
    )]
    Unreadable { range: String, why: String },
    #[error(
        "the last deployed commit {0} is not in this clone: fetch the full history \
         (`git fetch --unshallow`, or `fetch-depth: 0` in the checkout step)"
    )]
    Shallow(String),
}

/// A local clone, read with the `git` command.
pub struct Repository {
    path: PathBuf,
}

/// The commits a deployment brings, and how their range was chosen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// The range read, as git writes it (`A..B`, `B^!`).
    pub range: String,
    pub commits: Vec<ChangeCommit>,
    /// How the range was chosen, for the person running the pipeline.
    pub notes: Vec<String>,
}

impl Repository {
    pub fn at(path: &Path) -> Self {
        Self {
            path: path.to_owned(),
        }
    }

    fn git(&self, args: &[&str]) -> Result<String, GitError> {
        let output = Command::new("git")
            .arg("-C")
            .arg(&self.path)
            .args(args)
            .output()
            .map_err(GitError::NotRunnable)?;
        if !output.status.success() {
            return Err(GitError::Failed {
                args: args.join(" "),
                repo: self.path.clone(),
                stderr: String::from_utf8_lossy(&output.stderr).trim().to_owned(),
            });
        }
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    }

    /// The full commit id of `rev`.
    pub fn resolve(&self, rev: &str) -> Result<String, GitError> {
        let spec = format!("{rev}^{{commit}}");
        Ok(self
            .git(&["rev-parse", "--verify", "--quiet", &spec])?
            .trim()
            .to_owned())
    }

    /// Every commit in `range`, merges included (code can be added inside a
    /// merge): its author and committer after `.mailmap`, and as co-authors
    /// its `Co-authored-by` trailers and the identities `.mailmap` rewrote,
    /// so that an alias keeps its owner from approving too.
    ///
    /// Git keeps control characters inside names, so no separator but NUL
    /// is safe: every field ends with one (`-z` ends each record with
    /// another), six fields make a commit, and anything else — or a count
    /// that differs from `git rev-list --count` — is refused rather than a
    /// commit skipped.
    pub fn commits(&self, range: &str) -> Result<Vec<ChangeCommit>, GitError> {
        let out = self.git(&[
            "log",
            "-z",
            "--format=%H%x00%aN <%aE>%x00%cN <%cE>%x00%an <%ae>%x00%cn <%ce>%x00%(trailers:key=Co-authored-by,valueonly,separator=%x1f)",
            range,
        ])?;
        let unreadable = |why: String| GitError::Unreadable {
            range: range.to_owned(),
            why,
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
            if super::normalise_commit(sha).is_err() {
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
            found.push(ChangeCommit {
                sha: sha.to_owned(),
                author: (*author).to_owned(),
                committer: (*committer).to_owned(),
                co_authors,
            });
        }
        let expected: usize = self
            .git(&["rev-list", "--count", range])?
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
    /// everything its first parent lacks (the merged branch), a plain
    /// commit itself, a root commit itself.
    pub fn own_range(&self, sha: &str) -> Result<String, GitError> {
        let line = self.git(&["rev-list", "--parents", "-n", "1", sha])?;
        let ids: Vec<&str> = line.split_whitespace().collect();
        Ok(match ids.as_slice() {
            [_, first, _, ..] => format!("{first}..{sha}"),
            _ => format!("{sha}^!"),
        })
    }

    /// The change a deployment of `sha` (a full id) brings: the commits
    /// after `from` (the last deployed commit, or a `--since` revision),
    /// else its own; a redeployment or a rollback (the commit is already
    /// behind `from`) brings its own commits. `name` and `env` only word
    /// the notes.
    pub fn change(
        &self,
        sha: &str,
        from: Option<&str>,
        name: &str,
        env: &str,
    ) -> Result<Change, GitError> {
        let own = self.own_range(sha)?;
        let mut notes = Vec::new();
        let range = match from {
            Some(f) => {
                // A shallow clone lacks the history: a narrower range would
                // silently leave authors out.
                if self.resolve(f).is_err() {
                    return Err(GitError::Shallow(f.to_owned()));
                }
                format!("{f}..{sha}")
            }
            None => {
                notes.push(format!(
                    "no earlier deployment of {name} to {env} to start the range from: the authors of \
                     {own} (give --since REV for a wider range)"
                ));
                own.clone()
            }
        };
        let mut commits = self.commits(&range)?;
        if !commits.iter().any(|c| c.sha == sha) {
            notes.push(format!(
                "{range} does not reach {sha} (a redeployment or a rollback): the commits of {own}"
            ));
            commits = self.commits(&own)?;
        }
        Ok(Change {
            range,
            commits,
            notes,
        })
    }

    /// The repository's name in deployment records: `given`, else its
    /// `origin` remote as `host/path` (the same in every clone and CI
    /// runner), else the name of its top directory. With it, the name
    /// deployments of this repository were recorded under before
    /// `remote_name` changed, when that differs.
    pub fn names(&self, given: Option<String>) -> Result<(String, Option<String>), GitError> {
        if let Some(name) = given {
            return Ok((name, None));
        }
        if let Ok(url) = self.git(&["remote", "get-url", "origin"])
            && let Some(name) = remote_name(url.trim())
        {
            let earlier = legacy_remote_name(url.trim()).filter(|earlier| *earlier != name);
            return Ok((name, earlier));
        }
        let top = self.git(&["rev-parse", "--show-toplevel"])?;
        let name = Path::new(top.trim())
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "repo".to_owned());
        Ok((name, None))
    }
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
