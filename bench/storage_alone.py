"""`python -m bench.storage_alone SOURCE TARGET TRANSACTIONS`: SQLite's own share of an
import. Every row the import left in SOURCE (the log, the idempotency records, the read
models and their search entries, the messages' search rows) is inserted again into
TARGET, a migrated, empty database, in TRANSACTIONS transactions (as many as the import
committed), by the standard library's sqlite3 with the service's pragmas (WAL,
synchronous=FULL, the log's guard triggers in place). The messages' search index is
contentless: its rows are made again from the log as `make rebuild` makes them. Reading
SOURCE is not timed; nothing is parsed, sealed or derived.

Prints one JSON line: {"rows", "seconds"}. With the parse-only reference, it bounds what
any import can do on this machine: in time order, storing starts only once the whole
file is read (bench/README.md).
"""

from __future__ import annotations

import json
import sqlite3
import sys
import time

from infrastructure.sqlite.engine import set_sqlite_pragmas
from infrastructure.sqlite.search import INSERT_MESSAGE, PUT, SELECT_MESSAGES, stored_message_rows

# The tables an import writes, in the order it writes them (no foreign keys between them).
TABLES = ("events", "idempotency_records", "todos", "notes", "tracks", "decisions")
# The search index's two tables, with the statements the service writes them with.
_OBJECT_ENTRIES = (
    "SELECT rowid, title, body, kind, number, status, shown_title, shown_body "
    "FROM search_objects ORDER BY rowid"
)
SEARCH = {"search_objects": PUT, "search_messages": INSERT_MESSAGE}


def read_rows(source: str) -> dict[str, list[tuple[object, ...]]]:
    with sqlite3.connect(source) as conn:
        rows = {
            table: conn.execute(f"SELECT * FROM {table} ORDER BY rowid").fetchall()
            for table in TABLES
        }
        rows["search_objects"] = conn.execute(_OBJECT_ENTRIES).fetchall()
        found = conn.execute(SELECT_MESSAGES, (0, 2**62)).fetchall()
        rows["search_messages"] = stored_message_rows(found)
        return rows


def insert(target: str, rows: dict[str, list[tuple[object, ...]]], transactions: int) -> float:
    conn = sqlite3.connect(target)
    try:
        set_sqlite_pragmas(conn)
        statements = {
            table: SEARCH.get(table)
            or f"INSERT INTO {table} VALUES ({', '.join('?' * len(found[0]))})"
            for table, found in rows.items()
            if found
        }
        started = time.perf_counter()
        for part in range(transactions):
            conn.execute("BEGIN IMMEDIATE")
            for table, sql in statements.items():
                found = rows[table]
                conn.executemany(sql, found[_slice(part, transactions, len(found))])
            conn.execute("COMMIT")
        return time.perf_counter() - started
    finally:
        conn.close()


def _slice(part: int, parts: int, count: int) -> slice:
    return slice(count * part // parts, count * (part + 1) // parts)


def main(argv: list[str]) -> int:
    if len(argv) != 3 or not argv[2].isdigit() or int(argv[2]) < 1:
        print("usage: python -m bench.storage_alone SOURCE TARGET TRANSACTIONS", file=sys.stderr)
        return 2
    rows = read_rows(argv[0])
    seconds = insert(argv[1], rows, int(argv[2]))
    print(json.dumps({"rows": sum(map(len, rows.values())), "seconds": seconds}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
