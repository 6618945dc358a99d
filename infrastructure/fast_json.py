"""`domain.chain.canonical_json`, the same text, faster: the one place that uses the json
module's private C encoder.

`JSONEncoder.encode` (what the domain's spelling calls) builds a C encoder anew on every
call, which costs as much as encoding a short message, and the append path spells two
objects per event (payload and metadata). This module builds that encoder once, with the
settings of `domain.chain._ENCODER`, without the check for circular references (values
come from parsed JSON; a cycle still ends, in RecursionError). `c_make_encoder` is
CPython's undocumented constructor (Lib/json/encoder.py, `_make_iterencode`'s C twin):
its nine positional arguments are pinned by tests/unit/test_fast_json.py, which checks
this spelling against the domain's on awkward values. Without the C speedups (another
interpreter) this is the domain's own function.
"""

from __future__ import annotations

import json.encoder
from typing import Any

from domain.chain import canonical_json as spec_canonical_json

_SPEC = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
_MAKE = getattr(json.encoder, "c_make_encoder", None)


if _MAKE is None:  # pragma: no cover - an interpreter without the json C speedups
    canonical_json = spec_canonical_json
else:
    _ENCODE = _MAKE(
        None,  # markers: no check for circular references
        _SPEC.default,  # default: raises TypeError, as the spec's
        json.encoder.encode_basestring,  # encoder for str (ensure_ascii=False)
        None,  # indent
        ":",
        ",",  # key separator, item separator
        True,  # sort_keys
        False,  # skipkeys
        False,  # allow_nan
    )

    def canonical_json(value: Any) -> str:
        return "".join(_ENCODE(value, 0))
