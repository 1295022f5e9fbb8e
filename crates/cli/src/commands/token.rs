use super::cli_actor;
use crate::config::Config;
use crate::exit::{CmdResult, Exit, usage};
use crate::output::{Format, print_views};
use crate::store_args::StoreArgs;
use anyhow::{Context, bail};
use clap::Args;
use clap::Subcommand;
use soxctl_app::tokens::{self, IssuedToken, Revocation, TokenRequest};
use soxctl_model::clock::{Clock, SystemClock};
use soxctl_model::ids::{PersonId, SystemId, TokenId};
use soxctl_model::principal::Scope;
use soxctl_model::time::Timestamp;
use soxctl_store::Store;

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Issue a token; the secret is printed once, alone on the last line of stdout.
    Create(TokenCreateArgs),
    /// List tokens (never their secrets).
    List {
        #[command(flatten)]
        store: StoreArgs,
        #[arg(long, value_enum)]
        format: Option<Format>,
    },
    /// Revoke a token by its id.
    Revoke {
        /// The token id (from `token list`).
        token_id: String,
        #[command(flatten)]
        store: StoreArgs,
    },
}

#[derive(Debug, Args)]
pub struct TokenCreateArgs {
    /// Scope: admin, read, request, scim, gate or metrics (repeat for several).
    /// See docs/guide.md, "Tokens and scopes", for what each allows.
    #[arg(long = "scope", required = true, value_name = "SCOPE")]
    pub scopes: Vec<String>,
    /// The system a scim token pushes identities for.
    #[arg(long, value_name = "ID")]
    pub system: Option<String>,
    /// The person the token acts for (its actions are theirs).
    #[arg(long, value_name = "ID")]
    pub person: Option<String>,
    /// Expiry: an RFC 3339 time or date, or a duration such as 90d, 12h, 30m.
    #[arg(long, value_name = "WHEN")]
    pub expires: Option<String>,
    /// What the token is for.
    #[arg(long)]
    pub description: Option<String>,
    /// A gate token for one repository's pipeline: the repository as deployments record it
    /// (e.g. github.com/acme/app). Only such a token registers that repository's changes.
    #[arg(long, value_name = "HOST/PATH", requires = "environments")]
    pub repo: Option<String>,
    /// With --repo: an environment (or pattern, e.g. staging-*) the pipeline may register and
    /// deploy changes for; repeat for several.
    #[arg(long = "env", value_name = "ENV", requires = "repo")]
    pub environments: Vec<String>,
    /// Create the store when it is missing: this is its first admin token
    /// (needs --scope admin). Without it, a missing store is an error.
    #[arg(long)]
    pub init: bool,
    #[command(flatten)]
    pub store: StoreArgs,
}

/// The latest expiry accepted: ledger times have four-digit years.
fn latest_expiry() -> Timestamp {
    Timestamp::parse("9999-12-31T23:59:59Z").unwrap_or_else(|_| unreachable!("a valid time"))
}

/// Parses `90d`, `12h`, `30m` or an RFC 3339 time/date.
fn parse_expiry(value: &str, now: Timestamp) -> anyhow::Result<Timestamp> {
    let unit = match value.chars().last() {
        Some('d') => Some(86_400_i64),
        Some('h') => Some(3_600),
        Some('m') => Some(60),
        _ => None,
    };
    // The unit is one ASCII byte, so this slice is on a char boundary.
    let number = &value[..value.len() - usize::from(unit.is_some())];
    let is_number = {
        let digits = number.strip_prefix(['+', '-']).unwrap_or(number);
        !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())
    };
    if let Some(unit) = unit
        && is_number
    {
        let too_far =
            || anyhow::anyhow!("--expires {value} is too far in the future (at most 9999-12-31)");
        let n: i64 = number.parse().map_err(|_| too_far())?;
        if n <= 0 {
            bail!("--expires {value}: the duration must be positive");
        }
        let expires = n
            .checked_mul(unit)
            .and_then(chrono::Duration::try_seconds)
            .and_then(|d| now.as_datetime().checked_add_signed(d))
            .map(Timestamp::from_datetime)
            .ok_or_else(too_far)?;
        if expires > latest_expiry() {
            return Err(too_far());
        }
        return Ok(expires);
    }
    // Whether it is in the future is checked by `request` (and again by the
    // use case, soxctl_app::tokens, against the store's clock).
    let expires = Timestamp::parse(value)
        .map_err(|e| anyhow::anyhow!("--expires: {e}; or use a duration like 90d"))?;
    if expires > latest_expiry() {
        bail!("--expires {value} is too far in the future (at most 9999-12-31)");
    }
    Ok(expires)
}

/// Every argument of `token create`, parsed and checked by the use case's
/// rules that need no store: bad input must not even create one.
fn request(args: &TokenCreateArgs, now: Timestamp) -> anyhow::Result<TokenRequest> {
    let scopes = args
        .scopes
        .iter()
        .map(|s| s.parse::<Scope>())
        .collect::<Result<Vec<_>, _>>()
        .map_err(anyhow::Error::msg)?;
    let system_id = args
        .system
        .clone()
        .map(SystemId::parse_new)
        .transpose()
        .context("--system")?;
    let person_id = args
        .person
        .clone()
        .map(PersonId::parse)
        .transpose()
        .context("--person")?;
    let expires_at = args
        .expires
        .as_deref()
        .map(|e| parse_expiry(e, now))
        .transpose()?;
    let mut request = TokenRequest {
        scopes,
        system_id,
        person_id,
        expires_at,
        description: args.description.clone(),
        gate: args
            .repo
            .clone()
            .map(|repo| soxctl_app::tokens::GateBinding {
                repo,
                environments: args.environments.clone(),
            }),
    };
    // The use case's rules that need no store: bad input creates none.
    request.check(now)?;
    Ok(request)
}

/// Issues a token in its own write transaction, recorded as done from the
/// command line.
pub async fn issue(store: &Store, req: TokenRequest) -> anyhow::Result<IssuedToken> {
    let mut tx = store.begin_write().await?;
    let issued = tokens::issue(&mut tx, &cli_actor(), req).await?;
    tx.commit().await?;
    Ok(issued)
}

pub async fn create(config: &Config, args: TokenCreateArgs) -> CmdResult {
    // The store's clock is the system clock too (StoreArgs::open).
    let request = request(&args, SystemClock.now())?;
    args.store.check()?;
    if let Some(person) = &request.person_id
        && args.store.is_new_sqlite(config)
    {
        usage!(
            "unknown person '{person}': {} does not exist yet; import people first (soxctl import)",
            args.store.location(config).describe()
        );
    }
    if args.init && !request.scopes.contains(&Scope::Admin) {
        usage!(
            "--init makes a new store's first admin token: add --scope admin (other tokens come after, from that admin)"
        );
    }
    let opened = args.store.open_signing(config, args.init).await?;
    // A new PostgreSQL store has no people either: refuse before entry 0.
    if let Some(person) = &request.person_id
        && opened.store.meta().await?.is_none()
    {
        usage!("unknown person '{person}': the store is new; import people first (soxctl import)");
    }
    // Checks the key against the store before anything else is written.
    let key = opened.initialise(config, false).await?;
    let token = issue(&opened.store, request).await?;
    opened.checkpoint(&key).await?;
    eprintln!(
        "token {} created; the secret below is shown once, store it now",
        token.token_id
    );
    println!("{}", token.secret);
    Ok(Exit::Ok)
}

pub async fn list(config: &Config, store: StoreArgs, format: Option<Format>) -> CmdResult {
    let opened = store.open(config, false).await?;
    // The API's records (`GET /api/v1/tokens`).
    let listed = tokens::listed(&opened.store).await?;
    let columns = [
        "token_id",
        "state",
        "scopes",
        "system_id",
        "person_id",
        "person_name",
        "expires_at",
        "created_at",
        "created_by",
        "description",
    ];
    print_views(Format::resolve(format), &columns, &listed.tokens)?;
    Ok(Exit::Ok)
}

pub async fn revoke(config: &Config, token_id: String, store: StoreArgs) -> CmdResult {
    let token_id = TokenId::parse(token_id)?;
    let opened = store.open_signing(config, false).await?;
    let key = opened.store_signing_key().await?;
    let mut tx = opened.store.begin_write().await?;
    match tokens::revoke(&mut tx, &cli_actor(), &token_id).await? {
        Revocation::AlreadyRevoked { revoked_at } => {
            eprintln!("token {token_id} was already revoked at {revoked_at}");
        }
        Revocation::Revoked { .. } => {
            tx.commit().await?;
            opened.checkpoint(&key).await?;
            eprintln!("token {token_id} revoked");
        }
    }
    Ok(Exit::Ok)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expiry_accepts_durations_and_times() {
        let now = Timestamp::parse("2026-01-01T00:00:00Z").unwrap();
        assert_eq!(
            parse_expiry("90d", now).unwrap().to_canonical(),
            "2026-04-01T00:00:00.000000Z"
        );
        assert_eq!(
            parse_expiry("12h", now).unwrap().to_canonical(),
            "2026-01-01T12:00:00.000000Z"
        );
        assert!(parse_expiry("2027-01-01", now).is_ok());
        // Past times parse; issuing refuses them (soxctl_app::tokens).
        assert!(parse_expiry("2025-01-01", now).is_ok());
        assert!(parse_expiry("0d", now).is_err());
        assert!(parse_expiry("soon", now).is_err());
        // Neither a split inside a character nor an overflow panics.
        for bad in [
            "5é",
            "é",
            "d",
            "-5d",
            "99999999999999d",
            "9223372036854775807m",
            "99999999999999999999h",
        ] {
            assert!(parse_expiry(bad, now).is_err(), "{bad}");
        }
        assert!(parse_expiry("2900000d", now).is_ok());
        assert!(parse_expiry("3000000d", now).is_err());
    }
}
