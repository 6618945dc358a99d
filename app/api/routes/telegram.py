"""POST /telegram/webhook: Telegram's pushes, answered 2xx only once their effects commit."""

from __future__ import annotations

import hmac
import json
from typing import Any

from dependency_injector.wiring import inject
from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from pydantic import ValidationError

from app.api.edge import client_address
from app.api.problems import ProblemError
from app.api.wiring import AsyncProvide
from app.audit import QuietAudit
from app.bot.errors import TelegramUnavailable
from app.container import Container
from domain.errors import StorageUnavailable

router = APIRouter()
SECRET_HEADER = "x-telegram-bot-api-secret-token"


@router.post("/telegram/webhook", include_in_schema=False)
@inject
async def telegram_webhook(
    request: Request,
    telegram: Any = Depends(AsyncProvide[Container.telegram]),
    audit: QuietAudit = Depends(AsyncProvide[Container.quiet_audit]),
) -> JSONResponse:
    if telegram.mode != "webhook":
        raise ProblemError(404, "the webhook is not enabled in this tier", "not-found")
    given = request.headers.get(SECRET_HEADER)
    if not given:
        _audit_refusal(audit, request, "no secret header")
        raise ProblemError(401, "the Telegram secret token header is missing", "unauthorized")
    expected = telegram.settings.webhook_secret.get_secret_value().encode()
    if not hmac.compare_digest(given.encode("utf-8", "replace"), expected):
        _audit_refusal(audit, request, "wrong secret")
        raise ProblemError(403, "the Telegram secret token is wrong", "forbidden")
    try:
        data = json.loads(await request.body())
        if not isinstance(data, dict):
            raise ValueError("not an object")
        await telegram.feed(data)
    except (ValueError, ValidationError, RecursionError):  # RecursionError: nested too deep
        raise ProblemError(400, "not a Telegram update", "invalid-update") from None
    except StorageUnavailable:
        # Non-2xx: Telegram keeps the update and delivers it again later.
        raise ProblemError(503, "storage unavailable; retry later", "storage-unavailable") from None
    except TelegramUnavailable as e:  # the reply could not be sent: ours to retry, not a 500
        raise ProblemError(
            503,
            f"the Telegram Bot API did not take the reply ({e}); retry later",
            "telegram-unavailable",
        ) from None
    return JSONResponse({"ok": True})


def _audit_refusal(audit: QuietAudit, request: Request, reason: str) -> None:
    """Quietly (app/audit.py): anyone who finds the URL can post to it at will."""
    address = client_address(request)
    audit("webhook.secret_wrong", "refused", address, client=address, reason=reason)
