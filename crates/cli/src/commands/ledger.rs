use crate::config::Config;
use crate::exit::{CmdResult, Exit, usage};
use crate::output::{Format, print_object};
use crate::store_args::{Opened, StoreArgs};
use anyhow::bail;
use clap::Subcommand;
use soxctl_server::{consistency_proof, inclusion_proof};

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

async fn default_size(opened: &Opened, given: Option<u64>) -> anyhow::Result<u64> {
    let head = opened.store.head().await?.size;
    let size = match given {
        Some(s) => s,
        None => opened
            .store
            .latest_checkpoint()
            .await?
            .map_or(head, |c| c.size),
    };
    if size > head {
        bail!("the ledger holds {head} entries; size {size} is beyond it");
    }
    Ok(size)
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
            let size = default_size(&opened, size).await?;
            if seq >= size {
                usage!("entry {seq} is not in a tree of {size} entries (seq must be below size)");
            }
            let proof = inclusion_proof(&opened.store, seq, size).await?;
            let value = serde_json::to_value(proof)?;
            print_object(Format::resolve(format), &value)?;
        }
        ProofCommand::Consistency {
            from,
            to,
            store,
            format,
        } => {
            // As the HTTP API: a proof from the empty tree proves nothing.
            if from == 0 {
                usage!(
                    "--from 0: a consistency proof needs a non-empty older tree; give --from 1 or more"
                );
            }
            let opened = store.open(config, false).await?;
            let to = default_size(&opened, to).await?;
            if from > to {
                usage!("--from {from} is larger than --to {to}");
            }
            let proof = consistency_proof(&opened.store, from, to).await?;
            let value = serde_json::to_value(proof)?;
            print_object(Format::resolve(format), &value)?;
        }
    }
    Ok(Exit::Ok)
}
