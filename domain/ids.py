"""Random (version 4) UUIDs as text, cheaply enough for the append path.

`str(uuid.uuid4())` costs a system call for 16 random bytes and a UUID object per id;
an import appends two ids per message. This takes the operating system's randomness
(`os.urandom`, as uuid4 does) 4 KiB at a time and spells the same RFC 9562 layout.
"""

from __future__ import annotations

import os
import threading

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
    global _pool, _at
    with _lock:
        if _at + 16 > len(_pool):
            _pool, _at = os.urandom(_CHUNK), 0
        h = _pool[_at : _at + 16].hex()
        _at += 16
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{_VARIANT[int(h[16], 16) & 3]}{h[17:20]}-{h[20:]}"
