"""Bench data added quickly through the store: many portal users and one account with 50,000 cases."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from d365portal.emulator.demo_data import TOPICS, contact_row, portal_user
from d365portal.emulator.seed import BENCH_BIG_ACCOUNT_ID, BENCH_PASSWORD, DEMO_CONTACT_ID, seed_id

_BENCH_CASE_BASE = seed_id("bench:cases").int & ~((1 << 32) - 1)  # bench case ids: this + n


def add_bench_rows(
    store: Any, accounts: int = 10, users: int = 100, big_account_cases: int = 50_000
) -> dict[str, Any]:
    """Add bench data fast: accounts, users bench001… (one password hash), one account with many cases."""
    account_ids = [BENCH_BIG_ACCOUNT_ID] + [seed_id(f"bench:account:{i:03d}") for i in range(1, accounts)]
    store.bulk_insert(
        "accounts", [{"accountid": a, "name": f"Bench Account {i:03d}"} for i, a in enumerate(account_ids)]
    )
    usernames = [f"bench{i:03d}" for i in range(1, users + 1)]
    store.bulk_insert(
        "contacts",
        [
            contact_row(
                seed_id(f"bench:user:{name}"),
                "Bench",
                f"User {name[5:]}",
                f"{name}@bench.test",
                account_ids[i % len(account_ids)],
                **portal_user(name, BENCH_PASSWORD),
            )
            for i, name in enumerate(usernames)
        ],
    )
    big_contact = seed_id(f"bench:user:{usernames[0]}") if users else DEMO_CONTACT_ID
    start = datetime(2020, 1, 1, tzinfo=UTC)
    store.bulk_insert(
        "incidents",
        (
            {
                "incidentid": UUID(int=_BENCH_CASE_BASE + i),
                "title": TOPICS[i % len(TOPICS)],
                "customerid_account@odata.bind": f"/accounts({BENCH_BIG_ACCOUNT_ID})",
                "primarycontactid@odata.bind": f"/contacts({big_contact})",
                "prioritycode": 1 + i % 3,
                "caseorigincode": 3,
                "statecode": 0,
                "statuscode": 1,
                "createdon": (start + timedelta(minutes=37 * i)).strftime("%Y-%m-%dT%H:%M:%SZ"),
            }
            for i in range(big_account_cases)
        ),
    )
    return {
        "accounts": account_ids,
        "usernames": usernames,
        "password": BENCH_PASSWORD,
        "big_account_id": BENCH_BIG_ACCOUNT_ID,
    }
