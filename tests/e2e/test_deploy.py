"""`make deploy` as the owner runs it on their host: a git checkout, a deploy root of the
test's own, the service as a detached process, PostgreSQL for staging and live.

The first release of the session installs its venv with pip from requirements.lock (about
a minute, once: `seed`); every other first deploy hard-links that venv (`VENV_FROM=`),
and an upgrade with the same lock hard-links its previous release's. All the tests share
one xdist worker, so the venv is installed once per run.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from app.deploy.layout import TierLayout
from app.run_file import read_run_file
from infrastructure.migrate import head_revision
from tests.conftest import fresh_postgres_database
from tests.e2e.deploy_support import (
    Host,
    all_events,
    client,
    clone,
    commit,
    env_file,
    git,
    migration,
    ready,
    snapshot_of_this_checkout,
)

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("deploy")]

MAIN = "app/main.py"
ENTRY = "def main(argv: list[str] | None = None) -> int:\n"
PROBE = migration(
    "20990101_0001",
    head_revision(),
    upgrade='op.create_table("deploy_probe", sa.Column("id", sa.Integer, primary_key=True))',
    downgrade='op.drop_table("deploy_probe")',
)
FAILING = migration(
    "20990101_0002",
    "20990101_0001",
    upgrade='raise RuntimeError("this migration fails on purpose")',
    downgrade="pass",
)


def broken_main(checkout: Path, body: str) -> dict[str, str | None]:
    """app/main.py with `body` run first thing in main()."""
    text = (checkout / MAIN).read_text(encoding="utf-8")
    assert ENTRY in text
    return {MAIN: text.replace(ENTRY, ENTRY + body, 1)}


NEVER_READY = "    import time\n\n    time.sleep(3600)  # broken on purpose: never ready\n"
EXITS_AT_ONCE = "    return 1  # broken on purpose: exits at start\n"


@pytest.fixture(scope="session")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return snapshot_of_this_checkout(tmp_path_factory.mktemp("source"))


@pytest.fixture(scope="session")
def seed(tmp_path_factory: pytest.TempPathFactory, source: Path) -> Path:
    """A first deploy with a venv made by pip: the release whose venv the others link."""
    host = Host(tmp_path_factory.mktemp("seed-root"))
    checkout = clone(source, tmp_path_factory.mktemp("seed") / "checkout")
    port, text = env_file()
    (checkout / ".env.dev").write_text(text)
    try:
        started = time.monotonic()
        done = host.make(checkout, "deploy", "dev")
        assert done.returncode == 0, done.stdout + done.stderr
        assert "venv installed from requirements.lock" in done.stdout
        assert ready(port)
        print(f"\nseed: a first deploy with pip install took {time.monotonic() - started:.1f} s")
    finally:
        host.stop_all()
    release = host.layout("dev").current_release()
    assert release is not None
    return release


@pytest.fixture
def host(tmp_path: Path, seed: Path) -> Iterator[Host]:
    deployed = Host(tmp_path / "deploy root", venv_from=seed)
    try:
        yield deployed
    finally:
        deployed.stop_all()


@pytest.fixture
def checkout(tmp_path: Path, source: Path) -> Path:
    return clone(source, tmp_path / "checkout")


@pytest.fixture
async def other_postgres_url() -> AsyncIterator[str]:
    async with fresh_postgres_database() as url:
        yield url


def ingest(port: int, text: str, count: int) -> list[int]:
    """`count` messages; the seqs acknowledged."""
    with client(port) as http:
        answers = [
            http.post("/api/v1/ingest/message", json={"text": f"{text} {n}"}) for n in range(count)
        ]
    assert all(answer.status_code == 201 for answer in answers), [a.text for a in answers]
    return [answer.json()["seq"] for answer in answers]


def state(port: int) -> dict[str, object]:
    with client(port) as http:
        answer = http.get("/api/v1/state")
    assert answer.status_code == 200, answer.text
    return answer.json()


def revision(port: int) -> object:
    database = state(port)["database"]
    assert isinstance(database, dict)
    return database["revision"]


def serving_pid(layout: TierLayout, port: int) -> int:
    info = read_run_file(layout.var / layout.tier / f"helionyx-{port}.pid")
    assert info is not None and info.alive
    return info.pid


def releases_of(layout: TierLayout) -> set[str]:
    return {path.name for path in layout.releases.iterdir()}


@pytest.mark.postgres
def test_staging_deploys_again_upgrades_and_survives_a_broken_upgrade(
    host: Host, checkout: Path, postgres_url: str
) -> None:
    port, text = env_file(postgres_url)
    (checkout / ".env.staging").write_text(text)
    layout = host.layout("staging")
    first_sha = git(checkout, "rev-parse", "HEAD")

    first = host.make(checkout, "deploy", "staging")
    assert first.returncode == 0, first.stdout + first.stderr
    assert "(first deploy)" in first.stdout and "venv hard-linked from" in first.stdout
    assert layout.current_release() == layout.release(first_sha)
    assert_laid_out(layout, text)
    acknowledged = ingest(port, "before the upgrade", 3)

    pid = serving_pid(layout, port)
    again = host.make(checkout, "deploy", "staging")
    assert again.returncode == 0, again.stdout + again.stderr
    assert again.stdout.strip() == f"already deployed: {first_sha[:12]}, nothing changed"
    assert serving_pid(layout, port) == pid
    assert releases_of(layout) == {first_sha} and not (layout.var / "backups").exists()

    upgrade_sha = commit(checkout, "a table for the deploy test", PROBE)
    upgrade = host.make(checkout, "deploy", "staging")
    assert upgrade.returncode == 0, upgrade.stdout + upgrade.stderr
    assert f"venv hard-linked from {layout.release(first_sha)}" in upgrade.stdout
    assert revision(port) == "20990101_0001"
    assert layout.previous_release() == layout.release(first_sha)
    assert [event["seq"] for event in all_events(port)][:3] == acknowledged
    assert list(layout.backups.glob("*.manifest.json"))
    assert f"backup: {layout.backups}/" in upgrade.stdout
    verified = host.cli("staging", "verify")
    assert verified.returncode == 0 and "chain intact: 3 events" in verified.stdout

    ingest(port, "after the upgrade", 2)
    before = all_events(port)
    broken_sha = commit(checkout, "never ready", broken_main(checkout, NEVER_READY))
    broken = host.make(checkout, "deploy", "staging", DEPLOY_TIMEOUT="5")
    assert broken.returncode != 0 and "Error 3" in broken.stderr
    assert f"deploy of {broken_sha[:12]} to staging: readiness failed" in broken.stderr
    assert f"the previous release {upgrade_sha[:12]} is serving" in broken.stderr
    assert "Traceback" not in broken.stderr
    assert layout.current_release() == layout.release(upgrade_sha)
    assert layout.release(broken_sha).is_dir()  # kept for inspection
    assert ready(port) and revision(port) == "20990101_0001"
    assert all_events(port) == before  # every acknowledged event, every column
    assert host.cli("staging", "verify").returncode == 0

    stop = host.make(checkout, "stop", "staging")
    assert stop.returncode == 0, stop.stdout + stop.stderr
    assert "has stopped" in stop.stdout
    assert not ready(port)
    last_run = layout.log_file.read_text().split("received SIGTERM: draining")[-1]
    assert "shutdown complete" in last_run


def assert_laid_out(layout: TierLayout, env_text: str) -> None:
    release = layout.current_release()
    assert release is not None
    assert layout.env_file.read_text() == env_text
    assert layout.env_file.stat().st_mode & 0o777 == 0o600
    assert layout.log_file.stat().st_mode & 0o777 == 0o600
    for directory in (layout.tier_root, layout.releases, layout.shared, layout.var, release):
        assert directory.stat().st_mode & 0o777 == 0o700, directory
    assert (release / "var").readlink() == Path("../../shared/var")
    assert (release / f".env.{layout.tier}").resolve() == layout.env_file
    assert (release / "RELEASE.json").is_file() and (release / ".venv/bin/python").exists()


def test_a_failed_migration_and_a_service_that_exits_are_rolled_back(
    host: Host, checkout: Path
) -> None:
    port, text = env_file()
    (checkout / ".env.dev").write_text(text)
    layout = host.layout("dev")
    first_sha = git(checkout, "rev-parse", "HEAD")
    assert host.make(checkout, "deploy", "dev").returncode == 0
    ingest(port, "on dev", 2)
    before = all_events(port)
    old_head = head_revision()

    migrating_sha = commit(checkout, "a migration that fails", {**PROBE, **FAILING})
    failed = host.make(checkout, "deploy", "dev")
    assert failed.returncode != 0 and "Error 3" in failed.stderr
    assert f"deploy of {migrating_sha[:12]} to dev: migrate failed" in failed.stderr
    assert "RuntimeError: this migration fails on purpose" in failed.stderr
    assert f"rollback: schema back at {old_head}" in failed.stderr
    assert f"the previous release {first_sha[:12]} is serving" in failed.stderr
    assert ready(port) and revision(port) == old_head
    with sqlite3.connect(layout.var / "dev" / "helionyx.db") as database:
        tables = {row[0] for row in database.execute("SELECT name FROM sqlite_master")}
    assert "deploy_probe" not in tables and "events" in tables
    assert all_events(port) == before

    without = {name: None for name in (*PROBE, *FAILING)}
    exiting_sha = commit(checkout, "exits", {**without, **broken_main(checkout, EXITS_AT_ONCE)})
    exits = host.make(checkout, "deploy", "dev")
    assert exits.returncode != 0
    assert (
        f"deploy of {exiting_sha[:12]} to dev: start failed: the service exited with status 1"
        in exits.stderr
    )
    assert "schema back" not in exits.stderr
    assert layout.current_release() == layout.release(first_sha)
    assert ready(port) and all_events(port) == before

    original = (host.layout("dev").release(first_sha) / MAIN).read_text()
    fixed_sha = commit(checkout, "fixed", {MAIN: original})
    assert host.make(checkout, "deploy", "dev").returncode == 0
    assert layout.previous_release() == layout.release(first_sha)
    assert releases_of(layout) == {first_sha, migrating_sha, exiting_sha, fixed_sha}
    later_sha = commit(checkout, "a later one", {"docs/NOTE.md": "a change\n"})
    later = host.make(checkout, "deploy", "dev")
    assert later.returncode == 0, later.stdout + later.stderr
    # The last three, current and previous among them; the two oldest pruned.
    assert releases_of(layout) == {exiting_sha, fixed_sha, later_sha}
    assert f"prune: removed releases/{first_sha}" in later.stdout
    assert all_events(port) == before

    with sqlite3.connect(layout.var / "dev" / "helionyx.db") as database:
        database.execute("DROP TRIGGER events_reject_update")
        database.execute('UPDATE events SET payload = \'{"text": "edited"}\' WHERE seq = 1')
    commit(checkout, "refused", {"docs/NOTE.md": "another change\n"})
    refused = host.make(checkout, "deploy", "dev")
    assert refused.returncode != 0
    assert "`make verify` fails on the dev database (exit 1)" in refused.stderr
    assert "nothing was changed" in refused.stderr and "Traceback" not in refused.stderr
    assert layout.current_release() == layout.release(later_sha) and ready(port)


@pytest.mark.postgres
def test_three_tiers_side_by_side(
    host: Host, checkout: Path, postgres_url: str, other_postgres_url: str
) -> None:
    databases = {"dev": None, "staging": postgres_url, "live": other_postgres_url}
    ports = {}
    for tier, url in databases.items():
        ports[tier], text = env_file(url)
        (checkout / f".env.{tier}").write_text(text)
    first_sha = git(checkout, "rev-parse", "HEAD")
    for tier in databases:
        done = host.make(checkout, "deploy", tier)
        assert done.returncode == 0, done.stdout + done.stderr
    for count, tier in enumerate(databases, start=1):
        ingest(ports[tier], f"said on {tier}", count)
    for count, tier in enumerate(databases, start=1):
        assert state(ports[tier])["environment"] == tier
        texts = {str(event["payload"]) for event in all_events(ports[tier])}
        assert len(texts) == count and all(f"said on {tier}" in text for text in texts)
    assert {path.name for path in host.root.iterdir()} == set(databases)
    for tier in databases:
        others = set(databases) - {tier}
        for path in host.layout(tier).shared.rglob("*"):
            assert not others & set(path.relative_to(host.root / tier).parts), path
    pids = {tier: serving_pid(host.layout(tier), ports[tier]) for tier in databases}

    stop = host.make(checkout, "stop", "staging")
    assert stop.returncode == 0, stop.stdout + stop.stderr
    assert "received SIGTERM: draining" in host.layout("staging").log_file.read_text()
    assert not ready(ports["staging"])
    for tier in ("dev", "live"):
        assert ready(ports[tier]) and serving_pid(host.layout(tier), ports[tier]) == pids[tier]
    status = host.make(checkout, "status", "staging")
    assert status.returncode == 0, status.stdout + status.stderr
    assert f"release {first_sha}" in status.stdout and "not running" in status.stdout

    commit(checkout, "exits", broken_main(checkout, EXITS_AT_ONCE))
    rolled_back = host.make(checkout, "deploy", "live")
    assert rolled_back.returncode != 0
    assert f"the previous release {first_sha[:12]} is serving" in rolled_back.stderr
    assert ready(ports["live"]) and ready(ports["dev"]) and not ready(ports["staging"])
    assert serving_pid(host.layout("dev"), ports["dev"]) == pids["dev"]

    start = host.make(checkout, "start", "staging")
    assert start.returncode == 0, start.stdout + start.stderr
    assert ready(ports["staging"]) and len(all_events(ports["staging"])) == 2
    restart = host.make(checkout, "restart", "dev")
    assert restart.returncode == 0, restart.stdout + restart.stderr
    assert serving_pid(host.layout("dev"), ports["dev"]) != pids["dev"]
    logs = host.make(checkout, "logs", "live", LINES="5")
    assert logs.returncode == 0 and len(logs.stdout.splitlines()) == 5


def test_a_dirty_checkout_or_a_missing_env_file_is_refused(tmp_path: Path, checkout: Path) -> None:
    host = Host(tmp_path / "deploy root")
    (checkout / "notes.txt").write_text("not committed\n")
    dirty = host.make(checkout, "deploy", "dev")
    assert dirty.returncode != 0
    assert "has uncommitted changes (notes.txt): commit them first" in dirty.stderr
    assert not host.layout("dev").releases.exists()

    (checkout / "notes.txt").unlink()
    missing = host.make(checkout, "deploy", "staging")
    assert missing.returncode != 0
    assert f"no {host.layout('staging').env_file}" in missing.stderr
    assert "`make setup ENV=staging`" in missing.stderr
    assert not host.layout("staging").releases.exists() or not any(
        host.layout("staging").releases.iterdir()
    )
    for result in (dirty, missing):
        assert "Traceback" not in result.stderr and len(result.stderr.splitlines()) <= 2
