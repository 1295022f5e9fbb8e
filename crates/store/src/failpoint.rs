//! Named seams around each step of an append, so reliability tests can fail
//! or "crash" a write at a precise point and check that nothing half-applies.

use crate::error::{Result, StoreError};
use std::sync::{Arc, Mutex};

/// Points in the order an append passes them.
pub const APPEND_BEFORE_ENTRY: &str = "append.before_entry";
pub const APPEND_BEFORE_PROJECTION: &str = "append.before_projection";
pub const COMMIT_BEFORE_HEAD: &str = "commit.before_head";
pub const COMMIT_BEFORE_COMMIT: &str = "commit.before_commit";
pub const COMMIT_AFTER_COMMIT: &str = "commit.after_commit";

#[derive(Clone, Default)]
pub struct FailPoints(Arc<Mutex<Vec<String>>>);

impl std::fmt::Debug for FailPoints {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("FailPoints")
    }
}

impl FailPoints {
    /// Makes the next pass through `point` fail (once).
    pub fn arm(&self, point: &str) {
        if let Ok(mut armed) = self.0.lock() {
            armed.push(point.to_owned());
        }
    }

    pub(crate) fn check(&self, point: &str) -> Result<()> {
        let Ok(mut armed) = self.0.lock() else {
            return Ok(());
        };
        match armed.iter().position(|p| p == point) {
            Some(i) => {
                armed.remove(i);
                Err(StoreError::Injected(point.to_owned()))
            }
            None => Ok(()),
        }
    }
}
