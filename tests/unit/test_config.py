"""Tier configuration: YAML defaults, `.env.<tier>`, the process environment, refusals.

Every test passes its environment as an explicit mapping and loads from a temporary root
(the real config/ linked in), so neither os.environ nor the developer's own .env files
take part.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from app.config import PROJECT_ROOT, TIERS, ConfigError, load_settings, read_dotenv, resolve_tier

TOKEN = "unit-test-api-token-0042"
DB_PASSWORD = "Pg-Pa55word-Zq9"
PG_URL = f"postgresql+asyncpg://helionyx:{DB_PASSWORD}@db.internal:5432/helionyx"


def needs(tier: str, **extra: str) -> dict[str, str]:
    """What a tier needs to load: a token, and PostgreSQL (and a bot, or none) outside dev."""
    environ = {"HELIONYX_API_TOKEN": TOKEN}
    if tier != "dev":
        environ["HELIONYX_DATABASE_URL"] = PG_URL
        environ["TELEGRAM_MODE"] = "off"
    return {**environ, **extra}


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """A project root with the real config/ and no .env files."""
    (tmp_path / "config").symlink_to(PROJECT_ROOT / "config", target_is_directory=True)
    return tmp_path


def write_env(root: Path, tier: str, text: str) -> Path:
    path = root / f".env.{tier}"
    path.write_text(text, encoding="utf-8")
    return path


# --- each tier, with what it needs -------------------------------------------------------


@pytest.mark.parametrize(
    ("tier", "port", "log_format", "log_level", "telegram_mode", "dialect", "model"),
    [
        ("dev", 8000, "human", "DEBUG", "off", "sqlite", "gpt-4o-mini"),
        ("staging", 8001, "json", "INFO", "off", "postgresql", "gpt-4o-mini"),
        ("live", 8002, "json", "INFO", "off", "postgresql", "gpt-4o"),
    ],
)
def test_each_tier_loads_with_its_defaults(
    root, tier, port, log_format, log_level, telegram_mode, dialect, model
):
    settings = load_settings(tier, environ=needs(tier), root=root)

    assert settings.tier == tier
    assert settings.root == root
    assert settings.service.host == "127.0.0.1"
    assert settings.service.port == port
    assert settings.logging.format == log_format
    assert settings.logging.level == log_level
    assert settings.telegram.mode == telegram_mode
    assert settings.telegram.bot_token is None and not settings.telegram.enabled
    assert settings.dialect == dialect
    assert settings.llm.model == model
    assert settings.api.token.get_secret_value() == TOKEN


@pytest.mark.parametrize("tier", ["staging", "live"])
def test_a_tier_whose_bot_is_on_without_a_token_refuses_naming_both(root, tier):
    environ = needs(tier)
    del environ["TELEGRAM_MODE"]  # the tier's default: webhook

    with pytest.raises(ConfigError) as refused:
        load_settings(tier, environ=environ, root=root)

    message = str(refused.value)
    assert "TELEGRAM_MODE is webhook" in message and "TELEGRAM_BOT_TOKEN is empty" in message
    assert "TELEGRAM_MODE=off" in message  # the way out, named


def test_dev_runs_the_bot_once_it_has_a_token_and_not_before(root):
    bot = {"TELEGRAM_BOT_TOKEN": SECRETS["TELEGRAM_BOT_TOKEN"], "TELEGRAM_OWNER_CHAT_ID": "7"}

    without = load_settings("dev", environ=needs("dev"), root=root)
    with_token = load_settings("dev", environ=needs("dev", **bot), root=root)

    assert (without.telegram.mode, without.telegram.enabled) == ("off", False)
    assert (with_token.telegram.mode, with_token.telegram.enabled) == ("polling", True)
    assert with_token.redacted()["telegram"]["mode"] == "polling"  # what status shows too


def test_dev_defaults_to_sqlite_under_the_roots_var_dev(root):
    settings = load_settings("dev", environ=needs("dev"), root=root)

    url = make_url(settings.database_url)
    assert url.drivername == "sqlite+aiosqlite"
    assert Path(url.database) == root / "var" / "dev" / "helionyx.db"


def test_a_relative_sqlite_path_is_taken_from_the_root_an_absolute_one_is_kept(root, tmp_path):
    relative = load_settings(
        "dev",
        environ=needs("dev", HELIONYX_DATABASE_URL="sqlite+aiosqlite:///var/x/a.db"),
        root=root,
    )
    absolute_path = tmp_path / "elsewhere" / "b.db"
    absolute = load_settings(
        "dev",
        environ=needs("dev", HELIONYX_DATABASE_URL=f"sqlite+aiosqlite:///{absolute_path}"),
        root=root,
    )

    assert Path(make_url(relative.database_url).database) == root / "var" / "x" / "a.db"
    assert Path(make_url(absolute.database_url).database) == absolute_path


def test_telegram_mode_can_be_chosen_per_environment(root):
    settings = load_settings("live", environ=needs("live", TELEGRAM_MODE="off"), root=root)
    assert settings.telegram.mode == "off"


# --- precedence: process environment > .env.<tier> > YAML default --------------------------


def test_env_file_overrides_yaml_and_the_environment_overrides_both(root):
    write_env(
        root,
        "dev",
        "HELIONYX_API_TOKEN=token-from-dotenv\nHELIONYX_PORT=9100\nHELIONYX_LOG_LEVEL=warning\n",
    )

    from_file = load_settings("dev", environ={}, root=root)
    from_environment = load_settings(
        "dev",
        environ={"HELIONYX_PORT": "9200", "HELIONYX_API_TOKEN": "token-from-environ"},
        root=root,
    )
    yaml_only = load_settings(
        "dev", environ={"HELIONYX_API_TOKEN": TOKEN}, root=root, use_env_file=False
    )

    assert from_file.service.port == 9100
    assert from_file.logging.level == "WARNING"
    assert from_file.api.token.get_secret_value() == "token-from-dotenv"
    assert from_environment.service.port == 9200
    assert from_environment.api.token.get_secret_value() == "token-from-environ"
    assert from_environment.logging.level == "WARNING"  # not in the environment: file wins
    assert yaml_only.service.port == 8000
    assert yaml_only.logging.level == "DEBUG"


def test_only_the_chosen_tiers_env_file_is_read(root):
    write_env(root, "staging", f"HELIONYX_API_TOKEN={TOKEN}\nHELIONYX_PORT=9300\n")
    write_env(root, "dev", f"HELIONYX_API_TOKEN={TOKEN}\n")

    assert load_settings("dev", environ={}, root=root).service.port == 8000


def test_loading_never_changes_os_environ(root):
    write_env(root, "dev", "HELIONYX_API_TOKEN=token-from-dotenv\nSOMETHING_ELSE=1\n")
    before = dict(os.environ)

    load_settings("dev", environ={}, root=root)

    assert dict(os.environ) == before


# --- choosing the tier ------------------------------------------------------------------


def test_env_from_the_environment_chooses_the_tier_when_none_is_given(root):
    settings = load_settings(None, environ=needs("live", ENV="live"), root=root)
    assert (settings.tier, settings.service.port) == ("live", 8002)


def test_an_explicit_tier_beats_env(root):
    settings = load_settings("dev", environ=needs("dev", ENV="live"), root=root)
    assert settings.tier == "dev"


def test_no_tier_and_no_env_means_dev(root):
    assert load_settings(None, environ=needs("dev"), root=root).tier == "dev"
    assert resolve_tier(None, {}) == "dev"


@pytest.mark.parametrize("name", ["prod", "", "Dev"])
@pytest.mark.parametrize("how", ["argument", "ENV"])
def test_an_unknown_tier_is_refused_listing_the_three(root, name, how):
    tier, environ = (name, needs("dev")) if how == "argument" else (None, needs("dev", ENV=name))

    try:
        settings = load_settings(tier, environ=environ, root=root)
    except ConfigError as refused:
        message = str(refused)
    else:
        pytest.fail(
            f"BUG app/config.py resolve_tier(): tier {name!r} (given as {how}) was "
            f"accepted and loaded as {settings.tier!r}; it must be refused"
        )

    assert all(known in message for known in TIERS), message
    assert repr(name) in message


# --- missing and invalid values ---------------------------------------------------------


@pytest.mark.parametrize(
    ("tier", "environ", "named", "not_named"),
    [
        ("dev", {}, ["HELIONYX_API_TOKEN"], ["HELIONYX_DATABASE_URL"]),
        ("staging", {}, ["HELIONYX_API_TOKEN", "HELIONYX_DATABASE_URL"], []),
        ("live", {}, ["HELIONYX_API_TOKEN", "HELIONYX_DATABASE_URL"], []),
        (
            "staging",
            {"HELIONYX_API_TOKEN": TOKEN},
            ["HELIONYX_DATABASE_URL"],
            ["HELIONYX_API_TOKEN"],
        ),
        (
            "live",
            {"HELIONYX_DATABASE_URL": PG_URL},
            ["HELIONYX_API_TOKEN"],
            ["HELIONYX_DATABASE_URL"],
        ),
    ],
)
def test_a_missing_required_value_is_named(root, tier, environ, named, not_named):
    with pytest.raises(ConfigError) as refused:
        load_settings(tier, environ=environ, root=root)

    message = str(refused.value)
    assert "missing" in message
    assert f".env.{tier}" in message
    for name in named:
        assert name in message
    for name in not_named:
        assert name not in message


@pytest.mark.parametrize(
    "line",
    [
        "HELIONYX_API_TOKEN=",
        'HELIONYX_API_TOKEN=""',
        "HELIONYX_API_TOKEN=''",
        "HELIONYX_API_TOKEN=   ",
    ],
)
def test_an_empty_value_in_the_env_file_counts_as_missing(root, line):
    write_env(root, "dev", f"{line}\n")

    with pytest.raises(ConfigError, match="HELIONYX_API_TOKEN"):
        load_settings("dev", environ={}, root=root)


def test_an_empty_value_in_the_env_file_falls_back_to_the_yaml_default(root):
    write_env(root, "dev", f"HELIONYX_API_TOKEN={TOKEN}\nHELIONYX_PORT=\n")
    assert load_settings("dev", environ={}, root=root).service.port == 8000


@pytest.mark.parametrize("tier", ["staging", "live"])
def test_the_committed_example_env_file_as_is_names_what_to_fill_in(root, tier):
    example = (PROJECT_ROOT / f".env.{tier}.example").read_text(encoding="utf-8")
    write_env(root, tier, example)

    with pytest.raises(ConfigError) as refused:
        load_settings(tier, environ={}, root=root)

    assert "HELIONYX_API_TOKEN" in str(refused.value)


@pytest.mark.parametrize(
    ("tier", "extra", "variable"),
    [
        ("dev", {"HELIONYX_PORT": "x"}, "HELIONYX_PORT"),
        ("dev", {"HELIONYX_PORT": "70000"}, "HELIONYX_PORT"),
        ("live", {"HELIONYX_PORT": "0"}, "HELIONYX_PORT"),
        ("dev", {"HELIONYX_LOG_LEVEL": "LOUD"}, "HELIONYX_LOG_LEVEL"),
        ("dev", {"HELIONYX_API_TOKEN": "short"}, "HELIONYX_API_TOKEN"),
        (
            "dev",
            {"HELIONYX_DATABASE_URL": "mysql+aiomysql://u:p@db/helionyx"},
            "HELIONYX_DATABASE_URL",
        ),
        (
            "live",
            {"HELIONYX_DATABASE_URL": "mysql+aiomysql://u:p@db/helionyx"},
            "HELIONYX_DATABASE_URL",
        ),
        ("dev", {"HELIONYX_DATABASE_URL": "not a url"}, "HELIONYX_DATABASE_URL"),
        (
            "staging",
            {"HELIONYX_DATABASE_URL": "sqlite+aiosqlite:///var/staging.db"},
            "HELIONYX_DATABASE_URL",
        ),
        (
            "live",
            {"HELIONYX_DATABASE_URL": "sqlite+aiosqlite:///var/live.db"},
            "HELIONYX_DATABASE_URL",
        ),
    ],
)
def test_an_invalid_value_is_refused_naming_the_variable(root, tier, extra, variable):
    with pytest.raises(ConfigError) as refused:
        load_settings(tier, environ=needs(tier, **extra), root=root)

    message = str(refused.value)
    assert variable in message
    assert "invalid configuration" in message


def test_staging_on_sqlite_says_postgresql_is_required(root):
    with pytest.raises(ConfigError, match="PostgreSQL"):
        load_settings(
            "staging",
            environ=needs("staging", HELIONYX_DATABASE_URL="sqlite+aiosqlite:///var/staging.db"),
            root=root,
        )


# --- redaction --------------------------------------------------------------------------


SECRETS = {
    "HELIONYX_API_TOKEN": "api-token-SECRET-111",
    "TELEGRAM_BOT_TOKEN": "123456:bot-token-SECRET-222-abcdefgh",
    "HELIONYX_LLM_API_KEY": "sk-llm-key-SECRET-333",
    "TELEGRAM_WEBHOOK_SECRET": "webhook-SECRET-444-abcdefgh",
}


@pytest.mark.parametrize("tier", TIERS)
def test_redacted_contains_no_secret(root, tier):
    database = PG_URL if tier != "dev" else "sqlite+aiosqlite:///var/dev/helionyx.db"
    settings = load_settings(
        tier,
        environ={
            **SECRETS,
            "HELIONYX_DATABASE_URL": database,
            "HELIONYX_LLM_BASE_URL": "https://llm.example.org/v1",
            # the bot fully configured, so that its secrets are really in play
            "TELEGRAM_OWNER_CHAT_ID": "4242",
            "TELEGRAM_WEBHOOK_URL": "https://helionyx.example.org/telegram/webhook",
        },
        root=root,
    )
    assert settings.telegram.enabled and settings.llm.api_key is not None

    shown = json.dumps(settings.redacted())

    for name, secret in SECRETS.items():
        assert secret not in shown, f"{name} leaked into redacted()"
        assert secret not in repr(settings), f"{name} leaked into repr(settings)"
    assert DB_PASSWORD not in shown
    # Still useful to an operator: where the database is, and that secrets are set.
    redacted = settings.redacted()
    assert redacted["tier"] == tier
    assert redacted["api"]["token"] not in (None, "")
    if tier != "dev":
        assert "db.internal" in redacted["database"]["url"]


def test_redacted_hides_a_database_password_given_in_the_url_query(root):
    # asyncpg takes `?password=` as the password (SQLAlchemy passes query items through as
    # connect arguments), so it is as secret as the one before the "@".
    query_password = "Query-Pa55word-Zq9"
    settings = load_settings(
        "live",
        environ=needs(
            "live",
            HELIONYX_DATABASE_URL=(
                f"postgresql+asyncpg://helionyx@db.internal/helionyx?password={query_password}"
            ),
        ),
        root=root,
    )

    shown = json.dumps(settings.redacted())

    assert query_password not in shown, (
        "BUG app/settings.py Settings.redacted(): a database password given as "
        f"?password= is printed in clear: {shown}"
    )


# --- .env parsing -----------------------------------------------------------------------


def test_read_dotenv_skips_comments_and_blanks_and_strips_quotes_and_export(tmp_path):
    path = tmp_path / ".env.dev"
    path.write_text(
        "# a comment\n"
        "\n"
        "   # an indented comment\n"
        "   \n"
        "PLAIN=plain-value\n"
        "export EXPORTED=exported-value\n"
        'DOUBLE="double quoted value"\n'
        "SINGLE='single # not a comment'\n"
        "  SPACED  =  spaced value  \n"
        "EQUALS=a=b=c\n"
        "EMPTY=\n"
        "URL=postgresql+asyncpg://u:p@h:5432/d?ssl=require\n",
        encoding="utf-8",
    )

    assert read_dotenv(path) == {
        "PLAIN": "plain-value",
        "EXPORTED": "exported-value",
        "DOUBLE": "double quoted value",
        "SINGLE": "single # not a comment",
        "SPACED": "spaced value",
        "EQUALS": "a=b=c",
        "EMPTY": "",
        "URL": "postgresql+asyncpg://u:p@h:5432/d?ssl=require",
    }


def test_read_dotenv_of_a_missing_file_is_empty(tmp_path):
    assert read_dotenv(tmp_path / ".env.dev") == {}


@pytest.mark.parametrize("bad", ["NOT_A_PAIR", "=value-without-key", "export ONLY_A_NAME"])
def test_a_malformed_env_line_is_refused_with_its_line_number(root, bad):
    write_env(root, "dev", f"# comment\n\nHELIONYX_API_TOKEN={TOKEN}\n{bad}\nLATER=1\n")

    with pytest.raises(ConfigError) as refused:
        load_settings("dev", environ={}, root=root)

    message = str(refused.value)
    assert "line 4" in message
    assert ".env.dev" in message


def test_the_env_file_feeds_interpolation_with_export_and_quotes(root):
    write_env(
        root,
        "staging",
        f"export HELIONYX_API_TOKEN='{TOKEN}'\nHELIONYX_DATABASE_URL=\"{PG_URL}\"\n"
        "TELEGRAM_MODE=off\n",
    )

    settings = load_settings("staging", environ={}, root=root)

    assert settings.api.token.get_secret_value() == TOKEN
    assert settings.database.url.get_secret_value() == PG_URL


# --- the migration (owner) URL: HELIONYX_MIGRATION_DATABASE_URL ---------------------------


OWNER_PASSWORD = "Owner-Pa55word-Xk7"
OWNER_URL = f"postgresql+asyncpg://helionyx_owner:{OWNER_PASSWORD}@db.internal:5432/helionyx"


@pytest.mark.parametrize("tier", TIERS)
def test_without_a_migration_url_migrations_use_the_services_url(root, tier):
    settings = load_settings(tier, environ=needs(tier), root=root)

    assert settings.database.migration_url is None
    assert settings.migration_database_url == settings.database_url
    assert settings.redacted()["database"]["migration_url"] is None


def test_the_migration_url_is_used_for_migrations_and_never_shown(root):
    from app.main import secrets_of

    settings = load_settings(
        "live", environ=needs("live", HELIONYX_MIGRATION_DATABASE_URL=OWNER_URL), root=root
    )

    assert settings.migration_database_url == OWNER_URL
    assert settings.database_url == PG_URL
    shown = json.dumps(settings.redacted())
    assert OWNER_PASSWORD not in shown and OWNER_PASSWORD not in repr(settings)
    assert "helionyx_owner" in settings.redacted()["database"]["migration_url"]
    assert {OWNER_PASSWORD, DB_PASSWORD} <= set(secrets_of(settings))


@pytest.mark.parametrize(
    ("tier", "migration_url", "says"),
    [
        ("live", "mysql+aiomysql://u:p@db/helionyx", "postgresql+asyncpg"),
        ("staging", "not a url", "not a database URL"),
        ("live", "sqlite+aiosqlite:///var/live.db", "PostgreSQL"),
        ("staging", "sqlite+aiosqlite:///var/staging.db", "PostgreSQL"),
        ("live", "postgresql+asyncpg://owner@db.internal/another", "same database"),
        ("dev", "postgresql+asyncpg://owner@127.0.0.1/helionyx", "SQLite"),
    ],
)
def test_an_invalid_migration_url_is_refused_naming_it(root, tier, migration_url, says):
    with pytest.raises(ConfigError) as refused:
        load_settings(
            tier, environ=needs(tier, HELIONYX_MIGRATION_DATABASE_URL=migration_url), root=root
        )

    message = str(refused.value)
    assert "invalid configuration" in message
    assert "HELIONYX_MIGRATION_DATABASE_URL" in message
    assert says in message
    assert "u:p" not in message and "Traceback" not in message


def test_an_empty_migration_url_means_not_set(root):
    settings = load_settings(
        "live", environ=needs("live", HELIONYX_MIGRATION_DATABASE_URL=""), root=root
    )
    assert settings.migration_database_url == settings.database_url


# --- slow and excess clients: HELIONYX_BODY_TIMEOUT_S, HELIONYX_MAX_CONNECTIONS -----------


@pytest.mark.parametrize("tier", TIERS)
def test_every_tier_bounds_slow_bodies_and_connections_by_default(root, tier):
    service = load_settings(tier, environ=needs(tier), root=root).service

    assert (service.body_timeout_s, service.max_connections) == (10, 200)


def test_the_body_timeout_and_the_connection_limit_come_from_the_environment(root):
    environ = needs("dev", HELIONYX_BODY_TIMEOUT_S="2.5", HELIONYX_MAX_CONNECTIONS="50")

    service = load_settings("dev", environ=environ, root=root).service

    assert (service.body_timeout_s, service.max_connections) == (2.5, 50)


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("HELIONYX_BODY_TIMEOUT_S", "0"),
        ("HELIONYX_BODY_TIMEOUT_S", "-1"),
        ("HELIONYX_BODY_TIMEOUT_S", "301"),
        ("HELIONYX_BODY_TIMEOUT_S", "soon"),
        ("HELIONYX_MAX_CONNECTIONS", "0"),
        ("HELIONYX_MAX_CONNECTIONS", "10001"),
        ("HELIONYX_MAX_CONNECTIONS", "1.5"),
        ("HELIONYX_MAX_CONNECTIONS", "many"),
    ],
)
def test_a_bad_body_timeout_or_connection_limit_is_refused_naming_it(root, variable, value):
    with pytest.raises(ConfigError, match=f"invalid configuration.*{variable}"):
        load_settings("dev", environ=needs("dev", **{variable: value}), root=root)
