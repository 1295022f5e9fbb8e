"""DuckDB side of `soxctl-bench sod`: load the snapshot CSVs and the rule
tables, run pairs.sql, print one JSON line of timings and the pair hash.

usage: duckdb_sod.py DATA_DIR RULES_DIR PAIRS_SQL THREADS

DATA_DIR holds accounts.csv and grants.csv; RULES_DIR holds rules_items.csv
and risk_functions.csv (written by soxctl from rules.toml). Every CSV column
is read as text, as soxctl reads it. The hash is SHA-256 over the sorted
lines "risk_id,identity\n", as soxctl computes it.
"""

import hashlib
import json
import os
import resource
import sys
import time

import duckdb


def quote(path):
    return "'" + path.replace("'", "''") + "'"


def main():
    data_dir, rules_dir, sql_path, threads = sys.argv[1:5]
    with open(sql_path, encoding="utf-8") as f:
        sql = f.read()
    started = time.perf_counter()
    con = duckdb.connect(":memory:")
    con.execute(f"SET threads = {int(threads)}")
    for table in ("accounts", "grants"):
        path = os.path.join(data_dir, table + ".csv")
        con.execute(
            f"CREATE TABLE {table} AS SELECT * FROM read_csv({quote(path)}, header = true, all_varchar = true)"
        )
    items = os.path.join(rules_dir, "rules_items.csv")
    con.execute(
        "CREATE TABLE rules_items AS SELECT function_id, item_kind, system_id, pattern, like_pattern, group_id,"
        " CAST(member AS INTEGER) AS member, CAST(group_size AS INTEGER) AS group_size"
        f" FROM read_csv({quote(items)}, header = true, all_varchar = true)"
    )
    risks = os.path.join(rules_dir, "risk_functions.csv")
    con.execute(
        f"CREATE TABLE risk_functions AS SELECT * FROM read_csv({quote(risks)}, header = true, all_varchar = true)"
    )
    loaded = time.perf_counter()
    rows = con.execute(sql).fetchall()
    queried = time.perf_counter()
    lines = sorted(f"{risk},{identity}\n" for risk, identity in rows)
    digest = hashlib.sha256("".join(lines).encode("utf-8")).hexdigest()
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(
        json.dumps(
            {
                "duckdb": duckdb.__version__,
                "threads": int(threads),
                "load_s": loaded - started,
                "query_s": queried - loaded,
                "total_s": queried - started,
                "peak_mib": peak_kib / 1024,
                "pairs": len(lines),
                "sha256": digest,
            }
        )
    )


if __name__ == "__main__":
    main()
