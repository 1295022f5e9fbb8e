//! One module per command.

pub(crate) mod backup;
pub(crate) mod demo;
pub(crate) mod export;
pub(crate) mod findings;
pub(crate) mod gate;
pub(crate) mod import;
pub(crate) mod ledger;
pub(crate) mod lookup;
mod mitigation;
pub(crate) mod outbox;
pub(crate) mod person;
pub(crate) mod query;
pub(crate) mod rules;
pub(crate) mod serve;
pub(crate) mod sod;
pub(crate) mod sync;
pub(crate) mod token;
pub(crate) mod verify;
pub(crate) mod workflow;

use crate::cli::{Cli, Command};
use crate::config::Config;
use crate::exit::CmdResult;
use export::ExportCommand;
use ledger::LedgerCommand;
use person::PersonCommand;
use soxctl_model::principal::Principal;
use sync::SyncCommand;
use token::TokenCommand;

/// The actor of changes made from the command line by whoever holds the store files.
pub fn cli_actor() -> Principal {
    Principal::system("cli")
}

pub async fn run(cli: Cli) -> CmdResult {
    let config = Config::load(cli.config.as_deref())?;
    match cli.command {
        Command::Serve(args) => serve::run(&config, args).await,
        Command::Demo(args) => demo::run(&config, args).await,
        Command::Import(args) => import::run(&config, args).await,
        Command::Sync(SyncCommand::Ldap(args)) => sync::ldap(&config, args).await,
        Command::Token(TokenCommand::Create(args)) => token::create(&config, args).await,
        Command::Token(TokenCommand::List { store, format }) => {
            token::list(&config, store, format).await
        }
        Command::Token(TokenCommand::Revoke { token_id, store }) => {
            token::revoke(&config, token_id, store).await
        }
        Command::Person(PersonCommand::Erase {
            person_id,
            reason,
            store,
        }) => person::erase(&config, person_id, reason, store).await,
        Command::Export(ExportCommand::Ledger { store, out }) => {
            export::ledger(&config, store, out).await
        }
        Command::Verify(args) => verify::run(&config, args).await,
        Command::Ledger(LedgerCommand::Checkpoint { store }) => {
            ledger::checkpoint(&config, store).await
        }
        Command::Ledger(LedgerCommand::Proof(proof)) => ledger::proof(&config, proof).await,
        Command::Backup(args) => backup::backup(&config, args).await,
        Command::Restore(args) => backup::restore(args).await,
        Command::WhoHas(args) => query::who_has(&config, args).await,
        Command::AccessOf(args) => query::access_of(&config, args).await,
        Command::History(args) => query::history(&config, args).await,
        Command::People(args) => lookup::people(&config, args).await,
        Command::Systems(args) => lookup::systems(&config, args).await,
        Command::Entitlements(args) => lookup::entitlements(&config, args).await,
        Command::Findings(args) => findings::run(&config, args).await,
        Command::Sod(command) => sod::run(&config, command).await,
        Command::Rules(command) => rules::run(&config, command).await,
        Command::Policies(command) => rules::run_policies(&config, command).await,
        Command::Request(command) => workflow::request(command).await,
        Command::Grant(command) => workflow::grant(command).await,
        Command::Gate(command) => gate::run(command).await,
        Command::Breakglass(command) => workflow::breakglass(command).await,
        Command::Delegation(command) => workflow::delegation(command).await,
        Command::Outbox(command) => outbox::run(&config, command).await,
        Command::Bench { .. } => crate::exit::usage!(
            "benchmarks are not part of soxctl: run `cargo run --release -p soxctl-bench -- --help` \
             from a clone of the repository (see docs/BENCHMARKS.md)"
        ),
    }
}
