-- Findings (state, rebuilt by verify's replay): one row per (kind, subject),
-- opened, resolved, accepted and assigned only by ledger events.
CREATE TABLE findings (
    finding_id     TEXT PRIMARY KEY,
    kind           TEXT NOT NULL,
    subject        TEXT NOT NULL,
    severity       TEXT NOT NULL,
    control_ids    TEXT NOT NULL,
    status         TEXT NOT NULL,
    first_seen     TEXT NOT NULL,
    opened_at      TEXT NOT NULL,
    resolved_at    TEXT,
    owner_id       TEXT,
    due            TEXT,
    summary        TEXT NOT NULL,
    detail         TEXT NOT NULL,
    resolution     TEXT,
    accepted_until TEXT
) WITHOUT ROWID;
CREATE INDEX findings_by_status ON findings (status, kind);
CREATE INDEX findings_by_subject ON findings (subject);
