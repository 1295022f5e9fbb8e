-- SCIM documents (operational, not state: verify does not replay them).
-- The full SCIM representation of each User and Group a SCIM client pushed,
-- personal data included, which must never enter the ledger: the ledger
-- holds the account, entitlement and grant facts with ids only, written in
-- the same transaction as the document. A deleted resource's row is deleted
-- (its history stays in the ledger); erasing a person redacts the personal
-- attributes of the documents correlated to them.
CREATE TABLE scim_resources (
    system_id     TEXT NOT NULL,
    resource_type TEXT NOT NULL,
    scim_id       TEXT NOT NULL,
    unique_name   TEXT NOT NULL,
    external_id   TEXT,
    person_id     TEXT,
    document      TEXT NOT NULL,
    version       BIGINT NOT NULL,
    created       TEXT NOT NULL,
    last_modified TEXT NOT NULL,
    PRIMARY KEY (system_id, resource_type, scim_id)
);
CREATE UNIQUE INDEX scim_resources_unique_name ON scim_resources (system_id, resource_type, unique_name);
CREATE INDEX scim_resources_by_person ON scim_resources (person_id);
