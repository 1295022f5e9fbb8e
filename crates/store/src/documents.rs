//! Versioned documents (DESIGN A8) as a use case: load a new version inside
//! a write transaction, read the one in force and the history.

use crate::error::Result;
use crate::{Store, WriteTx};
use soxctl_model::document::{DocumentKind, DocumentLoaded, DocumentRow, content_digest};
use soxctl_model::event::Event;
use soxctl_model::principal::Principal;

/// What loading a document did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Loaded {
    /// A new version, recorded by the ledger entry `seq`.
    Recorded { version: u64, seq: u64 },
    /// The text equals the version in force: nothing recorded.
    Unchanged { version: u64 },
}

impl WriteTx {
    /// Records `content` as the next version of `kind`, unless it is the
    /// version in force already. The caller has validated it.
    pub async fn load_document(
        &mut self,
        actor: &Principal,
        kind: DocumentKind,
        name: &str,
        content: &str,
    ) -> Result<Loaded> {
        let latest = self.latest_document(kind).await?;
        let sha256 = content_digest(content);
        if let Some(latest) = &latest
            && latest.sha256 == sha256
        {
            return Ok(Loaded::Unchanged {
                version: latest.version,
            });
        }
        let version = latest.map_or(1, |d| d.version + 1);
        let seq = self
            .append(
                actor,
                &Event::DocumentLoaded(DocumentLoaded {
                    kind,
                    version,
                    name: name.to_owned(),
                    sha256,
                    content: content.to_owned(),
                }),
            )
            .await?;
        Ok(Loaded::Recorded { version, seq })
    }
}

impl Store {
    pub async fn document_versions(&self, kind: DocumentKind) -> Result<Vec<DocumentRow>> {
        each!(self, Store, |inner, m| {
            let mut conn = inner.pool.acquire().await?;
            m::documents::versions(&mut conn, kind).await
        })
    }
}
