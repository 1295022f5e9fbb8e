//! API tokens: issue, list, revoke.
