"""systemd itself checks the units `make deploy` installs: `systemd-analyze verify` loads
unit files offline (no systemd as PID 1 needed), reports unknown keys and bad values, and
checks that ExecStart='s program exists and is executable. It exits 0 on an unknown key,
so its output is read too. .ci/run installs it; without it these tests fail, not skip."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from app.config import TIERS
from app.deploy.units import render_unit, stop_timeout_for, unit_name

USER = "helionyx"


def systemd_analyze() -> str:
    found = shutil.which("systemd-analyze")
    if found is None:
        pytest.fail("systemd-analyze is missing: install systemd (.ci/run does)")
    return found


def lay_out_tier_root(tier_root: Path, tier: str) -> None:
    """What deploy leaves in a tier root, as far as the unit refers to it."""
    venv_bin = tier_root / "current" / ".venv" / "bin"
    venv_bin.mkdir(parents=True)
    (venv_bin / "python").symlink_to(sys.executable)
    (tier_root / "shared" / "var").mkdir(parents=True)
    (tier_root / "shared" / f".env.{tier}").touch(mode=0o600)


def write_unit(directory: Path, tier: str, tier_root: Path) -> Path:
    text = render_unit(tier, tier_root=tier_root, user=USER, stop_timeout_s=stop_timeout_for(10))
    path = directory / f"{unit_name(tier)}.service"
    path.write_text(text, encoding="utf-8")
    return path


def verify(units: list[Path], *, mentioning: list[str]) -> tuple[int, str, list[str]]:
    """The exit status, the whole output, and the output lines that mention any of the
    units, their files or `mentioning` (a tier root, the user name)."""
    done = subprocess.run(
        [systemd_analyze(), "verify", *map(str, units)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    output = done.stdout + done.stderr
    ours = [*(unit.name for unit in units), *(str(unit) for unit in units), *mentioning]
    about_ours = [line for line in output.splitlines() if any(word in line for word in ours)]
    return done.returncode, output, about_ours


def test_systemd_accepts_the_three_units(tmp_path: Path) -> None:
    units_dir = tmp_path / "units"
    units_dir.mkdir()
    units = []
    for tier in TIERS:
        lay_out_tier_root(tmp_path / tier, tier)
        units.append(write_unit(units_dir, tier, tmp_path / tier))

    status, output, about_ours = verify(units, mentioning=[str(tmp_path), USER])

    assert (status, about_ours) == (0, []), f"systemd-analyze verify said:\n{output}"


def test_a_tier_root_with_a_space_and_a_percent_sign_verifies(tmp_path: Path) -> None:
    tier_root = tmp_path / "my deploys" / "100% $HOME;#&" / "staging"
    lay_out_tier_root(tier_root, "staging")
    unit = write_unit(tmp_path, "staging", tier_root)

    status, output, about_ours = verify([unit], mentioning=[str(tmp_path), USER])

    assert (status, about_ours) == (0, []), f"systemd-analyze verify said:\n{output}"


def test_verify_reports_a_program_that_is_not_there(tmp_path: Path) -> None:
    """The check above can fail: the same unit with no release in place is refused."""
    unit = write_unit(tmp_path, "live", tmp_path / "live")

    status, output, about_ours = verify([unit], mentioning=[])

    assert status != 0, output
    assert any("is not executable" in line for line in about_ours), output


def test_verify_reports_a_percent_sign_left_unescaped(tmp_path: Path) -> None:
    """The `%%` matters: unescaped, systemd reads `%d` as a specifier and looks for
    another program."""
    tier_root = tmp_path / "100%deploys" / "dev"
    lay_out_tier_root(tier_root, "dev")
    unit = write_unit(tmp_path, "dev", tier_root)
    unit.write_text(unit.read_text().replace("%%", "%"))

    status, output, about_ours = verify([unit], mentioning=[])

    assert status != 0, output
    assert any("is not executable" in line for line in about_ours), output


def test_verify_output_is_read_as_well_as_its_status(tmp_path: Path) -> None:
    """systemd ignores an unknown key (here a start limit under [Service], where it does
    not belong) with exit status 0: only the output tells."""
    lay_out_tier_root(tmp_path / "dev", "dev")
    unit = write_unit(tmp_path, "dev", tmp_path / "dev")
    misplaced = "[Service]\nStartLimitIntervalSec=300s\n"
    unit.write_text(unit.read_text().replace("[Service]\n", misplaced))

    status, output, about_ours = verify([unit], mentioning=[])

    assert status == 0, output
    assert any("Unknown key 'StartLimitIntervalSec'" in line for line in about_ours), output
