use super::{cli_actor, serve};
use crate::config::Config;
use crate::exit::{CmdResult, Exit, usage};
use crate::store_args::StoreArgs;
use anyhow::Context;
use clap::Args;
use soxctl_app::documents;
use soxctl_app::ingest::{ImportOptions, import};
use soxctl_app::tokens::{self, IssuedToken, TokenRequest};
use soxctl_connectors::snapshot;
use soxctl_demo::{DemoConfig, DemoRepo, generate_history, generate_repo};
use soxctl_model::clock::{Clock, SystemClock};
use soxctl_model::ids::PersonId;
use soxctl_model::principal::Scope;
use soxctl_store::{DB_FILE, Store, signing};
use std::net::SocketAddr;
use std::path::Path;
use std::path::PathBuf;

/// What importing the demo's year recorded.
struct ImportTotals {
    events: u64,
    findings: soxctl_app::findings::FindingChanges,
}

/// The headcounts the demo generator accepts (soxctl_demo::DemoConfig::people).
pub const DEMO_MIN_PEOPLE: usize = 50;

pub const DEMO_MAX_PEOPLE: usize = 99_999;

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Data directory of the demo store.
    #[arg(
        long,
        env = "SOXCTL_DEMO_DATA",
        value_name = "DIR",
        default_value = "./soxctl-demo"
    )]
    pub data: PathBuf,
    /// Address to listen on.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// People in the generated organisation (50 to 99999).
    #[arg(long, default_value_t = 300)]
    pub people: usize,
    /// Seed of the generator (same seed, same organisation).
    #[arg(long, default_value_t = 2026)]
    pub seed: u64,
    /// The demo's present: its last snapshot is taken then, and a year of monthly snapshots
    /// before it is imported first (a date, meaning 18:00 UTC that day, or an RFC 3339 time).
    /// Fixed, not the clock, so the same seed gives the same organisation and the README's
    /// dates stay true.
    #[arg(long, value_name = "WHEN", default_value = DEFAULT_AS_OF)]
    pub as_of: String,
    /// Build the store and print the credential, but do not serve.
    #[arg(long)]
    pub no_serve: bool,
}

/// The demo's present: a quarter end.
pub const DEFAULT_AS_OF: &str = "2026-09-30";

/// `--as-of`: a date (18:00 UTC that day, when a day's extraction runs) or
/// an RFC 3339 time.
fn demo_as_of(value: &str) -> Result<chrono::DateTime<chrono::Utc>, crate::exit::Failure> {
    let parsed = chrono::NaiveDate::parse_from_str(value, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(18, 0, 0))
        .map(|t| t.and_utc())
        .or_else(|| {
            chrono::DateTime::parse_from_rfc3339(value)
                .ok()
                .map(|t| t.to_utc())
        });
    match parsed {
        Some(t) => Ok(t),
        None => Err(crate::exit::failed(
            Exit::Usage,
            anyhow::anyhow!("--as-of {value:?}: give a date (YYYY-MM-DD) or an RFC 3339 time"),
        )),
    }
}

/// The starter SoD rule set (rules/finance-stack.toml), loaded into every
/// new demo store.
const STARTER_RULES: &str = include_str!("../../../../rules/finance-stack.toml");

/// The starter approval policies (policies/approvals.toml): they name people
/// of the default demo organisation (seed 2026, 300 people).
const STARTER_POLICIES: &str = include_str!("../../../../policies/approvals.toml");

/// The description of the admin token each demo run issues; the previous
/// ones are revoked then, so only the newest banner's token works.
const DEMO_TOKEN: &str = "demo admin";

pub async fn run(config: &Config, args: DemoArgs) -> CmdResult {
    // The generator's settings first: a bad one must not touch any store.
    if !(DEMO_MIN_PEOPLE..=DEMO_MAX_PEOPLE).contains(&args.people) {
        usage!(
            "--people {}: the demo organisation has between {DEMO_MIN_PEOPLE} and {DEMO_MAX_PEOPLE} people",
            args.people
        );
    }
    let as_of = demo_as_of(&args.as_of)?;
    if as_of > SystemClock.now().as_datetime() {
        usage!(
            "--as-of {}: the demo's present cannot lie in the future (its snapshots would be dated after they were taken)",
            args.as_of
        );
    }
    // The dated snapshots live in demo-snapshot/YYYY-MM-DD/, the admin's id
    // beside them (never inside a snapshot, where an import would find it).
    let snapshot_dir = args.data.join("demo-snapshot");
    let existed = args.data.join(DB_FILE).exists();
    // Every demo store has its demo-snapshot directory: without one, the
    // store is someone else's, and not even opened (opening migrates it).
    if existed && !snapshot_dir.is_dir() {
        usage!(
            "{} holds a store that is not a demo (it has no demo-snapshot directory); refusing to touch it. \
             Pass another --data DIR for the demo",
            args.data.display()
        );
    }
    // The demo's key is its own, beside its store, whatever the config says.
    let store_args = StoreArgs {
        data: Some(args.data.clone()),
        database: None,
        signing_key: Some(args.data.join(signing::DEFAULT_FILE_NAME)),
    };

    let generated_now = !existed;
    let generated = if existed {
        None
    } else {
        // A new demo: generate the organisation before the store exists.
        let cfg = DemoConfig {
            seed: args.seed,
            people: args.people,
            as_of,
        };
        let history = generate_history(&cfg, &snapshot_dir)
            .map_err(|e| anyhow::anyhow!("cannot generate the demo organisation: {e}"))?;
        std::fs::write(snapshot_dir.join("ADMIN"), &history.summary.admin_person_id)
            .with_context(|| format!("cannot write {}", snapshot_dir.join("ADMIN").display()))?;
        Some(history)
    };

    let opened = store_args
        .open_signing(config, !existed)
        .await
        .with_context(|| format!("cannot open the demo store in {}", args.data.display()))?;
    if existed {
        match opened.store.meta().await? {
            Some(meta) if meta.demo => {}
            _ => usage!(
                "{} holds a store that is not a demo; refusing to touch it. Pass another --data DIR for the demo",
                args.data.display()
            ),
        }
    }
    let key = opened.initialise(config, true).await?;
    let store = opened.store;

    let admin = match generated {
        None => {
            eprintln!("reusing the demo organisation in {}", args.data.display());
            // Demos made before their files were private: make them so.
            owner_only(&snapshot_dir)
                .with_context(|| format!("cannot make {} private", snapshot_dir.display()))?;
            std::fs::read_to_string(snapshot_dir.join("ADMIN"))
                .ok()
                .map(|s| s.trim().to_owned())
        }
        Some(history) => {
            let summary = &history.summary;
            // The starter rule set, in force before the import so that its
            // detectors open SoD findings with the hygiene ones.
            let mut tx = store.begin_write().await?;
            documents::load_rules(
                &mut tx,
                &cli_actor(),
                "finance-stack.toml",
                STARTER_RULES,
                &config.hygiene.policy(),
            )
            .await?;
            if args.seed == 2026 && args.people == 300 {
                documents::load_policies(&mut tx, &cli_actor(), "approvals.toml", STARTER_POLICIES)
                    .await?;
            } else {
                eprintln!(
                    "policies/approvals.toml names people of the default demo (seed 2026, 300 people); \
                     this organisation uses the built-in default approval policy"
                );
            }
            tx.commit().await?;
            // The year in order: each snapshot at its own extraction time.
            let mut events = 0;
            let mut findings = soxctl_app::findings::FindingChanges::default();
            for dated in &history.snapshots {
                let snap = snapshot::read(&dated.dir)?;
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
                    "imported the snapshot of {}: {} ledger events, {} findings opened, {} resolved",
                    dated.as_of.format("%Y-%m-%d"),
                    outcome.events,
                    outcome.findings.opened,
                    outcome.findings.resolved
                );
                events += outcome.events;
                findings.opened += outcome.findings.opened;
                findings.resolved += outcome.findings.resolved;
                findings.accepted += outcome.findings.accepted;
            }
            for story in &history.stories {
                eprintln!("  in its past: {story}");
            }
            let outcome = ImportTotals { events, findings };
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
            eprintln!(
                "findings opened by the detectors over the year: {} ({} resolved since, {} accepted)",
                outcome.findings.opened, outcome.findings.resolved, outcome.findings.accepted
            );
            let violations = store
                .findings(&soxctl_store::findings::Filter {
                    kind: Some("sod_violation".into()),
                    status: Some(soxctl_model::finding::FindingStatus::Open),
                    ..Default::default()
                })
                .await?
                .len();
            eprintln!(
                "segregation of duties: {violations} open violations under the starter rule set \
                 (rules/finance-stack.toml); {} were planted as clear-cut conflicts, the others come \
                 from the organisation's own roles and broad profiles (SAP_ALL, admin rights) that \
                 the stricter starter rules judge conflicting — `soxctl sod analyze` lists each with \
                 the entitlements behind it",
                summary.sod_conflicts_planted
            );
            Some(summary.admin_person_id.clone())
        }
    };
    let repo_dir = args.data.join(soxctl_demo::REPO_DIR);
    let repo = if generated_now {
        demo_repository(&args, as_of, &repo_dir)
    } else {
        None
    };
    let person = admin.map(PersonId::parse).transpose()?;
    let (new, revoked) = reissue_admin_token(&store, person.clone()).await?;
    store.sign_checkpoint(&key).await?;
    if revoked > 0 {
        eprintln!("revoked {revoked} earlier demo admin token(s); use the one below");
    }
    let who = person
        .map(|p| format!(" for person {p}"))
        .unwrap_or_default();
    let served = if args.no_serve {
        String::new()
    } else {
        format!(
            "\n  curl -H \"Authorization: Bearer $SOXCTL_TOKEN\" http://{}/api/v1/findings",
            args.listen
        )
    };
    let banner = format!(
        "Demo store: {dir} (a year of history up to {as_of})\nAdmin API token{who} (shown once):\n  export SOXCTL_TOKEN={secret}\nTry:{served}\n  export SOXCTL_DATA={dir}\n  soxctl findings\n  soxctl people Smith\n  soxctl who-has erp:PAYMENT_RUN --at 2026-03-31\n  soxctl sod analyze\n  soxctl verify",
        dir = args.data.display(),
        as_of = as_of.format("%Y-%m-%d"),
        secret = new.secret,
    );
    let banner = match &repo {
        Some(repo) => banner + &gate_tour(repo, &args.data, args.listen),
        None if repo_dir.is_dir() => format!(
            "{banner}\nThe change gate (README, step 12) on the repository {}",
            repo_dir.display()
        ),
        None => banner,
    };
    if args.no_serve {
        println!("{banner}");
        return Ok(Exit::Ok);
    }
    let options = soxctl_server::ServerOptions {
        metrics_public: false,
        hygiene: config.hygiene.policy(),
    };
    serve::serve(
        store,
        key,
        args.listen,
        options,
        Some(banner),
        soxctl_connectors::correlate::Rules::default(),
        None,
    )
    .await?;
    Ok(Exit::Ok)
}

/// The demo's finance-app repository, beside the store and as private
/// (0700); a failure (no git) is a warning, the rest of the demo stands.
fn demo_repository(
    args: &DemoArgs,
    as_of: chrono::DateTime<chrono::Utc>,
    dir: &Path,
) -> Option<DemoRepo> {
    // The history's dates are fixed: the same seed and headcount give the
    // same commits whenever the demo is built.
    let cfg = DemoConfig {
        seed: args.seed,
        people: args.people,
        as_of,
    };
    if let Err(e) = private_dir(dir) {
        eprintln!(
            "warning: no demo git repository (the change gate's tour needs one): cannot create {}: {e}",
            dir.display()
        );
        return None;
    }
    match generate_repo(&cfg, dir) {
        Ok(repo) => {
            eprintln!(
                "demo repository: {} ({}, {} commits by {}), main at {}",
                dir.display(),
                repo.name,
                repo.commits,
                repo.authors
                    .iter()
                    .map(|p| p.person_id.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
                repo.head
            );
            Some(repo)
        }
        Err(e) => {
            eprintln!("warning: no demo git repository (the change gate's tour needs one): {e}");
            // The directory is the one just created: nothing else is in it.
            let _ = std::fs::remove_dir_all(dir);
            None
        }
    }
}

/// Takes group and other permissions off the files in `dir` and in its
/// dated snapshot directories (the demo organisation's names and emails are
/// personal data in form).
fn owner_only(dir: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    for entry in std::fs::read_dir(dir)? {
        use std::os::unix::fs::PermissionsExt;
        let entry = entry?;
        let meta = entry.metadata()?;
        if meta.is_dir() {
            owner_only(&entry.path())?;
        } else if meta.is_file() && meta.permissions().mode() & 0o077 != 0 {
            let mode = meta.permissions().mode() & 0o700;
            std::fs::set_permissions(entry.path(), std::fs::Permissions::from_mode(mode))?;
        }
    }
    Ok(())
}

/// Creates `dir` (its parent exists) with mode 0700, like the store's.
fn private_dir(dir: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    #[cfg(unix)]
    {
        use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
        builder.mode(0o700);
        builder.create(dir)?;
        // The umask may only narrow the mode; set it exactly anyway.
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
    }
    #[cfg(not(unix))]
    builder.create(dir)
}

/// The banner's lines for the change gate (README, step 12).
fn gate_tour(repo: &DemoRepo, data: &Path, listen: std::net::SocketAddr) -> String {
    let dir = data.display();
    let authors = repo
        .authors
        .iter()
        .map(|p| p.person_id.as_str())
        .collect::<Vec<_>>()
        .join(", ");
    let author = repo
        .authors
        .iter()
        .find(|p| p.person_id != repo.triggered_by.person_id)
        .unwrap_or(&repo.triggered_by);
    format!(
        "\nThe change gate (README, step 12) on {path}, written by {authors}, with the store served:\n  \
         export SOXCTL_SERVER=http://{listen}\n  \
         PIPELINE=$(soxctl token create --scope gate --repo {name} --env staging --data {dir} | tail -n1)\n  \
         REQ=$(SOXCTL_TOKEN=$PIPELINE soxctl gate request --repo {path} --commit HEAD --env staging --triggered-by {trigger} --id)\n  \
         SOXCTL_TOKEN=$(soxctl token create --scope request --person {approver} --data {dir} | tail -n1) soxctl request approve \"$REQ\"\n  \
         SOXCTL_TOKEN=$PIPELINE soxctl gate check --repo {path} --commit HEAD --env staging --deployer {deployer}   # exit 0\n  \
         SOXCTL_TOKEN=$PIPELINE soxctl gate check --repo {path} --commit HEAD --env staging --deployer {author}   # exit 1: an author",
        path = repo.dir.display(),
        name = repo.name,
        trigger = repo.triggered_by.email,
        approver = repo.approver.person_id,
        deployer = repo.deployer.email,
        author = author.email,
    )
}

/// Revokes the earlier demo admin tokens and issues a new one, in one write
/// transaction; returns the new token and how many were revoked.
async fn reissue_admin_token(
    store: &Store,
    person: Option<PersonId>,
) -> anyhow::Result<(IssuedToken, usize)> {
    let mut tx = store.begin_write().await?;
    let rotated = tokens::rotate(
        &mut tx,
        &cli_actor(),
        TokenRequest {
            scopes: vec![Scope::Admin],
            system_id: None,
            person_id: person,
            expires_at: None,
            description: Some(DEMO_TOKEN.to_owned()),
            gate: None,
        },
    )
    .await?;
    tx.commit().await?;
    Ok((rotated.issued, rotated.revoked))
}
