//! The command line (DESIGN A4). Positional paths are inputs; `--data` or
//! `--database` always name a store.

use clap::{Parser, Subcommand};
use std::path::PathBuf;

use crate::commands::{
    backup::{BackupArgs, RestoreArgs},
    demo::DemoArgs,
    export::ExportCommand,
    findings::FindingsArgs,
    gate::GateCommand,
    import::ImportArgs,
    ledger::LedgerCommand,
    lookup::{EntitlementsArgs, PeopleArgs, SystemsArgs},
    outbox::OutboxCommand,
    person::PersonCommand,
    query::{AccessOfArgs, HistoryArgs, WhoHasArgs},
    rules::{PoliciesCommand, RulesCommand},
    serve::ServeArgs,
    sod::SodCommand,
    sync::SyncCommand,
    token::TokenCommand,
    verify::VerifyArgs,
    workflow::{BreakglassCommand, DelegationCommand, GrantCommand, RequestCommand},
};

#[derive(Debug, Parser)]
#[command(name = "soxctl", version, about = "SOX IT controls: who can do what, segregation of duties, approvals, and a tamper-evident evidence ledger", long_about = None)]
pub struct Cli {
    /// Log format on stderr: text or json.
    #[arg(long, global = true, env = "SOXCTL_LOG_FORMAT", value_name = "FORMAT")]
    pub log_format: Option<String>,

    /// TOML configuration file (command-line options and SOXCTL_* variables take precedence; SOXCTL_ORIGIN sets ledger.origin, the checkpoint origin of a new store).
    #[arg(long, global = true, env = "SOXCTL_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the HTTP API on a store (created when missing).
    Serve(ServeArgs),
    /// Build a demo organisation in a store, then serve it.
    Demo(DemoArgs),
    /// Reconcile a snapshot directory (CSV or JSON Lines files) into a store (created when missing).
    Import(ImportArgs),
    /// Pull a system's accounts and groups from a live source into a store.
    #[command(subcommand)]
    Sync(SyncCommand),
    /// Issue, list and revoke API tokens.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Erase a person's personal data (crypto-shredding).
    #[command(subcommand)]
    Person(PersonCommand),
    /// Export data from a store.
    #[command(subcommand)]
    Export(ExportCommand),
    /// Verify a store (`--data`/`--database`) or an exported ledger bundle (BUNDLE_DIR --key FILE).
    Verify(VerifyArgs),
    /// Checkpoints and proofs for auditors and external monitors.
    #[command(subcommand)]
    Ledger(LedgerCommand),
    /// Take a consistent online backup of an SQLite store (the signing key is never included).
    Backup(BackupArgs),
    /// Restore an SQLite backup into a new data directory.
    Restore(RestoreArgs),
    /// Who holds an entitlement, now or at an instant (--at).
    WhoHas(WhoHasArgs),
    /// What a person could do, now or at an instant (--at).
    AccessOf(AccessOfArgs),
    /// Every change to a person's access between two instants.
    History(HistoryArgs),
    /// Find people by part of their id, name or email (all of them without a query).
    People(PeopleArgs),
    /// The systems in the inventory, with owners and entitlement counts.
    Systems(SystemsArgs),
    /// The entitlements in the inventory, or one system's.
    Entitlements(EntitlementsArgs),
    /// Findings of the detectors (open ones by default); accept or assign one.
    Findings(FindingsArgs),
    /// Segregation of duties: analyse files or a store, simulate a change, check roles, mitigate.
    #[command(subcommand)]
    Sod(SodCommand),
    /// SoD rule sets recorded in the store (versioned documents).
    #[command(subcommand)]
    Rules(RulesCommand),
    /// Approval policies recorded in the store (versioned documents: routing, durations, MFA, Cedar, break-glass).
    #[command(subcommand)]
    Policies(PoliciesCommand),
    /// Just-in-time requests for access and actions: ask, list, approve, deny, cancel, activate (talks to a server).
    #[command(subcommand)]
    Request(RequestCommand),
    /// Time-bound grants from approved requests and break-glass (talks to a server).
    #[command(subcommand)]
    Grant(GrantCommand),
    /// Change-management gate for CI/CD and action execution tokens (talks to a server).
    #[command(subcommand)]
    Gate(GateCommand),
    /// Emergency access without prior approval, and its after-review (talks to a server).
    #[command(subcommand)]
    Breakglass(BreakglassCommand),
    /// Hand your approvals to a delegate while away (talks to a server).
    #[command(subcommand)]
    Delegation(DelegationCommand),
    /// Messages waiting for delivery (notifications, webhooks): status, list, requeue dead letters.
    #[command(subcommand)]
    Outbox(OutboxCommand),
    /// Benchmarks moved to their own binary, `soxctl-bench`: this says so and exits 2.
    #[command(hide = true, disable_help_flag = true)]
    Bench {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<std::ffi::OsString>,
    },
}
