-- Ledger: entries are stored verbatim; the head row serialises writers and
-- holds the compact range of the tree; nodes keep every 256th-level subtree
-- hash so proofs need a few small range reads, not a scan.
CREATE TABLE ledger_entries (
    seq       BIGINT PRIMARY KEY,
    leaf_hash BYTEA NOT NULL,
    bytes     BYTEA NOT NULL
);
CREATE TABLE ledger_head (
    id        BIGINT PRIMARY KEY CHECK (id = 1),
    size BIGINT NOT NULL,
    last_leaf BYTEA NOT NULL,
    frontier  BYTEA NOT NULL,
    writes BIGINT NOT NULL
);
INSERT INTO ledger_head (id, size, last_leaf, frontier, writes)
VALUES (1, 0, decode(repeat('00', 32), 'hex'), decode(repeat('00', 8), 'hex'), 0);
CREATE TABLE ledger_nodes (
    level BIGINT NOT NULL,
    idx BIGINT NOT NULL,
    hash  BYTEA NOT NULL,
    PRIMARY KEY (level, idx)
);
CREATE TABLE checkpoints (
    size BIGINT PRIMARY KEY,
    root      BYTEA NOT NULL,
    note      TEXT NOT NULL,
    signed_at TEXT NOT NULL
);
-- Key material for sealed personal data: not state, never in the ledger.
-- A sealed field names its key by `generation` (its `kid`: the ledger size
-- when the key was made). Erasing a person deletes their rows; a person who
-- reappears gets a new generation, so older entries stay unreadable.
CREATE TABLE person_keys (
    person_id  TEXT NOT NULL,
    generation BIGINT NOT NULL,
    key        BYTEA NOT NULL,
    PRIMARY KEY (person_id, generation)
);

-- State tables: projections of the ledger that `verify` rebuilds by replay.
CREATE TABLE store_meta (
    id             BIGINT PRIMARY KEY CHECK (id = 1),
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
);
CREATE TABLE systems (
    system_id    TEXT PRIMARY KEY,
    name         TEXT NOT NULL,
    kind         TEXT,
    owner_id     TEXT,
    sox_in_scope BOOLEAN NOT NULL
);
CREATE TABLE baselines (
    system_id TEXT PRIMARY KEY,
    import_id TEXT NOT NULL,
    as_of     TEXT NOT NULL,
    certified BOOLEAN NOT NULL
);
CREATE TABLE entitlements (
    system_id      TEXT NOT NULL,
    entitlement_id TEXT NOT NULL,
    name           TEXT,
    privileged     BOOLEAN NOT NULL,
    owner_id       TEXT,
    description    TEXT,
    PRIMARY KEY (system_id, entitlement_id)
);
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
);
CREATE INDEX accounts_by_person ON accounts (person_id);
CREATE TABLE grants (
    system_id      TEXT NOT NULL,
    account_id     TEXT NOT NULL,
    entitlement_id TEXT NOT NULL,
    granted_at     TEXT,
    source         TEXT NOT NULL,
    PRIMARY KEY (system_id, account_id, entitlement_id)
);
CREATE INDEX grants_by_entitlement ON grants (system_id, entitlement_id);
CREATE TABLE roles (
    role_id  TEXT PRIMARY KEY,
    name     TEXT,
    owner_id TEXT
);
CREATE TABLE role_entitlements (
    role_id        TEXT NOT NULL,
    system_id      TEXT NOT NULL,
    entitlement_id TEXT NOT NULL,
    PRIMARY KEY (role_id, system_id, entitlement_id)
);
CREATE TABLE imports (
    import_id    TEXT PRIMARY KEY,
    source       TEXT,
    extracted_at TEXT NOT NULL,
    systems      TEXT NOT NULL,
    events BIGINT NOT NULL,
    completed_at TEXT NOT NULL,
    actor        TEXT NOT NULL
);
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
);
