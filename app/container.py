"""The composition root: the only place that builds engines, repositories and services.

Built from the validated tier settings (config/base.yaml + config/<tier>.yaml + the
environment). Tests build one per test and swap providers with `override()`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from dependency_injector import containers, providers
from sqlalchemy.engine import make_url

from app.api.auth_throttle import AuthThrottle
from app.audit import QuietAudit
from app.bot.client import build_bot, build_notifications, build_telegram
from app.health import Readiness
from app.metrics import Metrics
from app.settings import LlmSettings, Settings
from domain.clock import SystemClock, zone_named
from domain.conversation import ConversationService
from domain.event_log import EventLog
from domain.extraction import Extractor
from domain.ingest import IngestService
from domain.log_guard import IntegrityService, WriteGuard
from domain.objects_service import ObjectsService
from domain.rules_extractor import RulesExtractor
from infrastructure.backends import Backend, backend_for
from infrastructure.database import create_engine
from infrastructure.digest_file import DigestFiles
from infrastructure.group_commit import GroupCommit
from infrastructure.log_facts import SqlLogFacts
from infrastructure.log_file.markdown import markdown_export
from infrastructure.migrate import head_revision
from infrastructure.unit_of_work import SqlUnitOfWorkFactory

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable
    from datetime import datetime, tzinfo

    from fastapi import FastAPI
    from sqlalchemy.ext.asyncio import AsyncEngine

    from domain.event_log import ChainVerification
    from domain.notifications import NotificationService


def build_extractor(llm: LlmSettings, rules: RulesExtractor) -> Extractor:
    """The LLM extractor when one is configured, falling back to the rules; else the rules."""
    if not llm.enabled:
        return rules
    # Imported here, as the HTTP app below: operator commands build this container too,
    # and need neither (their imports cost ~0.25 s of every command's start).
    from infrastructure.extractors.llm import OpenAICompatibleExtractor

    api_key = llm.api_key.get_secret_value() if llm.api_key is not None else None
    return OpenAICompatibleExtractor(
        base_url=llm.base_url or "",
        api_key=api_key,
        model=llm.model or "",
        timeout_s=llm.timeout_s,
        fallback=rules,
    )


def build_digest_files(settings: Settings) -> DigestFiles:
    key = settings.integrity.digest_key
    return DigestFiles(
        settings.digest_dir, key.get_secret_value().encode() if key is not None else None
    )


def build_chain_verification(
    backend: Backend, url: str, engine: AsyncEngine, event_log: EventLog
) -> ChainVerification:
    return backend.chain_verification(make_url(url), engine, event_log)


def reminders_of(
    service: NotificationService | None,
) -> Callable[[datetime], Awaitable[str]] | None:
    """What /reminders answers: nothing is pushed without the bot, so then nothing."""
    return None if service is None else service.reminders


def markdown_for_chat(
    uow_factory: SqlUnitOfWorkFactory, clock: SystemClock, zone: tzinfo
) -> Callable[[], Awaitable[bytes]]:
    """What /export sends: the Markdown export, whole (the read models, not the log)."""

    async def export() -> bytes:
        return b"".join([chunk async for chunk in markdown_export(uow_factory, clock, zone=zone)])

    return export


def create_http_app(container: Container) -> FastAPI:
    from app.api.app import create_app

    return create_app(container)


class Container(containers.DeclarativeContainer):
    __self__ = providers.Self()
    settings = providers.Dependency(instance_of=Settings)

    clock = providers.Singleton(SystemClock)
    metrics = providers.Singleton(Metrics)
    # What anyone can repeat at will is audited quietly, and bearer guessing is locked out;
    # both remember at most `tracked_addresses` sources.
    quiet_audit = providers.Singleton(
        QuietAudit,
        every_s=settings.provided.logging.audit_every_s,
        max_sources=settings.provided.api.tracked_addresses,
    )
    auth_throttle = providers.Singleton(
        AuthThrottle,
        max_failures=settings.provided.api.max_failures,
        window_s=settings.provided.api.failure_window_s,
        lockout_s=settings.provided.api.lockout_s,
        max_addresses=settings.provided.api.tracked_addresses,
    )
    # The backend the database URL names: its engine, unit of work and verification.
    backend = providers.Singleton(backend_for, settings.provided.database_url)
    engine = providers.Singleton(create_engine, settings.provided.database_url)
    # Closed to writes while the log contradicts its anchors (domain/log_guard.py).
    write_guard = providers.Singleton(WriteGuard)
    uow_factory = providers.Singleton(
        SqlUnitOfWorkFactory,
        engine=engine,
        clock=clock,
        on_appended=metrics.provided.on_appended,
        guard=write_guard,
    )
    # Group commit: concurrent single messages share one transaction and one commit.
    writes = providers.Singleton(GroupCommit, uow_factory=uow_factory)

    rules_extractor = providers.Singleton(RulesExtractor)
    extractor = providers.Singleton(build_extractor, settings.provided.llm, rules_extractor)
    # The owner's time zone: what "today" and "9am" mean, in the chat and in reminders.
    owner_zone = providers.Singleton(zone_named, settings.provided.notifications.timezone)
    ingest_service = providers.Singleton(
        IngestService,
        uow_factory=uow_factory,
        extractor=extractor,
        clock=clock,
        writes=writes,
        zone=owner_zone,
    )
    telegram_bot = providers.Singleton(build_bot, settings.provided.telegram)
    notification_service = providers.Singleton(
        build_notifications,
        telegram_bot,
        settings.provided.telegram,
        settings.provided.notifications,
        uow_factory,
        clock,
    )
    conversation_service = providers.Singleton(
        ConversationService,
        uow_factory=uow_factory,
        ingest=ingest_service,
        clock=clock,
        zone=owner_zone,
        reminders=providers.Singleton(reminders_of, notification_service),
        export=providers.Singleton(markdown_for_chat, uow_factory, clock, owner_zone),
    )
    objects_service = providers.Singleton(ObjectsService, uow_factory=uow_factory, zone=owner_zone)
    event_log = providers.Singleton(EventLog, uow_factory=uow_factory)
    # `make verify`, backups and restores: the backend's own check of the chain.
    chain_verification = providers.Singleton(
        build_chain_verification, backend, settings.provided.database_url, engine, event_log
    )

    integrity = providers.Singleton(
        IntegrityService,
        facts=providers.Singleton(SqlLogFacts, engine),
        digests=providers.Singleton(build_digest_files, settings),
        chain=chain_verification,
        clock=clock,
        guard=write_guard,
    )

    telegram = providers.Singleton(
        build_telegram,
        settings=settings.provided.telegram,
        bot=telegram_bot,
        conversation=conversation_service,
        notifications=notification_service,
        notify_every_s=settings.provided.notifications.check_every_s,
        on_update=metrics.provided.telegram_update,
        audit=quiet_audit,
    )

    readiness = providers.Singleton(
        Readiness,
        engine=engine,
        tier=settings.provided.tier,
        guard=write_guard,
        writes=uow_factory.provided.health,
        expected_revision=providers.Callable(head_revision),
    )
    http_app = providers.Singleton(create_http_app, container=__self__)


def build_container(settings: Settings) -> Container:
    return Container(settings=settings)


async def close_container(container: Container) -> None:
    """Release what the container opened (an engine connects lazily, so this is cheap).
    Queued writes are committed before the engine goes."""
    await container.ingest_service().close()
    await container.engine().dispose()
    close_extractor = getattr(container.extractor(), "aclose", None)
    if close_extractor is not None:
        await close_extractor()
    bot = container.telegram_bot()
    if bot is not None:
        await bot.session.close()
