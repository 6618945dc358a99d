"""The parts of a deploy that need no process: the layout's links, pruning, the environment
a release runs in, and the systemd command lines (no systemd runs here to run them)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from app.deploy import release, service, systemd
from app.deploy.layout import DeployError, TierLayout, deploy_root, tier_lock
from app.deploy.process import clean_environ


def test_the_root_defaults_to_opt_helionyx_and_tiers_live_apart(tmp_path: Path) -> None:
    assert deploy_root({}) == Path("/opt/helionyx")
    assert deploy_root({"HELIONYX_DEPLOY_ROOT": str(tmp_path)}) == tmp_path
    staging = TierLayout(tmp_path, "staging")
    assert staging.env_file == tmp_path / "staging/shared/.env.staging"
    assert staging.log_file == tmp_path / "staging/shared/var/log/staging.log"


def test_current_is_switched_by_one_rename(tmp_path: Path) -> None:
    layout = TierLayout(tmp_path, "dev")
    first, second = layout.release("a" * 40), layout.release("b" * 40)
    for path in (first, second):
        path.mkdir(parents=True)
    layout.point(layout.current, first)
    assert layout.current_release() == first
    layout.point(layout.current, second)
    assert layout.current_release() == second
    assert layout.current.readlink() == Path("releases") / second.name  # relative: movable
    assert not layout.current.with_name("current.new").exists()
    layout.unpoint(layout.current)
    assert layout.current_release() is None


def test_pruning_keeps_three_and_never_current_or_previous(tmp_path: Path) -> None:
    layout = TierLayout(tmp_path, "dev")
    shas = [f"{n}" * 40 for n in range(6)]  # oldest first
    for n, sha in enumerate(shas):
        layout.release(sha).mkdir(parents=True)
        record = {"sha": sha, "built_at": f"2026-12-0{n + 1}T00:00:00.000+00:00"}
        (layout.release(sha) / release.RECORD).write_text(json.dumps(record))
    (layout.releases / f"{'9' * 40}.partial").mkdir()
    layout.point(layout.current, layout.release(shas[5]))
    layout.point(layout.previous, layout.release(shas[0]))
    removed = release.prune(layout)
    assert {path.name for path in removed} == {shas[1], shas[2], f"{'9' * 40}.partial"}
    assert {path.name for path in layout.releases.iterdir()} == {shas[0], *shas[3:]}


def test_two_commands_on_one_tier_never_interleave(tmp_path: Path) -> None:
    layout = TierLayout(tmp_path, "live")
    with tier_lock(layout, "deploy"):
        held = r"another command holds .*deploy\.lock \(pid \d+: deploy\)"
        with pytest.raises(DeployError, match=held), tier_lock(layout, "stop"):
            pass
        with tier_lock(TierLayout(tmp_path, "staging"), "deploy"):
            pass  # another tier: a lock of its own
    with tier_lock(layout, "stop"):
        pass


def test_a_release_never_sees_the_operators_helionyx_variables(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HELIONYX_DATABASE_URL", "postgresql+asyncpg://elsewhere/db")
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "123:abc")
    monkeypatch.setenv("ENV", "dev")
    monkeypatch.setenv("PYTHONPATH", "/somewhere")
    monkeypatch.setenv("LANG", "C.UTF-8")
    environ = clean_environ()
    assert not {"HELIONYX_DATABASE_URL", "TELEGRAM_BOT_TOKEN", "ENV", "PYTHONPATH"} & set(environ)
    assert environ["LANG"] == "C.UTF-8"


def test_the_detached_service_and_its_log(tmp_path: Path) -> None:
    layout = TierLayout(tmp_path, "staging")
    detached = service.DetachedService(layout)
    assert detached.logs_command(100, False) == ["tail", "-n", "100", str(layout.log_file)]
    assert detached.logs_command(5, True)[:4] == ["tail", "-n", "5", "-F"]
    assert not detached.running()


def test_systemd_command_lines() -> None:
    assert systemd.systemctl("stop", "helionyx", euid=0) == ["systemctl", "stop", "helionyx"]
    assert systemd.systemctl("start", "helionyx-dev", euid=1000) == [
        "sudo",
        "-n",
        "systemctl",
        "start",
        "helionyx-dev",
    ]
    assert systemd.journalctl("live", 50, True) == [
        "journalctl",
        "--unit",
        "helionyx",
        "--lines",
        "50",
        "--no-pager",
        "--follow",
    ]
    assert systemd.unit_file("staging") == Path("/etc/systemd/system/helionyx-staging.service")


def test_systemd_manages_the_tier_only_once_its_unit_is_installed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    layout = TierLayout(tmp_path, "live")
    monkeypatch.setattr(service, "systemd_is_pid1", lambda: True)
    monkeypatch.setattr(service, "unit_file", lambda tier: tmp_path / f"{tier}.service")
    assert isinstance(service.manager_for(layout), service.DetachedService)
    (tmp_path / "live.service").write_text("[Unit]\n")
    managed = service.manager_for(layout)
    assert isinstance(managed, systemd.SystemdService)
    assert managed.logs_command(10, False)[:3] == ["journalctl", "--unit", "helionyx"]
    assert managed.log_hint() == "journalctl -u helionyx"


def test_installing_a_unit_writes_it_reloads_and_enables(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    layout = TierLayout(tmp_path / "root", "staging")
    layout.tier_root.mkdir(parents=True)
    calls: list[list[str]] = []

    def run(command: list[str], **_: Any) -> subprocess.CompletedProcess[str]:
        calls.append(command)
        return subprocess.CompletedProcess(command, 0, "", "")

    monkeypatch.setattr(systemd, "UNIT_DIRECTORY", tmp_path)
    monkeypatch.setattr(systemd.subprocess, "run", run)
    monkeypatch.setattr(systemd.os, "geteuid", lambda: 1000)
    with pytest.raises(DeployError, match=r"needs root: `sudo make install-unit ENV=staging`"):
        systemd.install_unit(layout, user="helionyx", group=None, grace_period_s=10)
    assert calls == []

    monkeypatch.setattr(systemd.os, "geteuid", lambda: 0)
    said = systemd.install_unit(layout, user="helionyx", group=None, grace_period_s=10)
    unit = tmp_path / "helionyx-staging.service"
    assert said == f"installed {unit} (User=helionyx) and enabled it"
    assert f"WorkingDirectory={layout.tier_root}/current" in unit.read_text()
    assert calls == [["systemctl", "daemon-reload"], ["systemctl", "enable", "helionyx-staging"]]
    again = systemd.install_unit(layout, user="helionyx", group=None, grace_period_s=10)
    assert again == f"{unit} is up to date" and len(calls) == 2
