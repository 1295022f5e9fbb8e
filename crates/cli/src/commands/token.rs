use super::cli_actor;
use crate::cli::TokenCreateArgs;
use crate::config::Config;
use crate::exit::{CmdResult, Exit};
use crate::output::{Format, print_records};
use crate::store_args::StoreArgs;
use anyhow::bail;
use soxctl_model::ids::{PersonId, SystemId, TokenId};
use soxctl_model::principal::Scope;
use soxctl_model::time::Timestamp;
use soxctl_store::Store;
use soxctl_store::tokens::{self, IssuedToken, Revocation, TokenRequest, TokenState};

/// Parses `90d`, `12h`, `30m` or an RFC 3339 time/date.
fn parse_expiry(value: &str, now: Timestamp) -> anyhow::Result<Timestamp> {
    let (number, unit) = value.split_at(value.len().saturating_sub(1));
    let seconds = match unit {
        "d" => Some(86_400),
        "h" => Some(3_600),
        "m" => Some(60),
        _ => None,
    };
    if let (Some(seconds), Ok(n)) = (seconds, number.parse::<i64>()) {
        if n <= 0 {
            bail!("--expires {value}: the duration must be positive");
        }
        return Ok(Timestamp::from_datetime(
            now.as_datetime() + chrono::Duration::seconds(n * seconds),
        ));
    }
    // Whether it is in the future is the use case's rule (soxctl_store::tokens).
    Timestamp::parse(value)
        .map_err(|e| anyhow::anyhow!("--expires: {e}; or use a duration like 90d"))
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
    let scopes = args
        .scopes
        .iter()
        .map(|s| s.parse::<Scope>())
        .collect::<Result<Vec<_>, _>>()
        .map_err(anyhow::Error::msg)?;
    let system = args.system.map(SystemId::parse).transpose()?;
    let person = args.person.map(PersonId::parse).transpose()?;
    let opened = args.store.open(config, true).await?;
    let key = opened.initialise(config, false).await?;
    let now = opened.store.context().clock.now();
    let expires_at = args
        .expires
        .as_deref()
        .map(|e| parse_expiry(e, now))
        .transpose()?;
    let token = issue(
        &opened.store,
        TokenRequest {
            scopes,
            system_id: system,
            person_id: person,
            expires_at,
            description: args.description,
        },
    )
    .await?;
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
    let now = opened.store.context().clock.now();
    let records: Vec<serde_json::Value> = opened
        .store
        .tokens()
        .await?
        .into_iter()
        .map(|t| {
            let state = TokenState::of(&t, now).as_str();
            serde_json::json!({
                "token_id": t.token_id.as_str(),
                "state": state,
                "scopes": t.scopes,
                "system_id": t.system_id.as_ref().map(|s| s.as_str()),
                "person_id": t.person_id.as_ref().map(|p| p.as_str()),
                "expires_at": t.expires_at.map(|e| e.to_canonical()),
                "created_at": t.created_at.to_canonical(),
                "created_by": t.created_by,
                "revoked_at": t.revoked_at.map(|e| e.to_canonical()),
                "description": t.description,
            })
        })
        .collect();
    let columns = [
        "token_id",
        "state",
        "scopes",
        "system_id",
        "person_id",
        "expires_at",
        "created_at",
        "created_by",
        "description",
    ];
    print_records(Format::resolve(format), &columns, &records)?;
    Ok(Exit::Ok)
}

pub async fn revoke(config: &Config, token_id: String, store: StoreArgs) -> CmdResult {
    let token_id = TokenId::parse(token_id)?;
    let opened = store.open(config, false).await?;
    let key = opened.signing_key()?;
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
        // Past times parse; issuing refuses them (soxctl_store::tokens).
        assert!(parse_expiry("2025-01-01", now).is_ok());
        assert!(parse_expiry("0d", now).is_err());
        assert!(parse_expiry("soon", now).is_err());
    }
}
