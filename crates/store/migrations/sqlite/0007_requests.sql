-- Just-in-time requests (state, rebuilt by verify's replay). The ask, the
-- approver list and the SoD flags are JSON text exactly as projected.
CREATE TABLE requests (
    request_id           TEXT PRIMARY KEY,
    kind                 TEXT NOT NULL,
    requester_id         TEXT NOT NULL,
    person_id            TEXT,
    digest               TEXT,
    env                  TEXT,
    ask                  TEXT NOT NULL,
    justification        TEXT NOT NULL,
    ticket               TEXT,
    policy_version       INTEGER,
    policy_rule          TEXT NOT NULL,
    required_approvals   INTEGER NOT NULL,
    approvers            TEXT NOT NULL,
    mfa_required         BOOLEAN NOT NULL,
    sod                  TEXT NOT NULL,
    created_at           TEXT NOT NULL,
    expires_at           TEXT NOT NULL,
    approval_window_secs INTEGER NOT NULL,
    reminder_after_secs  INTEGER,
    escalate_after_secs  INTEGER,
    reminded_at          TEXT,
    escalated_at         TEXT,
    status               TEXT NOT NULL,
    approvals            INTEGER NOT NULL,
    decided_at           TEXT,
    valid_until          TEXT,
    activated_at         TEXT,
    closed_reason        TEXT
) WITHOUT ROWID;
CREATE INDEX requests_by_status ON requests (status, expires_at);
CREATE INDEX requests_by_digest ON requests (digest);
CREATE INDEX requests_unused ON requests (status, valid_until) WHERE activated_at IS NULL;

-- One row per approver's decision.
CREATE TABLE request_decisions (
    request_id   TEXT NOT NULL,
    approver_id  TEXT NOT NULL,
    decision     TEXT NOT NULL,
    on_behalf_of TEXT,
    mfa          BOOLEAN NOT NULL,
    comment      TEXT,
    decided_at   TEXT NOT NULL,
    seq          INTEGER NOT NULL,
    actor        TEXT NOT NULL,
    PRIMARY KEY (request_id, approver_id)
) WITHOUT ROWID;

-- Time-bound grants that approved access requests became.
CREATE TABLE access_grants (
    grant_id       TEXT PRIMARY KEY,
    request_id     TEXT NOT NULL,
    person_id      TEXT NOT NULL,
    system_id      TEXT NOT NULL,
    account_id     TEXT NOT NULL,
    entitlement_id TEXT NOT NULL,
    starts_at      TEXT NOT NULL,
    ends_at        TEXT NOT NULL,
    ended_at       TEXT,
    end_kind       TEXT
) WITHOUT ROWID;
CREATE INDEX access_grants_open ON access_grants (ended_at, ends_at);
CREATE INDEX access_grants_by_request ON access_grants (request_id);

-- Approvers away hand their approvals to a delegate for a while.
CREATE TABLE delegations (
    delegation_id TEXT PRIMARY KEY,
    delegator_id  TEXT NOT NULL,
    delegate_id   TEXT NOT NULL,
    starts_at     TEXT NOT NULL,
    ends_at       TEXT NOT NULL,
    reason        TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    created_by    TEXT NOT NULL,
    revoked_at    TEXT
) WITHOUT ROWID;

-- Execution tokens issued for approved actions (the signed token itself is
-- never stored; its id is the JWS `jti`).
CREATE TABLE execution_tokens (
    token_id   TEXT PRIMARY KEY,
    request_id TEXT NOT NULL,
    executor   TEXT NOT NULL,
    env        TEXT NOT NULL,
    digest     TEXT NOT NULL,
    issued_at  TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    used_at    TEXT
) WITHOUT ROWID;

-- What was deployed where, and under which approval (none: unapproved).
CREATE TABLE deployments (
    deployment_id TEXT PRIMARY KEY,
    env           TEXT NOT NULL,
    commit_sha    TEXT NOT NULL,
    repo          TEXT,
    deployer      TEXT NOT NULL,
    request_id    TEXT,
    deployed_at   TEXT NOT NULL,
    seq           INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX deployments_by_env ON deployments (env, seq);

-- Emergency access without prior approval, and its after-review.
CREATE TABLE breakglass_uses (
    use_id        TEXT PRIMARY KEY,
    person_id     TEXT NOT NULL,
    items         TEXT NOT NULL,
    reason        TEXT NOT NULL,
    evidence      TEXT,
    starts_at     TEXT NOT NULL,
    ends_at       TEXT NOT NULL,
    reviewer_id   TEXT NOT NULL,
    reviewed_at   TEXT,
    outcome       TEXT,
    review_notes  TEXT
) WITHOUT ROWID;
