use crate::config::Config;
use crate::exit::{CmdResult, Exit, failed};
use crate::output::{Format, print_object};
use crate::store_args::StoreArgs;
use anyhow::Context;
use base64::Engine;
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use soxctl_ledger::bundle::verify_bundle;
use soxctl_ledger::note::VerifierKey;
use soxctl_store::checkpoint::witness_path;
use soxctl_store::verify::{Options, VerifyError, verify, verify_against_witness};
use std::io::IsTerminal;
use std::path::Path;
use std::path::PathBuf;

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

fn b64(h: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(h)
}

fn read_key(path: &Path) -> anyhow::Result<VerifierKey> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read verifier key {}", path.display()))?;
    VerifierKey::parse(text.trim())
        .map_err(|e| anyhow::anyhow!("{} is not a verifier key: {e}", path.display()))
}

pub async fn run(config: &Config, args: VerifyArgs) -> CmdResult {
    let format = Format::resolve(args.format);
    if let Some(bundle) = &args.bundle {
        let key_path = args.key.as_ref().context("verifying a bundle needs --key FILE (e.g. BUNDLE/verifier.key, better one obtained independently)")?;
        let key = read_key(key_path)?;
        let entries = std::fs::read(bundle.join("entries.jsonl"))
            .with_context(|| format!("cannot read {}/entries.jsonl", bundle.display()))?;
        let note = std::fs::read_to_string(bundle.join("checkpoint"))
            .with_context(|| format!("cannot read {}/checkpoint", bundle.display()))?;
        return match verify_bundle(&entries, &note, &key) {
            Ok(report) => {
                let summary = serde_json::json!({"ok": true, "entries": report.entries, "root": b64(&report.root), "origin": report.checkpoint.origin});
                report_ok(
                    format,
                    &summary,
                    &format!(
                        "bundle verified: {} entries, root {}",
                        report.entries,
                        b64(&report.root)
                    ),
                )?;
                Ok(Exit::Ok)
            }
            Err(e) => Err(failed(
                Exit::CheckFailed,
                anyhow::anyhow!("bundle verification failed: {e}"),
            )),
        };
    }
    let opened = args.store.open(config, false).await?;
    let key = match &args.key {
        Some(path) => read_key(path)?,
        None => opened
            .signing_key()
            .context("pass --key FILE with the store's verifier key")?
            .verifier(),
    };
    let trusted = args
        .trusted_checkpoint
        .as_ref()
        .map(|p| std::fs::read_to_string(p).with_context(|| format!("cannot read {}", p.display())))
        .transpose()?;
    // The signer's witness, beside its key (outside the database), or the
    // file an auditor was handed.
    if let Some(path) = &args.witness {
        std::fs::metadata(path)
            .with_context(|| format!("cannot read the checkpoint witness {}", path.display()))?;
    }
    let witness = args
        .witness
        .clone()
        .or_else(|| opened.key_path.as_deref().map(witness_path));
    let bar = if std::io::stderr().is_terminal() {
        let bar = ProgressBar::new(0);
        bar.set_style(
            ProgressStyle::with_template(
                "verifying {bar:40} {pos}/{len} entries ({per_sec}, eta {eta})",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        Some(bar)
    } else {
        None
    };
    let options = Options {
        key: &key,
        trusted_checkpoint: trusted.as_deref(),
    };
    let progress = |done, total| {
        if let Some(bar) = &bar {
            bar.set_length(total);
            bar.set_position(done);
        }
    };
    let result = match &witness {
        Some(file) => verify_against_witness(&opened.store, options, file, progress).await,
        None => verify(&opened.store, options, progress).await,
    };
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    match result {
        Ok(report) => {
            let summary = serde_json::json!({
                "ok": true, "entries": report.entries, "root": b64(&report.root),
                "checkpoints": report.checkpoints, "state_rows": report.state_rows, "trusted_checkpoint_size": report.trusted_size,
                "unsigned_entries": report.unsigned_entries,
                "witness": report.witness_size.and(witness.as_deref()).map(|w| w.display().to_string()),
                "witness_size": report.witness_size,
                "witness_checkpoint_missing": report.witness_checkpoint_missing,
            });
            let trusted = report
                .trusted_size
                .map(|s| format!("; extends the trusted checkpoint at size {s}"))
                .unwrap_or_default();
            let witnessed = report
                .witness_size
                .map(|s| format!("; extends the witness at size {s}"))
                .unwrap_or_default();
            let unsigned = match report.unsigned_entries {
                0 => String::new(),
                n => format!("; {n} entries unsigned"),
            };
            if report.witness_size.is_none() && report.checkpoints > 0 {
                let unchecked = "only the store's own checkpoints were checked, and a writer of \
                                 the database can delete the newest of them and rewrite the entries after the rest";
                match &witness {
                    Some(file) => eprintln!(
                        "warning: no checkpoint witness at {}: {unchecked}; pass --witness FILE (the signer's signing.key.checkpoint)",
                        file.display()
                    ),
                    None => eprintln!(
                        "warning: no checkpoint witness: {unchecked}; pass --witness FILE, or --signing-key FILE to read the one beside it"
                    ),
                }
            }
            if report.witness_checkpoint_missing {
                eprintln!(
                    "warning: the signer's checkpoint at size {} (the witness) is not among the store's checkpoints: \
                     the newest checkpoint rows were deleted from the database; the entries still extend the witness",
                    report.witness_size.unwrap_or_default()
                );
            }
            if report.unsigned_entries > 0 {
                eprintln!(
                    "note: the last {} entries (after size {}) are not yet covered by a signed checkpoint (a running server signs within 10 s)",
                    report.unsigned_entries,
                    report.entries - report.unsigned_entries
                );
            }
            report_ok(
                format,
                &summary,
                &format!(
                    "store verified: {} entries, {} checkpoints, {} state rows equal a replay{witnessed}{trusted}{unsigned}; root {}",
                    report.entries,
                    report.checkpoints,
                    report.state_rows,
                    b64(&report.root)
                ),
            )?;
            Ok(Exit::Ok)
        }
        Err(VerifyError::Failed(f)) => Err(failed(
            Exit::CheckFailed,
            anyhow::anyhow!("verification failed: {f}"),
        )),
        Err(VerifyError::Store(e)) => Err(failed(Exit::Usage, e)),
    }
}

fn report_ok(format: Format, summary: &serde_json::Value, text: &str) -> anyhow::Result<()> {
    if format == Format::Table {
        println!("{text}");
        Ok(())
    } else {
        print_object(format, summary)
    }
}
