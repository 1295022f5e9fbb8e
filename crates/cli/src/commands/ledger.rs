use crate::config::Config;
use crate::exit::{CmdResult, Exit, usage};
use crate::output::{Format, print_object};
use crate::store_args::StoreArgs;
use clap::Subcommand;
use soxctl_app::ledger::{self, ProofError};

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

pub async fn checkpoint(config: &Config, store: StoreArgs) -> CmdResult {
    let opened = store.open(config, false).await?;
    let Some(latest) = opened.store.latest_checkpoint().await? else {
        let size = opened.store.head().await?.size;
        if size == 0 {
            usage!("no signed checkpoint yet: the ledger is empty");
        }
        usage!(
            "no signed checkpoint yet; the ledger holds {size} entries — run a writing command or `soxctl serve`, which sign checkpoints"
        );
    };
    print!("{}", latest.note);
    Ok(Exit::Ok)
}

/// A proof that cannot be given is a usage error (exit 2); the store failing is not.
fn refused(error: ProofError) -> crate::exit::Failure {
    match error {
        ProofError::Store(e) => e.into(),
        refused => crate::exit::failed(Exit::Usage, refused),
    }
}

pub async fn proof(config: &Config, command: ProofCommand) -> CmdResult {
    match command {
        ProofCommand::Inclusion {
            seq,
            size,
            store,
            format,
        } => {
            let opened = store.open(config, false).await?;
            let proof = ledger::inclusion(&opened.store, seq, size)
                .await
                .map_err(refused)?;
            let value = serde_json::to_value(proof)?;
            print_object(Format::resolve(format), &value)?;
        }
        ProofCommand::Consistency {
            from,
            to,
            store,
            format,
        } => {
            let opened = store.open(config, false).await?;
            let proof = ledger::consistency(&opened.store, from, to)
                .await
                .map_err(refused)?;
            let value = serde_json::to_value(proof)?;
            print_object(Format::resolve(format), &value)?;
        }
    }
    Ok(Exit::Ok)
}
