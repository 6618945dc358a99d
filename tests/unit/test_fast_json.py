"""infrastructure/fast_json.py spells exactly what the specification spells
(`domain.chain.canonical_json`, public API only), and refuses what it refuses: the
private C encoder it builds is pinned here, argument by argument, on awkward values."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain import chain
from infrastructure import fast_json

AWKWARD = [
    {},
    [],
    "",
    {"": ""},
    {"a": None, "b": True, "c": False},
    {"text": "naïve café ☕ 日本語 עברית 😀", "e\u0301": "\u200b"},
    {"esc": 'quote " backslash \\ slash / tab \t nl \n cr \r bell \x07 del \x7f'},
    {"z": 1, "a": 2, "M": 3, "é": 4, "10": 5, "9": 6},  # sorted by code point
    {"big": 2**64, "neg": -(2**70), "huge": 10**300, "zero": 0},
    {"f": [0.1, -0.0, 1e16, 1.5e300, 5e-324, 12345678901234567890.0, 1e-7, 100.5]},
    {"nested": {"b": [1, {"y": [], "x": {}}], "a": [[["deep"]]]}},
    {"separators": ',"occurred_at":"2020-01-01T00:00:00+00:00","payload":'},
]

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(), inner, max_size=5),
    max_leaves=30,
)


@pytest.mark.parametrize("value", AWKWARD)
def test_the_same_text_as_the_specification(value):
    assert fast_json.canonical_json(value) == chain.canonical_json(value)


@given(json_values)
@settings(max_examples=300, deadline=None)
def test_the_same_text_for_any_json_value(value):
    assert fast_json.canonical_json(value) == chain.canonical_json(value)


def outcome(spelling, value):
    try:
        return spelling(value)
    except (ValueError, TypeError) as e:
        return type(e)


@pytest.mark.parametrize(
    "value", [math.nan, math.inf, {"x": -math.inf}, {1: "int key"}, {"set": {1}}, object(), (1, 2)]
)
def test_the_same_refusals_and_coercions(value):
    assert outcome(fast_json.canonical_json, value) == outcome(chain.canonical_json, value)


def test_the_c_encoder_is_in_use():
    """Not the fallback: the speed is the point of the module (CPython ships it)."""
    assert fast_json._ENCODE is not None
    assert fast_json.canonical_json is not chain.canonical_json
