-- The SQLite floor of `soxctl-bench import`'s first import: the rows that
-- import writes (1,252,061 ledger entries of about the same size, subtree
-- hashes, 50,000 people, 200,000 accounts and their intervals, 1,000,000
-- grants and their intervals, 200,000 findings), inserted by SQLite itself
-- (INSERT ... SELECT from counters: no binding, no statement per row, no
-- ledger or projection work), in key order as the import inserts them, in
-- one transaction, WAL, synchronous = FULL; the secondary indexes built
-- after the rows, as the bulk path does; then the checkpoint.
--
--   rm -f /tmp/floor.db*
--   cat crates/store/migrations/sqlite/*.sql | sqlite3 /tmp/floor.db
--   sqlite3 /tmp/floor.db "DROP INDEX accounts_by_person; DROP INDEX grants_by_entitlement;
--     DROP INDEX grant_history_by_entitlement; DROP INDEX grant_history_by_account;
--     DROP INDEX account_history_by_person; DROP INDEX findings_by_status; DROP INDEX findings_by_subject;"
--   time sqlite3 /tmp/floor.db < benches/import/sqlite_floor.sql
PRAGMA journal_mode=WAL;
PRAGMA synchronous=FULL;
PRAGMA cache_size=-262144;
PRAGMA temp_store=memory;
.timer on
BEGIN;
WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i+1 FROM n WHERE i < 1252060)
INSERT INTO ledger_entries (seq, leaf_hash, bytes) SELECT i, randomblob(32), CAST(printf('{"actor":"system:import","payload":{"grant":{"account_id":"a%07d","entitlement_id":"ENT_%04d","granted_at":null,"source":"direct","system_id":"sys%02d"},"origin":{"as_of":"2026-01-01T00:00:00.000000Z","import_id":"imp_0123456789abcdef0123456789abcdef"}},"prev":"%s","seq":%d,"time":"2026-11-26T23:00:00.000000Z","type":"grant.added","v":1}', i/5, i%100, i%20, lower(hex(randomblob(32))), i) AS BLOB) FROM n;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i < 78254)
INSERT INTO ledger_nodes (level, idx, hash) SELECT 4 * (i % 4), i, randomblob(32) FROM n;
WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i+1 FROM n WHERE i < 49999)
INSERT INTO people (person_id, name, email, manager_id, department, title, status, hire_date, termination_date, erased)
SELECT printf('p%07d', i), hex(randomblob(40)), hex(randomblob(48)), 'p0000000', 'Dept', 'Title', 'active', '2020-01-01', NULL, 0 FROM n;
WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i+1 FROM n WHERE i < 199999)
INSERT INTO accounts (system_id, account_id, person_id, kind, status, last_login, mfa, owner_id, credential_rotated_at)
SELECT printf('sys%02d', i % 20), printf('a%07d', i), printf('p%07d', i / 4), 'human', 'active', '2025-01-01T00:00:00.000000Z', 1, NULL, NULL FROM n ORDER BY 1, 2;
WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i+1 FROM n WHERE i < 199999)
INSERT INTO account_history (system_id, account_id, opened_seq, valid_from, valid_to, closed_seq, person_id, kind, status, opened_by, closed_by)
SELECT printf('sys%02d', i % 20), printf('a%07d', i), 50000 + i, '2026-01-01T00:00:00.000000Z', NULL, NULL, printf('p%07d', i / 4), 'human', 'active', 'system:import', NULL FROM n ORDER BY 1, 2;
WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i+1 FROM n WHERE i < 999999)
INSERT INTO grants (system_id, account_id, entitlement_id, granted_at, source)
SELECT printf('sys%02d', (i/5) % 20), printf('a%07d', i / 5), printf('ENT_%04d', i % 5 * 20), NULL, 'direct' FROM n ORDER BY 1, 2, 3;
WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i+1 FROM n WHERE i < 999999)
INSERT INTO grant_history (system_id, account_id, entitlement_id, opened_seq, valid_from, valid_to, closed_seq, source, opened_by, closed_by, import_id)
SELECT printf('sys%02d', (i/5) % 20), printf('a%07d', i / 5), printf('ENT_%04d', i % 5 * 20), 250000 + i, '2026-01-01T00:00:00.000000Z', NULL, NULL, 'direct', 'system:import', NULL, 'imp_0123456789abcdef0123456789abcdef' FROM n ORDER BY 1, 2, 3;
WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i+1 FROM n WHERE i < 199999)
INSERT INTO findings (finding_id, kind, subject, severity, control_ids, status, first_seen, opened_at, resolved_at, owner_id, due, summary, detail)
SELECT 'fnd_' || lower(hex(randomblob(16))), 'dormant_account', printf('account:sys%02d:a%07d', i % 20, i), 'low', '["AC-DORMANT"]', 'open', '2026-11-26T23:00:00.000000Z', '2026-11-26T23:00:00.000000Z', NULL, 'p0000000', '2027-02-24', printf('account account:sys%02d:a%07d unused since 2025-01-01T00:00:00.000000Z (more than 90 days)', i % 20, i), '{"account_id":"a0000001","last_login":"2025-01-01T00:00:00.000000Z","privileged":"false","system_id":"sys01"}' FROM n;
CREATE INDEX accounts_by_person ON accounts (person_id);
CREATE INDEX grants_by_entitlement ON grants (system_id, entitlement_id);
CREATE INDEX grant_history_by_entitlement ON grant_history (system_id, entitlement_id, valid_from);
CREATE INDEX grant_history_by_account ON grant_history (system_id, account_id, valid_from);
CREATE INDEX account_history_by_person ON account_history (person_id, valid_from);
CREATE INDEX findings_by_status ON findings (status, kind);
CREATE INDEX findings_by_subject ON findings (subject);
COMMIT;
PRAGMA wal_checkpoint(TRUNCATE);
