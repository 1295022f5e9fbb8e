//! Validity intervals of grants, in microseconds since the Unix epoch.

use crate::catalogue::EntitlementId;
use serde::{Deserialize, Serialize};

/// `[from, to)`; `None` leaves that side unbounded. Instants are `i64`
/// microseconds since the Unix epoch, below `i64::MAX`.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
pub struct Interval {
    pub from: Option<i64>,
    pub to: Option<i64>,
}

impl Interval {
    /// Valid at every instant: a grant without time data.
    pub const ALWAYS: Self = Self {
        from: None,
        to: None,
    };

    pub fn new(from: Option<i64>, to: Option<i64>) -> Self {
        Self { from, to }
    }

    pub fn contains(&self, t: i64) -> bool {
        self.from.is_none_or(|from| from <= t) && self.to.is_none_or(|to| t < to)
    }

    /// Whether no instant is in it (`from >= to`).
    pub fn is_empty(&self) -> bool {
        matches!((self.from, self.to), (Some(from), Some(to)) if from >= to)
    }

    pub fn is_always(&self) -> bool {
        self.from.is_none() && self.to.is_none()
    }

    pub(crate) fn bounded(self, ent: EntitlementId) -> Bounded {
        Bounded {
            ent,
            from: self.from.unwrap_or(i64::MIN),
            to: self.to.unwrap_or(i64::MAX),
        }
    }
}

/// A time-bound grant in evaluation form: open sides as `i64::MIN`/`MAX`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct Bounded {
    pub ent: EntitlementId,
    pub from: i64,
    pub to: i64,
}

impl Bounded {
    #[inline]
    pub(crate) fn valid_at(&self, at: Option<i64>) -> bool {
        at.is_none_or(|t| self.from <= t && t < self.to)
    }
}
