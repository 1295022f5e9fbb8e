use crate::config::Config;
use crate::exit::{CmdResult, Exit, failed, usage};
use crate::store_args::StoreArgs;
use anyhow::Context;
use clap::Args;
use soxctl_model::clock::SystemClock;
use soxctl_store::checkpoint::{read_witness, witness_path};
use soxctl_store::verify::{Options, VerifyError, verify, verify_against_witness};
use soxctl_store::{DB_FILE, Location, OpenOptions, Store, signing};
use std::path::PathBuf;
use std::sync::Arc;

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

pub async fn backup(config: &Config, args: BackupArgs) -> CmdResult {
    let opened = args.store.open(config, false).await?;
    if let Location::Postgres(_) = opened.location {
        usage!(
            "backups of PostgreSQL stores use PostgreSQL's own tools (pg_dump, pg_basebackup); see docs/operations.md"
        );
    }
    // Created here, empty and private (mode 0600), before anything is in it:
    // the backup holds personal data and the per-person keys. VACUUM INTO
    // accepts an empty file; `create_new` refuses an existing one.
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(&args.out) {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => usage!(
            "{} exists: choose a new file for the backup",
            args.out.display()
        ),
        Err(e) => usage!("cannot create {}: {e}", args.out.display()),
    }
    // Read before the copy is taken: checkpoints are only ever added, so the
    // backup holds this one, or a later one.
    let result = async {
        let latest = opened.store.latest_checkpoint().await?;
        opened.store.backup(&args.out).await?;
        #[cfg(unix)]
        std::fs::set_permissions(
            &args.out,
            std::os::unix::fs::PermissionsExt::from_mode(0o600),
        )?;
        anyhow::Ok(latest)
    }
    .await;
    let latest = match result {
        Ok(latest) => latest,
        Err(e) => {
            // Nothing half-written left behind to block a retry.
            let _ = std::fs::remove_file(&args.out);
            return Err(e
                .context(format!("cannot write the backup {}", args.out.display()))
                .into());
        }
    };
    let signed = match latest {
        Some(c) => format!("its latest signed checkpoint has size {} or more", c.size),
        None => "no signed checkpoint was in the store when it was taken".to_owned(),
    };
    eprintln!(
        "backup written to {} ({signed}); the signing key is not in it: keep it separately",
        args.out.display(),
    );
    Ok(Exit::Ok)
}

pub async fn restore(args: RestoreArgs) -> CmdResult {
    let target = args.data.join(DB_FILE);
    if target.exists() {
        usage!(
            "{} already holds a store: restore into a new directory",
            args.data.display()
        );
    }
    let key = signing::load(&args.signing_key)
        .context("restore needs the store's signing key (--signing-key FILE)")?;
    std::fs::create_dir_all(&args.data)?;
    let key_copy = args.data.join(signing::DEFAULT_FILE_NAME);
    let copy_key = !key_copy.exists();
    let result = restore_into(&args, &key, copy_key).await;
    if result.is_err() {
        // A failed restore leaves no store behind: it would block a retry,
        // and other commands would use it.
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(args.data.join(format!("{DB_FILE}{suffix}")));
        }
        if copy_key {
            let _ = std::fs::remove_file(&key_copy);
        }
    }
    result
}

async fn restore_into(
    args: &RestoreArgs,
    key: &soxctl_ledger::note::SigningKey,
    copy_key: bool,
) -> CmdResult {
    let target = args.data.join(DB_FILE);
    std::fs::copy(&args.backup, &target)
        .with_context(|| format!("cannot copy {}", args.backup.display()))?;
    if copy_key {
        let key_copy = args.data.join(signing::DEFAULT_FILE_NAME);
        std::fs::copy(&args.signing_key, &key_copy)?;
        #[cfg(unix)]
        std::fs::set_permissions(
            &key_copy,
            std::os::unix::fs::PermissionsExt::from_mode(0o600),
        )?;
    }
    let store = Store::open(OpenOptions {
        location: Location::Sqlite(args.data.clone()),
        create: false,
        clock: Arc::new(SystemClock),
        failpoints: Default::default(),
    })
    .await
    .with_context(|| format!("{} is not a soxctl backup", args.backup.display()))?;
    let verifier = key.verifier();
    let options = Options {
        key: &verifier,
        trusted_checkpoint: None,
    };
    // The signer's witness beside the key: a backup at least as long must
    // extend it (a backup rewritten after its newest checkpoints were deleted
    // is caught); an older backup cannot be checked against it, and a
    // restore of it discards the entries in between.
    let witness_file = witness_path(&args.signing_key);
    let witness = read_witness(&witness_file, &verifier).map_err(|e| anyhow::anyhow!("{e}"))?;
    let size = store.head().await?.size;
    let result = match &witness {
        Some(w) if w.size <= size => {
            verify_against_witness(&store, options, &witness_file, |_, _| {}).await
        }
        _ => verify(&store, options, |_, _| {}).await,
    };
    store.close().await;
    match result {
        Ok(report) => {
            let witnessed = match (&witness, report.witness_size) {
                (_, Some(w)) => {
                    let copy = witness_path(&args.data.join(signing::DEFAULT_FILE_NAME));
                    if copy_key && !copy.exists() {
                        std::fs::copy(&witness_file, &copy)?;
                    }
                    format!("; extends the signer's witness at size {w}")
                }
                (Some(w), None) => {
                    eprintln!(
                        "note: the backup ends at size {size}, before the signer's witness {} at size {}: \
                         the {} entries after it are not in the restored store; keep that file with your evidence",
                        witness_file.display(),
                        w.size,
                        w.size - size
                    );
                    if !copy_key {
                        eprintln!(
                            "warning: the signer will refuse to sign for the restored store until {} is moved aside \
                             (it covers entries the restore discarded)",
                            witness_file.display()
                        );
                    }
                    String::new()
                }
                (None, None) => String::new(),
            };
            eprintln!(
                "restored {} entries into {}; verified{witnessed}",
                report.entries,
                args.data.display()
            );
            Ok(Exit::Ok)
        }
        Err(VerifyError::Failed(f)) => Err(failed(
            Exit::CheckFailed,
            anyhow::anyhow!("restored store does not verify: {f}; nothing was restored"),
        )),
        Err(VerifyError::Store(e)) => Err(e.into()),
    }
}
