"""Adapters to the outside world: SQLAlchemy storage, extractors, the Telegram notifier."""
