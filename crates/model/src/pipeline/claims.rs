//! What a CI system's verified ID token says, bounded: [`CiClaims`].

#![allow(unused_imports)]
use super::*;

/// Longest claim value accepted, in bytes: GitHub's and GitLab's longest
/// (workflow refs, subjects) stay far below it.
pub const MAX_CLAIM_LEN: usize = 512;

/// The CI system that minted a token. Each names the same facts with its
/// own claims.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Platform {
    #[serde(rename = "github")]
    GitHub,
    #[serde(rename = "gitlab")]
    GitLab,
}

impl Platform {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::GitHub => "github",
            Self::GitLab => "gitlab",
        }
    }

    /// How a pipeline on this platform asks for a token, for hints.
    fn token_hint(self) -> &'static str {
        match self {
            Self::GitHub => {
                "use the ID token GitHub Actions mints for the job (`permissions: id-token: write`)"
            }
            Self::GitLab => "use an ID token from the job's `id_tokens:` keyword",
        }
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The validated, platform-independent claims of a verified CI token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CiClaims {
    /// `iss`, e.g. `https://token.actions.githubusercontent.com`.
    pub issuer: String,
    /// `sub`, e.g. `repo:acme/app:environment:prod`.
    pub subject: String,
    pub platform: Platform,
    /// GitHub `repository` (`acme/app`); GitLab `project_path`.
    pub repository: String,
    /// The full ref, `refs/heads/main` or `refs/tags/v1.2`.
    pub git_ref: String,
    /// Whether the CI system protects that ref (branch protection,
    /// protected branches and tags).
    pub ref_protected: bool,
    /// The pipeline definition at its ref: GitHub `job_workflow_ref`
    /// (`acme/app/.github/workflows/deploy.yml@refs/heads/main`); GitLab
    /// `ci_config_ref_uri` (`gitlab.example.com/acme/app//.gitlab-ci.yml@refs/heads/main`).
    pub workflow: String,
    /// The deployment environment of the job, if it names one.
    pub environment: Option<String>,
    /// GitHub `actor` (a login); GitLab `user_login`.
    pub actor: String,
    /// GitLab `user_email`; GitHub sends none.
    pub actor_email: Option<String>,
    pub sha: Option<String>,
    /// GitHub `run_id`; GitLab `pipeline_id`.
    pub run_id: Option<String>,
    /// GitHub `event_name` (`push`, `workflow_dispatch`…); GitLab
    /// `pipeline_source` (`push`, `web`…).
    pub event: Option<String>,
    /// The repository's immutable id: GitHub `repository_id`, GitLab
    /// `project_id` (a name can be taken over after a rename; the id not).
    pub repository_id: Option<String>,
}

/// A claim a verified token lacks or carries in a form soxctl cannot use.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClaimsError {
    #[error(
        "the {platform} token has no `{claim}` claim, which soxctl needs for {purpose}: {hint}"
    )]
    Missing {
        platform: Platform,
        claim: &'static str,
        purpose: &'static str,
        hint: &'static str,
    },
    #[error("the {platform} token's `{claim}` claim {problem}: {hint}")]
    Malformed {
        platform: Platform,
        claim: &'static str,
        problem: String,
        hint: &'static str,
    },
}

/// Where each fact is in one platform's tokens.
pub(super) struct Names {
    repository: &'static str,
    workflow: &'static str,
    actor: &'static str,
    actor_email: Option<&'static str>,
    run_id: &'static str,
    event: &'static str,
    repository_id: &'static str,
}

pub(super) const GITHUB: Names = Names {
    repository: "repository",
    workflow: "job_workflow_ref",
    actor: "actor",
    actor_email: None,
    run_id: "run_id",
    event: "event_name",
    repository_id: "repository_id",
};

pub(super) const GITLAB: Names = Names {
    repository: "project_path",
    workflow: "ci_config_ref_uri",
    actor: "user_login",
    actor_email: Some("user_email"),
    run_id: "pipeline_id",
    event: "pipeline_source",
    repository_id: "project_id",
};

/// Reads one platform's claims; every read bounds and checks its value.
pub(super) struct Reader<'a> {
    platform: Platform,
    claims: &'a Map<String, Value>,
}

impl Reader<'_> {
    fn missing(&self, claim: &'static str, purpose: &'static str) -> ClaimsError {
        ClaimsError::Missing {
            platform: self.platform,
            claim,
            purpose,
            hint: self.platform.token_hint(),
        }
    }

    fn malformed(&self, claim: &'static str, problem: impl Into<String>) -> ClaimsError {
        ClaimsError::Malformed {
            platform: self.platform,
            claim,
            problem: problem.into(),
            hint: "the token is not one the CI system mints; check the issuer configured for it",
        }
    }

    /// A required text claim.
    fn text(&self, claim: &'static str, purpose: &'static str) -> Result<String, ClaimsError> {
        self.optional(claim)?
            .ok_or_else(|| self.missing(claim, purpose))
    }

    /// An optional text claim: absent, null and `""` are all none. Numbers
    /// (GitLab and GitHub ids) are taken as their decimal text.
    fn optional(&self, claim: &'static str) -> Result<Option<String>, ClaimsError> {
        let text = match self.claims.get(claim) {
            None | Some(Value::Null) => return Ok(None),
            Some(Value::String(s)) => s.clone(),
            Some(Value::Number(n)) if n.is_u64() || n.is_i64() => n.to_string(),
            Some(other) => {
                return Err(self.malformed(claim, format!("is {}, not text", kind(other))));
            }
        };
        if text.is_empty() {
            return Ok(None);
        }
        if text.len() > MAX_CLAIM_LEN {
            return Err(self.malformed(
                claim,
                format!(
                    "is {} bytes long, more than the {MAX_CLAIM_LEN} soxctl accepts",
                    text.len()
                ),
            ));
        }
        if let Some(c) = text.chars().find(|&c| hidden(c)) {
            return Err(self.malformed(
                claim,
                format!("holds the control character {}", c.escape_unicode()),
            ));
        }
        Ok(Some(text))
    }

    /// `"true"` or `"false"` (both platforms send text); a JSON boolean is
    /// taken too.
    fn flag(&self, claim: &'static str, purpose: &'static str) -> Result<bool, ClaimsError> {
        match self.claims.get(claim) {
            None | Some(Value::Null) => Err(self.missing(claim, purpose)),
            Some(Value::Bool(b)) => Ok(*b),
            Some(Value::String(s)) if s == "true" => Ok(true),
            Some(Value::String(s)) if s == "false" => Ok(false),
            Some(other) => Err(self.malformed(
                claim,
                format!("is {}, not \"true\" or \"false\"", kind(other)),
            )),
        }
    }

    /// The full ref: GitHub sends it; GitLab sends the short name and its type.
    fn git_ref(&self) -> Result<String, ClaimsError> {
        let purpose = "checking the ref the pipeline runs on";
        let name = self.text("ref", purpose)?;
        let full = match self.platform {
            Platform::GitHub => name,
            Platform::GitLab => match self.text("ref_type", purpose)?.as_str() {
                "branch" => format!("refs/heads/{name}"),
                "tag" => format!("refs/tags/{name}"),
                other => {
                    return Err(self.malformed(
                        "ref_type",
                        format!("is {other:?}, neither \"branch\" nor \"tag\""),
                    ));
                }
            },
        };
        if !full.starts_with("refs/") {
            return Err(self.malformed(
                "ref",
                format!("is {full:?}, not a full ref (refs/heads/…, refs/tags/…)"),
            ));
        }
        if full.len() > MAX_CLAIM_LEN {
            return Err(self.malformed(
                "ref",
                format!("makes a full ref longer than {MAX_CLAIM_LEN} bytes"),
            ));
        }
        Ok(full)
    }
}

/// Characters a claim may not hold: controls (C0, DEL, C1), and the
/// bidirectional overrides that make text display other than it reads.
pub(super) fn hidden(c: char) -> bool {
    c.is_control() || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

pub(super) fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "text",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

impl CiClaims {
    /// The claims of a verified token of `platform`, read by the names that
    /// platform documents.
    pub fn from_jwt_claims(
        platform: Platform,
        claims: &Map<String, Value>,
    ) -> Result<CiClaims, ClaimsError> {
        let names = match platform {
            Platform::GitHub => &GITHUB,
            Platform::GitLab => &GITLAB,
        };
        let r = Reader { platform, claims };
        Ok(CiClaims {
            issuer: r.text("iss", "knowing who issued the token")?,
            subject: r.text("sub", "recording which pipeline the token names")?,
            platform,
            repository: r.text(names.repository, "checking the repository")?,
            git_ref: r.git_ref()?,
            ref_protected: r.flag("ref_protected", "checking that the ref is protected")?,
            workflow: r.text(names.workflow, "checking the workflow that runs")?,
            environment: r.optional("environment")?,
            actor: r.text(names.actor, "recording who started the pipeline")?,
            actor_email: match names.actor_email {
                Some(claim) => r.optional(claim)?,
                None => None,
            },
            sha: r.optional("sha")?,
            run_id: r.optional(names.run_id)?,
            event: r.optional(names.event)?,
            repository_id: r.optional(names.repository_id)?,
        })
    }
}
