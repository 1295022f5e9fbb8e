#!/usr/bin/env python3
"""Runs the scim2-tester compliance checks against a live soxctl SCIM service
provider and fails unless every check succeeds.

Usage: scim-check.py BASE_URL TOKEN

A check may be SKIPPED only when it tests a feature that
/ServiceProviderConfig declares unsupported (bulk, sort, changePassword) or
that does not apply; such skips are listed in ALLOWED_SKIPS with the reason.
Anything else that is not SUCCESS (ERROR, CRITICAL, DEVIATION, or an
unexplained SKIPPED) fails the run.
"""

import sys

from httpx2 import Client
from scim2_client.engines.httpx2 import SyncSCIMClient
from scim2_tester import Status, check_server

# title substring -> why a skip is acceptable
ALLOWED_SKIPS = {}


def main() -> int:
    url, token = sys.argv[1], sys.argv[2]
    http = Client(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=30)
    client = SyncSCIMClient(http)
    results = check_server(client)
    failures = 0
    counts = {}
    for result in results:
        status = result.status
        title = result.title or "?"
        where = f"[{result.resource_type}] " if result.resource_type else ""
        ok = status == Status.SUCCESS or (
            status == Status.SKIPPED and any(k in title for k in ALLOWED_SKIPS)
        )
        counts[status.name] = counts.get(status.name, 0) + 1
        line = f"{status.name:8} {where}{title}"
        if result.reason and not ok:
            line += f"\n         {result.reason}"
            if result.data is not None:
                line += f"\n         data: {str(result.data)[:600]}"
        print(line)
        if not ok:
            failures += 1
    summary = ", ".join(f"{n} {k.lower()}" for k, n in sorted(counts.items()))
    print(f"scim2-tester: {len(results)} checks: {summary}")
    passed = len(results) - failures
    print(f"{passed} passed, {failures} failed")
    return 1 if failures or not results else 0


if __name__ == "__main__":
    sys.exit(main())
