-- Ledger: entries are stored verbatim; the head row serialises writers and
-- holds the compact range of the tree; nodes keep every 256th-level subtree
-- hash so proofs need a few small range reads, not a scan.
CREATE TABLE ledger_entries (
    seq       INTEGER PRIMARY KEY,
    leaf_hash BLOB NOT NULL,
    bytes     BLOB NOT NULL
);
CREATE TABLE ledger_head (
    id        INTEGER PRIMARY KEY CHECK (id = 1),
    size      INTEGER NOT NULL,
    last_leaf BLOB NOT NULL,
    frontier  BLOB NOT NULL,
    writes    INTEGER NOT NULL
);
INSERT INTO ledger_head (id, size, last_leaf, frontier, writes)
VALUES (1, 0, zeroblob(32), zeroblob(8), 0);
CREATE TABLE ledger_nodes (
    level INTEGER NOT NULL,
    idx   INTEGER NOT NULL,
    hash  BLOB NOT NULL,
    PRIMARY KEY (level, idx)
) WITHOUT ROWID;
CREATE TABLE checkpoints (
    size      INTEGER PRIMARY KEY,
    root      BLOB NOT NULL,
    note      TEXT NOT NULL,
    signed_at TEXT NOT NULL
);
-- Key material for sealed personal data: not state, never in the ledger.
-- A sealed field names its key by `generation` (its `kid`: the ledger size
-- when the key was made). Erasing a person deletes their rows; a person who
-- reappears gets a new generation, so older entries stay unreadable.
CREATE TABLE person_keys (
    person_id  TEXT NOT NULL,
    generation INTEGER NOT NULL,
    key        BLOB NOT NULL,
    PRIMARY KEY (person_id, generation)
) WITHOUT ROWID;

-- State tables: projections of the ledger that `verify` rebuilds by replay.
CREATE TABLE store_meta (
    id             INTEGER PRIMARY KEY CHECK (id = 1),
    store_id       TEXT NOT NULL,
    origin         TEXT NOT NULL,
    demo           BOOLEAN NOT NULL,
    initialised_at TEXT NOT NULL
);
CREATE TABLE people (
    person_id        TEXT PRIMARY KEY,
    name             TEXT,
    email            TEXT,
    manager_id       TEXT,
    department       TEXT,
    title            TEXT,
    status           TEXT NOT NULL,
    hire_date        TEXT,
    termination_date TEXT,
    erased           BOOLEAN NOT NULL
) WITHOUT ROWID;
CREATE TABLE systems (
    system_id    TEXT PRIMARY KEY,
    name         TEXT NOT NULL,
    kind         TEXT,
    owner_id     TEXT,
    sox_in_scope BOOLEAN NOT NULL
) WITHOUT ROWID;
CREATE TABLE baselines (
    system_id TEXT PRIMARY KEY,
    import_id TEXT NOT NULL,
    as_of     TEXT NOT NULL,
    certified BOOLEAN NOT NULL
) WITHOUT ROWID;
CREATE TABLE entitlements (
    system_id      TEXT NOT NULL,
    entitlement_id TEXT NOT NULL,
    name           TEXT,
    privileged     BOOLEAN NOT NULL,
    owner_id       TEXT,
    description    TEXT,
    PRIMARY KEY (system_id, entitlement_id)
) WITHOUT ROWID;
CREATE TABLE accounts (
    system_id             TEXT NOT NULL,
    account_id            TEXT NOT NULL,
    person_id             TEXT,
    kind                  TEXT NOT NULL,
    status                TEXT NOT NULL,
    last_login            TEXT,
    mfa                   BOOLEAN,
    owner_id              TEXT,
    credential_rotated_at TEXT,
    PRIMARY KEY (system_id, account_id)
) WITHOUT ROWID;
CREATE INDEX accounts_by_person ON accounts (person_id);
CREATE TABLE grants (
    system_id      TEXT NOT NULL,
    account_id     TEXT NOT NULL,
    entitlement_id TEXT NOT NULL,
    granted_at     TEXT,
    source         TEXT NOT NULL,
    PRIMARY KEY (system_id, account_id, entitlement_id)
) WITHOUT ROWID;
CREATE INDEX grants_by_entitlement ON grants (system_id, entitlement_id);
CREATE TABLE roles (
    role_id  TEXT PRIMARY KEY,
    name     TEXT,
    owner_id TEXT
) WITHOUT ROWID;
CREATE TABLE role_entitlements (
    role_id        TEXT NOT NULL,
    system_id      TEXT NOT NULL,
    entitlement_id TEXT NOT NULL,
    PRIMARY KEY (role_id, system_id, entitlement_id)
) WITHOUT ROWID;
CREATE TABLE imports (
    import_id    TEXT PRIMARY KEY,
    source       TEXT,
    extracted_at TEXT NOT NULL,
    systems      TEXT NOT NULL,
    events       INTEGER NOT NULL,
    completed_at TEXT NOT NULL,
    actor        TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE tokens (
    token_id      TEXT PRIMARY KEY,
    secret_sha256 TEXT NOT NULL UNIQUE,
    scopes        TEXT NOT NULL,
    system_id     TEXT,
    person_id     TEXT,
    expires_at    TEXT,
    description   TEXT,
    created_at    TEXT NOT NULL,
    created_by    TEXT NOT NULL,
    revoked_at    TEXT
) WITHOUT ROWID;
