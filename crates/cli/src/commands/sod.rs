//! `soxctl sod analyze|simulate|roles`: segregation of duties on snapshot
//! files (no store: an auditor runs it on exports) or on a store, now, at an
//! instant, or over a window, from the temporal history.

use super::rules::read_rules;
use crate::config::Config;
use crate::exit::{CmdResult, Exit, Failure, failed};
use crate::output::{Format, print_object, print_records};
use crate::store_args::StoreArgs;
use clap::Args;
use clap::Subcommand;
use serde_json::{Value, json};
use soxctl_api::sod::SimulateRequest;
use soxctl_app::sod::Period;
use soxctl_app::sod::SodError;
use soxctl_detect::sod::dataset_now;
use soxctl_model::time::Timestamp;
use soxctl_sod::{Dataset, RuleSet, Violation, ViolationLine};
use std::path::Path;
use std::path::PathBuf;

#[derive(Debug, Subcommand)]
pub enum SodCommand {
    /// Violations of a rule set: on snapshot files (SNAPSHOT_DIR --rules FILE, no store) or on a store
    /// (--data/--database, its rule set in force unless --rules), now, --at an instant, or over --from/--to.
    Analyze(SodAnalyzeArgs),
    /// The violations a change would create for a person (exit 1 when there are any).
    Simulate(SodSimulateArgs),
    /// Roles that violate a risk on their own (exit 1 when there are any).
    Roles(SodRolesArgs),
    /// Record an exception for a (risk, identity) with a compensating control.
    Mitigate(SodMitigateArgs),
    /// List mitigations (those in force; --all for every one).
    Mitigations {
        #[arg(long)]
        all: bool,
        #[command(flatten)]
        store: StoreArgs,
        #[arg(long, value_enum)]
        format: Option<Format>,
    },
    /// Revoke a mitigation before it expires.
    Unmitigate {
        /// The mitigation id (from `sod mitigations`).
        mitigation_id: String,
        /// Why (kept in the ledger).
        #[arg(long)]
        reason: String,
        #[command(flatten)]
        store: StoreArgs,
    },
}

#[derive(Debug, Args)]
pub struct SodAnalyzeArgs {
    /// A snapshot directory to analyse without a store (needs --rules).
    pub snapshot: Option<PathBuf>,
    /// Rule file (TOML); default for a store: its rule set in force.
    #[arg(long, value_name = "FILE")]
    pub rules: Option<PathBuf>,
    /// An instant in the past (RFC 3339 time, or a date meaning its end), from the store's history.
    #[arg(long, value_name = "WHEN")]
    pub at: Option<String>,
    /// Start of a window: report violations that existed at any instant of it.
    #[arg(long, value_name = "WHEN")]
    pub from: Option<String>,
    /// End of the window.
    #[arg(long, value_name = "WHEN")]
    pub to: Option<String>,
    /// Exit 1 when an unmitigated violation of this severity or worse is found (low|medium|high|critical).
    #[arg(long, value_name = "SEVERITY")]
    pub fail_on: Option<String>,
    #[command(flatten)]
    pub store: StoreArgs,
    #[arg(long, value_enum)]
    pub format: Option<Format>,
}

#[derive(Debug, Args)]
pub struct SodSimulateArgs {
    /// The person who would receive the access.
    #[arg(long)]
    pub person: String,
    /// An entitlement to add, as system_id:entitlement_id (repeat for several).
    #[arg(long, value_name = "REF")]
    pub add: Vec<String>,
    /// A role whose entitlements to add (repeat for several).
    #[arg(long, value_name = "ROLE")]
    pub role: Vec<String>,
    /// Start of a time-bound grant.
    #[arg(long, value_name = "WHEN")]
    pub from: Option<String>,
    /// End of a time-bound grant.
    #[arg(long, value_name = "WHEN")]
    pub to: Option<String>,
    /// Rule file; default: the store's rule set in force.
    #[arg(long, value_name = "FILE")]
    pub rules: Option<PathBuf>,
    #[command(flatten)]
    pub store: StoreArgs,
    #[arg(long, value_enum)]
    pub format: Option<Format>,
}

#[derive(Debug, Args)]
pub struct SodRolesArgs {
    /// A snapshot directory (with roles.csv and role_entitlements.csv) instead of a store.
    pub snapshot: Option<PathBuf>,
    #[arg(long, value_name = "FILE")]
    pub rules: Option<PathBuf>,
    #[command(flatten)]
    pub store: StoreArgs,
    #[arg(long, value_enum)]
    pub format: Option<Format>,
}

#[derive(Debug, Args)]
pub struct SodMitigateArgs {
    /// The risk id (from the rule set).
    #[arg(long)]
    pub risk: String,
    /// The identity: a person id, or account:<system>:<account>.
    #[arg(long)]
    pub identity: String,
    /// The compensating control (what watches the conflict while it lasts).
    #[arg(long)]
    pub control: String,
    /// The person answerable for the exception.
    #[arg(long)]
    pub owner: String,
    /// Who approved it (never the identity itself).
    #[arg(long)]
    pub approver: String,
    #[arg(long)]
    pub reason: String,
    /// When it ends (RFC 3339 time, or a date meaning its end); at most a year ahead.
    #[arg(long, value_name = "WHEN")]
    pub expires: String,
    #[command(flatten)]
    pub store: StoreArgs,
}

fn usage(message: impl std::fmt::Display) -> Failure {
    failed(Exit::Usage, anyhow::anyhow!("{message}"))
}

pub async fn run(config: &Config, command: SodCommand) -> CmdResult {
    match command {
        SodCommand::Analyze(args) => analyze_command(config, args).await,
        SodCommand::Simulate(args) => simulate(config, args).await,
        SodCommand::Roles(args) => roles(config, args).await,
        SodCommand::Mitigate(args) => super::mitigation::mitigate(config, args).await,
        SodCommand::Mitigations { all, store, format } => {
            super::mitigation::list(config, all, store, format).await
        }
        SodCommand::Unmitigate {
            mitigation_id,
            reason,
            store,
        } => super::mitigation::unmitigate(config, mitigation_id, reason, store).await,
    }
}

/// The rule file snapshot files are judged against (they carry none).
fn rules_file(rules: Option<&Path>) -> Result<RuleSet, Failure> {
    match rules {
        Some(path) => Ok(read_rules(path)?.1),
        None => Err(usage(
            "give the rules with --rules FILE (for example rules/finance-stack.toml)",
        )),
    }
}

/// A snapshot directory's facts: the fast CSV reader, or the full snapshot
/// reader when the tables come as JSON Lines.
/// The names in a snapshot's `people.csv`, for a table of its violations:
/// shown escaped (these files were never checked by an import), and none
/// when the file is absent or has no name column.
fn names_from_files(dir: &Path) -> soxctl_api::people::Names {
    let mut names = soxctl_api::people::Names::new();
    let Ok(mut reader) = csv::Reader::from_path(dir.join("people.csv")) else {
        return names;
    };
    let Ok(header) = reader.headers().cloned() else {
        return names;
    };
    let column = |name: &str| header.iter().position(|h| h == name);
    let (Some(id), Some(name)) = (column("person_id"), column("name")) else {
        return names;
    };
    for record in reader.records().flatten() {
        if let (Some(person), Some(shown)) = (record.get(id), record.get(name))
            && let Ok(person) = soxctl_model::ids::PersonId::parse(person)
            && !shown.is_empty()
        {
            names.insert(
                person,
                soxctl_api::people::Shown::Name(
                    soxctl_model::text::shown_on_one_line(shown).into_owned(),
                ),
            );
        }
    }
    names
}

fn dataset_from_files(dir: &Path) -> Result<Dataset, Failure> {
    let read = |name: &str| -> Result<Option<Vec<u8>>, Failure> {
        match std::fs::read(dir.join(name)) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(usage(format!(
                "cannot read {}: {e}",
                dir.join(name).display()
            ))),
        }
    };
    let (accounts, grants) = (read("accounts.csv")?, read("grants.csv")?);
    if let (Some(accounts), Some(grants)) = (&accounts, &grants) {
        let entitlements = read("entitlements.csv")?;
        return soxctl_sod::input::load_csv(soxctl_sod::input::SnapshotFiles {
            accounts,
            grants,
            entitlements: entitlements.as_deref(),
        })
        .map_err(|e| usage(format!("{}: {e}", dir.display())));
    }
    let snapshot = soxctl_connectors::snapshot::read(dir)
        .map_err(|e| usage(format!("snapshot rejected: {e}")))?;
    Ok(dataset_now(&snapshot.inventory)?)
}

fn time(micros: i64) -> String {
    chrono::DateTime::from_timestamp_micros(micros)
        .map(|t| Timestamp::from_datetime(t).to_canonical())
        .unwrap_or_else(|| micros.to_string())
}

fn line(v: &Violation) -> Value {
    serde_json::to_value(ViolationLine::from(v)).unwrap_or(Value::Null)
}

fn summary(v: &Violation) -> String {
    v.functions
        .iter()
        .map(|f| {
            let held: Vec<String> = f
                .held_by
                .iter()
                .map(|e| format!("{}@{}", e.entitlement, e.account))
                .collect();
            format!("{}={}", f.function_id, held.join("|"))
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// Violations as JSON lines (the corpus format, DESIGN A6) or as a table
/// with the person's name beside their id where the store knows it.
fn print_violations(
    format: Format,
    rows: Vec<(Value, String)>,
    names: &soxctl_api::people::Names,
) -> anyhow::Result<()> {
    match format {
        Format::Jsonl => {
            for (v, _) in rows {
                println!("{}", serde_json::to_string(&v)?);
            }
        }
        Format::Json => {
            let all: Vec<Value> = rows.into_iter().map(|(v, _)| v).collect();
            println!("{}", serde_json::to_string_pretty(&all)?);
        }
        Format::Csv | Format::Table => {
            let records: Vec<Value> = rows
                .into_iter()
                .map(|(mut v, evidence)| {
                    v["evidence"] = Value::String(evidence);
                    let person = v["person_id"]
                        .as_str()
                        .and_then(|p| soxctl_model::ids::PersonId::parse(p).ok());
                    let (name, erased) = soxctl_api::people::shown(names, person.as_ref());
                    v["person_name"] = match (name, erased) {
                        (Some(name), _) => Value::String(name),
                        (None, true) => Value::String("(erased)".into()),
                        (None, false) => Value::Null,
                    };
                    v
                })
                .collect();
            print_records(
                format,
                &[
                    "risk_id",
                    "severity",
                    "person_id",
                    "person_name",
                    "during",
                    "mitigated",
                    "evidence",
                ],
                &records,
            )?;
        }
    }
    Ok(())
}

fn fail_on(level: Option<&str>, violations: &[&Violation]) -> Result<Exit, Failure> {
    let Some(level) = level else {
        return Ok(Exit::Ok);
    };
    let level: soxctl_sod::rules::Severity = serde_json::from_value(Value::String(level.into()))
        .map_err(|_| {
            usage(format!(
                "--fail-on {level}: use low, medium, high or critical"
            ))
        })?;
    Ok(if violations.iter().any(|v| v.severity >= level) {
        Exit::CheckFailed
    } else {
        Exit::Ok
    })
}

async fn analyze_command(config: &Config, args: SodAnalyzeArgs) -> CmdResult {
    let format = Format::resolve(args.format);
    let instant = |option: &str, v: &Option<String>| {
        v.as_deref()
            .map(|v| super::query::instant(option, v))
            .transpose()
    };
    let (at, from, to) = (
        instant("--at", &args.at)?,
        instant("--from", &args.from)?,
        instant("--to", &args.to)?,
    );
    if at.is_some() && (from.is_some() || to.is_some()) {
        return Err(usage(
            "give either --at or a window (--from and --to), not both",
        ));
    }
    if from.is_some() != to.is_some() {
        return Err(usage("a window needs both --from and --to"));
    }
    let period = match (at, from, to) {
        (Some(t), _, _) => Period::At(t),
        (None, Some(from), Some(to)) => Period::Window { from, to },
        _ => Period::Now,
    };
    let mut names = soxctl_api::people::Names::new();
    let analysis = match &args.snapshot {
        Some(dir) => {
            if period != Period::Now {
                return Err(usage(
                    "snapshot files have no history: --at, --from and --to need a store (--data or --database)",
                ));
            }
            let rules = rules_file(args.rules.as_deref())?;
            if matches!(format, Format::Table | Format::Csv) {
                names = names_from_files(dir);
            }
            soxctl_app::sod::analyze_dataset(&rules, &dataset_from_files(dir)?, period)
        }
        None => {
            let opened = args.store.open(config, false).await?;
            let rules = match &args.rules {
                Some(path) => Some(read_rules(path)?.1),
                None => None,
            };
            let analysis = soxctl_app::sod::analyze_store(&opened.store, rules, period)
                .await
                .map_err(sod_error)?;
            names = soxctl_app::inventory::names(
                &opened.store,
                analysis.found.iter().filter_map(|f| {
                    soxctl_model::ids::PersonId::parse(f.violation.identity.as_str()).ok()
                }),
            )
            .await?;
            Ok(analysis)
        }
    }
    .map_err(sod_error)?;
    for warning in &analysis.warnings {
        eprintln!("warning: {warning}");
    }
    let rows = analysis
        .found
        .iter()
        .map(|found| {
            let mut v = line(&found.violation);
            if let Period::Window { .. } = period {
                v["during"] = json!(
                    found
                        .during
                        .iter()
                        .map(|s| format!("{}..{}", time(s.from), time(s.to)))
                        .collect::<Vec<_>>()
                );
            }
            if let Some(m) = &found.mitigation {
                v["mitigated"] = json!({
                    "control": m.control,
                    "expires_at": m.expires_at.to_canonical(),
                    "approver_id": m.approver_id.as_str(),
                });
            }
            (v, summary(&found.violation))
        })
        .collect();
    print_violations(format, rows, &names)?;
    let open: Vec<&Violation> = analysis
        .found
        .iter()
        .filter(|f| f.mitigation.is_none())
        .map(|f| &f.violation)
        .collect();
    fail_on(args.fail_on.as_deref(), &open)
}

/// A refusal is a usage error (exit 2), in the command line's words.
fn sod_error(error: SodError) -> Failure {
    match error {
        SodError::Store(e) => e.into(),
        SodError::NoRules => usage(
            "this store has no rule set yet: record one with `soxctl rules load FILE`, or pass --rules FILE",
        ),
        other => usage(other),
    }
}

async fn simulate(config: &Config, args: SodSimulateArgs) -> CmdResult {
    let format = Format::resolve(args.format);
    let opened = args.store.open(config, false).await?;
    let rules_file = match &args.rules {
        Some(path) => Some(read_rules(path)?.1),
        None => None,
    };
    let request = SimulateRequest {
        person_id: args.person,
        add: args.add,
        roles: args.role,
        from: args.from,
        to: args.to,
    };
    let simulated = soxctl_app::sod::simulate(&opened.store, &request, rules_file)
        .await
        .map_err(|e| match e {
            SodError::Store(e) => Failure::from(e),
            other => usage(other),
        })?;
    let answer = soxctl_app::sod::view(&simulated);
    match format {
        // The API's answer, field for field.
        Format::Json => print_object(format, &serde_json::to_value(&answer)?)?,
        Format::Jsonl => {
            for violation in &answer.violations {
                println!("{}", serde_json::to_string(violation)?);
            }
        }
        Format::Csv | Format::Table => {
            let rows = simulated
                .violations
                .iter()
                .map(|v| (line(v), summary(v)))
                .collect();
            let names = soxctl_app::inventory::names(
                &opened.store,
                simulated
                    .violations
                    .iter()
                    .filter_map(|v| soxctl_model::ids::PersonId::parse(v.identity.as_str()).ok()),
            )
            .await?;
            print_violations(format, rows, &names)?;
        }
    }
    if answer.clear {
        eprintln!("no new violation: the change is clear of the rule set");
        Ok(Exit::Ok)
    } else {
        eprintln!(
            "{} new violation(s) the change would create",
            answer.violations.len()
        );
        Ok(Exit::CheckFailed)
    }
}

async fn roles(config: &Config, args: SodRolesArgs) -> CmdResult {
    let conflicts = match &args.snapshot {
        Some(dir) => {
            let snapshot = soxctl_connectors::snapshot::read(dir)
                .map_err(|e| usage(format!("snapshot rejected: {e}")))?;
            let rules = rules_file(args.rules.as_deref())?;
            soxctl_app::sod::role_conflicts(&rules, &snapshot.inventory)
        }
        None => {
            let opened = args.store.open(config, false).await?;
            let rules = match &args.rules {
                Some(path) => Some(read_rules(path)?.1),
                None => None,
            };
            soxctl_app::sod::store_role_conflicts(&opened.store, rules).await
        }
    }
    .map_err(sod_error)?;
    let records: Vec<Value> = conflicts
        .iter()
        .map(|c| {
            json!({
                "role_id": c.role_id,
                "risk_id": c.risk_id,
                "risk_name": c.risk_name,
                "severity": c.severity,
                "functions": c.functions.iter().map(|f| format!("{}={}", f.function_id, f.entitlements.join("|"))).collect::<Vec<_>>().join("; "),
            })
        })
        .collect();
    print_records(
        Format::resolve(args.format),
        &["role_id", "risk_id", "severity", "risk_name", "functions"],
        &records,
    )?;
    Ok(if conflicts.is_empty() {
        Exit::Ok
    } else {
        Exit::CheckFailed
    })
}
