"""Tier configuration: config/base.yaml, overlaid by config/<tier>.yaml, with ${VAR} values.

Values come from the process environment, then `.env.<tier>`, then the YAML defaults.
Nothing else is read: no home-directory files, no hidden state. A missing required
value stops startup with its name.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from app.settings import Settings

TIERS = ("dev", "staging", "live")
PROJECT_ROOT = Path(__file__).resolve().parents[1]
_REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::([^}]*))?\}")


class ConfigError(Exception):
    """The configuration cannot be loaded; the message says what to fix."""


def resolve_tier(tier: str | None, environ: Mapping[str, str] | None = None) -> str:
    environ = os.environ if environ is None else environ
    chosen = tier if tier is not None else environ.get("ENV", "dev")
    if chosen not in TIERS:
        raise ConfigError(f"unknown environment {chosen!r}: ENV must be one of {', '.join(TIERS)}")
    return chosen


def load_settings(
    tier: str | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    root: Path = PROJECT_ROOT,
    use_env_file: bool = True,
) -> Settings:
    environ = os.environ if environ is None else environ
    tier = resolve_tier(tier, environ)
    env_file = root / f".env.{tier}"
    from_file = read_dotenv(env_file) if use_env_file else {}
    values = {**from_file, **environ}
    raw = merge(
        _read_yaml(root / "config" / "base.yaml"), _read_yaml(root / "config" / f"{tier}.yaml")
    )
    missing: list[str] = []
    resolved = _interpolate(raw, values, missing)
    if missing:
        names = ", ".join(sorted(set(missing)))
        where = f"in the environment or in .env.{tier}"
        if use_env_file and not env_file.exists():
            where += f", which does not exist yet: `make setup ENV={tier}` creates it"
        raise ConfigError(f"missing required configuration for {tier}: {names} (set {where})")
    try:
        return Settings.model_validate({**resolved, "tier": tier, "root": root})
    except ValidationError as e:
        sources = dict(_sources(raw))
        raise ConfigError(f"invalid configuration for {tier}: {_explain(e, sources)}") from None


def read_dotenv(path: Path) -> dict[str, str]:
    """KEY=VALUE lines; blank lines and # comments skipped; optional surrounding quotes."""
    if not path.exists():
        return {}
    values: dict[str, str] = {}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.removeprefix("export ").partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"{path.name} line {number}: expected KEY=VALUE")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
        values[key.strip()] = value
    return values


def merge(base: dict[str, Any], overlay: dict[str, Any]) -> dict[str, Any]:
    """Mappings merge recursively; anything else in the overlay replaces the base."""
    merged = dict(base)
    for key, value in overlay.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except FileNotFoundError:
        raise ConfigError(f"configuration file {path} is missing") from None
    except yaml.YAMLError as e:
        raise ConfigError(f"{path.name} is not valid YAML: {e}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path.name} must be a mapping")
    return data


def _interpolate(value: Any, values: Mapping[str, str], missing: list[str]) -> Any:
    """Substitute after parsing, so a value can never break the YAML around it."""
    if isinstance(value, dict):
        return {key: _interpolate(item, values, missing) for key, item in value.items()}
    if isinstance(value, list):
        return [_interpolate(item, values, missing) for item in value]
    if not isinstance(value, str):
        return value
    whole = _REFERENCE.fullmatch(value)
    if whole:
        return _lookup(whole, values, missing)
    return _REFERENCE.sub(lambda match: _lookup(match, values, missing) or "", value)


def _lookup(match: re.Match[str], values: Mapping[str, str], missing: list[str]) -> str | None:
    name, default = match.group(1), match.group(2)
    value = values.get(name)
    if value not in (None, ""):
        return value
    if default is None:
        missing.append(name)
        return None
    return default or None


def _sources(value: Any, path: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], str]]:
    """Which environment variable feeds each configuration path."""
    if isinstance(value, dict):
        return [pair for key, item in value.items() for pair in _sources(item, (*path, key))]
    whole = _REFERENCE.fullmatch(value) if isinstance(value, str) else None
    return [(path, whole.group(1))] if whole else []


def _explain(error: ValidationError, sources: Mapping[tuple[str, ...], str]) -> str:
    parts = []
    for item in error.errors():
        path = tuple(str(part) for part in item["loc"])
        where = ".".join(path)
        variable = next(
            (sources[path[:n]] for n in range(len(path), 0, -1) if path[:n] in sources), None
        )
        named = f"{variable} ({where})" if variable else where
        message = item["msg"].removeprefix("Value error, ")
        parts.append(f"{named}: {message}" if named else message)
    return "; ".join(parts)
