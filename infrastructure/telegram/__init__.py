"""Outbound Telegram: the notifier (`notifier.py`). Nothing is imported here: aiogram
loads only when the bot is on."""
