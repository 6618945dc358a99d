"""The service entrypoint: `python -m app.main --env dev` (what `make run` calls).

Startup is deterministic: configuration, logging, container, database check, app, serve.
SIGTERM or SIGINT: stop accepting, let in-flight requests finish within the grace
period, stop the bot, close the database, exit 0. A second signal forces the exit.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys
from collections.abc import Iterator

import uvicorn

import app as package
from app.audit import audit
from app.config import TIERS, ConfigError, load_settings
from app.container import build_container, close_container
from app.file_modes import exposed, keep_private
from app.logging_setup import configure_logging
from app.run_file import remove_run_file, run_file_path, running_instance, write_run_file
from app.settings import Settings
from domain.log_guard import IntegrityService
from infrastructure.connection_problems import explain
from infrastructure.database import describe, url_passwords
from infrastructure.migrate import startup_warning

log = logging.getLogger("helionyx.main")

EXIT_CONFIG = 2
EXIT_DATABASE = 3
EXIT_RUNNING = 4


class Server(uvicorn.Server):
    """uvicorn, minus its habit of re-raising the signal after a graceful stop (exit 143)."""

    draining_hook = staticmethod(lambda: None)
    started_hook = staticmethod(lambda: None)

    async def startup(self, sockets: list | None = None) -> None:
        await super().startup(sockets)
        if self.started:  # listening: only now may `status` call it running
            self.started_hook()

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self._on_signal, sig)
        try:
            yield
        finally:
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.remove_signal_handler(sig)

    def _on_signal(self, sig: signal.Signals) -> None:
        if self.should_exit:
            log.warning("second %s: forcing exit", sig.name)
            self.force_exit = True
            return
        log.info("received %s: draining, then shutting down", sig.name)
        self.draining_hook()
        self.should_exit = True


def secrets_of(settings: Settings) -> list[str]:
    values = [
        settings.api.token,
        settings.telegram.bot_token,
        settings.telegram.webhook_secret,
        settings.llm.api_key,
        settings.integrity.digest_key,
    ]
    found = [value.get_secret_value() for value in values if value is not None]
    return (
        found
        + url_passwords(settings.database_url)
        + url_passwords(settings.migration_database_url)
    )


async def serve(settings: Settings) -> int:
    if (other := running_instance(run_file_path(settings))) is not None:
        log.error(
            "already running as pid %d on %s:%d (%s): stop it first with `make stop ENV=%s`",
            other.pid,
            other.host,
            other.port,
            run_file_path(settings),
            settings.tier,
        )
        return EXIT_RUNNING
    container = build_container(settings)
    log.info("container built")
    readiness = container.readiness()
    try:
        state = await readiness.state()
    except Exception as e:
        log.error("refusing to start: %s", explain(e, settings.database_url, tier=settings.tier))
        await close_container(container)
        return EXIT_DATABASE
    report = await readiness.check()
    if not report.ready:
        for name, result in report.checks.items():
            if result != "ok":
                log.error("refusing to start: %s: %s", name, result)
        await close_container(container)
        return EXIT_DATABASE
    head = await container.event_log().head()
    log.info(
        "database ok: %s, revision %s, head seq %d",
        describe(settings.database_url),
        state.revision,
        head.last_seq,
    )
    if (role_warning := await startup_warning(container.engine())) is not None:
        log.warning("%s", role_warning)
    integrity = container.integrity()
    try:
        await integrity.start_check()  # a contradicted log stays readable, closed to writes
        await integrity.write_digest("start")
    except Exception as e:
        log.error("cannot check the log against its digests in %s: %s", settings.digest_dir, e)
        await close_container(container)
        return EXIT_DATABASE
    watch = [
        asyncio.create_task(integrity.background_audit(), name="integrity audit"),
        asyncio.create_task(
            integrity.keep_digests(
                every_events=settings.integrity.digest_every_events,
                every_s=settings.integrity.digest_every_s,
            ),
            name="digests",
        ),
    ]

    http_app = container.http_app()
    config = uvicorn.Config(
        http_app,
        host=settings.service.host,
        port=settings.service.port,
        log_config=None,
        access_log=False,
        server_header=False,
        lifespan="on",
        timeout_graceful_shutdown=int(max(1, settings.service.grace_period_s)),
        # uvicorn answers 503 to a request once `limit_concurrency` connections are open,
        # counting the one asking (h11_impl.py): one more, so that max_connections are
        # served. Connections still sending their headers count too; uvicorn has no
        # header timeout (docs/OPERATIONS.md, slow and excess clients).
        limit_concurrency=settings.service.max_connections + 1,
    )
    server = Server(config)

    def drain() -> None:
        readiness.draining = True
        container.telegram().request_stop()

    server.draining_hook = drain
    run_file = run_file_path(settings)

    def announce() -> None:
        try:
            write_run_file(run_file, host=settings.service.host, port=settings.service.port)
        except OSError as e:  # only `status` needs it: serve on
            log.warning("could not write the run file %s (%s)", run_file, type(e).__name__)
        audit(
            "service.started",
            "done",
            tier=settings.tier,
            host=settings.service.host,
            port=settings.service.port,
            version=package.__version__,
        )

    server.started_hook = announce
    log.info(
        "serving on http://%s:%d (tier %s)",
        settings.service.host,
        settings.service.port,
        settings.tier,
    )
    try:
        await server.serve()
    except SystemExit as e:  # uvicorn exits on startup failures such as a busy port
        log.error("the server could not start (exit %s)", e.code)
        await _stop(watch)
        await close_container(container)
        return int(e.code or 1)
    finally:
        remove_run_file(run_file)
    await _stop(watch)
    await container.ingest_service().close()  # what is still queued, before the last digest
    await _last_digest(integrity)
    await close_container(container)
    log.info("database closed")
    return 0


async def _stop(tasks: list[asyncio.Task]) -> None:
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


async def _last_digest(integrity: IntegrityService) -> None:
    try:
        digest = await integrity.write_digest("shutdown", force=True)
    except Exception as e:  # the log is safe; only this anchor is missing
        log.error("could not write the shutdown digest: %s", e)
        return
    if digest is not None:
        log.info("digest written: seq %d, hash %s", digest.seq, digest.hash)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="helionyx", description="Run the Helionyx service.")
    parser.add_argument(
        "--env", choices=None, help=f"tier: {', '.join(TIERS)} (default: $ENV or dev)"
    )
    args = parser.parse_args(argv)
    keep_private()  # before anything is created: the database, its WAL, digests, run file
    try:
        settings = load_settings(args.env)
    except ConfigError as e:
        print(f"helionyx: {e}", file=sys.stderr)
        return EXIT_CONFIG
    configure_logging(
        tier=settings.tier,
        level=settings.logging.level,
        fmt=settings.logging.format,
        secrets=secrets_of(settings),
    )
    for problem in exposed(settings):
        if settings.tier == "live":
            log.error("refusing to start: %s", problem)
        else:
            log.warning("%s (live refuses to start on this)", problem)
    if settings.tier == "live" and exposed(settings):
        return EXIT_CONFIG
    log.info(
        "helionyx %s starting: tier %s, port %d",
        package.__version__,
        settings.tier,
        settings.service.port,
    )
    code = asyncio.run(serve(settings))
    audit(
        "service.stopped", "done" if code == 0 else "failed", tier=settings.tier, exit_status=code
    )
    if code == 0:
        log.info("shutdown complete")
    else:
        log.error("stopped with exit status %d", code)
    return code


if __name__ == "__main__":
    sys.exit(main())
