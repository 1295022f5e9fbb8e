//! The command line (DESIGN A4). Positional paths are inputs; `--data` or
//! `--database` always name a store.

use crate::output::Format;
use crate::store_args::StoreArgs;
use clap::{Args, Parser, Subcommand};
use std::net::SocketAddr;
use std::path::PathBuf;

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
    /// Reconcile a snapshot directory (CSV files) into a store.
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

#[derive(Debug, Subcommand)]
pub enum RequestCommand {
    /// Ask for an entitlement, a role or an action; prints the request with its approvers.
    Create(RequestCreateArgs),
    /// List requests (as of now: pending ones past their deadline show as expired).
    List {
        /// pending, approved, denied, cancelled, expired or consumed.
        #[arg(long)]
        status: Option<String>,
        /// Only requests this person asked for or may decide.
        #[arg(long, value_name = "PERSON")]
        person: Option<String>,
        #[command(flatten)]
        server: crate::client::ServerArgs,
        #[arg(long, value_enum)]
        format: Option<Format>,
    },
    /// A request with its decisions, grants and the delegates who may decide it.
    Show {
        request_id: String,
        #[command(flatten)]
        server: crate::client::ServerArgs,
        #[arg(long, value_enum)]
        format: Option<Format>,
    },
    /// Approve as the token's person (exit 1 when a rule or the policy refuses).
    Approve {
        request_id: String,
        #[arg(long)]
        comment: Option<String>,
        #[command(flatten)]
        server: crate::client::ServerArgs,
        #[arg(long, value_enum)]
        format: Option<Format>,
    },
    /// Deny as the token's person.
    Deny {
        request_id: String,
        #[arg(long)]
        reason: String,
        #[command(flatten)]
        server: crate::client::ServerArgs,
        #[arg(long, value_enum)]
        format: Option<Format>,
    },
    /// Withdraw a pending or approved request; its grants in force end.
    Cancel {
        request_id: String,
        #[arg(long)]
        reason: String,
        #[command(flatten)]
        server: crate::client::ServerArgs,
        #[arg(long, value_enum)]
        format: Option<Format>,
    },
    /// Start an approved access request that waits for activation.
    Activate {
        request_id: String,
        #[command(flatten)]
        server: crate::client::ServerArgs,
        #[arg(long, value_enum)]
        format: Option<Format>,
    },
}

#[derive(Debug, Args)]
pub struct RequestCreateArgs {
    /// Access to an entitlement, `system_id:entitlement_id`.
    #[arg(long, conflicts_with_all = ["role", "action"])]
    pub entitlement: Option<String>,
    /// Access to a role's entitlements.
    #[arg(long, conflicts_with = "action")]
    pub role: Option<String>,
    /// An action instead of access: deploy, prod-config-change, payment, vendor-contract, data-fix, …
    #[arg(long, requires_all = ["env", "payload"])]
    pub action: Option<String>,
    /// The action's environment (prod, staging, …).
    #[arg(long)]
    pub env: Option<String>,
    /// The action's payload: JSON text, or @FILE (no floating-point numbers: amounts as strings).
    #[arg(long)]
    pub payload: Option<String>,
    /// Who would hold the access (default: the token's person).
    #[arg(long = "for", value_name = "PERSON")]
    pub for_person: Option<String>,
    /// How long the access lasts: 30m, 4h, 1d (default: the policy's maximum).
    #[arg(long)]
    pub duration: Option<String>,
    /// Start the access only when `soxctl request activate` says so (within the approval's validity).
    #[arg(long)]
    pub manual: bool,
    /// Why (shown to approvers, kept as evidence).
    #[arg(long)]
    pub justification: String,
    /// A ticket reference (CHG-1234).
    #[arg(long)]
    pub ticket: Option<String>,
    #[command(flatten)]
    pub server: crate::client::ServerArgs,
    #[arg(long, value_enum)]
    pub format: Option<Format>,
}

#[derive(Debug, Subcommand)]
pub enum GrantCommand {
    /// Time-bound grants in force (or all with --all).
    List {
        /// Only those ending within this time: 1h, 1d.
        #[arg(long, value_name = "DURATION")]
        expiring: Option<String>,
        #[arg(long)]
        all: bool,
        #[command(flatten)]
        server: crate::client::ServerArgs,
        #[arg(long, value_enum)]
        format: Option<Format>,
    },
    /// End a time-bound grant early (admin token).
    Revoke {
        grant_id: String,
        #[arg(long)]
        reason: String,
        #[command(flatten)]
        server: crate::client::ServerArgs,
        #[arg(long, value_enum)]
        format: Option<Format>,
    },
}

#[derive(Debug, Subcommand)]
pub enum GateCommand {
    /// Run by the pipeline, with its gate credential: register a change for approval. Its commits
    /// are read from git (`last_deployed(env)..COMMIT`, merge commits included: authors, committers,
    /// Co-authored-by, after .mailmap) and sent to the server, which names the people who wrote
    /// it; none of them may approve it.
    Request {
        /// deploy (the gate's kind).
        #[arg(long, default_value = "deploy")]
        kind: String,
        /// The local git repository.
        #[arg(long, value_name = "PATH", default_value = ".")]
        repo: PathBuf,
        /// The commit to deploy (any revision git understands).
        #[arg(long)]
        commit: String,
        #[arg(long)]
        env: String,
        /// The repository's name in messages and the default justification (default: its
        /// `origin` remote as host/path, else the directory name). A bound pipeline credential's
        /// repository is what the server records, whatever this says.
        #[arg(long)]
        repo_name: Option<String>,
        /// Where the author range starts when the environment has no deployment yet (default: the commit alone).
        #[arg(long, value_name = "REV")]
        since: Option<String>,
        /// With a static gate token: who triggered the run (person id or email, e.g.
        /// $GITLAB_USER_EMAIL); they become the requester. A CI identity token names them itself.
        #[arg(long, env = "SOXCTL_TRIGGERED_BY", value_name = "WHO")]
        triggered_by: Option<String>,
        #[arg(long)]
        justification: Option<String>,
        #[arg(long)]
        ticket: Option<String>,
        #[command(flatten)]
        server: crate::client::ServerArgs,
        #[arg(long, value_enum)]
        format: Option<Format>,
    },
    /// Read-only, with the repository's pipeline credential: exit 0 when an unexpired approval
    /// that this repository's pipeline registered binds this commit and environment, no author
    /// approved it, and the deployer is a known person who neither wrote nor approved it; 1
    /// otherwise (with the reason); 2 for input that names nobody (e.g. a display name).
    Check {
        #[arg(long)]
        commit: String,
        #[arg(long)]
        env: String,
        /// Who deploys: person id, email or `Name <email>`. Left out with a CI identity token
        /// (OIDC), whose claims name them.
        #[arg(long)]
        deployer: Option<String>,
        /// Resolve a short or symbolic --commit in this git repository.
        #[arg(long, value_name = "PATH")]
        repo: Option<PathBuf>,
        #[command(flatten)]
        server: crate::client::ServerArgs,
        #[arg(long, value_enum)]
        format: Option<Format>,
    },
    /// Record a deployment: consumes its approval; without one it opens an unapproved-change finding (exit 1).
    Deployed {
        #[arg(long)]
        commit: String,
        #[arg(long)]
        env: String,
        /// Who deployed: person id, email or `Name <email>`. Left out with a CI identity token
        /// (OIDC), whose claims name them.
        #[arg(long)]
        deployer: Option<String>,
        #[arg(long)]
        repo_name: Option<String>,
        #[arg(long, value_name = "PATH")]
        repo: Option<PathBuf>,
        #[command(flatten)]
        server: crate::client::ServerArgs,
        #[arg(long, value_enum)]
        format: Option<Format>,
    },
    /// Obtain a short-lived execution token for an approved action (the JWS alone on the last line).
    Token {
        #[arg(long = "request", value_name = "REQUEST_ID")]
        request_id: String,
        #[arg(long)]
        env: String,
        /// The payload about to be executed: JSON or @FILE (its digest must be the approved one).
        #[arg(long, conflicts_with = "commit")]
        payload: Option<String>,
        /// For a deployment: the full commit id (payload {"commit": …}).
        #[arg(long)]
        commit: Option<String>,
        #[command(flatten)]
        server: crate::client::ServerArgs,
    },
    /// Report an action done with its execution token: consumes the approval.
    Executed {
        /// The execution token: the text, `-` to read it from stdin, or @FILE (so that it is not
        /// visible in the process list).
        #[arg(long)]
        token: String,
        #[arg(long)]
        outcome: String,
        #[command(flatten)]
        server: crate::client::ServerArgs,
        #[arg(long, value_enum)]
        format: Option<Format>,
    },
    /// Verify an execution token offline with the store's verifier key (exit 1 when invalid or not bound as given).
    VerifyToken {
        /// The execution token: the text, `-` to read it from stdin, or @FILE.
        token: String,
        /// The verifier key (`soxctl export ledger` writes verifier.key).
        #[arg(long, value_name = "FILE")]
        key: PathBuf,
        #[arg(long)]
        digest: Option<String>,
        #[arg(long)]
        env: Option<String>,
        /// The executor principal (`token:<id>` or `person:<id>`).
        #[arg(long)]
        executor: Option<String>,
        #[arg(long, value_enum)]
        format: Option<Format>,
    },
}

#[derive(Debug, Subcommand)]
pub enum BreakglassCommand {
    /// Take emergency access now (for the people the policies name).
    Use {
        /// `system_id:entitlement_id`; repeatable.
        #[arg(long = "entitlement", required = true)]
        entitlements: Vec<String>,
        #[arg(long)]
        reason: String,
        /// Default and maximum: the policies' [break_glass] max_duration.
        #[arg(long)]
        duration: Option<String>,
        /// A session recording or activity-log reference.
        #[arg(long)]
        evidence: Option<String>,
        #[command(flatten)]
        server: crate::client::ServerArgs,
        #[arg(long, value_enum)]
        format: Option<Format>,
    },
    /// Break-glass uses.
    List {
        #[command(flatten)]
        server: crate::client::ServerArgs,
        #[arg(long, value_enum)]
        format: Option<Format>,
    },
    /// The owner's after-review of a use.
    Review {
        use_id: String,
        /// appropriate or inappropriate.
        #[arg(long)]
        outcome: String,
        #[arg(long)]
        notes: String,
        #[arg(long)]
        evidence: Option<String>,
        #[command(flatten)]
        server: crate::client::ServerArgs,
        #[arg(long, value_enum)]
        format: Option<Format>,
    },
}

#[derive(Debug, Subcommand)]
pub enum OutboxCommand {
    /// Pending, dead and delivered counts, and the delivery lag.
    Status {
        #[command(flatten)]
        store: StoreArgs,
        #[arg(long, value_enum)]
        format: Option<Format>,
    },
    /// Messages, newest last: all undelivered by default.
    List {
        /// Only the dead letters (undelivered after every attempt).
        #[arg(long)]
        dead: bool,
        /// Delivered ones too.
        #[arg(long, conflicts_with = "dead")]
        all: bool,
        /// At most this many, the newest.
        #[arg(long, default_value_t = 100)]
        limit: u32,
        #[command(flatten)]
        store: StoreArgs,
        #[arg(long, value_enum)]
        format: Option<Format>,
    },
    /// Make every dead letter due again (after fixing the channel); one more failure parks it again.
    Requeue {
        #[command(flatten)]
        store: StoreArgs,
    },
}

#[derive(Debug, Subcommand)]
pub enum DelegationCommand {
    /// Hand your approvals to DELEGATE until a time (at most 90 days).
    Create {
        #[arg(long = "to", value_name = "DELEGATE")]
        delegate: String,
        #[arg(long, value_name = "WHEN")]
        until: String,
        #[arg(long, value_name = "WHEN")]
        from: Option<String>,
        #[arg(long)]
        reason: String,
        #[command(flatten)]
        server: crate::client::ServerArgs,
        #[arg(long, value_enum)]
        format: Option<Format>,
    },
    List {
        #[command(flatten)]
        server: crate::client::ServerArgs,
        #[arg(long, value_enum)]
        format: Option<Format>,
    },
    Revoke {
        delegation_id: String,
        #[command(flatten)]
        server: crate::client::ServerArgs,
        #[arg(long, value_enum)]
        format: Option<Format>,
    },
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    #[command(flatten)]
    pub store: StoreArgs,
    /// Address to listen on.
    #[arg(long, env = "SOXCTL_LISTEN", value_name = "ADDR")]
    pub listen: Option<SocketAddr>,
    /// Serve /metrics without a token.
    #[arg(long, env = "SOXCTL_METRICS_PUBLIC")]
    pub metrics_public: bool,
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
    /// Build the store and print the credential, but do not serve.
    #[arg(long)]
    pub no_serve: bool,
}

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

#[derive(Debug, Subcommand)]
pub enum PoliciesCommand {
    /// Validate an approval policy file and record it as the next version in force.
    Load {
        /// The policy file (TOML with optional Cedar, see docs/policies.md).
        file: PathBuf,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Print a version's text (default: the one in force).
    Show {
        #[arg(long)]
        version: Option<u64>,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// List every version recorded, oldest first.
    History {
        #[command(flatten)]
        store: StoreArgs,
        #[arg(long, value_enum)]
        format: Option<Format>,
    },
}

#[derive(Debug, Subcommand)]
pub enum RulesCommand {
    /// Validate a rule file and record it as the next version in force.
    Load {
        /// The rule file (TOML, see docs/sod.md).
        file: PathBuf,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Print a version's text (default: the one in force).
    Show {
        #[arg(long)]
        version: Option<u64>,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// List every version recorded, oldest first.
    History {
        #[command(flatten)]
        store: StoreArgs,
        #[arg(long, value_enum)]
        format: Option<Format>,
    },
}

#[derive(Debug, Subcommand)]
pub enum FindingsAction {
    /// Accept an open finding's risk until a time (at most a year); it opens again afterwards.
    Accept {
        finding_id: String,
        #[arg(long)]
        reason: String,
        /// RFC 3339 time, or a date meaning its end.
        #[arg(long, value_name = "WHEN")]
        until: String,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Give a finding an owner and/or a due date.
    Assign {
        finding_id: String,
        #[arg(long, value_name = "PERSON")]
        owner: Option<String>,
        /// YYYY-MM-DD.
        #[arg(long, value_name = "DATE")]
        due: Option<String>,
        #[command(flatten)]
        store: StoreArgs,
    },
}

#[derive(Debug, Args)]
pub struct FindingsArgs {
    #[command(subcommand)]
    pub action: Option<FindingsAction>,
    /// Only this kind (leaver_access, orphan_account, shared_privileged, privileged_without_mfa,
    /// dormant_account, drift, nhi_without_owner, nhi_owner_left, nhi_stale_credential, …).
    #[arg(long)]
    pub kind: Option<String>,
    /// open, accepted, resolved or all.
    #[arg(long, default_value = "open")]
    pub status: Option<String>,
    /// This severity or worse: low, medium, high, critical.
    #[arg(long)]
    pub severity: Option<String>,
    /// Subjects starting with this, e.g. account:erp: or grant:.
    #[arg(long, value_name = "PREFIX")]
    pub subject: Option<String>,
    #[command(flatten)]
    pub store: StoreArgs,
    #[arg(long, value_enum)]
    pub format: Option<Format>,
}

#[derive(Debug, Subcommand)]
pub enum SyncCommand {
    /// Read users and groups from LDAP or Active Directory and reconcile them as one system's
    /// accounts, entitlements and grants (docs/ldap.md). The bind password comes from
    /// --bind-password-file or the SOXCTL_LDAP_PASSWORD variable, never from the command line.
    Ldap(SyncLdapArgs),
}

#[derive(Debug, Args)]
pub struct SyncLdapArgs {
    /// Directory server: ldap://HOST[:PORT] or ldaps://HOST[:PORT] [default: the mapping's directory.url].
    #[arg(long, value_name = "URL")]
    pub url: Option<String>,
    /// DN to bind as; without one (and without directory.bind_dn) the bind is anonymous.
    #[arg(long, value_name = "DN")]
    pub bind_dn: Option<String>,
    /// File holding the bind password (one line); or set SOXCTL_LDAP_PASSWORD.
    #[arg(long, value_name = "FILE")]
    pub bind_password_file: Option<PathBuf>,
    /// Search base, e.g. dc=example,dc=com [default: the mapping's directory.base].
    #[arg(long, value_name = "DN")]
    pub base: Option<String>,
    /// Upgrade an ldap:// connection with StartTLS (rustls) before binding.
    #[arg(long)]
    pub starttls: bool,
    /// PEM file of the CA certificates to trust for ldaps:// and StartTLS [default: the system's].
    #[arg(long, value_name = "FILE")]
    pub ca_file: Option<PathBuf>,
    /// Built-in mapping: openldap or ad [default: openldap, unless --mapping].
    #[arg(long, value_name = "NAME", conflicts_with = "mapping")]
    pub preset: Option<String>,
    /// Mapping file (TOML; start from `--preset NAME --show-mapping`).
    #[arg(long, value_name = "FILE")]
    pub mapping: Option<PathBuf>,
    /// The system the accounts and groups belong to [default: the mapping's system.id].
    #[arg(long, value_name = "ID")]
    pub system: Option<String>,
    /// Print the mapping in use (a preset's full text) and exit without connecting.
    #[arg(long)]
    pub show_mapping: bool,
    #[command(flatten)]
    pub store: StoreArgs,
    /// Print the changes without recording them.
    #[arg(long)]
    pub dry_run: bool,
    /// Refuse a sync that removes more than this percentage of the system's grants.
    #[arg(long, value_name = "PCT", default_value_t = 20)]
    pub max_removals: u32,
    /// Output of the summary (and of the diff with --dry-run).
    #[arg(long, value_enum)]
    pub format: Option<Format>,
}

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
    /// Scope: admin, read, scim, gate or metrics (repeat for several).
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
    #[command(flatten)]
    pub store: StoreArgs,
}

#[derive(Debug, Subcommand)]
pub enum PersonCommand {
    /// Erase a person's name and email for good: their keys are deleted, so every ledger entry
    /// keeps its hash but its sealed fields no longer open; the person's row stays, marked erased.
    /// Recorded as a `person.erased` entry; erasing an erased person records nothing. Remove them
    /// from your HR source first: an import that finds them again adds them back under a new key.
    Erase {
        /// The person's id (as in people.csv).
        person_id: String,
        /// Why, without personal data (a ticket number, "GDPR Art. 17 request"; at most 500
        /// characters): it stays in the ledger in plain text.
        #[arg(long, value_name = "TEXT")]
        reason: String,
        #[command(flatten)]
        store: StoreArgs,
    },
}

#[derive(Debug, Subcommand)]
pub enum ExportCommand {
    /// Write entries.jsonl, checkpoint and verifier.key to DIR for offline verification.
    Ledger {
        #[command(flatten)]
        store: StoreArgs,
        /// Output directory (created; must be empty if it exists).
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
    },
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// An exported ledger bundle to verify offline (needs --key).
    pub bundle: Option<PathBuf>,
    /// Verifier key (C2SP note verifier format). Default for a store: derived from its signing key.
    #[arg(long, value_name = "FILE")]
    pub key: Option<PathBuf>,
    /// A signed checkpoint held outside the store: prove the store extends it.
    #[arg(long, value_name = "FILE")]
    pub trusted_checkpoint: Option<PathBuf>,
    /// The signer's checkpoint witness, the newest note it signed, kept outside the database: the store must extend it [default: the signing key's path with `.checkpoint` appended, e.g. DIR/signing.key.checkpoint].
    #[arg(long, value_name = "FILE", conflicts_with = "bundle")]
    pub witness: Option<PathBuf>,
    #[command(flatten)]
    pub store: StoreArgs,
    #[arg(long, value_enum)]
    pub format: Option<Format>,
}

#[derive(Debug, Subcommand)]
pub enum LedgerCommand {
    /// Print the latest signed checkpoint (C2SP signed note).
    Checkpoint {
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Inclusion and consistency proofs (RFC 9162).
    #[command(subcommand)]
    Proof(ProofCommand),
}

#[derive(Debug, Subcommand)]
pub enum ProofCommand {
    /// Prove that entry SEQ is in the tree of SIZE entries.
    Inclusion {
        #[arg(long)]
        seq: u64,
        /// Tree size (default: the latest checkpoint's).
        #[arg(long)]
        size: Option<u64>,
        #[command(flatten)]
        store: StoreArgs,
        #[arg(long, value_enum)]
        format: Option<Format>,
    },
    /// Prove that the tree of FROM entries is a prefix of the tree of TO entries.
    Consistency {
        /// Size of the older tree (at least 1).
        #[arg(long)]
        from: u64,
        /// Tree size (default: the latest checkpoint's).
        #[arg(long)]
        to: Option<u64>,
        #[command(flatten)]
        store: StoreArgs,
        #[arg(long, value_enum)]
        format: Option<Format>,
    },
}

#[derive(Debug, Args)]
pub struct BackupArgs {
    #[command(flatten)]
    pub store: StoreArgs,
    /// Backup file to create.
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
}

#[derive(Debug, Args)]
pub struct RestoreArgs {
    /// Backup file made by `soxctl backup`.
    pub backup: PathBuf,
    /// New data directory (must not hold a store).
    #[arg(long, value_name = "DIR")]
    pub data: PathBuf,
    /// The store's signing key (backups never contain it).
    #[arg(long, value_name = "FILE")]
    pub signing_key: PathBuf,
}
