"""canonical_json is json.dumps with the canonical settings, byte for byte."""

import json
import math
import random

import pytest

from domain.chain import canonical_json

_PIECES = ["a", "ü", "\n", '"', "\\", "\u2028", "😀", "\x01", "/", "<", "\x7f", " "]


def reference(value):
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )


def random_value(rng: random.Random, depth: int = 0):
    kinds = ["str", "int", "float", "bool", "none"] + (["list", "dict"] if depth < 4 else [])
    kind = rng.choice(kinds)
    if kind == "str":
        return "".join(rng.choice(_PIECES) for _ in range(rng.randrange(6)))
    if kind == "int":
        return rng.randrange(-(10**20), 10**20)
    if kind == "float":
        return rng.uniform(-1e6, 1e6) * rng.choice([1, 1e-12, 1e12])
    if kind == "bool":
        return rng.random() < 0.5
    if kind == "none":
        return None
    if kind == "list":
        return [random_value(rng, depth + 1) for _ in range(rng.randrange(4))]
    return {
        random_value(rng, 99) if rng.random() < 0.1 else str(rng.random()): random_value(
            rng, depth + 1
        )
        for _ in range(rng.randrange(4))
    }


def test_random_values_are_spelled_as_json_dumps_spells_them():
    rng = random.Random(7)
    for _ in range(3000):
        value = {"payload": random_value(rng)}
        try:
            expected = reference(value)
        except TypeError:  # keys of mixed types cannot be sorted: both refuse
            with pytest.raises(TypeError):
                canonical_json(value)
            continue
        assert canonical_json(value) == expected


@pytest.mark.parametrize("value", ["plain", 3, 2.5, None, True, [], {}, (1, "a"), {1: "a"}])
def test_top_level_values_and_non_json_containers(value):
    assert canonical_json(value) == reference(value)


def test_what_json_cannot_hold_is_refused_as_json_dumps_refuses_it():
    with pytest.raises(ValueError):
        canonical_json({"n": math.nan})
    with pytest.raises(TypeError):
        canonical_json({"when": object()})
