//! The change gate: registering, checking and recording deployments; execution tokens.
