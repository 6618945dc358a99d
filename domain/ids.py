"""Time-ordered (version 7, RFC 9562) UUIDs as text, cheaply enough for the append path.

Version 7 starts with the Unix time in milliseconds, so ids minted one after another
sort together: an index over them grows at its right edge instead of at a random page
(with random version 4 ids, SQLite spent over half of each bulk insert in the id
index). The other 74 bits are random, from the operating system (`os.urandom`, as
uuid4 uses), taken 4 KiB at a time: `str(uuid.uuid4())` costs a system call and a UUID
object per id, and an import mints two ids per message.
"""

from __future__ import annotations

import os
import threading
import time

_CHUNK = 4096
_VARIANT = "89ab"  # the two variant bits 10, then the next two random bits
_lock = threading.Lock()
_pool = b""
_at = 0


def _forget() -> None:
    global _pool, _at
    _pool, _at = b"", 0


# A forked child must not hand out the bytes its parent will also use.
os.register_at_fork(after_in_child=_forget)


def new_uuid() -> str:
    return new_uuids(1)[0]


def new_uuids(count: int) -> list[str]:
    """`count` ids of this millisecond: `unix_ts_ms` (48 bits), version 7, 12 random bits,
    variant 10, 62 random bits."""
    global _pool, _at
    millis = time.time_ns() // 1_000_000
    t = f"{millis & 0xFFFF_FFFF_FFFF:012x}"
    prefix = f"{t[:8]}-{t[8:]}-7"
    ids = []
    with _lock:
        for _ in range(count):
            if _at + 10 > len(_pool):
                _pool, _at = os.urandom(_CHUNK), 0
            r = _pool[_at : _at + 10].hex()
            _at += 10
            ids.append(f"{prefix}{r[:3]}-{_VARIANT[int(r[3], 16) & 3]}{r[4:7]}-{r[7:19]}")
    return ids
