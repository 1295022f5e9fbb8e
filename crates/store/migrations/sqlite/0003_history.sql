-- Temporal history (state tables, rebuilt by verify's replay): every
-- interval during which an account held an entitlement, and every version
-- of an account (owner, kind, status). Times are on the source's clock
-- (the snapshot's extracted_at); [valid_from, valid_to), NULL = still open.
CREATE TABLE grant_history (
    system_id      TEXT NOT NULL,
    account_id     TEXT NOT NULL,
    entitlement_id TEXT NOT NULL,
    opened_seq     INTEGER NOT NULL,
    valid_from     TEXT NOT NULL,
    valid_to       TEXT,
    closed_seq     INTEGER,
    source         TEXT NOT NULL,
    opened_by      TEXT NOT NULL,
    closed_by      TEXT,
    import_id      TEXT,
    PRIMARY KEY (system_id, account_id, entitlement_id, opened_seq)
) WITHOUT ROWID;
CREATE INDEX grant_history_by_entitlement
    ON grant_history (system_id, entitlement_id, valid_from);
CREATE INDEX grant_history_by_account
    ON grant_history (system_id, account_id, valid_from);

CREATE TABLE account_history (
    system_id  TEXT NOT NULL,
    account_id TEXT NOT NULL,
    opened_seq INTEGER NOT NULL,
    valid_from TEXT NOT NULL,
    valid_to   TEXT,
    closed_seq INTEGER,
    person_id  TEXT,
    kind       TEXT NOT NULL,
    status     TEXT NOT NULL,
    opened_by  TEXT NOT NULL,
    closed_by  TEXT,
    PRIMARY KEY (system_id, account_id, opened_seq)
) WITHOUT ROWID;
CREATE INDEX account_history_by_person ON account_history (person_id, valid_from);
