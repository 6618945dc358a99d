"""Figures, each beside the reference measured in the same run, their table and their JSON."""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Goal:
    """A target: on the ratio to the reference, or on the value itself."""

    on: str  # "ratio" or "value"
    at_least: float | None = None
    at_most: float | None = None
    unit: str = ""
    stretch: float | None = None

    def text(self) -> str:
        bound, sign = (self.at_least, ">=") if self.at_least is not None else (self.at_most, "<=")
        suffix = "x" if self.on == "ratio" else f" {self.unit}".rstrip()
        text = f"{sign} {_number(bound)}{suffix}"
        return text + (f" (stretch {_number(self.stretch)}x)" if self.stretch else "")

    def met(self, value: float, ratio: float | None) -> bool | None:
        measured = ratio if self.on == "ratio" else value
        if measured is None or math.isnan(measured):
            return None
        if self.at_least is not None:
            return measured >= self.at_least
        return measured <= self.at_most if self.at_most is not None else None


@dataclass
class Figure:
    key: str
    label: str
    value: float
    unit: str
    reference: float | None
    reference_label: str
    goal: Goal | None = None
    note: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def ratio(self) -> float | None:
        if self.reference is None or not self.reference:
            return None
        return self.value / self.reference

    @property
    def passed(self) -> bool | None:
        return self.goal.met(self.value, self.ratio) if self.goal else None

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("goal")
        data.update(
            ratio=self.ratio, target=self.goal.text() if self.goal else None, passed=self.passed
        )
        return data


def _number(value: float | None) -> str:
    if value is None:
        return "-"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    if abs(value) >= 100:
        return f"{value:.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def _verdict(passed: bool | None) -> str:
    return {True: "pass", False: "FAIL", None: "-"}[passed]


def table(figures: list[Figure]) -> str:
    header = ("figure", "value", "reference", "ratio", "target", "pass/fail")
    rows = [header] + [
        (
            f.label,
            f"{_number(f.value)} {f.unit}",
            f"{_number(f.reference)} {f.unit} ({f.reference_label})"
            if f.reference is not None
            else f.reference_label or "-",
            f"{f.ratio:.2f}x" if f.ratio is not None else "-",
            f.goal.text() if f.goal else "-",
            _verdict(f.passed),
        )
        for f in figures
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = [
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in rows
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    notes = [f"  {f.label}: {f.note}" for f in figures if f.note]
    return "\n".join(lines + (["", "notes:", *notes] if notes else []))


def write_json(path: Path, meta: dict[str, Any], figures: list[Figure]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    body = {**meta, "figures": [f.as_dict() for f in figures]}
    path.write_text(json.dumps(body, indent=2) + "\n", encoding="utf-8")
