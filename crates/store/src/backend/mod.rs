//! Two concrete backends. The SQL they share lives once in `sql/` and is
//! compiled into each backend module with its own `Db` type, which keeps the
//! code free of generic trait-bound plumbing while staying a single source.

pub mod postgres;
pub mod sqlite;
