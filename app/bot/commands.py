"""The menu Telegram shows: every command of the conversation (domain/replies.py COMMANDS),
described as /help describes it."""

from aiogram.types import BotCommand

from domain.replies import COMMANDS as CONVERSATION_COMMANDS

# Telegram allows 3-256 characters of description and 100 commands.
# https://core.telegram.org/bots/api#botcommand
COMMANDS = [
    BotCommand(command=usage.split()[0].removeprefix("/"), description=f"{what}: {example}"[:256])
    for usage, example, what in CONVERSATION_COMMANDS
    if not usage.startswith("/edit note")  # one menu entry for /edit
]
