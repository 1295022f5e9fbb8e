//! The auditor's questions: `who-has`, `access-of`, `history`. Each answers
//! now or at an instant from the temporal history, and says so when a
//! system's history does not reach back that far ("unknown", not "nobody").

use crate::config::Config;
use crate::exit::{CmdResult, Exit, failed};
use crate::output::{Format, print_view, print_views};
use crate::store_args::StoreArgs;
use clap::Args;
use soxctl_app::inventory;
use soxctl_model::ids::{EntitlementRef, PersonId};
use soxctl_model::time::Timestamp;

#[derive(Debug, Args)]
pub struct WhoHasArgs {
    /// The entitlement, as system_id:entitlement_id.
    pub entitlement: String,
    /// The instant: an RFC 3339 time, or a date meaning the end of that day (default: now).
    #[arg(long, value_name = "WHEN")]
    pub at: Option<String>,
    #[command(flatten)]
    pub store: StoreArgs,
    #[arg(long, value_enum)]
    pub format: Option<Format>,
}

#[derive(Debug, Args)]
pub struct AccessOfArgs {
    /// The person's id.
    pub person: String,
    /// The instant: an RFC 3339 time, or a date meaning the end of that day (default: now).
    #[arg(long, value_name = "WHEN")]
    pub at: Option<String>,
    #[command(flatten)]
    pub store: StoreArgs,
    #[arg(long, value_enum)]
    pub format: Option<Format>,
}

#[derive(Debug, Args)]
pub struct HistoryArgs {
    /// The person's id.
    pub person: String,
    /// Start of the window (RFC 3339 time or date; default: the beginning).
    #[arg(long, value_name = "WHEN")]
    pub from: Option<String>,
    /// End of the window (a date means the end of that day; default: now).
    #[arg(long, value_name = "WHEN")]
    pub to: Option<String>,
    #[command(flatten)]
    pub store: StoreArgs,
    #[arg(long, value_enum)]
    pub format: Option<Format>,
}

/// `--at`: an RFC 3339 time, or a date meaning the end of that day.
pub fn instant(option: &str, value: &str) -> Result<Timestamp, crate::exit::Failure> {
    Timestamp::parse_end_of_day(value)
        .map_err(|e| failed(Exit::Usage, anyhow::anyhow!("{option}: {e}")))
}

/// Table and CSV columns of the holdings (the API's `HoldingView`).
const HOLDING_COLUMNS: [&str; 10] = [
    "system_id",
    "entitlement_id",
    "account_id",
    "person_id",
    "person_name",
    "account_kind",
    "account_status",
    "valid_from",
    "source",
    "seq",
];

/// Holdings as a table or CSV, an erased holder shown as such (JSON keeps
/// `person_name` null and says `person_erased`).
fn print_holdings(
    format: Format,
    holdings: &[soxctl_api::inventory::HoldingView],
) -> anyhow::Result<()> {
    let shown: Vec<soxctl_api::inventory::HoldingView> = holdings
        .iter()
        .cloned()
        .map(|mut h| {
            if h.person_erased && matches!(format, Format::Table | Format::Csv) {
                h.person_name = Some("(erased)".into());
            }
            h
        })
        .collect();
    print_views(format, &HOLDING_COLUMNS, &shown)
}

pub async fn who_has(config: &Config, args: WhoHasArgs) -> CmdResult {
    let entitlement = EntitlementRef::parse(&args.entitlement).map_err(|e| {
        failed(
            Exit::Usage,
            anyhow::anyhow!("{e}; give the entitlement as system_id:entitlement_id"),
        )
    })?;
    let at = args.at.as_deref().map(|v| instant("--at", v)).transpose()?;
    let opened = args.store.open(config, false).await?;
    let view = inventory::who_has(&opened.store, &entitlement, at)
        .await
        .map_err(super::lookup::refused)?;
    let format = Format::resolve(args.format);
    if view.coverage.state == "unknown" {
        let since = view.coverage.since.as_deref();
        eprintln!("{}", unknown_note(entitlement.system.as_str(), since, at));
    }
    if format == Format::Json {
        print_view(format, &view)?;
    } else {
        print_holdings(format, &view.holdings)?;
    }
    Ok(Exit::Ok)
}

fn unknown_note(system: &str, since: Option<&str>, at: Option<Timestamp>) -> String {
    let when = at.map_or_else(|| "now".to_owned(), |t| t.to_canonical());
    match since {
        Some(since) => format!(
            "unknown: system '{system}' has history only from its first import at {since}; nothing can be said about {when}"
        ),
        None => format!(
            "unknown: system '{system}' has never been imported; import a snapshot of it to answer"
        ),
    }
}

pub async fn access_of(config: &Config, args: AccessOfArgs) -> CmdResult {
    let person =
        PersonId::parse(&args.person).map_err(|e| failed(Exit::Usage, anyhow::anyhow!("{e}")))?;
    let at = args.at.as_deref().map(|v| instant("--at", v)).transpose()?;
    let opened = args.store.open(config, false).await?;
    let view = inventory::access_of(&opened.store, &person, at).await?;
    for system in &view.unknown_systems {
        eprintln!(
            "unknown: system '{system}' has no history at that instant (imported later or never): its part of the answer is unknown"
        );
    }
    let format = Format::resolve(args.format);
    if format == Format::Json {
        print_view(format, &view)?;
    } else {
        print_holdings(format, &view.holdings)?;
    }
    Ok(Exit::Ok)
}

pub async fn history(config: &Config, args: HistoryArgs) -> CmdResult {
    let person =
        PersonId::parse(&args.person).map_err(|e| failed(Exit::Usage, anyhow::anyhow!("{e}")))?;
    let from = args
        .from
        .as_deref()
        .map(|v| {
            Timestamp::parse(v).map_err(|e| failed(Exit::Usage, anyhow::anyhow!("--from: {e}")))
        })
        .transpose()?;
    let to = args.to.as_deref().map(|v| instant("--to", v)).transpose()?;
    let opened = args.store.open(config, false).await?;
    let views = inventory::history(&opened.store, &person, from, to)
        .await
        .map_err(super::lookup::refused)?;
    let columns = [
        "at",
        "change",
        "system_id",
        "account_id",
        "entitlement_id",
        "account_status",
        "recorded_by",
        "seq",
    ];
    print_views(Format::resolve(args.format), &columns, &views)?;
    Ok(Exit::Ok)
}
