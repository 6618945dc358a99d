"""The conversation over HTTP: the same service, and so the same replies, as the bot."""

from __future__ import annotations

from fastapi import APIRouter, Request

from app.api.edge import parse_body
from app.api.openapi import READS_BODY, json_body
from app.api.schemas_objects import EventSummary, Interaction, InteractionOut

router = APIRouter()


@router.post("/interactions", response_model=InteractionOut, responses=READS_BODY,
             openapi_extra=json_body(Interaction))
async def interact(request: Request) -> InteractionOut:
    body = await parse_body(request, Interaction)
    conversation = request.app.state.container.conversation_service()
    answer = await conversation.handle(
        body.text, channel=body.channel, chat_id=body.chat_id, external_id=body.external_id
    )
    events = [EventSummary(seq=event.seq, type=event.type) for event in answer.events]
    return InteractionOut(reply=answer.reply, events=events, replayed=answer.replayed)
