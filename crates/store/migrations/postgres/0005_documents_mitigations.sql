-- Versioned documents (state, rebuilt by verify's replay): SoD rules,
-- approval policies, the control matrix; each version whole, as loaded.
CREATE TABLE documents (
    kind      TEXT NOT NULL,
    version   BIGINT NOT NULL,
    name      TEXT NOT NULL,
    sha256    TEXT NOT NULL,
    content   TEXT NOT NULL,
    loaded_at TEXT NOT NULL,
    loaded_by TEXT NOT NULL,
    PRIMARY KEY (kind, version)
);

-- SoD mitigations (state, rebuilt by verify's replay): exceptions for a
-- (risk, identity) with a compensating control, an approver and an expiry.
CREATE TABLE sod_mitigations (
    mitigation_id TEXT PRIMARY KEY,
    risk_id       TEXT NOT NULL,
    identity      TEXT NOT NULL,
    control       TEXT NOT NULL,
    owner_id      TEXT NOT NULL,
    approver_id   TEXT NOT NULL,
    reason        TEXT NOT NULL,
    expires_at    TEXT NOT NULL,
    granted_at    TEXT NOT NULL,
    granted_by    TEXT NOT NULL,
    revoked_at    TEXT
);
CREATE INDEX sod_mitigations_by_subject ON sod_mitigations (risk_id, identity);
