use super::cli_actor;
use crate::config::Config;
use crate::exit::{CmdResult, Exit, Failure, failed};
use crate::output::{Format, print_object, print_records};
use crate::store_args::StoreArgs;
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use soxctl_app::ingest::{
    ImportError, ImportOptions, ImportOutcome, PROGRESS_EVERY, Progress, import, import_reporting,
};
use soxctl_connectors::correlate::Rules;
use soxctl_connectors::snapshot::{self, Snapshot};
use soxctl_model::identity::{escape, is_hidden};
use soxctl_model::inventory::Inventory;
use soxctl_model::reconcile::{ChangeKind, Diff, Fact};
use soxctl_store::{DB_FILE, Location};
use std::io::IsTerminal;
use std::path::Path;
use std::path::PathBuf;

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// Snapshot directory (people.csv, systems.csv, entitlements.csv, accounts.csv, grants.csv, roles.csv, …).
    pub snapshot: PathBuf,
    #[command(flatten)]
    pub store: StoreArgs,
    /// Print the changes without recording them.
    #[arg(long)]
    pub dry_run: bool,
    /// Refuse a snapshot that removes more than this percentage of a system's grants.
    #[arg(long, value_name = "PCT", default_value_t = 20)]
    pub max_removals: u32,
    /// Correlation rules (TOML `[[correlate]]` tables) linking accounts that have no person_id to people; default: by email where the source gives one.
    #[arg(long, value_name = "FILE")]
    pub correlation: Option<PathBuf>,
    /// Output of the summary (and of the diff with --dry-run).
    #[arg(long, value_enum)]
    pub format: Option<Format>,
}

pub async fn run(config: &Config, args: ImportArgs) -> CmdResult {
    // Parse before touching the store: a bad snapshot must not even create one.
    let snapshot = snapshot::read(&args.snapshot)
        .map_err(|e| failed(Exit::Usage, ImportError::Snapshot(e)))?;
    for warning in snapshot.warnings() {
        eprintln!("warning: {warning}");
    }
    let format = Format::resolve(args.format);
    let correlation = match &args.correlation {
        Some(path) => read_rules(path).map_err(|e| failed(Exit::Usage, e))?,
        None => Rules::default(),
    };
    let options = ImportOptions {
        actor: cli_actor(),
        dry_run: args.dry_run,
        max_removals_percent: args.max_removals,
        correlation,
        hygiene: config.hygiene.policy(),
    };
    let input = Input {
        key: "snapshot",
        shown: args.snapshot.display().to_string(),
        verb: "imported",
    };
    apply(config, &args.store, &snapshot, &options, format, &input).await?;
    Ok(Exit::Ok)
}

/// The most a correlation rules file may hold: a few tables.
const MAX_RULES_LEN: u64 = 1 << 20;

/// Reads the correlation rules at `path`. An error names the file and
/// line, never its text: toml's own message quotes the line, and the file
/// may be anything the option was pointed at.
fn read_rules(path: &Path) -> anyhow::Result<Rules> {
    use std::io::Read;
    let shown = escape(&path.display().to_string());
    let error = |reason: String| anyhow::anyhow!("correlation rules {shown}: {reason}");
    // Before opening: opening a pipe waits for a writer.
    let metadata = std::fs::metadata(path).map_err(|e| error(format!("cannot be read: {e}")))?;
    if !metadata.is_file() {
        return Err(error("is not a regular file".into()));
    }
    let file = std::fs::File::open(path).map_err(|e| error(format!("cannot be read: {e}")))?;
    let mut bytes = Vec::new();
    file.take(MAX_RULES_LEN + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| error(format!("cannot be read: {e}")))?;
    if bytes.len() as u64 > MAX_RULES_LEN {
        return Err(error("is larger than 1 MiB; rules are a few tables".into()));
    }
    let text = String::from_utf8(bytes).map_err(|_| error("is not valid UTF-8 text".into()))?;
    toml::from_str::<Rules>(&text).map_err(|e| {
        let line = e.span().map_or(String::new(), |span| {
            let before = text.as_bytes().get(..span.start).unwrap_or_default();
            format!("line {}: ", before.iter().filter(|&&b| b == b'\n').count() + 1)
        });
        let mut buf = [0u8; 4];
        let message: String = e
            .message()
            .chars()
            .map(|c| {
                if is_hidden(c) {
                    escape(c.encode_utf8(&mut buf))
                } else {
                    c.to_string()
                }
            })
            .collect();
        error(format!(
            "{line}{message}; write [[correlate]] tables with account = account_id|email|login|employee_id, \
             person = person_id|email and an optional system"
        ))
    })
}

/// What a summary names as the input of a reconciliation.
pub(super) struct Input {
    /// The summary's key for it: `snapshot` or `source`.
    pub key: &'static str,
    pub shown: String,
    /// `imported` or `synced`, for the one-line table summary.
    pub verb: &'static str,
}

/// Reconciles a parsed snapshot into the store and prints the summary (or,
/// with a dry run, the diff). The outcome, unless it was a dry run.
pub(super) async fn apply(
    config: &Config,
    store: &StoreArgs,
    snapshot: &Snapshot,
    options: &ImportOptions,
    format: Format,
    input: &Input,
) -> Result<Option<ImportOutcome>, Failure> {
    store.check()?;
    // References are checked against the store inside the import; with no
    // store yet, check them now so that a rejected snapshot creates none, and
    // a dry run diffs against nothing instead of creating a store.
    if let Location::Sqlite(dir) = store.location(config)
        && !dir.join(DB_FILE).exists()
    {
        let diff = soxctl_app::ingest::plan_for_new_store(snapshot, options)
            .map_err(|e| failed(Exit::Usage, e))?;
        if options.dry_run {
            print_dry_run(format, &diff)?;
            return Ok(None);
        }
    }
    if options.dry_run {
        // Records nothing, so it needs no signing key.
        let opened = store.open(config, false).await?;
        let outcome = import(&opened.store, snapshot, options)
            .await
            .map_err(|e| failed(Exit::Usage, e))?;
        print_dry_run(format, &outcome.diff)?;
        return Ok(None);
    }
    let opened = store.open_signing(config, true).await?;
    if opened.store.meta().await?.is_none() {
        // A new PostgreSQL store: as above, before entry 0.
        snapshot::validate_references(snapshot, &Inventory::default())
            .map_err(|e| failed(Exit::Usage, ImportError::Snapshot(e)))?;
    }
    // Checks the key against the store before the import writes anything.
    let key = opened.initialise(config, false).await?;
    let mut reporter = Reporter::new();
    let outcome = import_reporting(&opened.store, snapshot, options, &mut |p| {
        reporter.report(p)
    })
    .await;
    reporter.finish();
    let outcome = outcome.map_err(|e| failed(Exit::Usage, e))?;
    opened.checkpoint(&key).await?;
    // Whatever the format: stderr is not the data.
    for person in &outcome.reappeared {
        eprintln!(
            "warning: {person} was erased, and this snapshot still holds their name or email: they are \
             recorded again (sealed under a new key). Remove them from the source, then erase them \
             again with `soxctl person erase {person}`"
        );
    }
    let count = |k: ChangeKind| outcome.diff.changes.iter().filter(|c| c.kind == k).count();
    let mut summary = serde_json::json!({
        "import_id": outcome.import_id,
        "systems": snapshot.scope.iter().map(|s| s.as_str()).collect::<Vec<_>>(),
        "added": count(ChangeKind::Added),
        "changed": count(ChangeKind::Changed),
        "removed": count(ChangeKind::Removed),
        "new_baselines": outcome.diff.new_baselines.iter().map(|s| s.as_str()).collect::<Vec<_>>(),
        "events": outcome.events,
        "findings_opened": outcome.findings.opened,
        "findings_resolved": outcome.findings.resolved,
        "reappeared": outcome.reappeared.iter().map(|p| p.as_str()).collect::<Vec<_>>(),
        "ledger_size": outcome.receipt.as_ref().map(|r| r.size),
    });
    if let Some(object) = summary.as_object_mut() {
        object.insert(input.key.to_owned(), input.shown.clone().into());
    }
    if format == Format::Table {
        eprintln!(
            "{} {}: {} added, {} changed, {} removed, {} ledger events{}",
            input.verb,
            input.shown,
            count(ChangeKind::Added),
            count(ChangeKind::Changed),
            count(ChangeKind::Removed),
            outcome.events,
            if outcome.events == 0 {
                " (nothing changed)"
            } else {
                ""
            }
        );
        if outcome.findings != Default::default() {
            eprintln!(
                "findings: {} opened, {} resolved (see `soxctl findings`)",
                outcome.findings.opened, outcome.findings.resolved
            );
        }
    } else {
        print_object(format, &summary)?;
    }
    Ok(Some(outcome))
}

fn print_dry_run(format: Format, diff: &Diff) -> anyhow::Result<()> {
    let records: Vec<serde_json::Value> = diff
        .changes
        .iter()
        .map(|c| {
            serde_json::json!({
                "change": match c.kind { ChangeKind::Added => "added", ChangeKind::Changed => "changed", ChangeKind::Removed => "removed" },
                "fact": fact_name(&c.fact),
                "key": fact_key(&c.fact),
                "fields": c.fields,
            })
        })
        .collect();
    print_records(format, &["change", "fact", "key", "fields"], &records)?;
    eprintln!("dry run: {} changes, nothing recorded", records.len());
    Ok(())
}

fn fact_name(f: &Fact) -> &'static str {
    match f {
        Fact::Person(_) => "person",
        Fact::System(_) => "system",
        Fact::Entitlement(_) => "entitlement",
        Fact::Account(_) => "account",
        Fact::Grant(_) => "grant",
        Fact::Role(_) => "role",
        Fact::RoleEntitlement(_) => "role_entitlement",
    }
}

fn fact_key(f: &Fact) -> String {
    match f {
        Fact::Person(p) => p.person_id.to_string(),
        Fact::System(s) => s.system_id.to_string(),
        Fact::Entitlement(e) => format!("{}:{}", e.system_id, e.entitlement_id),
        Fact::Account(a) => format!("{}/{}", a.system_id, a.account_id),
        Fact::Grant(g) => format!(
            "{}/{} {}:{}",
            g.system_id, g.account_id, g.system_id, g.entitlement_id
        ),
        Fact::Role(r) => r.role_id.to_string(),
        Fact::RoleEntitlement(r) => format!("{} {}:{}", r.role_id, r.system_id, r.entitlement_id),
    }
}

/// Progress of a large import: a bar on a terminal, plain lines on stderr
/// otherwise (logs, CI); nothing for small imports.
struct Reporter {
    bar: Option<ProgressBar>,
    planned: u64,
    terminal: bool,
}

impl Reporter {
    fn new() -> Self {
        Self {
            bar: None,
            planned: 0,
            terminal: std::io::stderr().is_terminal(),
        }
    }

    fn report(&mut self, progress: Progress) {
        match progress {
            Progress::Planned(total) => {
                self.planned = total;
                if self.terminal && total >= PROGRESS_EVERY {
                    let bar = ProgressBar::new(total);
                    bar.set_style(
                        ProgressStyle::with_template(
                            "importing {bar:40} {pos}/{len} events ({per_sec}, eta {eta})",
                        )
                        .unwrap_or_else(|_| ProgressStyle::default_bar()),
                    );
                    self.bar = Some(bar);
                } else if total >= 2 * PROGRESS_EVERY {
                    eprintln!("import: {total} events to record");
                }
            }
            Progress::Written(done) => match &self.bar {
                Some(bar) => bar.set_position(done),
                None if self.planned >= 2 * PROGRESS_EVERY => {
                    eprintln!("import: {done} of {} events recorded", self.planned);
                }
                None => {}
            },
            Progress::Committing => match &self.bar {
                Some(bar) => bar.set_message("committing"),
                None if self.planned >= 2 * PROGRESS_EVERY => {
                    eprintln!("import: committing");
                }
                None => {}
            },
        }
    }

    fn finish(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
    }
}
