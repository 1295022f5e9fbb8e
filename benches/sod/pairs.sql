-- The (risk_id, identity) pairs of a segregation-of-duties analysis, in SQL.
-- Runs unchanged on DuckDB and PostgreSQL (soxctl-bench sod). Tables:
--   accounts(system_id, account_id, person_id, kind, status, ...)   accounts.csv
--   grants(system_id, account_id, entitlement_id, ...)               grants.csv
--   rules_items(function_id, item_kind, system_id, pattern, like_pattern,
--               group_id, member, group_size)    the rules' items, one row each;
--               an all-of group is one row per member, sharing group_id
--   risk_functions(risk_id, function_id)
-- Semantics (crates/sod): identity = person_id of an active human account
-- with a person, otherwise 'account:<system_id>:<account_id>'; only active
-- accounts count; a function is held when the identity holds one of its
-- items; an all-of group only when ONE account holds every member; a risk
-- is violated when every one of its functions is held.
WITH
-- Each item resolved to the entitlements it names: references by equality,
-- patterns (glob translated to LIKE, with _ and % escaped) against the
-- distinct entitlements granted, not against every grant.
ents AS (
  SELECT DISTINCT system_id, entitlement_id FROM grants
),
item_ents AS (
  SELECT i.function_id, i.group_id, i.member, i.group_size, e.system_id, e.entitlement_id
  FROM rules_items i
  JOIN ents e ON e.system_id = i.system_id AND e.entitlement_id = i.pattern
  WHERE i.item_kind = 'ref'
  UNION ALL
  SELECT i.function_id, i.group_id, i.member, i.group_size, e.system_id, e.entitlement_id
  FROM rules_items i
  JOIN ents e ON e.system_id = i.system_id AND e.entitlement_id LIKE i.like_pattern ESCAPE '\'
  WHERE i.item_kind = 'glob'
),
active AS (
  SELECT system_id, account_id,
         CASE WHEN kind = 'human' AND coalesce(person_id, '') <> '' THEN person_id
              ELSE 'account:' || system_id || ':' || account_id END AS identity
  FROM accounts
  WHERE status = 'active'
),
held AS (
  SELECT g.system_id, g.account_id, ie.function_id, ie.group_id, ie.member, ie.group_size
  FROM grants g
  JOIN item_ents ie ON ie.system_id = g.system_id AND ie.entitlement_id = g.entitlement_id
),
account_functions AS (
  SELECT system_id, account_id, function_id FROM held WHERE group_id IS NULL
  UNION
  SELECT system_id, account_id, function_id FROM held WHERE group_id IS NOT NULL
  GROUP BY system_id, account_id, function_id, group_id
  HAVING count(DISTINCT member) = max(group_size)
),
identity_functions AS (
  SELECT DISTINCT a.identity, f.function_id
  FROM account_functions f
  JOIN active a ON a.system_id = f.system_id AND a.account_id = f.account_id
),
risk_fns AS (
  SELECT DISTINCT risk_id, function_id FROM risk_functions
),
risk_sizes AS (
  SELECT risk_id, count(*) AS needed FROM risk_fns GROUP BY risk_id
)
SELECT r.risk_id, i.identity
FROM identity_functions i
JOIN risk_fns r ON r.function_id = i.function_id
JOIN risk_sizes s ON s.risk_id = r.risk_id
GROUP BY r.risk_id, i.identity, s.needed
HAVING count(*) = s.needed
