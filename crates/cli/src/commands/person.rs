//! `soxctl person erase`: crypto-shredding of a person's personal data.

use super::cli_actor;
use crate::config::Config;
use crate::exit::{CmdResult, Exit};
use crate::store_args::StoreArgs;
use anyhow::Context;
use clap::Subcommand;
use soxctl_model::ids::PersonId;
use soxctl_store::erasure::{self, Erasure};

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

pub async fn erase(
    config: &Config,
    person_id: String,
    reason: String,
    store: StoreArgs,
) -> CmdResult {
    // Bad input is refused before the store is even opened.
    let person_id = PersonId::parse(person_id).context("PERSON_ID")?;
    erasure::check_reason(&reason)?;
    let opened = store.open_signing(config, false).await?;
    // Checks the key against the store (and the witness) before anything is written.
    let key = opened.store_signing_key().await?;
    let mut tx = opened.store.begin_write().await?;
    match erasure::erase_person(&mut tx, &cli_actor(), &person_id, &reason).await? {
        Erasure::AlreadyErased => {
            eprintln!("person {person_id} was already erased; nothing recorded");
        }
        Erasure::Erased { seq, .. } => {
            tx.commit().await?;
            opened.checkpoint(&key).await?;
            eprintln!(
                "person {person_id} erased by ledger entry {seq}: their keys are deleted, so their name and \
                 email are unreadable in every entry; the ledger still verifies"
            );
        }
    }
    Ok(Exit::Ok)
}
