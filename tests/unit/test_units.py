"""The systemd units `make deploy` installs, read back key by key as systemd reads them.
tests/integration/test_unit_files_verify.py has systemd itself check them."""

from __future__ import annotations

import configparser
import shlex
from pathlib import Path, PurePath

import pytest

from app.deploy.units import (
    SANDBOX,
    STOP_MARGIN_S,
    render_unit,
    stop_timeout_for,
    unit_name,
)

ROOT = Path("/opt/helionyx")
NAMES = {"dev": "helionyx-dev", "staging": "helionyx-staging", "live": "helionyx"}
# The settings that open a path for writing under ProtectSystem=strict (systemd.exec(5)).
MAKE_WRITABLE = {
    "ReadWritePaths",
    "ReadWriteDirectories",
    "BindPaths",
    "StateDirectory",
    "CacheDirectory",
    "LogsDirectory",
    "RuntimeDirectory",
    "ConfigurationDirectory",
}


def parse(text: str) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]  # keys are case-sensitive
    parser.read_string(text)
    return parser


def as_systemd_reads(value: str) -> str:
    """A path setting's value with its `%%` back to `%` (specifier escaping)."""
    return value.replace("%%", "%")


def rendered(
    tier: str,
    root: PurePath = ROOT,
    *,
    user: str = "helionyx",
    group: str | None = None,
    stop_timeout_s: int = 30,
) -> configparser.ConfigParser:
    text = render_unit(
        tier, tier_root=root / tier, user=user, group=group, stop_timeout_s=stop_timeout_s
    )
    return parse(text)


@pytest.mark.parametrize("tier", NAMES)
def test_each_tier_runs_its_own_release_from_its_own_root(tier: str) -> None:
    tier_root = ROOT / tier
    service = rendered(tier)["Service"]

    assert unit_name(tier) == NAMES[tier]
    assert service["SyslogIdentifier"] == NAMES[tier]
    assert service["Type"] == "exec"
    assert service["User"] == "helionyx"
    assert service["WorkingDirectory"] == str(tier_root / "current")
    assert service["EnvironmentFile"] == str(tier_root / "shared" / f".env.{tier}")
    assert service["Environment"].split() == [f"ENV={tier}", "PYTHONUNBUFFERED=1"]
    assert shlex.split(service["ExecStart"]) == [
        str(tier_root / "current" / ".venv" / "bin" / "python"),
        *("-m", "app.main", "--env", tier),
    ]
    assert tier in rendered(tier)["Unit"]["Description"]


@pytest.mark.parametrize("tier", NAMES)
def test_only_the_data_directory_is_writable(tier: str) -> None:
    service = rendered(tier)["Service"]

    assert service["ProtectSystem"] == "strict"
    assert shlex.split(service["ReadWritePaths"]) == [str(ROOT / tier / "shared" / "var")]
    assert set(service) & MAKE_WRITABLE == {"ReadWritePaths"}


def test_every_sandboxing_line_the_owner_asked_for_is_there() -> None:
    service = rendered("live")["Service"]

    asked = {
        "NoNewPrivileges": "yes",
        "PrivateTmp": "yes",
        "ProtectHome": "yes",
        "PrivateDevices": "yes",
        "ProtectKernelTunables": "yes",
        "ProtectKernelModules": "yes",
        "ProtectControlGroups": "yes",
        "RestrictSUIDSGID": "yes",
        "LockPersonality": "yes",
        "RestrictRealtime": "yes",
        "RestrictAddressFamilies": "AF_UNIX AF_INET AF_INET6",
        "SystemCallArchitectures": "native",
        "UMask": "0077",
        "CapabilityBoundingSet": "",
        "StandardOutput": "journal",
        "StandardError": "journal",
    }
    assert {key: service.get(key) for key in asked} == asked
    assert {key: service[key] for key, _ in SANDBOX} == dict(SANDBOX)


def test_stopping_outlasts_the_drain_and_a_crash_loop_stops() -> None:
    unit = rendered("live", stop_timeout_s=stop_timeout_for(10))

    assert stop_timeout_for(10) == 20 + STOP_MARGIN_S
    assert stop_timeout_for(7.5) == 16 + STOP_MARGIN_S
    assert unit["Service"]["TimeoutStopSec"] == f"{20 + STOP_MARGIN_S}s"
    assert unit["Service"]["KillSignal"] == "SIGTERM"
    assert unit["Service"]["KillMode"] == "mixed"
    assert unit["Service"]["Restart"] == "on-failure"
    # Start limits belong to [Unit]: under [Service] systemd ignores StartLimitIntervalSec.
    assert {"StartLimitIntervalSec", "StartLimitBurst"} <= set(unit["Unit"])
    assert unit["Install"]["WantedBy"] == "multi-user.target"


@pytest.mark.parametrize(("tier", "after"), [
    ("dev", ["network-online.target"]),
    ("staging", ["network-online.target", "postgresql.service"]),
    ("live", ["network-online.target", "postgresql.service"]),
])  # fmt: skip
def test_postgresql_orders_the_tiers_that_use_it_without_being_required(
    tier: str, after: list[str]
) -> None:
    unit = rendered(tier)["Unit"]

    assert unit["After"].split() == after
    assert unit["Wants"].split() == ["network-online.target"]
    assert "Requires" not in unit


def test_group_is_the_users_own_unless_named() -> None:
    assert "Group" not in rendered("dev")["Service"]
    assert rendered("dev", group="helionyx-data")["Service"]["Group"] == "helionyx-data"


def test_paths_with_spaces_and_specifier_signs_read_back_as_written() -> None:
    odd = Path("/srv/my deploys/100% $HOME;#&")
    service = rendered("staging", root=odd)["Service"]

    assert as_systemd_reads(service["WorkingDirectory"]) == f"{odd}/staging/current"
    assert as_systemd_reads(service["EnvironmentFile"]) == f"{odd}/staging/shared/.env.staging"
    [writable] = shlex.split(service["ReadWritePaths"])
    assert as_systemd_reads(writable) == f"{odd}/staging/shared/var"
    program = shlex.split(service["ExecStart"])[0]
    assert as_systemd_reads(program) == f"{odd}/staging/current/.venv/bin/python"
    assert "100%%" in program and "100% " not in program


@pytest.mark.parametrize("tier_root", [
    Path("opt/helionyx/live"),
    Path("/opt/helionyx/../live"),
    Path('/opt/he"lionyx'),
    Path("/opt/he'lionyx"),
    Path("/opt/he\\lionyx"),
    Path("/opt/helionyx\nExecStartPre=/bin/sh"),
    Path("/opt/helionyx\udcff"),
])  # fmt: skip
def test_a_tier_root_systemd_cannot_use_is_refused(tier_root: Path) -> None:
    with pytest.raises(ValueError, match="tier root") as refused:
        render_unit("live", tier_root=tier_root, user="helionyx", stop_timeout_s=30)
    assert "\n" not in str(refused.value)


@pytest.mark.parametrize("tier", ["prod", "Live", "", "dev "])
def test_a_tier_outside_the_three_is_refused(tier: str) -> None:
    with pytest.raises(ValueError, match="one of dev, staging, live"):
        render_unit(tier, tier_root=ROOT, user="helionyx", stop_timeout_s=30)
    with pytest.raises(ValueError, match="one of dev, staging, live"):
        unit_name(tier)


@pytest.mark.parametrize(
    "name", ["", "-helionyx", "1helionyx", "heli onyx", "heli:onyx", "héli", "a.b", "x" * 32]
)
def test_a_user_or_group_name_that_is_not_valid_is_refused(name: str) -> None:
    with pytest.raises(ValueError, match="not a valid user name"):
        render_unit("dev", tier_root=ROOT, user=name, stop_timeout_s=30)
    with pytest.raises(ValueError, match="not a valid group name"):
        render_unit("dev", tier_root=ROOT, user="helionyx", group=name, stop_timeout_s=30)


@pytest.mark.parametrize("name", ["helionyx", "helionyx-live", "_helionyx", "Hx_2", "x" * 31])
def test_valid_user_names_are_taken(name: str) -> None:
    assert rendered("dev", user=name)["Service"]["User"] == name


def test_a_stop_timeout_below_one_second_is_refused() -> None:
    with pytest.raises(ValueError, match="stop timeout"):
        render_unit("dev", tier_root=ROOT, user="helionyx", stop_timeout_s=0)
