//! API tokens as a use case: issue and revoke inside a caller's write
//! transaction, so the command line and the HTTP API share one set of rules
//! and an HTTP request can commit its `Idempotency-Key` record with the effect.
//!
//! A token is 256 random bits shown once as `sxt_<base64url>`; the store keeps
//! only its SHA-256 (in the `token.created` entry and the `tokens` row).

use base64::Engine;
use sha2::{Digest, Sha256};
use soxctl_model::event::{Event, TokenCreated, TokenRevoked};
use soxctl_model::ids::{PersonId, SystemId, TokenId};
use soxctl_model::principal::{Principal, Scope};
use soxctl_model::projection::TokenRow;
use soxctl_model::time::Timestamp;
use soxctl_store::{StoreError, WriteTx};
use std::fmt;

/// The longest description accepted.
pub const MAX_DESCRIPTION_LEN: usize = 1_000;

/// What to issue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRequest {
    pub scopes: Vec<Scope>,
    /// The system a `scim` token pushes identities for.
    pub system_id: Option<SystemId>,
    /// The person the token acts for; must exist in the inventory.
    pub person_id: Option<PersonId>,
    /// Must be in the future (by the store's clock).
    pub expires_at: Option<Timestamp>,
    pub description: Option<String>,
    /// A gate token's binding: the pipeline of one repository, acting in
    /// these environments only.
    pub gate: Option<GateBinding>,
}

/// The repository and environments a pipeline's gate token is bound to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GateBinding {
    /// soxctl's name for the repository, as deployments record it
    /// (`github.com/acme/app`): lowercase host and path.
    pub repo: String,
    /// Environment names or patterns (`prod`, `staging-*`).
    pub environments: Vec<String>,
}

impl GateBinding {
    /// Checks the repository name and the environment patterns.
    pub fn validate(&self) -> Result<(), TokenError> {
        let repo_ok = !self.repo.is_empty()
            && self.repo.len() <= 200
            && !self.repo.starts_with(['/', '.'])
            && !self.repo.contains("..")
            && self
                .repo
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"./_-".contains(&b));
        if !repo_ok {
            return Err(TokenError::BadBinding(format!(
                "'{}' is not a repository name: write it as deployments record it, lowercase host/path \
                 (e.g. github.com/acme/app), at most 200 of a-z, 0-9, '.', '/', '_', '-'",
                soxctl_model::identity::escape(&self.repo)
            )));
        }
        if self.environments.is_empty() || self.environments.len() > 50 {
            return Err(TokenError::BadBinding(
                "a gate token names 1 to 50 environments it may act in (e.g. --env prod --env staging)".into(),
            ));
        }
        for env in &self.environments {
            let ok = !env.is_empty()
                && env.len() <= 64
                && env
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"-_.*?".contains(&b));
            if !ok {
                return Err(TokenError::BadBinding(format!(
                    "'{}' is not an environment: 1 to 64 of a-z, 0-9, '-', '_', '.', with * and ? wildcards",
                    soxctl_model::identity::escape(env)
                )));
            }
        }
        Ok(())
    }
}

/// A token just issued. The secret exists only here: show it once.
pub struct IssuedToken {
    pub token_id: TokenId,
    /// `sxt_<base64url of 32 random bytes>`.
    pub secret: String,
    /// The ledger entry that records the issuance.
    pub seq: u64,
    /// The `tokens` row as projected (no secret, only its hash).
    pub row: TokenRow,
}

impl fmt::Debug for IssuedToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IssuedToken")
            .field("token_id", &self.token_id)
            .field("secret", &"<redacted>")
            .field("seq", &self.seq)
            .finish_non_exhaustive()
    }
}

/// What a revocation did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Revocation {
    /// Revoked now, by ledger entry `seq`.
    Revoked { seq: u64, revoked_at: Timestamp },
    /// It was revoked before; nothing was recorded.
    AlreadyRevoked { revoked_at: Timestamp },
}

/// Whether a token authenticates now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenState {
    Active,
    Expired,
    Revoked,
}

impl TokenState {
    pub fn of(row: &TokenRow, now: Timestamp) -> Self {
        match (row.revoked_at, row.expires_at) {
            (Some(_), _) => Self::Revoked,
            (None, Some(expires_at)) if expires_at <= now => Self::Expired,
            _ => Self::Active,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Expired => "expired",
            Self::Revoked => "revoked",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error(
        "a token needs at least one scope: ask for one or more of admin, read, scim, gate, request, metrics"
    )]
    NoScope,
    #[error(
        "a scim token pushes identities for exactly one system: name it (--system ID on the command line, \
         system_id in the API)"
    )]
    ScimWithoutSystem,
    #[error("unknown person '{0}': import people first (soxctl import) or check the id")]
    UnknownPerson(PersonId),
    #[error(
        "the expiry {expires_at} is in the past (it is now {now}): give a later time, or none for a token \
         that does not expire"
    )]
    ExpiryInPast {
        expires_at: Timestamp,
        now: Timestamp,
    },
    #[error("the description has {0} characters, more than {MAX_DESCRIPTION_LEN}: shorten it")]
    DescriptionTooLong(usize),
    #[error("{0}")]
    BadBinding(String),
    #[error("{0}")]
    BadInput(String),
    #[error(
        "only a gate token is bound to a repository and environments: add the gate scope, or leave out \
         the repository and environments"
    )]
    BindingWithoutGate,
    #[error("no token '{0}': list the tokens with `soxctl token list` or GET /api/v1/tokens")]
    UnknownToken(TokenId),
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn random<const N: usize>() -> Result<[u8; N], StoreError> {
    let mut buf = [0u8; N];
    getrandom::getrandom(&mut buf).map_err(|e| StoreError::Random(e.to_string()))?;
    Ok(buf)
}

impl TokenRequest {
    /// Every rule that needs no store (scopes sorted and deduplicated): the
    /// command line checks them before a store is even opened, and
    /// [`issue`] before it reads one.
    pub fn check(&mut self, now: Timestamp) -> Result<(), TokenError> {
        self.scopes.sort_unstable();
        self.scopes.dedup();
        if self.scopes.is_empty() {
            return Err(TokenError::NoScope);
        }
        if self.scopes.contains(&Scope::Scim) && self.system_id.is_none() {
            return Err(TokenError::ScimWithoutSystem);
        }
        if let Some(description) = &self.description {
            let length = description.chars().count();
            if length > MAX_DESCRIPTION_LEN {
                return Err(TokenError::DescriptionTooLong(length));
            }
            soxctl_model::text::check_line("description", description, MAX_DESCRIPTION_LEN)
                .map_err(|e| TokenError::BadInput(e.to_string()))?;
        }
        if let Some(system) = &self.system_id {
            system
                .check_new()
                .map_err(|e| TokenError::BadInput(e.to_string()))?;
        }
        if let Some(binding) = &self.gate {
            if !self.scopes.contains(&Scope::Gate) {
                return Err(TokenError::BindingWithoutGate);
            }
            // A pipeline states authors and who ran it: a person holding
            // its credential could name others for their own commits.
            if self.person_id.is_some() {
                return Err(TokenError::BadBinding(
                    "a pipeline's gate token acts for no person: leave out the person".into(),
                ));
            }
            binding.validate()?;
        }
        if let Some(expires_at) = self.expires_at
            && expires_at <= now
        {
            return Err(TokenError::ExpiryInPast { expires_at, now });
        }
        Ok(())
    }
}

/// Issues a token on behalf of `actor` (the ledger entry's actor) inside `tx`.
/// Nothing is written unless every check passes; the caller commits.
pub async fn issue(
    tx: &mut WriteTx,
    actor: &Principal,
    mut req: TokenRequest,
) -> Result<IssuedToken, TokenError> {
    req.check(tx.now())?;
    let scopes = req.scopes.clone();
    if let Some(person) = &req.person_id
        && !tx.person_exists(person).await?
    {
        return Err(TokenError::UnknownPerson(person.clone()));
    }
    let token_id = new_token_id(tx).await?;
    let secret = format!(
        "sxt_{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(random::<32>()?)
    );
    let event = Event::TokenCreated(TokenCreated {
        token_id: token_id.clone(),
        secret_sha256: hex::encode(Sha256::digest(secret.as_bytes())),
        scopes,
        system_id: req.system_id,
        person_id: req.person_id,
        expires_at: req.expires_at,
        description: req.description,
        repo: req.gate.as_ref().map(|g| g.repo.clone()),
        environments: req.gate.map(|g| g.environments).unwrap_or_default(),
    });
    let seq = tx.append(actor, &event).await?;
    let row = tx
        .token(&token_id)
        .await?
        .ok_or_else(|| StoreError::Invalid(format!("token {token_id} missing after its entry")))?;
    Ok(IssuedToken {
        token_id,
        secret,
        seq,
        row,
    })
}

/// `tok_` and 12 hex digits, not yet taken (48 random bits; a collision is
/// retried rather than left to fail the insert).
async fn new_token_id(tx: &mut WriteTx) -> Result<TokenId, TokenError> {
    for _ in 0..8 {
        let id = TokenId::parse(format!("tok_{}", hex::encode(random::<6>()?)))
            .map_err(|e| StoreError::Invalid(e.to_string()))?;
        if tx.token(&id).await?.is_none() {
            return Ok(id);
        }
    }
    Err(StoreError::Random("eight random token ids in a row were taken".into()).into())
}

/// Revokes `token_id` on behalf of `actor` inside `tx`. Revoking a revoked
/// token records nothing.
pub async fn revoke(
    tx: &mut WriteTx,
    actor: &Principal,
    token_id: &TokenId,
) -> Result<Revocation, TokenError> {
    let token = tx
        .token(token_id)
        .await?
        .ok_or_else(|| TokenError::UnknownToken(token_id.clone()))?;
    if let Some(revoked_at) = token.revoked_at {
        return Ok(Revocation::AlreadyRevoked { revoked_at });
    }
    let seq = tx
        .append(
            actor,
            &Event::TokenRevoked(TokenRevoked {
                token_id: token_id.clone(),
            }),
        )
        .await?;
    let revoked_at = tx
        .token(token_id)
        .await?
        .and_then(|t| t.revoked_at)
        .ok_or_else(|| StoreError::Invalid(format!("token {token_id} not revoked by its entry")))?;
    Ok(Revocation::Revoked { seq, revoked_at })
}

/// Every token as listed (never a secret), with its state now and its
/// person's name: `soxctl token list` and `GET /api/v1/tokens`.
pub async fn listed(
    store: &soxctl_store::Store,
) -> Result<soxctl_api::tokens::TokenList, StoreError> {
    let now = store.context().clock.now();
    let rows = store.tokens().await?;
    let names =
        crate::inventory::names(store, rows.iter().filter_map(|t| t.person_id.clone())).await?;
    Ok(soxctl_api::tokens::TokenList {
        tokens: rows
            .iter()
            .map(|t| soxctl_api::tokens::TokenInfo::of(t, TokenState::of(t, now).as_str(), &names))
            .collect(),
    })
}

/// What [`rotate`] did.
#[derive(Debug)]
pub struct Rotated {
    pub issued: IssuedToken,
    /// The earlier tokens it revoked.
    pub revoked: usize,
}

/// Replaces `actor`'s tokens of the same description and scopes with a new
/// one, in one transaction: the earlier ones are revoked, so only the
/// newest credential handed out works (the demo's admin token).
pub async fn rotate(
    tx: &mut WriteTx,
    actor: &Principal,
    request: TokenRequest,
) -> Result<Rotated, TokenError> {
    let scopes: std::collections::BTreeSet<Scope> = request.scopes.iter().copied().collect();
    let earlier: Vec<TokenId> = tx
        .tokens()
        .await?
        .into_iter()
        .filter(|t| {
            t.revoked_at.is_none()
                && t.description == request.description
                && t.scope_list()
                    .into_iter()
                    .collect::<std::collections::BTreeSet<_>>()
                    == scopes
                && t.created_by == actor.to_string()
        })
        .map(|t| t.token_id)
        .collect();
    let mut revoked = 0;
    for id in &earlier {
        if let Revocation::Revoked { .. } = revoke(tx, actor, id).await? {
            revoked += 1;
        }
    }
    let issued = issue(tx, actor, request).await?;
    Ok(Rotated { issued, revoked })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]
    use super::*;
    use soxctl_model::clock::ManualClock;
    use soxctl_store::{Location, OpenOptions, Store};
    use std::sync::Arc;

    fn request(scopes: &[Scope]) -> TokenRequest {
        TokenRequest {
            scopes: scopes.to_vec(),
            system_id: None,
            person_id: None,
            expires_at: None,
            description: None,
            gate: None,
        }
    }

    #[tokio::test]
    async fn issue_validates_in_the_transaction_and_revoke_is_idempotent() {
        let dir = tempfile::tempdir().unwrap();
        let postgres = soxctl_testkit::postgres()
            .and_then(|pg| pg.fresh_database())
            .unwrap();
        for location in [
            Location::Sqlite(dir.path().to_owned()),
            Location::Postgres(postgres),
        ] {
            issue_and_revoke(location).await;
        }
    }

    async fn issue_and_revoke(location: Location) {
        let now = Timestamp::parse("2030-01-01T00:00:00Z").unwrap();
        let store = Store::open(OpenOptions {
            location,
            create: true,
            clock: Arc::new(ManualClock::new(now)),
            failpoints: Default::default(),
        })
        .await
        .unwrap();
        store.initialise(None, false).await.unwrap();
        let actor = Principal::system("test");
        let mut tx = store.begin_write().await.unwrap();

        let refused = [
            (request(&[]), "at least one scope"),
            (request(&[Scope::Read, Scope::Scim]), "exactly one system"),
            (
                TokenRequest {
                    person_id: Some(PersonId::parse("nobody").unwrap()),
                    ..request(&[Scope::Read])
                },
                "unknown person 'nobody'",
            ),
            (
                TokenRequest {
                    // Past by the store's clock, not the wall clock.
                    expires_at: Some(Timestamp::parse("2029-12-31").unwrap()),
                    ..request(&[Scope::Read])
                },
                "in the past",
            ),
            (
                TokenRequest {
                    description: Some("x".repeat(MAX_DESCRIPTION_LEN + 1)),
                    ..request(&[Scope::Read])
                },
                "shorten it",
            ),
            (
                TokenRequest {
                    gate: Some(GateBinding {
                        repo: "github.com/acme/app".into(),
                        environments: vec!["prod".into()],
                    }),
                    ..request(&[Scope::Read])
                },
                "only a gate token",
            ),
            (
                TokenRequest {
                    gate: Some(GateBinding {
                        repo: "../x".into(),
                        environments: vec!["prod".into()],
                    }),
                    ..request(&[Scope::Gate])
                },
                "not a repository name",
            ),
            (
                TokenRequest {
                    gate: Some(GateBinding {
                        repo: "github.com/acme/app".into(),
                        environments: vec![],
                    }),
                    ..request(&[Scope::Gate])
                },
                "1 to 50 environments",
            ),
            (
                TokenRequest {
                    gate: Some(GateBinding {
                        repo: "github.com/acme/app".into(),
                        environments: vec!["prod".into()],
                    }),
                    person_id: Some(PersonId::parse("nobody").unwrap()),
                    ..request(&[Scope::Gate, Scope::Request])
                },
                "acts for no person",
            ),
        ];
        for (req, needle) in refused {
            let error = issue(&mut tx, &actor, req).await.unwrap_err();
            assert!(error.to_string().contains(needle), "{error}");
        }
        assert_eq!(tx.size(), 1, "refused requests append nothing");

        let issued = issue(
            &mut tx,
            &actor,
            TokenRequest {
                system_id: Some(SystemId::parse("okta").unwrap()),
                expires_at: Some(Timestamp::parse("2030-01-02").unwrap()),
                ..request(&[Scope::Scim, Scope::Read, Scope::Scim])
            },
        )
        .await
        .unwrap();
        assert!(!format!("{issued:?}").contains(&issued.secret));
        assert_eq!(issued.seq, 1);
        assert_eq!(issued.row.scopes, "read,scim");
        assert_eq!(issued.row.created_by, "system:test");
        assert_eq!(
            issued.row.secret_sha256,
            hex::encode(Sha256::digest(issued.secret.as_bytes()))
        );
        let encoded = issued.secret.strip_prefix("sxt_").unwrap();
        assert_eq!(
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(encoded)
                .unwrap()
                .len(),
            32
        );
        let id = issued.token_id.as_str();
        assert!(id.len() == 16 && id.starts_with("tok_"), "{id}");

        let first = revoke(&mut tx, &actor, &issued.token_id).await.unwrap();
        assert!(
            matches!(first, Revocation::Revoked { seq: 2, .. }),
            "{first:?}"
        );
        let again = revoke(&mut tx, &actor, &issued.token_id).await.unwrap();
        assert!(
            matches!(again, Revocation::AlreadyRevoked { .. }),
            "{again:?}"
        );
        let unknown = TokenId::parse("tok_000000000000").unwrap();
        let error = revoke(&mut tx, &actor, &unknown).await.unwrap_err();
        assert!(matches!(error, TokenError::UnknownToken(_)), "{error}");
        assert_eq!(tx.commit().await.unwrap().size, 3);
    }
}
