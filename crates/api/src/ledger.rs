//! The ledger: store facts, entries and proofs.
