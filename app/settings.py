"""The typed shape of the configuration, validated once at startup."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator
from sqlalchemy.engine import make_url

from infrastructure.backends import backend_for
from infrastructure.database import describe


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ServiceSettings(_Section):
    host: str
    port: int = Field(ge=1, le=65535)
    grace_period_s: float = Field(gt=0, le=300)
    max_body_bytes: int = Field(gt=0)
    # The longest wait for the next part of a request body (408 after it), and the most
    # connections served at once (503 beyond): docs/OPERATIONS.md, slow and excess clients.
    body_timeout_s: float = Field(default=10, gt=0, le=300)
    max_connections: int = Field(default=200, ge=1, le=10_000)


class DatabaseSettings(_Section):
    url: SecretStr
    # The table owner's URL, for migrations (and a PostgreSQL restore); None: the same as
    # `url`. The service's own role must not own the event log: the owner can always
    # disable its triggers (docs/OPERATIONS.md, PostgreSQL roles).
    migration_url: SecretStr | None = None

    @field_validator("url", "migration_url")
    @classmethod
    def _known_driver(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None:
            return None
        try:
            url = make_url(value.get_secret_value())
        except Exception:
            raise ValueError("not a database URL") from None
        if url.drivername not in ("sqlite+aiosqlite", "postgresql+asyncpg"):
            raise ValueError("use sqlite+aiosqlite:///PATH or postgresql+asyncpg://...")
        return value

    @model_validator(mode="after")
    def _migration_url_matches(self) -> DatabaseSettings:
        if self.migration_url is None:
            return self
        runtime = make_url(self.url.get_secret_value())
        owner = make_url(self.migration_url.get_secret_value())
        if backend_for(owner) is not backend_for(runtime):
            raise ValueError(
                f"HELIONYX_MIGRATION_DATABASE_URL is {backend_for(owner).title} "
                f"but HELIONYX_DATABASE_URL is {backend_for(runtime).title}: "
                "migrations must run on the database the service uses (for PostgreSQL, "
                "postgresql+asyncpg://OWNER:PASSWORD@HOST/DATABASE, the tables' owner)"
            )
        if owner.database != runtime.database:
            raise ValueError(
                f"HELIONYX_MIGRATION_DATABASE_URL names the database {owner.database!r} but "
                f"HELIONYX_DATABASE_URL names {runtime.database!r}: both must name the same "
                "database (the migration URL only connects as another role)"
            )
        return self


class ApiSettings(_Section):
    token: SecretStr
    # Failed bearer attempts: `max_failures` from one address within `failure_window_s`
    # lock it out (429) for `lockout_s` (app/api/auth_throttle.py).
    max_failures: int = Field(default=10, ge=1)
    failure_window_s: float = Field(default=60, gt=0)
    lockout_s: float = Field(default=60, gt=0)
    tracked_addresses: int = Field(default=10_000, ge=1)

    @field_validator("token")
    @classmethod
    def _long_enough(cls, value: SecretStr) -> SecretStr:
        if len(value.get_secret_value()) < 8:
            raise ValueError("the API token must be at least 8 characters")
        return value


class LoggingSettings(_Section):
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"]
    format: Literal["human", "json"]
    # Audit lines anyone can cause (a wrong token): one per source this often (app/audit.py).
    audit_every_s: float = Field(default=60, gt=0)

    @field_validator("level", mode="before")
    @classmethod
    def _upper(cls, value: Any) -> Any:
        return value.upper() if isinstance(value, str) else value


class TelegramSettings(_Section):
    mode: Literal["off", "polling", "webhook"]
    bot_token: SecretStr | None = None
    owner_chat_id: int | None = None
    api_base: str
    webhook_url: str | None = None
    webhook_secret: SecretStr | None = None

    @model_validator(mode="before")
    @classmethod
    def _auto_mode(cls, data: Any) -> Any:
        """`auto` (dev's default): polling once a bot token is given, off until then."""
        if isinstance(data, dict) and data.get("mode") == "auto":
            data = {**data, "mode": "polling" if data.get("bot_token") else "off"}
        return data

    @property
    def enabled(self) -> bool:
        return self.mode != "off"

    @model_validator(mode="after")
    def _complete_when_on(self) -> TelegramSettings:
        if not self.enabled:
            return self
        token = self.bot_token.get_secret_value() if self.bot_token else ""
        if not token:  # never a bot that is silently off while the mode says it is on
            raise ValueError(
                f"TELEGRAM_MODE is {self.mode} but TELEGRAM_BOT_TOKEN is empty: "
                "set the bot token, or TELEGRAM_MODE=off to run without the bot"
            )
        if not re.fullmatch(r"\d+:[A-Za-z0-9_-]{20,}", token):
            raise ValueError("TELEGRAM_BOT_TOKEN does not look like a bot token (digits:secret)")
        if self.owner_chat_id is None:
            raise ValueError(
                "TELEGRAM_OWNER_CHAT_ID is required when the bot is on: only "
                "the owner's chat is served"
            )
        if self.mode == "webhook":
            if not self.webhook_url or not self.webhook_url.startswith("https://"):
                raise ValueError("TELEGRAM_WEBHOOK_URL (https://...) is required in webhook mode")
            secret = self.webhook_secret.get_secret_value() if self.webhook_secret else ""
            if not re.fullmatch(r"[A-Za-z0-9_-]{16,256}", secret):
                raise ValueError(
                    "TELEGRAM_WEBHOOK_SECRET is required in webhook mode: 16 to "
                    "256 characters of A-Z, a-z, 0-9, _ and -"
                )
        return self


class NotificationSettings(_Section):
    enabled: bool
    timezone: str
    waking_start_hour: int = Field(ge=0, le=23)
    waking_end_hour: int = Field(ge=1, le=24)
    daily_summary_hour: int = Field(ge=0, le=23)
    check_every_s: float = Field(gt=0)
    # The longest a reminder's sendMessage may take before it counts as failed and is
    # retried (domain/notification_policy.py); under the 120 s taken as a lost send.
    send_timeout_s: float = Field(default=15, gt=0, lt=120)


class LlmSettings(_Section):
    base_url: str | None = None
    api_key: SecretStr | None = None
    model: str | None = None
    timeout_s: float = Field(default=20, gt=0)

    @property
    def enabled(self) -> bool:
        return bool(self.base_url and self.model)


class IntegritySettings(_Section):
    """Digests of the log's head, written outside the database (domain/integrity.py)."""

    digest_dir: Path | None = None  # default: var/<tier>/digests under the project root
    digest_key: SecretStr | None = None  # HMAC key for the digests, optional
    digest_every_events: int = Field(default=1000, ge=1)
    digest_every_s: float = Field(default=300, gt=0)

    @field_validator("digest_key")
    @classmethod
    def _long_enough(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value()) < 16:
            raise ValueError("HELIONYX_DIGEST_KEY must be at least 16 characters")
        return value


class Settings(_Section):
    tier: Literal["dev", "staging", "live"]
    root: Path
    service: ServiceSettings
    database: DatabaseSettings
    api: ApiSettings
    logging: LoggingSettings
    telegram: TelegramSettings
    notifications: NotificationSettings
    llm: LlmSettings
    integrity: IntegritySettings = IntegritySettings()

    @model_validator(mode="after")
    def _tier_rules(self) -> Settings:
        backend = backend_for(self.database.url.get_secret_value())
        if self.tier not in backend.tiers:
            raise ValueError(
                f"{self.tier} does not run on {backend.title}, only on "
                "PostgreSQL: set HELIONYX_DATABASE_URL to "
                "postgresql+asyncpg://..."
            )
        return self

    @property
    def database_url(self) -> str:
        """The URL to connect with; a relative SQLite path is taken from the project root."""
        return self._rooted(self.database.url)

    @property
    def migration_database_url(self) -> str:
        """The URL migrations run on, as the tables' owner: HELIONYX_MIGRATION_DATABASE_URL,
        or the service's own URL when that is not set (one role for both)."""
        if self.database.migration_url is None:
            return self.database_url
        return self._rooted(self.database.migration_url)

    def _rooted(self, secret: SecretStr) -> str:
        """A database file named by a relative path is taken from the project root."""
        url = make_url(secret.get_secret_value())
        path = backend_for(url).database_file(url)
        if path is not None and not path.is_absolute() and url.database == str(path):
            url = url.set(database=str(self.root / path))
        return url.render_as_string(hide_password=False)

    @property
    def digest_dir(self) -> Path:
        found = self.integrity.digest_dir or Path("var") / self.tier / "digests"
        return found if found.is_absolute() else self.root / found

    @property
    def dialect(self) -> str:
        return make_url(self.database.url.get_secret_value()).get_backend_name()

    def redacted(self) -> dict[str, Any]:
        """The effective configuration, safe to print: secrets and passwords masked."""
        data = self.model_dump(mode="json")  # SecretStr dumps as "**********"
        url = make_url(self.database_url)
        data["database"]["url"] = describe(url)
        data["database"]["migration_url"] = (
            describe(self.migration_database_url) if self.database.migration_url else None
        )
        data["root"] = str(self.root)
        return data
