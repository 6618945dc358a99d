"""Wire format for the Bot API stub: Telegram-shaped objects and request decoding.

Kept apart from the server so the server module reads as routing and state only.
"""

from __future__ import annotations

import json
import time
from typing import Any

from aiohttp import web

# Fields whose values are free text.  aiogram JSON-encodes every non-string value in a
# multipart form, so everything else is decoded; these are exempt so that a text "42" or
# "true" is not turned into a number or a boolean.
_FREE_TEXT_FIELDS = frozenset(
    {
        "text",
        "caption",
        "url",
        "secret_token",
        "parse_mode",
        "callback_query_id",
        "language_code",
        "ip_address",
        "name",
        "description",
        "short_description",
        "title",
        "query",
        "business_connection_id",
        "message_effect_id",
        "emoji",
    }
)


def decode_form_value(key: str, value: str) -> Any:
    """Turn a form/query string back into the value aiogram encoded."""
    if key in _FREE_TEXT_FIELDS:
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value


def bot_user(token: str, *, capabilities: bool = False) -> dict[str, Any]:
    """The bot as a User; Telegram's bot id is the numeric part of the token.

    The capability flags appear only in getMe answers, not in a message's "from".
    """
    user: dict[str, Any] = {
        "id": int(token.partition(":")[0]),
        "is_bot": True,
        "first_name": "Helionyx Test",
        "username": "helionyx_test_bot",
    }
    if capabilities:
        user |= {
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }
    return user


def human_user(user_id: int) -> dict[str, Any]:
    return {"id": user_id, "is_bot": False, "first_name": "Test", "language_code": "en"}


def private_chat(chat_id: int) -> dict[str, Any]:
    return {"id": chat_id, "type": "private", "first_name": "Test"}


def text_message(
    message_id: int, chat_id: int, sender: dict[str, Any], text: str
) -> dict[str, Any]:
    message: dict[str, Any] = {
        "message_id": message_id,
        "date": int(time.time()),
        "chat": private_chat(chat_id),
        "from": sender,
        "text": text,
    }
    if text.startswith("/"):
        # Real clients mark a leading command; offsets/lengths are in UTF-16 code units.
        command = text.split(maxsplit=1)[0]
        length = len(command.encode("utf-16-le")) // 2
        message["entities"] = [{"type": "bot_command", "offset": 0, "length": length}]
    return message


def ok(result: Any) -> dict[str, Any]:
    return {"ok": True, "result": result}


def error(code: int, description: str) -> dict[str, Any]:
    return {"ok": False, "error_code": code, "description": description}


async def read_params(request: web.Request) -> dict[str, Any]:
    """Bot API parameters from the query string and a JSON, multipart or urlencoded body."""
    params = {key: decode_form_value(key, value) for key, value in request.query.items()}
    if request.content_type == "application/json" and request.body_exists:
        body = await request.json()
        if not isinstance(body, dict):
            raise ValueError("JSON body must be an object")
        params.update(body)
    elif request.content_type in ("multipart/form-data", "application/x-www-form-urlencoded"):
        for key, value in (await request.post()).items():
            if isinstance(value, str):
                params[key] = decode_form_value(key, value)
            else:  # an upload: its name, and what it holds under "<key>_content"
                params[key] = value.filename
                params[f"{key}_content"] = value.file.read()
    return params


def as_chat_id(value: Any) -> int | None:
    """A numeric chat id, or None for what the stub cannot model (e.g. "@channel")."""
    if isinstance(value, str) and value.lstrip("-").isdigit():
        return int(value)
    return value if isinstance(value, int) and not isinstance(value, bool) else None
