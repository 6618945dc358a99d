"""What the bot runtime raises for its adapters, without importing aiogram (whose types
take seconds to import: the HTTP app must not pay for them on a tier without a bot)."""

from __future__ import annotations


class TelegramUnavailable(Exception):
    """The Bot API did not take a reply: the update is not done, and is retried."""
