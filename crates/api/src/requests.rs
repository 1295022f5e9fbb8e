//! Just-in-time requests, decisions, grants and delegations.
