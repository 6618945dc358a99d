"""Time-ordered (version 7, RFC 9562) UUIDs as text, cheaply enough for the append path.

Version 7 starts with the Unix time in milliseconds, so ids minted one after another
sort together: an index over them grows at its right edge instead of at a random page
(with random version 4 ids, SQLite spent over half of each bulk insert in the id
index). The other 74 bits are random, from the operating system (`os.urandom`, as
uuid4 uses), read once per batch of ids: `str(uuid.uuid4())` costs a system call and a
UUID object per id, and a bulk ingest mints two ids per message.
"""

from __future__ import annotations

import os
import time

# Byte -> the UUID's variant digit: the variant bits 10, then the byte's lowest two bits.
_VARIANT_DIGIT = bytes.maketrans(bytes(range(256)), bytes(b"89ab"[b & 3] for b in range(256)))


def new_uuid() -> str:
    return new_uuids(1)[0]


def new_uuids(count: int) -> list[str]:
    """`count` ids of this millisecond: `unix_ts_ms` (48 bits), version 7, 12 random bits,
    variant 10, 62 random bits."""
    millis = time.time_ns() // 1_000_000
    t = f"{millis & 0xFFFF_FFFF_FFFF:012x}"
    prefix = f"{t[:8]}-{t[8:]}-7"
    r = os.urandom(9 * count).hex()  # 18 hex digits (72 bits) per id
    variants = os.urandom(count).translate(_VARIANT_DIGIT).decode()  # 2 more bits each
    return [
        f"{prefix}{r[i : i + 3]}-{v}{r[i + 3 : i + 6]}-{r[i + 6 : i + 18]}"
        for i, v in zip(range(0, 18 * count, 18), variants, strict=True)
    ]
