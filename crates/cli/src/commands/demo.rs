use super::{cli_actor, serve, token};
use crate::cli::DemoArgs;
use crate::config::Config;
use crate::exit::{CmdResult, Exit, usage};
use anyhow::Context;
use soxctl_connectors::import::{ImportOptions, import};
use soxctl_connectors::snapshot;
use soxctl_demo::{DemoConfig, generate};
use soxctl_model::clock::SystemClock;
use soxctl_model::ids::PersonId;
use soxctl_model::principal::Scope;
use soxctl_store::tokens::TokenRequest;
use soxctl_store::{DB_FILE, Location, OpenOptions, Store, signing};
use std::sync::Arc;

pub async fn run(config: &Config, args: DemoArgs) -> CmdResult {
    let existed = args.data.join(DB_FILE).exists();
    let store = Store::open(OpenOptions {
        location: Location::Sqlite(args.data.clone()),
        create: true,
        clock: Arc::new(SystemClock),
        failpoints: Default::default(),
    })
    .await
    .with_context(|| format!("cannot open the demo store in {}", args.data.display()))?;
    if existed {
        match store.meta().await? {
            Some(meta) if meta.demo => {}
            _ => usage!(
                "{} holds a store that is not a demo; refusing to touch it. Pass another --data DIR for the demo",
                args.data.display()
            ),
        }
    }
    let meta = store.initialise(config.ledger.origin.clone(), true).await?;
    let key = signing::load_or_create(&args.data.join(signing::DEFAULT_FILE_NAME), &meta.origin)?;

    let snapshot_dir = args.data.join("demo-snapshot");
    let admin = if existed && snapshot_dir.exists() {
        eprintln!("reusing the demo organisation in {}", args.data.display());
        std::fs::read_to_string(snapshot_dir.join("ADMIN"))
            .ok()
            .map(|s| s.trim().to_owned())
    } else {
        let as_of = store.context().clock.now().as_datetime();
        let cfg = DemoConfig {
            seed: args.seed,
            people: args.people,
            as_of,
        };
        let summary =
            generate(&cfg, &snapshot_dir).context("cannot generate the demo organisation")?;
        std::fs::write(snapshot_dir.join("ADMIN"), &summary.admin_person_id)?;
        let snap = snapshot::read(&snapshot_dir)?;
        let outcome = import(
            &store,
            &snap,
            &ImportOptions {
                actor: cli_actor(),
                ..Default::default()
            },
        )
        .await?;
        eprintln!(
            "demo organisation: {} people, {} systems, {} entitlements, {} accounts, {} grants, {} roles \
             ({} orphan accounts, {} leavers with access, {} planted SoD conflicts); {} ledger events",
            summary.people,
            summary.systems,
            summary.entitlements,
            summary.accounts,
            summary.grants,
            summary.roles,
            summary.orphans,
            summary.terminated_with_access,
            summary.sod_conflicts_planted,
            outcome.events
        );
        Some(summary.admin_person_id)
    };
    let person = admin.map(PersonId::parse).transpose()?;
    let new = token::issue(
        &store,
        TokenRequest {
            scopes: vec![Scope::Admin],
            system_id: None,
            person_id: person.clone(),
            expires_at: None,
            description: Some("demo admin".to_owned()),
        },
    )
    .await?;
    store.sign_checkpoint(&key).await?;
    let who = person
        .map(|p| format!(" for person {p}"))
        .unwrap_or_default();
    let banner = format!(
        "Demo store: {dir}\nAdmin API token{who} (shown once):\n  export SOXCTL_TOKEN={secret}\nTry:\n  curl -H \"Authorization: Bearer $SOXCTL_TOKEN\" http://{listen}/api/v1/ledger/checkpoint\n  soxctl verify --data {dir}",
        dir = args.data.display(),
        secret = new.secret,
        listen = args.listen,
    );
    if args.no_serve {
        println!("{banner}");
        return Ok(Exit::Ok);
    }
    serve::serve(store, key, args.listen, false, Some(banner)).await?;
    Ok(Exit::Ok)
}
