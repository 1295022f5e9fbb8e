-- Transactional outbox: rows written in the same transaction as the ledger
-- entry that caused them, delivered after commit with retries. Delivery
-- bookkeeping is operational, not audit state: it is not replayed by verify.
CREATE TABLE outbox (
    id              BIGSERIAL PRIMARY KEY,
    seq             BIGINT NOT NULL,
    topic           TEXT NOT NULL,
    payload         TEXT NOT NULL,
    created_at      TEXT NOT NULL,
    attempts        BIGINT NOT NULL DEFAULT 0,
    next_attempt_at TEXT NOT NULL,
    claimed_until   TEXT,
    delivered_at    TEXT,
    last_error      TEXT
);
CREATE INDEX outbox_due ON outbox (delivered_at, next_attempt_at);

-- Scheduled jobs and the leader lease of the job runner (PostgreSQL uses an
-- advisory lock for leadership; the lease row serves SQLite).
CREATE TABLE jobs (
    name        TEXT PRIMARY KEY,
    last_run_at TEXT,
    next_run_at TEXT NOT NULL,
    last_error  TEXT,
    runs        BIGINT NOT NULL DEFAULT 0
);
CREATE TABLE leases (
    name   TEXT PRIMARY KEY,
    holder TEXT NOT NULL,
    until  TEXT NOT NULL
);

-- Idempotency-Key: the response to a POST, stored in the transaction that
-- made its effect, so a retried request gets the same answer and no second effect.
CREATE TABLE idempotency_keys (
    principal    TEXT NOT NULL,
    key          TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    status       BIGINT NOT NULL,
    response     TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    PRIMARY KEY (principal, key)
);
