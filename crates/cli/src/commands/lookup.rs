//! Finding people, systems and entitlements: `people [QUERY]`, `systems`,
//! `entitlements [SYSTEM]` — the same answers as the API's lookups.

use crate::config::Config;
use crate::exit::{CmdResult, Exit, failed};
use crate::output::{Format, print_view, print_views};
use crate::store_args::StoreArgs;
use clap::Args;
use soxctl_app::inventory::{self, LookupError};
use soxctl_model::ids::SystemId;

#[derive(Debug, Args)]
pub struct PeopleArgs {
    /// Part of a person's id, name or email, without regard to case (none: everyone).
    pub query: Option<String>,
    /// At most this many (at most 1,000).
    #[arg(long, default_value_t = inventory::DEFAULT_PEOPLE)]
    pub limit: u64,
    #[command(flatten)]
    pub store: StoreArgs,
    #[arg(long, value_enum)]
    pub format: Option<Format>,
}

#[derive(Debug, Args)]
pub struct SystemsArgs {
    #[command(flatten)]
    pub store: StoreArgs,
    #[arg(long, value_enum)]
    pub format: Option<Format>,
}

#[derive(Debug, Args)]
pub struct EntitlementsArgs {
    /// Only this system's entitlements.
    pub system: Option<String>,
    #[command(flatten)]
    pub store: StoreArgs,
    #[arg(long, value_enum)]
    pub format: Option<Format>,
}

/// A lookup that cannot answer is a usage error (exit 2); the store failing is not.
pub(super) fn refused(error: LookupError) -> crate::exit::Failure {
    match error {
        LookupError::Store(e) => e.into(),
        refused => failed(Exit::Usage, refused),
    }
}

pub async fn people(config: &Config, args: PeopleArgs) -> CmdResult {
    let opened = args.store.open(config, false).await?;
    let found = inventory::people(&opened.store, args.query.as_deref(), Some(args.limit))
        .await
        .map_err(refused)?;
    let format = Format::resolve(args.format);
    if format == Format::Json {
        print_view(format, &found)?;
    } else {
        let columns = [
            "person_id",
            "name",
            "email",
            "department",
            "title",
            "status",
            "erased",
        ];
        print_views(format, &columns, &found.people)?;
    }
    if found.truncated {
        eprintln!(
            "more people match than the {} shown: narrow the query or raise --limit",
            args.limit
        );
    } else if found.people.is_empty() {
        eprintln!("nobody matches; `soxctl people` lists everyone");
    }
    Ok(Exit::Ok)
}

pub async fn systems(config: &Config, args: SystemsArgs) -> CmdResult {
    let opened = args.store.open(config, false).await?;
    let found = inventory::systems(&opened.store).await?;
    let format = Format::resolve(args.format);
    if format == Format::Json {
        print_view(format, &found)?;
    } else {
        let columns = [
            "system_id",
            "name",
            "kind",
            "owner_id",
            "owner_name",
            "sox_in_scope",
            "entitlements",
        ];
        print_views(format, &columns, &found.systems)?;
    }
    Ok(Exit::Ok)
}

pub async fn entitlements(config: &Config, args: EntitlementsArgs) -> CmdResult {
    let system = args
        .system
        .as_deref()
        .map(SystemId::parse)
        .transpose()
        .map_err(|e| failed(Exit::Usage, anyhow::anyhow!("{e}")))?;
    let opened = args.store.open(config, false).await?;
    let found = inventory::entitlements(&opened.store, system.as_ref())
        .await
        .map_err(refused)?;
    let format = Format::resolve(args.format);
    if format == Format::Json {
        print_view(format, &found)?;
    } else {
        let columns = [
            "system_id",
            "entitlement_id",
            "name",
            "privileged",
            "owner_id",
            "owner_name",
        ];
        print_views(format, &columns, &found.entitlements)?;
    }
    Ok(Exit::Ok)
}
