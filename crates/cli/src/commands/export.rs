use crate::config::Config;
use crate::exit::{CmdResult, Exit, usage};
use crate::store_args::StoreArgs;
use anyhow::Context;
use clap::Subcommand;
use std::io::Write;
use std::path::PathBuf;

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

/// Writes `entries.jsonl`, `checkpoint` and `verifier.key`; the checkpoint
/// covers exactly the exported entries.
pub async fn ledger(config: &Config, store: StoreArgs, out: PathBuf) -> CmdResult {
    // The output first: a checkpoint is signed only for an export that can be written.
    if out.exists() {
        if !out.is_dir() {
            usage!(
                "{} is not a directory: export into a new or empty directory",
                out.display()
            );
        }
        let mut items =
            std::fs::read_dir(&out).with_context(|| format!("cannot read {}", out.display()))?;
        if items.next().is_some() {
            usage!(
                "{} is not empty: export into a new or empty directory",
                out.display()
            );
        }
    }
    // Signing the checkpoint of the export needs the private key.
    let opened = store.open_signing(config, false).await?;
    let key = opened.store_signing_key().await?;
    std::fs::create_dir_all(&out).with_context(|| format!("cannot create {}", out.display()))?;
    let checkpoint = opened
        .store
        .sign_checkpoint(&key)
        .await?
        .context("the ledger is empty: nothing to export")?;
    let file = std::fs::File::create(out.join("entries.jsonl"))?;
    let mut writer = std::io::BufWriter::new(file);
    let mut next = 0u64;
    while next < checkpoint.size {
        let page = opened
            .store
            .entries(next, (checkpoint.size - next).min(10_000))
            .await?;
        if page.is_empty() {
            usage!("entry {next} is missing from the store; run `soxctl verify`");
        }
        for (_, _, bytes) in page {
            writer.write_all(&bytes)?;
            writer.write_all(b"\n")?;
            next += 1;
        }
    }
    writer.flush()?;
    writer
        .into_inner()
        .map_err(|e| e.into_error())?
        .sync_all()?;
    std::fs::write(out.join("checkpoint"), &checkpoint.note)?;
    std::fs::write(out.join("verifier.key"), format!("{}\n", key.verifier()))?;
    eprintln!(
        "exported {} entries to {} (verify with: soxctl verify {} --key {})",
        checkpoint.size,
        out.display(),
        out.display(),
        out.join("verifier.key").display()
    );
    Ok(Exit::Ok)
}
