"""`python -m infrastructure.sqlite.chain_worker DB`: check ranges of the hash chain in the
SQLite file DB (infrastructure/sqlite/chain_scan.py), in a process of its own.

Reads one range a line from stdin (`LO HI`); for each, writes `progress N` lines to stdout
as it goes (N events checked since the last line), then one JSON line: the range's
`ChainReport` as its fields (`problems` a list of {"seq", "kind", "detail"}) and
`start_hash`, the hash it was linked to. Exit status 0 at the end of stdin; 2 when a range
could not be checked, the reason on stderr. Imports only the standard library and
`domain`, so that it starts in tens of milliseconds.
"""

from __future__ import annotations

import dataclasses
import gc
import json
import sqlite3
import sys

from infrastructure.sqlite.chain_scan import scan_range

PROGRESS_EVERY = 20_000


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print(
            "usage: python -m infrastructure.sqlite.chain_worker DB  (ranges on stdin)",
            file=sys.stderr,
        )
        return 2
    # Rows and texts are short-lived and hold no cycles: nothing for the collector to find.
    gc.disable()
    for line in sys.stdin:
        lo, hi = (int(bound) for bound in line.split())
        progress = _Progress()
        try:
            report, start_hash = scan_range(argv[0], lo, hi, progress=progress)
        except sqlite3.Error as e:
            print(f"cannot check seqs {lo}..{hi} of {argv[0]}: {e}", file=sys.stderr)
            return 2
        progress.report()
        print(json.dumps({**dataclasses.asdict(report), "start_hash": start_hash}), flush=True)
    return 0


class _Progress:
    def __init__(self) -> None:
        self.unreported = 0

    def __call__(self, count: int) -> None:
        self.unreported += count
        if self.unreported >= PROGRESS_EVERY:
            self.report()

    def report(self) -> None:
        if self.unreported:
            print(f"progress {self.unreported}", flush=True)
            self.unreported = 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
